"""Can the body's turn about the vertical (its yaw) be learned from the generated images at all?

The whole-body runs on the generated people predict the root rotation little or no better than a constant
(``docs/EXPERIMENTS.md``, sections 5, 7 and 10). :func:`probe` asks the images directly: it trains one image
regressor (a ResNet-18 of the ``method=`` switch, global average pooling, one output) on nothing but each
person's yaw (``train.diagnostics.body_yaw``), on the crops the whole-body model is trained on
(``data.pipeline.make_dataset`` with its augmentation: a flip negates the yaw, an in-plane rotation barely
moves it), and scores it on fresh people against the best constant (the median training yaw, L1's optimum).
A dedicated regressor that cannot beat the constant says the images do not carry the turn; one that does says
the whole-body model could learn it.

Choices: L1 on yaw / 60 degrees (the generated yaws are within +-60), Adam with ``train.loop.step_decay`` (x0.1
at 70 % and 90 % of the steps, as every training run), He-normal full-precision convolutions (``fp_init="he"``,
the comparison's setting; with Hand4Whole's N(0, 1e-3) a one-off of this probe did not learn), the crops of
``epochs`` augmented epochs drawn once and cycled (so the pipeline's image decoding is paid once), BatchNorm
moving statistics at evaluation. ``input_hw`` is the crop the pipeline cuts (the whole-body model cuts its image
size and resizes the body's part, e.g. 128x96 -> 64x48 in the tiny preset). ``benchmarks/yaw_probe.py`` is the
command.
"""
from __future__ import annotations

import os
import time

import numpy as np

YAW_SCALE = 60.0  # degrees: the regressor's output unit (the generated yaws are within +-60)
STEPS, LR = 3000, 1e-3  # the probe's default budget and Adam rate
NUM_TRAIN, EPOCHS = 512, 24  # the default training people (a comparison's) and augmented epochs of their crops


def crops(people, smplx_model: str, *, input_hw=(128, 96), epochs: int = 1, training: bool = False,
          seed: int = 0) -> tuple:
    """``(images (N, H, W, 3) uint8, yaw (N,) degrees)``: every person of ``epochs`` epochs of the whole-body
    pipeline's examples (augmented when ``training``), with the yaw of each example's root rotation."""
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.train.diagnostics import body_yaw

    joints = ground_truth(people, smplx_model)["joints"]
    ds = make_dataset(people, joints, batch_size=64, training=training, input_hw=input_hw, seed=seed,
                      epochs=epochs, drop_remainder=False)
    images, yaws = [], []
    for batch in ds:
        images.append(np.round(batch["image"].numpy() * 255.0).astype(np.uint8))
        yaws.append(body_yaw(batch["root_pose"].numpy()))
    return np.concatenate(images), np.concatenate(yaws).astype(np.float32)


def check_settings(*, method: str, epochs: int, steps: int, eval_every: int, batch_size: int,
                   stage1_steps: int, distill_weight: float = 0.0, teacher: str | None = None) -> None:
    """A ``ValueError`` naming the first bad setting of :func:`probe` (``main`` checks before generating people)."""
    from bidrn_tf.models.backbones import METHODS, REAL_WEIGHT_METHODS

    if method not in METHODS:
        raise ValueError(f"method={method!r}: expected one of {', '.join(METHODS)}")
    for name, value in (("epochs", epochs), ("steps", steps), ("eval_every", eval_every), ("batch_size", batch_size)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if int(stage1_steps) != stage1_steps or not 0 <= stage1_steps <= steps:
        raise ValueError(f"stage1_steps must be an integer from 0 to steps={steps}, got {stage1_steps!r}")
    if stage1_steps and method not in REAL_WEIGHT_METHODS:
        raise ValueError(f"stage1_steps (real weights first) applies to {REAL_WEIGHT_METHODS}, got method={method!r}")
    from bidrn_tf.train.distill import check_distillation

    check_distillation(teacher, distill_weight)


def probe(train_people, test_people, smplx_model: str, *, method: str = "fp", input_hw=(128, 96),
          epochs: int = EPOCHS, steps: int = STEPS, eval_every: int = 500, batch_size: int = 16, lr: float = LR,
          seed: int = 0, fp_init: str = "he", stage1_steps: int = 0, teacher: str | None = None,
          distill_weight: float = 0.0, save_weights: str | None = None, progress: bool = True) -> dict:
    """Train the yaw regressor and return {"constant_mae": deg, "test_yaw_std": deg, "train_examples": N,
    "curve": [{"step", "test_mae", "test_corr", "train_mae", "fit_mae"}]}: mean absolute yaw errors in degrees on
    the unaugmented ``test_people`` and on the first (up to) 512 augmented training examples, and the correlation
    of the predicted with the true test yaws; ``fit_mae``: the training loss (in degrees) averaged over the
    steps since the last point, with batch statistics in the BatchNorms as in training (``train_mae`` uses the
    moving statistics, as ``test_mae``: a gap between the two is stale normalisation, not the weights);
    ``constant_mae``: the median training yaw's test error.

    ``stage1_steps`` > 0 trains two-stage, as ReActNet and Real-to-Binary train BNNs: the first ``stage1_steps``
    steps with binary activations and real-valued weights (``build_resnet(binary_weights=False)``), then the
    binary model starting from those weights for the rest; each stage has its own Adam and its own step decay
    over its own steps (ReActNet restarts its schedule too). Equal to ``steps``: real weights throughout (a
    diagnostic, not a binary network). Each point says which ``weights`` it was measured with.

    ``teacher`` (a regressor saved by an earlier probe's ``save_weights``, e.g. the FP one) with
    ``distill_weight`` > 0 adds feature distillation, as Real-to-Binary and ReActNet train BNNs from a
    full-precision teacher (the paper trains without one): the loss is the yaw's L1 plus ``distill_weight`` x the
    mean squared error between a linear map of the student's pooled features (the layer ``hint``, FitNets' hint
    regressor, used only in training and not kept) and the teacher's pooled 512-d features of the same crop,
    standardized per feature over the training crops (:func:`standardize`). Standardized, because the teacher's
    features are ReLU outputs that share one large mean direction: a first version matched the cosine of the raw
    features, and a BNN student reached 0.96 within 1,000 steps with no yaw learned (``docs/EXPERIMENTS.md``,
    section 10); a linear map, because a binary student's features need not have the teacher's scale or sign. The
    crops are drawn once, so the teacher's features are computed once, before training. Points then also carry
    ``distill_mse``: that error over the steps since the last point (1.0 is predicting the mean feature).
    ``save_weights``: a folder to write the trained regressor into (:func:`save_regressor`)."""
    import tensorflow as tf

    from bidrn_tf.train.loop import step_decay

    check_settings(method=method, epochs=epochs, steps=steps, eval_every=eval_every, batch_size=batch_size,
                   stage1_steps=stage1_steps, distill_weight=distill_weight, teacher=teacher)
    if teacher:
        check_teacher(teacher, input_hw=input_hw)
    t0 = time.perf_counter()
    x_train, y_train = crops(train_people, smplx_model, input_hw=input_hw, epochs=epochs, training=True, seed=seed)
    x_test, y_test = crops(test_people, smplx_model, input_hw=input_hw)
    constant = float(np.median(y_train))
    result = {"constant_mae": float(np.mean(np.abs(y_test - constant))), "test_yaw_std": float(np.std(y_test)),
              "train_examples": len(x_train), "curve": []}
    if progress:
        print(f"yaw probe: {len(x_train)} augmented training crops, {len(x_test)} test people "
              f"({time.perf_counter() - t0:.0f} s); the constant {constant:.1f} deg scores "
              f"{result['constant_mae']:.1f} deg", flush=True)

    targets = {"yaw": y_train / YAW_SCALE}
    if distill_weight:
        targets["hint"] = standardize(teacher_features(teacher, x_train))
        if progress:
            print(f"yaw probe: the teacher's features of the {len(x_train)} crops "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)

    def regressor(binary_weights: bool, stage_steps: int):
        model = build_regressor(method=method, input_hw=input_hw, fp_init=fp_init, binary_weights=binary_weights)
        optimizer = tf.keras.optimizers.Adam(step_decay(lr, stage_steps))
        if not distill_weight:
            model.compile(optimizer, loss="mae")
            return model
        hint = tf.keras.layers.Dense(targets["hint"].shape[1], name="hint")
        student = tf.keras.Model(model.input,
                                 {"yaw": model.output, "hint": hint(model.get_layer("features").output)})
        student.compile(optimizer, loss={"yaw": "mae", "hint": "mse"},
                        loss_weights={"yaw": 1.0, "hint": distill_weight})
        return student

    model = regressor(not stage1_steps, stage1_steps or steps)
    data = (tf.data.Dataset.from_tensor_slices((x_train, targets)).shuffle(len(x_train), seed=seed)
            .repeat().map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y if distill_weight else y["yaw"]))
            .batch(batch_size))
    seen = x_train[:512].astype(np.float32) / 255.0
    test = x_test.astype(np.float32) / 255.0
    done = 0
    while done < steps:
        if done == stage1_steps and stage1_steps:  # the second stage starts from the first stage's weights
            binary = regressor(True, steps - stage1_steps)
            binary.set_weights(model.get_weights())
            model = binary
        boundary = stage1_steps if done < stage1_steps else steps
        chunk = min(eval_every, boundary - done)
        history = model.fit(data, steps_per_epoch=chunk, epochs=1, verbose=0).history
        fit_loss = history["yaw_loss" if distill_weight else "loss"][-1]
        done += chunk
        pred = _yaw(model.predict(test, batch_size=64, verbose=0)) * YAW_SCALE
        pred_seen = _yaw(model.predict(seen, batch_size=64, verbose=0)) * YAW_SCALE
        corr = float(np.corrcoef(pred, y_test)[0, 1]) if np.std(pred) > 0 and len(pred) > 1 else 0.0
        point = {"step": done, "test_mae": float(np.mean(np.abs(pred - y_test))), "test_corr": corr,
                 "train_mae": float(np.mean(np.abs(pred_seen - y_train[:512]))), "fit_mae": fit_loss * YAW_SCALE,
                 "weights": point_weights(method, done, stage1_steps)}
        if distill_weight:
            point["distill_mse"] = float(history["hint_loss"][-1])
        result["curve"].append(point)
        if progress:
            kd = f", distillation error {point['distill_mse']:.3f}" if distill_weight else ""
            print(f"  step {done} ({point['weights']} weights): test yaw error {point['test_mae']:.1f} deg "
                  f"(correlation {corr:.2f}), training {point['train_mae']:.1f} (in training mode "
                  f"{point['fit_mae']:.1f}){kd}; {time.perf_counter() - t0:.0f} s", flush=True)
    if save_weights:
        kept = build_regressor(method=method, input_hw=input_hw, fp_init=fp_init)  # no optimizer, no adapter
        kept.set_weights(tf.keras.Model(model.input, model.output["yaw"] if distill_weight else model.output)
                         .get_weights())
        save_regressor(kept, save_weights, method=method, input_hw=input_hw, fp_init=fp_init)
    return result


def _yaw(prediction):
    """The yaw column of a regressor's (N, 1) output or of a distilling student's {"yaw", "hint"}."""
    return (prediction["yaw"] if isinstance(prediction, dict) else prediction)[:, 0]


def build_regressor(*, method: str, input_hw=(128, 96), fp_init: str = "he", binary_weights: bool = True):
    """The probe's uncompiled regressor: image (H, W, 3) in [0, 1] -> ResNet-18 of ``method`` -> global average
    pooling (the layer named ``features``, (N, 512)) -> Dense(1) (``yaw``: the yaw / :data:`YAW_SCALE`)."""
    import tensorflow as tf

    from bidrn_tf.models.backbones import build_resnet

    inputs = tf.keras.Input((*input_hw, 3))
    features = build_resnet(depth=18, method=method, input_shape=(*input_hw, 3), fp_init=fp_init,
                            binary_weights=binary_weights)(inputs)
    pooled = tf.keras.layers.GlobalAveragePooling2D(name="features")(features)
    return tf.keras.Model(inputs, tf.keras.layers.Dense(1, name="yaw")(pooled))


def save_regressor(model, folder: str, *, method: str, input_hw, fp_init: str) -> str:
    """Write ``model`` (:func:`build_regressor`'s) to ``<folder>/weights`` (+ ``.meta.json``,
    ``models.checkpoints``) atomically: a temporary folder, then a rename. Returns the weights path."""
    from bidrn_tf.fileio import write_folder
    from bidrn_tf.models.checkpoints import save_weights

    write_folder(folder, lambda tmp: save_weights(model, os.path.join(tmp, "weights"), method=method,
                                                  kind="yaw_probe_regressor", input_hw=list(input_hw),
                                                  fp_init=fp_init))
    return os.path.join(os.path.abspath(folder), "weights")


def check_teacher(path: str, *, input_hw) -> dict:
    """The metadata of the saved regressor at ``path``, or a ``CheckpointError`` (a ``ValueError``) naming why it
    cannot teach a probe on ``input_hw`` crops: missing, not a yaw probe regressor, another crop size."""
    from bidrn_tf.models.checkpoints import CheckpointError, read_meta

    meta = read_meta(path)
    if meta.get("kind") != "yaw_probe_regressor":
        raise CheckpointError(f"teacher {path!r} is not a yaw probe regressor (saved by --save-weights)")
    if list(meta["input_hw"]) != list(input_hw):
        raise CheckpointError(f"teacher {path!r} reads {meta['input_hw'][0]}x{meta['input_hw'][1]} crops, "
                              f"this probe {input_hw[0]}x{input_hw[1]}")
    return meta


def standardize(features) -> np.ndarray:
    """(N, D) float32: each feature (column) less its mean over the N rows, divided by its standard deviation
    (a constant feature, e.g. a ReLU that never fires, becomes 0)."""
    features = np.asarray(features, np.float64)
    std = features.std(axis=0)
    return ((features - features.mean(axis=0)) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)


def teacher_features(path: str, images) -> np.ndarray:
    """(N, 512) float32: the pooled features (BatchNorm moving statistics) of the saved regressor at ``path``
    for ``images`` (N, H, W, 3) uint8."""
    import tensorflow as tf

    from bidrn_tf.models.checkpoints import load_weights

    meta = check_teacher(path, input_hw=images.shape[1:3])
    tf.keras.backend.clear_session()
    model = build_regressor(method=meta["method"], input_hw=tuple(meta["input_hw"]), fp_init=meta["fp_init"])
    load_weights(model, path, method=meta["method"])
    features = tf.keras.Model(model.input, model.get_layer("features").output)
    batches = (tf.data.Dataset.from_tensor_slices(images).batch(64)
               .map(lambda x: tf.cast(x, tf.float32) / 255.0))
    out = features.predict(batches, verbose=0).astype(np.float32)
    tf.keras.backend.clear_session()
    return out


def point_weights(method: str, step: int, stage1_steps: int) -> str:
    """The weights a point after ``step`` steps was measured with: ``"full precision"`` (``fp``: nothing is
    binary), ``"real"`` (binary activations, real-valued weights: the first ``stage1_steps``) or ``"binary"``."""
    return "full precision" if method == "fp" else "real" if step <= stage1_steps else "binary"


def report_name(method: str, appearance: str, input_hw, *, num_train: int = NUM_TRAIN, epochs: int = EPOCHS,
                lr: float = LR, steps: int = STEPS, stage1_steps: int = 0, seed: int = 0,
                distill_weight: float = 0.0) -> str:
    """``yaw_probe_<method>_<appearance>_<H>x<W>``, then ``_<num_train>people``, ``_<epochs>epochs``,
    ``_lr<lr>``, ``_<steps>steps``, ``_stage1-<N>``, ``_distill<w>`` and ``_seed<N>`` where they differ from the
    defaults: one report per setting, so probes of several methods, looks, crop sizes, data, recipes and seeds
    share a folder."""
    name = f"yaw_probe_{method}_{appearance}_{input_hw[0]}x{input_hw[1]}"
    return (name + (f"_{num_train}people" if num_train != NUM_TRAIN else "")
            + (f"_{epochs}epochs" if epochs != EPOCHS else "")
            + (f"_lr{lr:g}" if lr != LR else "") + (f"_{steps}steps" if steps != STEPS else "")
            + (f"_stage1-{stage1_steps}" if stage1_steps else "")
            + (f"_distill{distill_weight:g}" if distill_weight else "")
            + (f"_seed{seed}" if seed else ""))


def _recipe(stage1_steps: int, steps: int) -> str:
    """The training recipe of a probe in words (``--stage1-steps``)."""
    if 0 < stage1_steps < steps:
        return (f"two stages: {stage1_steps} steps with real weights and binary activations, then the binary model "
                "from those weights (each stage its own Adam and step decay)")
    return "real weights and binary activations throughout (not a binary network)" if stage1_steps else "one stage"


def format_report(result: dict, *, appearance: str, args: dict) -> str:
    """Markdown: the setting, the constant and the curve."""
    rows = "\n".join(f"| {p['step']} | {p['weights']} | {p['test_mae']:.1f} | {p['test_corr']:.2f} | "
                     f"{p['train_mae']:.1f} | {p['fit_mae']:.1f} |" for p in result["curve"])
    recipe = _recipe(args["stage1_steps"], args["steps"])
    if args.get("distill_weight"):
        teacher = os.path.join(os.path.basename(os.path.dirname(args["teacher"])), os.path.basename(args["teacher"]))
        recipe += (f"; feature distillation at weight {args['distill_weight']:g} (the mean squared error of a linear "
                   f"map of the pooled features to the teacher's standardized ones) from the teacher {teacher}")
    last = result["curve"][-1]
    kd = (f" The distillation error ends at {last['distill_mse']:.3f} (standardized features: 1.0 is the mean "
          "feature; training mode, mean since the last row)." if "distill_mse" in last else "")
    return (f"# Yaw probe, {appearance} generated people (NOT AGORA / EHF)\n\n"
            f"A {args['method']} ResNet-18 regressing only the body's yaw from the whole-body pipeline's "
            f"{args['input_hw'][0]}x{args['input_hw'][1]} crops: {args['num_train']} training people "
            f"({result['train_examples']} augmented crops), {args['num_test']} fresh test people, {args['steps']} "
            f"steps x batch {args['batch_size']}, Adam {args['lr']:g}, full-precision convs {args['fp_init']}, "
            f"seed {args['seed']}; {recipe}. Test yaw spread "
            f"{result['test_yaw_std']:.1f} deg; the best constant scores **{result['constant_mae']:.1f} deg**.\n\n"
            "| step | weights | test yaw error (deg) | correlation with the truth | training yaw error (deg) | "
            "training loss since the last row, batch statistics (deg) |\n"
            "|---|---|---|---|---|---|\n" + rows +
            f"\n\nAt the end: {last['test_mae']:.1f} deg against the constant's {result['constant_mae']:.1f} "
            f"({last['test_mae'] - result['constant_mae']:+.1f}).{kd}\n")


#: report arguments that may differ between the probes of one summary: what is compared (the method, and
#: whether and how it was distilled: :func:`entry_label`), what is repeated, whether the weights were kept, and
#: the folder the people were read from (the test yaws' spread, equal across the reports, checks that they are
#: the same test people)
SUMMARY_FREE = ("method", "seed", "out", "teacher", "distill_weight", "save_weights")


def entry_label(args: dict) -> str:
    """A summary row's name: the method, with ``+distill<w>`` for a run distilled from a teacher at weight w."""
    w = args.get("distill_weight") or 0.0
    return args["method"] + (f"+distill{w:g}" if w else "")


def read_reports(paths) -> list:
    """The yaw probe reports (``.json``, as :func:`main` writes them) at ``paths``, each with its ``path``;
    those written before ``--stage1-steps`` existed get its value then, 0 (the ``--teacher`` arguments need no
    default: they are in :data:`SUMMARY_FREE`, and :func:`entry_label` reads a missing weight as none).
    ValueError naming the first file that is not one."""
    import json

    reports = []
    for path in paths:
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: not a readable yaw probe report ({error})") from None
        missing = [k for k in ("curve", "args", "constant_mae", "test_yaw_std")
                   if not isinstance(report, dict) or k not in report]
        if missing or not report["curve"]:
            raise ValueError(f"{path}: not a yaw probe report (no {', '.join(missing) or 'curve points'})")
        args = {"stage1_steps": 0, **report["args"]}  # reports from before --stage1-steps trained in one stage
        reports.append({**report, "args": args, "path": path})
    return reports


def summarize(reports: list) -> dict:
    """Probes of one setting side by side: {"setting": the arguments they share, "constant_mae", "methods":
    {:func:`entry_label`: {"seeds": {seed: curve}, "final": [test error at the last step per seed], "mean", "std",
    "corr", "train"}}}, methods in order of their mean final error; "corr" and "train" are the seeds' means of the last
    point's test correlation and training error (moving statistics). "constant_mae" is the reports' mean: the
    constant is the median of a run's augmented training yaws, whose flips follow the training seed, so it
    moves by a few thousandths of a degree from seed to seed.

    ValueError, naming the files, when the reports differ in any argument but :data:`SUMMARY_FREE`, were
    scored on other test people (the test yaws' spread differs), or repeat a method and seed."""
    if not reports:
        raise ValueError("no yaw probe reports to summarize")
    first = reports[0]
    setting = {k: v for k, v in first["args"].items() if k not in SUMMARY_FREE}
    runs = {}
    for report in reports:
        args = report["args"]
        differ = [f"{k} {setting.get(k)!r} in {first['path']}, {args.get(k)!r} here" for k in
                  sorted(set(setting) | set(args) - set(SUMMARY_FREE)) if args.get(k) != setting.get(k)]
        if differ:
            raise ValueError(f"{report['path']}: another setting ({'; '.join(differ)}); one summary compares "
                             "methods and seeds of one setting")
        if not np.isclose(report["test_yaw_std"], first["test_yaw_std"], rtol=1e-6):
            raise ValueError(f"{report['path']}: scored on other test people (their yaws spread by "
                             f"{report['test_yaw_std']:.4f} deg there, {first['test_yaw_std']:.4f} in {first['path']})")
        key = (entry_label(args), args["seed"])
        if key in runs:
            raise ValueError(f"{report['path']}: method {key[0]} seed {key[1]} again (also {runs[key]['path']})")
        runs[key] = report
    from bidrn_tf.apps.compare import _mean_std

    methods = {}
    for (method, seed), report in sorted(runs.items(), key=lambda kv: kv[0][1]):
        methods.setdefault(method, {"seeds": {}})["seeds"][seed] = report["curve"]
    for entry in methods.values():
        last = [curve[-1] for curve in entry["seeds"].values()]
        entry["final"] = [p["test_mae"] for p in last]
        entry["mean"], entry["std"] = _mean_std(entry["final"])
        entry["corr"] = float(np.mean([p["test_corr"] for p in last]))
        entry["train"] = float(np.mean([p["train_mae"] for p in last]))
    ordered = dict(sorted(methods.items(), key=lambda kv: kv[1]["mean"]))
    return {"setting": setting, "constant_mae": float(np.mean([r["constant_mae"] for r in reports])),
            "methods": ordered}


def format_summary(summary: dict) -> str:
    """Markdown: the shared setting, one row per method (its seeds' final test errors, their mean and sample
    std, the share of the FP-BNN gap on those means: ``evaluate.metrics``), the constant, and the closing
    sentence of every comparison table (``gap_closed``, over the runs without a teacher), plus, where BiDRN and
    BNN were both distilled at one weight, BiDRN's share of the gap between FP and the distilled BNN."""
    from bidrn_tf.evaluate.metrics import gap_closed, gap_share

    s, means = summary["setting"], {m: e["mean"] for m, e in summary["methods"].items()}
    fp, bnn = means.get("fp"), means.get("bnn")
    rows = []
    for method, e in summary["methods"].items():
        open_gap = None not in (fp, bnn) and bnn > fp and method not in ("fp", "bnn")
        share = gap_share(fp, bnn, e["mean"]) if open_gap else None
        share = "" if not open_gap else "none (above BNN)" if share is None else f"{share:.0f} %"
        finals = ", ".join(f"{v:.1f} (s{seed})" for seed, v in zip(e["seeds"], e["final"]))
        spread = f" +- {e['std']:.1f}" if len(e["final"]) > 1 else ""
        rows.append(f"| {method} | {len(e['final'])} | {finals} | **{e['mean']:.1f}**{spread} | "
                    f"{e['corr']:.2f} | {e['train']:.1f} | {share} |")
    plain = {m: v for m, v in means.items() if "+distill" not in m}
    gap, recipe = gap_closed(plain), _recipe(s["stage1_steps"], s["steps"])
    for label in means:  # each distillation weight with both BiDRN and BNN distilled: the share between like runs
        if label.startswith("bidrn+distill") and fp is not None and "bnn" + label[5:] in means:
            like = gap_share(fp, means["bnn" + label[5:]], means[label])
            gap += (f" Both distilled ({label[5:]}): BiDRN closes "
                    + (f"{like:.0f} %" if like is not None else "none") + " of the gap between FP and BNN distilled"
                    " alike.")
    return (f"# Yaw probe summary, {s['appearance']} generated people (NOT AGORA / EHF)\n\n"
            f"ResNet-18s regressing only the body's yaw from {s['input_hw'][0]}x{s['input_hw'][1]} crops: "
            f"{s['num_train']} training people x {s['epochs']} augmented epochs, {s['num_test']} fresh test people, "
            f"{s['steps']} steps x batch {s['batch_size']}, Adam {s['lr']:g}, {recipe}. "
            "Test yaw error in degrees at the last step; means (and sample std) over each method's own seeds.\n\n"
            "| method | seeds | test yaw error per seed | mean | correlation (mean) | "
            "training error (mean) | share of the FP-BNN gap |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) +
            f"\n| the best constant | | | {summary['constant_mae']:.1f} | | | |\n" + (f"\n{gap}\n" if gap else ""))


def plot_summary(summary: dict, *, title: str) -> bytes:
    """PNG bytes: test yaw error against step, each method's mean over its seeds at the steps every seed
    reached (``compare.curve_styles``: BiDRN first, thicker), each seed a thin line, the constant dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bidrn_tf.apps.compare import curve_styles, curves_png

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    styles = curve_styles(list(summary["methods"]))
    for method, entry in summary["methods"].items():
        curves = list(entry["seeds"].values())
        steps = sorted(set.intersection(*({p["step"] for p in c} for c in curves)))
        mean = [np.mean([next(p["test_mae"] for p in c if p["step"] == st) for c in curves]) for st in steps]
        n = len(curves)
        ax.plot(steps, mean, **styles[method], ms=3, label=method if n == 1 else f"{method} (mean of {n} seeds)")
        if n > 1:
            for c in curves:
                ax.plot([p["step"] for p in c], [p["test_mae"] for p in c], color=styles[method]["color"], lw=0.6,
                        alpha=0.5)
    ax.axhline(summary["constant_mae"], color="k", ls="--", lw=1, label="the best constant")
    return curves_png(fig, ax, ylabel="test yaw error (degrees)", title=title)


def summary_main(argv=None) -> int:
    """``benchmarks/yaw_probe_summary.py REPORT.json ... --out PREFIX``: ``PREFIX.md``, ``.json`` and ``.png``,
    written as one set."""
    import argparse
    import json

    from bidrn_tf.fileio import versioned, write_set

    ap = argparse.ArgumentParser(description="Yaw probe reports of one setting side by side: a table with the "
                                             "share of the FP-BNN gap, and the test curves as a PNG")
    ap.add_argument("reports", nargs="+", help="yaw probe reports (.json) of one setting")
    ap.add_argument("--out", required=True, help="output prefix: writes <out>.md, <out>.json and <out>.png")
    args = ap.parse_args(argv)
    inputs = {os.path.abspath(p) for p in args.reports}
    clash = [args.out + ext for ext in (".md", ".json", ".png") if os.path.abspath(args.out + ext) in inputs]
    if clash:
        ap.error(f"--out {args.out} would write over the report {clash[0]} it reads: choose another prefix")
    try:
        summary = summarize(read_reports(args.reports))
    except ValueError as error:
        ap.error(str(error))
    table = format_summary(summary)
    s = summary["setting"]
    png = plot_summary(summary, title=f"Yaw probe, {s['appearance']} generated people (not AGORA / EHF)\n"
                                      f"{s['num_train']} training people x {s['epochs']} augmented epochs, "
                                      f"{s['steps']} steps x {s['batch_size']}, Adam {s['lr']:g}")
    data = versioned({**summary, "reports": [os.path.basename(p) for p in args.reports]})
    write_set({args.out + ".md": table.encode(), args.out + ".json": json.dumps(data, indent=1).encode(),
               args.out + ".png": png})
    print(table + f"\nwrote {args.out}.md, .json and .png")
    return 0


def main(argv=None) -> int:
    import argparse

    from bidrn_tf.apps.compare import DIAGNOSE_SEED_OFFSET, data_dir
    from bidrn_tf.cli import add_distill_switches, backbone_side, distill_arguments, positive_int
    from bidrn_tf.data import load_people
    from bidrn_tf.data.synthetic import APPEARANCES, check_same_people, generate
    from bidrn_tf.fileio import write_report
    from bidrn_tf.models.backbones import METHODS
    from bidrn_tf.nn.layers import FP_CONV_INITS
    from bidrn_tf.smplx.synthetic import STAND_IN_NAME, model_or_stand_in

    ap = argparse.ArgumentParser(description="Can a network learn the body's yaw from the generated images? A "
                                             "ResNet-18 trained on the yaw alone, against the best constant")
    ap.add_argument("--appearance", default="plain", choices=APPEARANCES)
    ap.add_argument("--out", default="out/yaw_probe",
                    help="folder of the generated people (a comparison's --out reuses its people) and the report")
    ap.add_argument("--num-train", type=positive_int, default=NUM_TRAIN,
                    help="training people; a folder holding another number of them is refused, not regenerated")
    ap.add_argument("--num-test", type=positive_int, default=512, help="fresh people (compare's diagnose seed)")
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--method", default="fp", choices=METHODS)
    ap.add_argument("--input-hw", type=backbone_side, nargs=2, default=[128, 96], metavar=("H", "W"),
                    help="the crop the pipeline cuts and the ResNet reads; sides >= 32")
    ap.add_argument("--epochs", type=positive_int, default=EPOCHS, help="augmented epochs of crops drawn once")
    ap.add_argument("--steps", type=positive_int, default=STEPS)
    ap.add_argument("--eval-every", type=positive_int, default=500)
    ap.add_argument("--batch-size", type=positive_int, default=16)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--seed", type=int, default=0,
                    help="training seed: initialisation, the crops' augmentation and their order")
    ap.add_argument("--stage1-steps", type=int, default=0,
                    help="two-stage recipe: the first N steps with real weights (binary activations), then binary "
                         "weights from them; 0: one stage (default); equal to --steps: real weights throughout")
    ap.add_argument("--fp-init", default="he", choices=FP_CONV_INITS,
                    help="full-precision convs: He-normal (default, as the comparison) or hand4whole's N(0, 1e-3)")
    add_distill_switches(ap, teacher_help="distil from this saved regressor (<out>/<report>.regressor/weights of a "
                                          "--save-weights probe, e.g. the FP one): its pooled features become a "
                                          "second target")
    ap.add_argument("--save-weights", action="store_true",
                    help="keep the trained regressor in <out>/<report name>.regressor/ (a teacher for --teacher)")
    args = ap.parse_args(argv)
    args.teacher, args.distill_weight = distill_arguments(args)
    try:
        check_settings(method=args.method, epochs=args.epochs, steps=args.steps, eval_every=args.eval_every,
                       batch_size=args.batch_size, stage1_steps=args.stage1_steps, distill_weight=args.distill_weight,
                       teacher=args.teacher)
        if args.teacher:
            check_teacher(args.teacher, input_hw=args.input_hw)
    except ValueError as error:
        ap.error(str(error))
    out = os.path.abspath(args.out)
    train_folder = data_dir(out, args.appearance)
    try:
        existing = check_same_people(train_folder, seed=args.data_seed, num_train=args.num_train,
                                     smplx_model=os.path.join(out, STAND_IN_NAME))
    except ValueError as error:
        ap.error(str(error))
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    num_val = existing.get("num_val", 32)  # the probe reads none of them; a comparison's folder keeps its own
    train_dir = generate(train_folder, smplx_model=smplx, num_train=args.num_train, num_val=num_val,
                         seed=args.data_seed, appearance=args.appearance)
    test_dir = generate(data_dir(out, args.appearance, args.num_test), smplx_model=smplx, num_train=1,
                        num_val=args.num_test, seed=args.data_seed + DIAGNOSE_SEED_OFFSET,
                        appearance=args.appearance)
    name = report_name(args.method, args.appearance, args.input_hw, num_train=args.num_train, epochs=args.epochs,
                       lr=args.lr, steps=args.steps, stage1_steps=args.stage1_steps, seed=args.seed,
                       distill_weight=args.distill_weight)
    result = probe(load_people("synthetic", train_dir, "train"), load_people("synthetic", test_dir, "validation"),
                   smplx, method=args.method, input_hw=tuple(args.input_hw), epochs=args.epochs, steps=args.steps,
                   eval_every=args.eval_every, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                   fp_init=args.fp_init, stage1_steps=args.stage1_steps, teacher=args.teacher,
                   distill_weight=args.distill_weight,
                   save_weights=os.path.join(out, name + ".regressor") if args.save_weights else None)
    settings = {**vars(args), "input_hw": list(args.input_hw)}
    report = format_report(result, appearance=args.appearance, args=settings)
    print("\n" + report)
    write_report(os.path.join(out, name), {**result, "args": settings}, report)
    return 0
