"""Every method of the ``method=`` switch trained with the same data, seeds and budget on the generated set,
with learning curves and a mean-pose control: ``benchmarks/compare_methods.py`` / ``make compare``.

One generated data set (``data_seed``) for every run; each method is trained once per training seed
(``seeds``: weight initialisation, batch order and augmentation), so the spread over seeds says which
differences are noise. Each run is an ordinary training run (``<out>/<method>`` for seed 0,
``<out>/<method>-seed<s>`` for the others; ``bidrn_tf.train.loop.train``) that checkpoints at every evaluation, so a comparison killed half-way continues where it stopped (finished runs
are not retrained). Every ``eval_every`` steps the current weights are copied into a separate evaluation
model, its BatchNorm statistics re-estimated on training batches (precise BN, ``--bn precise``; or the
moving statistics as trained, ``--bn moving``), and validation MPVPE / PA-MPVPE / PA-MPJPE measured; the
points are kept in ``<out>/<method>/curve.json``. The control row (``train.diagnostics.mean_pose_control``)
predicts the training set's mean parameters (the root rotation included), so "learned something" is a
number; a second control row (``median_mesh_control``) predicts one constant mesh, the per-vertex geometric
median of the training meshes (on the generated people better on MPVPE than the mean parameters, worse
after alignment: a method has learned from the images where it is below both); another row gives the mean
pose each person's true root rotation (an oracle, not a control), and a closing sentence the oracles that
take more parameter groups from the truth (``error_budget``): what each group costs in the metrics.
``--diagnose`` adds, for every finished run's final weights, the rotation errors, the meshes scored
against other validation people (``other_people_control``: what the output's link to the image is worth)
and the vertex error per body part beside the median mesh's (``part_errors``).
Besides the methods, ``--methods`` takes the entries of ``VARIANTS``: a method with one of its switches on, in a
run folder and a row of its own (``xnor_k``: XNOR-Net with its activation scale K), so that it is compared
beside the plain method in one report.
``--restore-curves REPORT_JSON ...`` (``restore_curves``) writes the curves of kept reports made with the same
setting back into ``out``, for run folders that are gone (curves only, no weights).

Writes ``<out>/comparison.{md,json}`` (the last point every run reached: per method the mean over its seeds,
and the spread and per-seed values; the control, images/s) and ``<out>/curves.png`` / ``curves.json``. Accuracy on generated data, not AGORA / EHF.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time


import bidrn_tf  # noqa: F401


def _committed_step(run_dir: str) -> int:
    from bidrn_tf.train.loop import committed_checkpoint

    path = committed_checkpoint(run_dir) if os.path.isdir(run_dir) else None
    return int(path.rsplit("-", 1)[1]) if path else 0


def run_dir(out: str, method: str, seed: int) -> str:
    """Where one (method, training seed) run lives: ``<out>/<method>`` for seed 0 (the layout of comparisons
    made before there were seeds, which are continued), ``<out>/<method>-seed<seed>`` otherwise."""
    return os.path.join(out, method if seed == 0 else f"{method}-seed{seed}")


#: comparison entries that are a method with one of its ``ModelConfig`` switches on:
#: {entry: (method, fields, what it is)}. An entry has its own run folder and row beside the plain method's.
#: ``xnor_k``: XNOR-Net with its activation scale K (``ModelConfig.xnor_activation_scale``; plain ``xnor`` is
#: BNN's function behind the BatchNorms).
VARIANTS = {"xnor_k": ("xnor", {"xnor_activation_scale": True}, "xnor with XNOR-Net's activation scale K")}


def entry_model(entry: str, cfg):
    """The method and ``ModelConfig`` that comparison entry ``entry`` (a method or a ``VARIANTS`` key) trains:
    ``(method, cfg)`` for a method, the variant's method and ``cfg`` with its fields replaced for a variant."""
    if entry not in VARIANTS:
        return entry, cfg
    method, fields, _ = VARIANTS[entry]
    return method, dataclasses.replace(cfg, **fields)


def _save_curve(path: str, *, method: str, seed: int, bn: str, points: list, images_per_second=None) -> None:
    """``<run>/curve.json``: the evaluated points of one run (and its training images/s, once known)."""
    from bidrn_tf.fileio import versioned, write_atomic

    write_atomic(path, json.dumps(versioned({"method": method, "seed": seed, "bn": bn, "points": points,
                                             "images_per_second": images_per_second}), indent=1).encode())


#: ``compare(diagnose_people=N)`` draws its N fresh people with the data seed ``data_seed`` + this (far from the
#: data seeds a comparison is run with, whose first people would be its training people)
DIAGNOSE_SEED_OFFSET = 1_000_003
#: unaugmented training people on which ``--diagnose`` scores the training loss of a run with body joints offset,
#: term by term, with its own parameters and with the offset removed (``train.diagnostics.loss_terms``)
LOSS_TERM_PEOPLE = 256

#: ``main``'s arguments that define a comparison's setting: a stored curve belongs in an ``out`` folder only where
#: they all agree (``restore_curves``)
SETTING_ARGS = ("steps", "batch_size", "lr", "preset", "num_train", "num_val", "data_seed", "eval_every", "bn",
                "feature_bn", "rotation_init", "fp_init", "pose_loss", "root_pose_weight", "boxnet", "body_hw",
                "appearance", "teacher", "distill_weight")
#: the value of a ``SETTING_ARGS`` entry in a report written before that entry existed
SETTING_BEFORE = {"appearance": "plain", "teacher": None, "distill_weight": 0.0}


def data_dir(out: str, appearance: str, people: int | None = None) -> str:
    """The generated people of a comparison in ``out``: ``data`` (``data_diagnose<people>`` for the fresh ones of
    ``--diagnose-people``), in ``data.synthetic.appearance_folder``'s place for ``appearance``."""
    from bidrn_tf.data.synthetic import appearance_folder

    return appearance_folder(os.path.join(out, "data" if people is None else f"data_diagnose{people}"), appearance)


def restore_curves(reports, out: str, setting: dict) -> list:
    """Write back the curves of comparison reports (``comparison.json`` files this module wrote, e.g. ones kept
    under ``docs/``) as the ``curve.json`` of each of their (method, seed) runs whose folder in ``out`` has none,
    so that a comparison whose run folders are gone can be reported and extended with new seeds or methods.
    ``reports``: one path or a sequence of paths; a run found in several must have the same curve and images/s
    in each. A restored run has its curve and its images/s but no weights: ``--diagnose`` skips it, and training
    it again starts at step 0. ``setting``: the current values of ``SETTING_ARGS``; every report's must be the
    same. Returns the restored (method, seed) pairs; a run that already has a curve is left as it is.

    Raises ``ValueError`` naming the problem, before anything is written, when a report is not a comparison
    report, was made with another setting, or gives a run another curve than an earlier report."""
    runs = {}  # (method, seed) -> (report, bn, curve, images/s)
    for report in [reports] if isinstance(reports, str) else reports:
        stored, methods = _read_report(report, setting)
        for method, entry in methods.items():
            for seed, run in entry["runs"].items():
                key, found = (method, int(seed)), (run.get("curve"), run.get("images_per_second"))
                if key in runs and runs[key][2:] != found:
                    raise ValueError(f"--restore-curves: {method} seed {seed} has another curve in {report} than in "
                                     f"{runs[key][0]}")
                runs.setdefault(key, (report, stored["bn"], *found))
    restored = []
    for (method, seed), (_, bn, curve, images_per_second) in runs.items():
        path = os.path.join(run_dir(out, method, seed), "curve.json")
        if os.path.isfile(path) or not curve:
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _save_curve(path, method=method, seed=seed, bn=bn, points=curve, images_per_second=images_per_second)
        restored.append((method, seed))
    return restored


def _read_report(report: str, setting: dict) -> tuple:
    """The ``args`` and ``methods`` of one comparison report, checked against ``setting`` (``restore_curves``)."""
    try:
        with open(report) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"--restore-curves {report}: not a readable JSON file ({e})") from None
    if not (isinstance(data, dict) and isinstance(data.get("methods"), dict) and isinstance(data.get("args"), dict)):
        raise ValueError(f"--restore-curves {report}: not a comparison report (no 'methods' and 'args')")
    stored = data["args"]
    differ = [f"{k} {stored.get(k, SETTING_BEFORE.get(k))!r} there, {setting[k]!r} here" for k in SETTING_ARGS
              if _setting_value(stored.get(k, SETTING_BEFORE.get(k))) != _setting_value(setting[k])]
    if differ:
        raise ValueError(f"--restore-curves {report}: made with another setting: {'; '.join(differ)}")
    for method, entry in data["methods"].items():
        runs = entry.get("runs") if isinstance(entry, dict) else None
        if not (isinstance(runs, dict) and all(isinstance(r, dict) for r in runs.values())
                and all(str(seed).isdigit() for seed in runs)):
            raise ValueError(f"--restore-curves {report}: method {method!r} has no 'runs' mapping each seed (a "
                             "non-negative integer) to a run")
    return stored, data["methods"]


def _setting_value(value):
    """A setting value as JSON gives it back (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def _run_one(method: str, seed: int, *, out: str, steps: int, eval_every: int, batch_size: int, lr: float,
             preset: str, cfg, smplx: str, data: str, calib, val_people, bn: str, pose_loss: str,
             root_pose_weight: float, report_only: bool, teacher: str | None = None, distill_weight: float = 0.0):
    """Train (or continue, or only read) one (method, seed) run; its {"curve", "images_per_second"} or None.
    ``method``: a method or a ``VARIANTS`` entry (``entry_model``), which names the run folder and the row."""
    import tensorflow as tf

    from bidrn_tf.evaluate.loop import evaluate
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.train.loop import TrainConfig, train

    where = run_dir(out, method, seed)
    curve_path = os.path.join(where, "curve.json")
    curve, stored_ips = [], None
    if os.path.isfile(curve_path):
        with open(curve_path) as f:
            stored = json.load(f)
        curve, stored_ips = stored["points"], stored.get("images_per_second")
    if report_only:
        return {"curve": curve, "images_per_second": stored_ips} if curve else None
    start = _committed_step(where)
    curve = [p for p in curve if p["step"] <= start]  # resuming: drop the points past the checkpoint
    tf.keras.backend.clear_session()
    model_method, cfg = entry_model(method, cfg)
    evaluator = build_model(method=model_method, smplx_model=smplx, config=cfg)
    label = method if seed == 0 else f"{method} seed {seed}"
    spent = [0.0]  # seconds of evaluation inside the training loop, left out of images/s

    def hook(step, model):
        if step % eval_every and step != steps:
            return
        t_eval = time.perf_counter()
        evaluator.set_weights(model.get_weights())
        if bn == "precise":
            precise_batchnorm(evaluator, (b["image"] for b in calib.take(8)))
        mean = evaluate(evaluator, val_people, smplx_model=smplx, input_hw=cfg.image_hw, progress=False)["mean"]
        curve.append({"step": step, **mean})
        print(f"  {label} step {step}: MPVPE_all {mean['MPVPE_all']:.1f} mm", flush=True)
        _save_curve(curve_path, method=method, seed=seed, bn=bn, points=curve)
        spent[0] += time.perf_counter() - t_eval

    t = time.perf_counter()
    summary = train(TrainConfig(method=model_method, dataset="synthetic", data_dir=data, smplx_model=smplx, out=where,
                                preset=preset, model_config=cfg, steps=steps, batch_size=batch_size, lr=lr,
                                checkpoint_every=eval_every, seed=seed, pose_loss=pose_loss,
                                root_pose_weight=root_pose_weight, teacher=teacher, distill_weight=distill_weight,
                                resume=os.path.exists(os.path.join(where, "run.json"))),
                    step_hook=hook)
    if not curve or curve[-1]["step"] != steps:  # a finished run resumed: nothing trained, evaluate the end
        from bidrn_tf.models.checkpoints import load_trained

        hook(steps, load_trained(os.path.join(where, "final", "weights")))
    train_seconds = summary["seconds_after_first_step"] - spent[0]
    ips = summary["timed_steps"] * batch_size / train_seconds if summary["timed_steps"] and train_seconds > 0 else None
    if ips is None:  # finished in an earlier session: its speed as measured then
        ips = stored_ips
    _save_curve(curve_path, method=method, seed=seed, bn=bn, points=curve, images_per_second=ips)
    return {"curve": curve, "images_per_second": ips, "minutes_this_session": (time.perf_counter() - t) / 60}


def check_arguments(*, bn: str, seeds: list, diagnose: bool, diagnose_people: int | None, teacher: str | None = None,
                    distill_weight: float = 0.0) -> None:
    """``compare``'s checks of its arguments, before anything is written: ``ValueError`` naming the problem."""
    from bidrn_tf.train.distill import check_distillation

    check_distillation(teacher, distill_weight)
    if bn not in ("precise", "moving"):
        raise ValueError(f"bn must be precise or moving, got {bn!r}")
    if not seeds or len(set(seeds)) != len(seeds) or any(int(s) != s or s < 0 for s in seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    if diagnose_people is not None and (not diagnose or int(diagnose_people) != diagnose_people
                                        or diagnose_people < 2):
        raise ValueError(f"diagnose_people (--diagnose-people) must be an integer >= 2 and needs diagnose "
                         f"(--diagnose), got {diagnose_people!r} with diagnose={diagnose!r}")


def compare(methods, *, steps: int, eval_every: int, batch_size: int = 8, lr: float = 1e-4, preset: str = "small",
            num_train: int = 64, num_val: int = 16, seeds=(0,), data_seed: int = 0, bn: str = "precise",
            out: str = "out/compare", report_only: bool = False, feature_bn: bool = False,
            rotation_init: str = "hand4whole", pose_loss: str = "axis_angle", fp_init: str = "hand4whole",
            body_hw: tuple | None = None, root_pose_weight: float = 0.0, diagnose: bool = False,
            diagnose_people: int | None = None, boxnet: str | None = None, appearance: str = "plain",
            teacher: str | None = None, distill_weight: float = 0.0) -> dict:
    """Train (or continue) every (method, seed) run and return {"control", "true_root_oracle", "methods":
    {method: {"runs": {seed: {"curve", "images_per_second"}}}}}. ``data_seed``: the generated people (the
    same for every run); ``seeds``: the training seeds. ``report_only``: train nothing, report every curve
    saved so far, to its last point (runs without a curve are left out); a comparison still running in
    another process is not disturbed.
    ``feature_bn`` / ``rotation_init`` / ``fp_init`` / ``body_hw`` (None: the preset's) / ``boxnet`` (None: the
    paper's per method, ``ModelConfig.boxnet_kind``): these ``ModelConfig`` fields on top of the preset;
    ``pose_loss`` / ``root_pose_weight``: these ``TrainConfig`` fields.
    ``diagnose``: also load every finished run's final weights and add, on the validation people, its rotation
    errors (``train.diagnostics.rotation_errors``, the constant from the training people) as ``"rotations"``,
    its meshes scored against other people (``other_people_control``) as ``"other_people"`` and its vertex
    error per body part (``part_errors``) as ``"parts"``; the median mesh's as ``"median_mesh_parts"``.
    ``diagnose_people``: measure those final-weight diagnostics (and so the paired differences and the share
    interval of the report) on this many fresh validation people instead of the curves' ``num_val``: generated
    with the data seed ``data_seed + DIAGNOSE_SEED_OFFSET`` into ``<out>/data_diagnose<N>``, from the same
    distribution but not among the training or the curves' people. Evaluating is cheap next to training, so
    more people narrow the intervals over the people at almost no cost; the seed spread they do not touch.
    Recorded as ``"diagnose_people": {"count", "data_seed"}``.
    ``appearance``: how the generated people are drawn (``data.synthetic.APPEARANCES``; ``"front"`` colours the
    body's front, which marks which way it is turned), in folders of their own (:func:`data_dir`).
    ``teacher`` / ``distill_weight``: every run distils its body features from this run's final weights
    (``TrainConfig.teacher``, ``train.distill``); give a distilled comparison an ``out`` of its own."""
    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import check_same_people, generate
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.smplx.synthetic import STAND_IN_NAME, model_or_stand_in
    from bidrn_tf.train.diagnostics import error_budget, median_mesh, median_mesh_control

    seeds = list(seeds)
    check_arguments(bn=bn, seeds=seeds, diagnose=diagnose, diagnose_people=diagnose_people, teacher=teacher,
                    distill_weight=distill_weight)
    cfg = dataclasses.replace(PRESETS[preset], feature_bn=feature_bn, rotation_init=rotation_init, fp_init=fp_init,
                              body_hw=tuple(body_hw) if body_hw else PRESETS[preset].body_hw, boxnet=boxnet)
    if teacher and not report_only:
        from bidrn_tf.train.distill import check_teacher

        check_teacher(teacher, model_config=cfg)
    out = os.path.abspath(out)
    if report_only and not any(os.path.isfile(os.path.join(run_dir(out, m, s), "curve.json"))
                               for m in methods for s in seeds):
        return {"control": None, "median_mesh_control": None, "true_root_oracle": None, "methods": {}}  # nothing
    check_same_people(data_dir(out, appearance), seed=data_seed, num_train=num_train, num_val=num_val,
                      smplx_model=os.path.join(out, STAND_IN_NAME))
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    data = generate(data_dir(out, appearance), smplx_model=smplx, num_train=num_train, num_val=num_val,
                    seed=data_seed, appearance=appearance)
    train_people, val_people = load_people("synthetic", data, "train"), load_people("synthetic", data, "validation")
    joints = ground_truth(train_people, smplx)["joints"]
    calib = make_dataset(train_people, joints, batch_size=batch_size, training=False, input_hw=cfg.image_hw)
    budget = error_budget(train_people, val_people, smplx)  # row 0: the control, row 1: the true-root oracle
    control, oracle = budget[0][1], budget[1][1]
    mesh = median_mesh(train_people, smplx)
    results = {}
    for method in methods:
        for seed in seeds:
            run = _run_one(method, seed, out=out, steps=steps, eval_every=eval_every, batch_size=batch_size, lr=lr,
                           preset=preset, cfg=cfg, smplx=smplx, data=data, calib=calib, val_people=val_people, bn=bn,
                           pose_loss=pose_loss, root_pose_weight=root_pose_weight, report_only=report_only,
                           teacher=teacher, distill_weight=distill_weight)
            if run is not None:
                results.setdefault(method, {"runs": {}})["runs"][seed] = run
    extra = {}
    if diagnose:
        people = val_people
        if diagnose_people:
            fresh_seed = data_seed + DIAGNOSE_SEED_OFFSET
            fresh = generate(data_dir(out, appearance, diagnose_people), smplx_model=smplx, num_train=1,
                             num_val=diagnose_people, seed=fresh_seed, appearance=appearance)
            people = load_people("synthetic", fresh, "validation")
            extra["diagnose_people"] = {"count": len(people), "data_seed": fresh_seed}
        extra["median_mesh_parts"] = _add_final_diagnostics(results, out=out, smplx=smplx, calib=calib,
                                                            val_people=people, cfg=cfg, batch_size=batch_size,
                                                            mesh=mesh, pose_loss=pose_loss,
                                                            root_pose_weight=root_pose_weight)
    return {"control": control, "median_mesh_control": median_mesh_control(train_people, val_people, smplx, mesh=mesh),
            "true_root_oracle": oracle, "methods": results, **extra,
            "error_budget": [{"truth": list(truth), **row} for truth, row in budget]}


def _add_final_diagnostics(results: dict, *, out: str, smplx: str, calib, val_people, cfg, batch_size: int,
                           mesh, pose_loss: str = "axis_angle", root_pose_weight: float = 0.0) -> dict:
    """Every run with final weights gets, on the validation people (precise BatchNorm as in the curves),
    ``"rotations"``: ``rotation_errors`` of its predictions, the constant being the training people's mean;
    ``"other_people"``: ``other_people_control`` of its meshes (what their link to the image is worth); and
    ``"parts"``: ``part_errors`` of its meshes; ``"per_person"``: {metric: [mm per validation person]} for
    ``PAIRED_METRICS`` (for the paired differences); ``"bias"``: {part: [degrees per joint]}, the offset of
    its mean rotation from the training people's (``mean_rotation_bias``); and where a body joint's offset
    exceeds ``BIAS_DEGREES``, ``"bias_reset"``: {"joints": [names], "own", "removed", "reset": {metric: mm}},
    its meshes scored with its own parameters, with the offset of those joints removed (``without_offset``)
    and with those joints at the training mean (``with_mean_joints``); and its training loss term by term
    (``loss_terms``, with the run's ``pose_loss`` / ``root_pose_weight``) on the first ``LOSS_TERM_PEOPLE``
    unaugmented training people, as predicted and with the offset removed (the offset there measured on those
    people's predictions): ``"loss_terms": {"people", "own", "removed"}`` - which terms hold the offset.
    Returns ``part_errors`` of ``mesh`` (the median mesh)."""
    import numpy as np
    import tensorflow as tf

    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.evaluate.metrics import mesh_metrics, model_regions
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.smplx.joints import JOINT_NAMES, OUTPUT_TO_SMPLX, POSE_OUTPUTS
    from bidrn_tf.train.diagnostics import (BIAS_DEGREES, mean_rotation_bias, other_people_control, params_metrics,
                                            loss_terms, part_errors, predicted_rotations, rotation_errors,
                                            with_mean_joints, without_offset)

    truth = ground_truth(val_people, smplx, vertices=True)
    val = make_dataset(val_people, truth["joints"], batch_size=batch_size, training=False, input_hw=cfg.image_hw)
    reference = predicted_rotations(None, calib)[1]
    regions, true_vertices = model_regions(smplx), truth["vertices"].astype(np.float64)
    for method, r in results.items():
        for seed, run in r["runs"].items():
            weights = os.path.join(run_dir(out, method, seed), "final", "weights")
            if not os.path.isfile(weights + ".index"):
                continue
            tf.keras.backend.clear_session()
            model = load_trained(weights, smplx_model=smplx)
            precise_batchnorm(model, (b["image"] for b in calib.take(8)))
            others = tuple(k for k in OUTPUT_TO_SMPLX if k not in POSE_OUTPUTS)  # shape, expression
            pred, truth_rotations = predicted_rotations(model, val, also=("vertices", *others))
            vertices, params = pred.pop("vertices"), {**pred, **{k: pred.pop(k) for k in others}}
            run["rotations"] = rotation_errors(pred, truth_rotations, reference)
            bias = mean_rotation_bias(pred, reference)
            run["bias"] = {k: [float(b) for b in v] for k, v in bias.items()}
            offset = [j for j, b in enumerate(bias["body_pose"]) if b > BIAS_DEGREES]
            if offset:
                run["bias_reset"] = {
                    "joints": [JOINT_NAMES[1 + j] for j in offset],  # body_pose's joints are 1..21
                    # "own" through the same SMPL-X pass as the two variants (not from the model's meshes), so
                    # the three differ only in the joints changed
                    "own": params_metrics(params, truth["vertices"], smplx),
                    "removed": params_metrics(without_offset(params, reference, "body_pose", offset),
                                              truth["vertices"], smplx),
                    "reset": params_metrics(with_mean_joints(params, reference, "body_pose", offset),
                                            truth["vertices"], smplx)}
                run["bias_reset"]["loss_terms"] = loss_terms(
                    model, calib.take(max(LOSS_TERM_PEOPLE // batch_size, 1)), pose_loss=pose_loss,
                    root_pose_weight=root_pose_weight,
                    edits={"own": None, "removed": lambda p: without_offset(p, reference, "body_pose", offset)})
            run["parts"] = part_errors(vertices, truth["vertices"], smplx)
            own = [mesh_metrics(v, t, **regions) for v, t in zip(vertices.astype(np.float64), true_vertices)]
            run["per_person"] = {k: [row[k] for row in own] for k in PAIRED_METRICS}
            if len(vertices) >= 2:
                run["other_people"] = other_people_control(vertices, truth["vertices"], smplx, own_rows=own)
    return part_errors(mesh, truth["vertices"], smplx)


def _other_people_sentence(result: dict) -> str:
    """Markdown: every run's final meshes against their own people and against other people's
    (``compare(diagnose=True)``): what the link of the output to the image is worth."""
    rows = ""
    for method, seed, run in _runs(result):
        e = run.get("other_people")
        if e:
            cells = []
            for k in ("MPVPE_all", "PA_MPJPE_body"):
                own, other = e["model"][k], e["other_people"][k]
                cells.append(f"{own:.1f} / {other:.1f} | {other - own:.1f}")
            rows += f"| {method} | {seed} | " + " | ".join(cells) + " |\n"
    if not rows:
        return ""
    return ("\nThe final weights' meshes scored against the people they were predicted for and against other "
            "validation people (each person against the predictions for the others; a constant output scores the "
            "same on both, so the difference is what the output's link to the image is worth; mm):\n\n"
            "| method | seed | MPVPE_all: own / other people | worth | PA_MPJPE_body: own / other people | worth |\n"
            "|---|---|---|---|---|---|\n" + rows)


def _parts_sentence(result: dict) -> str:
    """Markdown: the pelvis-aligned vertex error per body part of the median mesh and of every run's final
    meshes (``compare(diagnose=True)``): where a method gains on the constant mesh."""
    runs = [(m, s, run["parts"]) for m, s, run in _runs(result) if run.get("parts")]
    if not runs or not result.get("median_mesh_parts"):
        return ""
    parts = list(result["median_mesh_parts"])
    table = "| | " + " | ".join(parts) + " |\n|---|" + "---|" * len(parts) + "\n"
    table += "| median-mesh control | " + " | ".join(f"{result['median_mesh_parts'][p]:.1f}" for p in parts) + " |\n"
    for m, seed, e in runs:
        table += f"| {m} (seed {seed}) | " + " | ".join(f"{e[p]:.1f}" for p in parts) + " |\n"
    return ("\nVertex error per body part of the final weights' meshes on the validation people, pelvis at the "
            "origin as in MPVPE_all (a vertex belongs to the part of its largest skinning weight; mm):\n\n" + table)


def _bias_sentence(result: dict) -> str:
    """Markdown: every diagnosed run's largest per-joint offsets of its mean rotation from the training
    people's mean, and what its offset body joints cost (``compare(diagnose=True)``, ``"bias"`` /
    ``"bias_reset"``)."""
    from bidrn_tf.smplx.joints import JOINT_NAMES
    from bidrn_tf.train.diagnostics import BIAS_DEGREES

    rows = ""
    for method, seed, run in _runs(result):
        bias = run.get("bias")
        if not bias:
            continue
        body = bias["body_pose"]
        top = sorted(range(len(body)), key=lambda j: -body[j])[:4]
        largest = ", ".join(f"{JOINT_NAMES[1 + j]} {body[j]:.0f}" for j in top)
        reset = run.get("bias_reset")
        cells = "none | |"
        if reset:
            cells = ", ".join(reset["joints"]) + " | " + " | ".join(
                f"{reset['own'][k]:.1f} / {reset['removed'][k]:.1f} / {reset['reset'][k]:.1f}"
                for k in ("MPVPE_all", "PA_MPJPE_body"))
        rows += f"| {method} | {seed} | {bias['root_pose'][0]:.0f} | {largest} | {cells} |\n"
    if not rows:
        return ""
    return ("\nOffsets of the final weights' rotations (degrees: per joint, the mean of the predicted rotations on the "
            "validation people against the training people's mean rotation; an output that is the truth plus noise "
            f"has none), and the meshes scored again for the body joints offset by more than {BIAS_DEGREES:.0f} "
            "degrees: with the offset removed (every person's rotation there turned back by it, the person-to-person "
            "variation kept) and with those joints at the training mean for everyone; everything else the run's own "
            "(mm):\n\n"
            "| method | seed | root offset | largest body offsets | offset body joints | MPVPE_all: own / offset "
            "removed / at the mean | PA_MPJPE_body: own / offset removed / at the mean |\n|---|---|---|---|---|---|---|\n"
            + rows + _loss_terms_table(result))


#: the loss terms made from the SMPL-X parameters, in the order the report shows them (``_loss_terms_table``)
_PARAMETER_TERMS = ("pose", "root_pose", "joints_3d", "joints_proj")


def _loss_terms_table(result: dict) -> str:
    """Markdown: for every run with offset body joints, its training loss terms with its own parameters and with
    the offset removed (``"bias_reset"["loss_terms"]``), and the change in per cent - which terms hold it."""
    runs = [(m, s, run["bias_reset"]["loss_terms"]) for m, s, run in _runs(result)
            if run.get("bias_reset", {}).get("loss_terms")]
    if not runs:
        return ""
    terms = [k for k in _PARAMETER_TERMS if any(k in t["own"] for _, _, t in runs)]
    rows = ""
    for method, seed, t in runs:
        cells = []
        for k in (*terms, "total"):
            own = sum(t["own"].values()) if k == "total" else t["own"].get(k)
            removed = sum(t["removed"].values()) if k == "total" else t["removed"].get(k)
            cells.append("-" if own is None else
                         f"{own:.3f} / {removed:.3f} ({100 * (removed - own) / own:+.0f} %)" if own else
                         f"{own:.3f} / {removed:.3f}")
        rows += f"| {method} | {seed} | " + " | ".join(cells) + " |\n"
    people = runs[0][2]["people"]
    return (f"\nThe training loss of those runs term by term on {people} unaugmented training people, with the run's own "
            "parameters / with the offset removed (the terms made from the SMPL-X parameters; pose terms in radians, "
            "3D joints in metres, projected joints in body-heatmap cells; total: every term, the others unchanged). "
            "A term that rises when the offset is removed holds it:\n\n"
            "| method | seed | " + " | ".join(terms) + " | total |\n|---|---|" + "---|" * (len(terms) + 1) + "\n"
            + rows)


def _rotation_sentence(result: dict) -> str:
    """Markdown: the rotation errors of every run that has them (``compare(diagnose=True)``)."""
    rows = ""
    for method, seed, run in _runs(result):
        e = run.get("rotations")
        if e:
            yaw = e.get("root_yaw")  # reports written before 2026-12-05 have none
            yaw_cell = f"{yaw['model']:.1f} / {yaw['constant']:.1f}" if yaw else "-"
            rows += (f"| {method} | {seed} | {e['model']['root_pose']:.1f} / {e['constant']['root_pose']:.1f} | "
                     f"{e['root_tilt']['model']:.1f} / {e['root_tilt']['constant']:.1f} | {yaw_cell} | "
                     f"{e['model']['body_pose']:.1f} / {e['constant']['body_pose']:.1f} | "
                     f"{e['spread']['root_pose']:.1f} | {e['spread']['body_pose']:.1f} |\n")
    if not rows:
        return ""
    return ("\nRotation errors of the final weights on the validation people (degrees: the mean angle between the "
            "predicted and the true rotation; the constant: each joint's mean rotation over the training people; "
            "tilt: of the body's up axis; yaw: its turn about the vertical; spread: the predictions against their "
            "own mean):\n\n"
            "| method | seed | root: model / constant | root tilt: model / constant | root yaw: model / constant "
            "| body: model / constant | root spread | body spread |\n|---|---|---|---|---|---|---|---|\n" + rows)


def _runs(result: dict):
    """(method, seed, run) for every run of ``result``, methods in order, seeds ascending."""
    for method, r in result["methods"].items():
        for seed in sorted(r["runs"], key=int):
            yield method, seed, r["runs"][seed]


def method_colors(n: int) -> list:
    """``n`` distinct matplotlib colours, one per method of a plot: the default cycle (tab10) up to 10 methods;
    up to 20, tab20's ten dark hues first and then their light partners (a comparison with every method and
    XNOR+K has 11: tab10 would repeat FP's colour for the eleventh, and tab20 in its own order would give the
    first two methods two blues; :func:`curve_styles` marks the light ones with squares). ValueError above 20."""
    import matplotlib

    if not 0 <= n <= 20:
        raise ValueError(f"plot_curves draws at most 20 methods, got {n}")
    if n <= 10:
        return list(matplotlib.colormaps["tab10"].colors[:n])
    pairs = matplotlib.colormaps["tab20"].colors
    return list(pairs[0::2] + pairs[1::2])[:n]


def curve_styles(methods: list) -> dict:
    """{method: matplotlib line keywords (``color``, ``marker``, ``lw``, ``zorder``)} for the mean curves of
    :func:`plot_curves`: colours from :func:`method_colors` in the methods' order, except that BiDRN, the method
    the comparison is about, takes the first (never a light one) and is drawn thicker and on top; the eleventh
    colour on (the light ones) with squares instead of dots."""
    order = sorted(methods, key=lambda m: m != "bidrn")  # a stable sort: the others keep their order
    colors = method_colors(len(order))
    return {m: {"color": c, "marker": "o" if i < 10 else "s", "lw": 2.4 if m == "bidrn" else 1.5,
                "zorder": 3 if m == "bidrn" else 2} for i, (m, c) in enumerate(zip(order, colors))}


def plot_curves(result: dict, path: str, *, title: str) -> None:
    """Validation MPVPE (All) against step per method (matplotlib, PNG): the mean over its seeds at the steps
    every seed reached (styled by :func:`curve_styles`), the band between the best and the worst seed, each
    seed as a thin line; the control dashed, the oracle dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from bidrn_tf.fileio import write_atomic

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    styles = curve_styles(list(result["methods"]))
    for method, r in result["methods"].items():
        curves = [r["runs"][s]["curve"] for s in sorted(r["runs"], key=int)]
        steps = sorted(set.intersection(*({p["step"] for p in c} for c in curves)))
        values = np.array([[next(p["MPVPE_all"] for p in c if p["step"] == st) for st in steps] for c in curves])
        n = len(curves)
        color = styles[method]["color"]
        ax.plot(steps, values.mean(axis=0), **styles[method], ms=3,
                label=method if n == 1 else f"{method} (mean of {n} seeds)")
        if n > 1:
            ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15, lw=0)
            for c in curves:
                ax.plot([p["step"] for p in c], [p["MPVPE_all"] for p in c], color=color, lw=0.6, alpha=0.5)
    ax.axhline(result["control"]["MPVPE_all"], color="k", ls="--", lw=1, label="mean-pose control")
    if result.get("median_mesh_control"):
        ax.axhline(result["median_mesh_control"]["MPVPE_all"], color="k", ls="-.", lw=1, label="median-mesh control")
    if result.get("true_root_oracle"):
        ax.axhline(result["true_root_oracle"]["MPVPE_all"], color="grey", ls=":", lw=1,
                   label="mean pose + true root (oracle)")
    write_atomic(path, curves_png(fig, ax, ylabel="validation MPVPE all (mm)", title=title))


def curves_png(fig, ax, *, ylabel: str, title: str) -> bytes:
    """A curves figure against the training step finished (labels, grid, legend) and closed, as PNG bytes: the
    look every comparison's and probe's plot shares."""
    import io

    import matplotlib.pyplot as plt

    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def common_step(result: dict) -> int:
    """The last evaluated step every run of ``result`` reached (the methods are compared there)."""
    steps = [{p["step"] for p in run["curve"]} for _, _, run in _runs(result)]
    shared = set.intersection(*steps) if steps else set()
    if not shared:
        raise ValueError("the runs' curves share no evaluated step; nothing to compare")
    return max(shared)


def _mean_std(values) -> tuple:
    import numpy as np

    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def format_table(result: dict, head: str) -> str:
    """The comparison as markdown: the control (and oracle) rows and every method's point at the common step
    (the mean over its seeds), a spread table when a method has more than one seed, images/s, FP against
    the control and the share of the FP-BNN gap BiDRN closes (on the means over the seeds FP, BNN and BiDRN all
    ran, ``_gap_sentence``, and per seed)."""
    from bidrn_tf.evaluate.metrics import METRIC_NAMES, format_table as metric_table, gap_share

    rows = {"mean-pose control": result["control"]}
    if result.get("median_mesh_control"):
        rows["median-mesh control"] = result["median_mesh_control"]
    if result.get("true_root_oracle"):
        rows["mean pose + true root (oracle)"] = result["true_root_oracle"]
    at = common_step(result)
    points = {m: {s: next(p for p in r["runs"][s]["curve"] if p["step"] == at) for s in sorted(r["runs"], key=int)}
              for m, r in result["methods"].items()}
    means = {m: {k: _mean_std([p[k] for p in by_seed.values()])[0] for k in METRIC_NAMES}
             for m, by_seed in points.items()}
    several = any(len(by_seed) > 1 for by_seed in points.values())
    rows.update(means)
    table = head + f"Every run at step {at}, the last step all of them reached"
    table += " (each method: the mean over its seeds).\n\n" if several else ".\n\n"
    table += metric_table(rows)
    if several:
        table += ("\n| method | seeds | MPVPE_all, mean +- sample std | per seed | PA_MPJPE_body, mean +- sample std "
                  "| per seed |\n|---|---|---|---|---|---|\n")
        for m, by_seed in points.items():
            cells = []
            for k in ("MPVPE_all", "PA_MPJPE_body"):
                mu, sd = _mean_std([p[k] for p in by_seed.values()])
                cells += [f"{mu:.1f} +- {sd:.1f}", ", ".join(f"{p[k]:.1f}" for p in by_seed.values())]
            table += f"| {m} | {', '.join(str(s) for s in by_seed)} | " + " | ".join(cells) + " |\n"
    table += "\n| method | training images/s (after the first step), mean over runs |\n|---|---|\n"
    for m, r in result["methods"].items():
        ips = [run["images_per_second"] for run in r["runs"].values() if run.get("images_per_second")]
        if ips:
            table += f"| {m} | {sum(ips) / len(ips):.2f} |\n"
    if "fp" in means:
        ctrl, f = result["control"]["MPVPE_all"], means["fp"]["MPVPE_all"]
        where = "below" if f < ctrl else "above"
        table += f"\nFP is {abs(ctrl - f):.1f} mm {where} the control ({100 * abs(ctrl - f) / ctrl:.0f} %)"
        if result.get("median_mesh_control"):
            mesh = result["median_mesh_control"]["MPVPE_all"]
            table += f" and {abs(mesh - f):.1f} mm {'below' if f < mesh else 'above'} the median-mesh control"
        table += ".\n"
    table += _gap_sentence(points, several)
    if several and all(k in points for k in ("fp", "bnn", "bidrn")):
        shared = _shared_seeds(points, ("fp", "bnn", "bidrn"))
        per_seed = []
        for s in shared:
            fp, bnn, bidrn = (points[k][s]["MPVPE_all"] for k in ("fp", "bnn", "bidrn"))
            order = " < ".join(k for _, k in sorted([(fp, "FP"), (bnn, "BNN"), (bidrn, "BiDRN")]))
            share = gap_share(fp, bnn, bidrn)
            share = ("no FP-BNN gap" if bnn <= fp else "none of the gap, BiDRN above BNN" if share is None
                     else f"{share:.0f} %")
            per_seed.append(f"seed {s}: {order}, {share}")
        if per_seed:
            table += "\nPer seed (same seed for all three): " + "; ".join(per_seed) + ".\n"
    if several and "bidrn" in points:
        table += _against_bidrn(points)
    if several:
        table += _resolution(points)
    if result.get("error_budget"):
        table += _budget_sentence(result["error_budget"])
    if result.get("diagnose_people"):
        d = result["diagnose_people"]
        table += (f"\nThe final weights' diagnostics below (paired differences, the share interval, rotations, "
                  f"offsets, other people, parts) are on {d['count']} fresh validation people (data seed "
                  f"{d['data_seed']}), not on the people of the curves and the table above.\n")
    return (table + _paired_sentence(result) + _share_interval_sentence(result) + _rotation_sentence(result)
            + _bias_sentence(result) + _other_people_sentence(result) + _parts_sentence(result))


def _shared_seeds(points: dict, methods) -> list:
    """The seeds every one of ``methods`` ran, in the order of the first one's; [] when one of them is missing.
    ``points``: {method: {seed: metric point}}."""
    if any(m not in points for m in methods):
        return []
    return [s for s in points[methods[0]] if all(s in points[m] for m in methods)]


def _mean_on(points: dict, method: str, seeds, key: str = "MPVPE_all") -> float:
    """``method``'s mean ``key`` over ``seeds`` (all of which it ran)."""
    return _mean_std([points[method][s][key] for s in seeds])[0]


def _seed_words(seeds) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(s) for s in seeds)


def _gap_sentence(points: dict, several: bool) -> str:
    """Markdown: the share of the FP-BNN MPVPE_all gap BiDRN closes and the binarized methods at or below BiDRN
    (``evaluate.metrics.gap_closed``), both on means over the seeds FP, BNN and BiDRN all ran, and only for the
    methods that ran every one of those seeds: means over different seeds are not comparable, so a method that
    lacks one is named apart, and the sentence names the seeds when some method ran others. Flagged as noise
    when the gap is narrower than the smallest difference the seeds at hand resolve (``_seed_spread``).
    "" when FP, BNN or BiDRN did not run."""
    from bidrn_tf.evaluate.metrics import gap_closed

    if not all(k in points for k in ("fp", "bnn", "bidrn")):
        return ""
    seeds = _shared_seeds(points, ("fp", "bnn", "bidrn"))
    if not seeds:
        ran = ", ".join(f"{name} {_seed_words(list(points[k]))}" for k, name in
                        (("fp", "FP"), ("bnn", "BNN"), ("bidrn", "BiDRN")))
        return (f"\nNo share of the FP-BNN gap: FP, BNN and BiDRN ran no seed in common ({ran}), and means over "
                "different seeds are not comparable.\n")
    entered = [m for m in points if all(s in points[m] for s in seeds)]
    on = {m: _mean_on(points, m, seeds) for m in entered}
    gap = gap_closed(on, paper_note="paper, EHF MPVPE: 62.7 %")
    if not gap:
        return ""
    if any(set(by_seed) != set(seeds) for by_seed in points.values()):
        gap = (f"On {_seed_words(seeds)} (the {'seed' if len(seeds) == 1 else 'seeds'} FP, BNN and BiDRN all ran; "
               f"every method's mean over {'it' if len(seeds) == 1 else 'them'}): " + gap)
    left_out = [f"{m} ({_seed_words(list(points[m]))})" for m in points if m not in entered]
    if left_out:
        gap += (" Not in that sentence because they did not run all of those seeds (compare them with BiDRN seed "
                f"by seed below): {', '.join(left_out)}.")
    if several:
        width, smallest = on["bnn"] - on["fp"], _seed_spread(points)[3]
        if 0 < width < smallest:
            gap += (f" The FP-BNN gap ({width:.1f} mm) is below the smallest difference these seeds resolve "
                    f"({smallest:.1f} mm, below): read the share as noise, not as a measurement.")
    return f"\n{gap}\n"


PAIRED_METRICS = ("MPVPE_all", "PA_MPJPE_body")


def _paired_sentence(result: dict) -> str:
    """Markdown: every other method minus BiDRN on the same validation people, seed by seed
    (``evaluate.metrics.paired_difference`` of the final weights' per-person errors, ``compare(diagnose=True)``):
    whether the validation people at hand resolve the difference. "" without per-person errors for BiDRN."""
    from bidrn_tf.evaluate.metrics import paired_difference

    bidrn = result["methods"].get("bidrn", {}).get("runs", {})
    rows, people, by_seed = "", set(), {}
    for method, seed, run in _runs(result):
        other = bidrn.get(seed, {}).get("per_person")
        if method == "bidrn" or not run.get("per_person") or not other:
            continue
        cells = []
        for k in PAIRED_METRICS:
            d = paired_difference(run["per_person"][k], other[k])
            people.add(d["n"])
            by_seed.setdefault(method, {}).setdefault(k, {})[seed] = d["mean"]
            cells += [f"{d['mean']:+.1f} [{d['low']:+.1f}, {d['high']:+.1f}]", f"{100 * (1 - d['a_lower']):.0f} %"]
        rows += f"| {method} | {seed} | " + " | ".join(cells) + " |\n"
    if not rows:
        return ""
    return (f"\nEvery other method minus BiDRN on the same {' / '.join(map(str, sorted(people)))} validation "
            "people (final weights; positive: BiDRN lower; mean of the per-person differences with its 95 % "
            "interval over the people drawn, not over training seeds; and the share of people for whom BiDRN's "
            "error is at or below the method's):\n\n"
            "| method | seed | MPVPE_all difference [95 %] | BiDRN at or below for | PA_MPJPE_body difference [95 %] "
            "| BiDRN at or below for |\n|---|---|---|---|---|---|\n" + rows + _paired_over_seeds(by_seed))


def _paired_over_seeds(by_seed: dict) -> str:
    """Markdown: for every method with paired differences at two or more seeds (``_paired_sentence``:
    {method: {metric: {seed: mean difference}}}), their mean over the seeds with the seeds' sample std, and at
    how many seeds BiDRN is lower: the training seed's spread of a difference measured on the same people.
    "" when no method has two seeds."""
    parts = []
    for method, metrics in by_seed.items():
        seeds = sorted(metrics["MPVPE_all"], key=int)
        if len(seeds) < 2:
            continue
        cells = []
        for k in PAIRED_METRICS:
            values = [metrics[k][s] for s in seeds]
            mean, std = _mean_std(values)
            lower = sum(v > 0 for v in values)
            cells.append(f"{k} {mean:+.1f} +- {std:.1f} (BiDRN lower at {lower} of {len(values)})")
        parts.append(f"{method}, seeds {', '.join(map(str, seeds))}: " + "; ".join(cells))
    if not parts:
        return ""
    return ("\nThe same differences over the training seeds (mean of the per-seed differences +- their sample "
            "std; the spread is the training seed's, the people being the same): " + ". ".join(parts) + ".\n")


def _share_interval_sentence(result: dict) -> str:
    """Markdown: at each seed where FP, BNN and BiDRN all have per-person errors (``compare(diagnose=True)``),
    the share of the FP-BNN MPVPE_all gap BiDRN closes with its 95 % interval over the validation people
    (``evaluate.metrics.gap_share_interval``, Fieller), or, where those people do not resolve the gap itself,
    the gap BNN - FP with its interval (``paired_difference``).
    The one noise figure a single-seed share has; "" when no seed has all three."""
    from bidrn_tf.evaluate.metrics import gap_share_interval, paired_difference

    runs = {m: result["methods"].get(m, {}).get("runs", {}) for m in ("fp", "bnn", "bidrn")}
    parts, people = [], set()
    for seed in sorted(runs["bidrn"], key=int):
        rows = [runs[m].get(seed, {}).get("per_person") for m in ("fp", "bnn", "bidrn")]
        if not all(rows):
            continue
        g = gap_share_interval(*(r["MPVPE_all"] for r in rows))
        people.add(g["n"])
        if g["bounded"]:
            parts.append(f"seed {seed}: {g['share']:.0f} % [{g['low']:.0f} %, {g['high']:.0f} %]")
        else:  # the share's point value means nothing here (it flips sign and grows without bound): the gap
            d = paired_difference(rows[1]["MPVPE_all"], rows[0]["MPVPE_all"])
            parts.append(f"seed {seed}: no interval, these people do not resolve the FP-BNN gap itself "
                         f"(BNN - FP {d['mean']:+.1f} mm [{d['low']:+.1f}, {d['high']:+.1f}])")
    if not parts:
        return ""
    return (f"\nShare of the FP-BNN MPVPE_all gap BiDRN closes, with its 95 % interval over the same "
            f"{' / '.join(map(str, sorted(people)))} validation people (Fieller's interval for a ratio of "
            "paired means; final weights; the people drawn, not the training seed): " + "; ".join(parts) + ".\n")


def _budget_sentence(budget: list) -> str:
    """What the metrics charge for: MPVPE_all and PA_MPJPE_body of the mean-pose control and of the oracles
    that take one more parameter group from each validation person (``train.diagnostics.error_budget``)."""
    parts = []
    for row in budget:
        name = f"+ true {row['truth'][-1]}" if row["truth"] else "mean pose (control)"
        parts.append(f"{name} {row['MPVPE_all']:.1f} / {row['PA_MPJPE_body']:.1f}")
    return ("\nWhat the metrics charge for (MPVPE_all / PA_MPJPE_body, mm, of the mean pose with more and more "
            "parameter groups taken from each validation person; what the last row leaves is the shape): "
            + "; ".join(parts) + ".\n")


def _z(alpha: float = 0.05, power: float = 0.8) -> float:
    """z_{1 - alpha/2} + z_power of the standard normal (2.8016 for a two-sided 5 % test at 80 % power)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)


def seeds_needed(difference: float, spread: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds per method for a two-sided test at level ``alpha`` to find a true difference ``difference``
    between two methods' means with probability ``power``, when one run's error spreads with sample std
    ``spread`` over seeds: n = 2 ((z_{1 - alpha/2} + z_power) spread / difference)^2, rounded up (normal
    approximation: with few seeds the t-distribution asks for a few more)."""
    return math.ceil(2 * (_z(alpha, power) * spread / abs(difference)) ** 2)


def _seed_spread(points: dict) -> tuple:
    """(pooled, dof, n, smallest) for ``points`` = {method: {seed: metric point}} with at least one method at
    two or more seeds: the seed-to-seed sample std of MPVPE_all pooled over the methods with several seeds
    (variances weighted by their degrees of freedom), those degrees of freedom, the median seed count per
    method, and the smallest difference between two methods' means that a two-sided 5 % test finds with 80 %
    power at that count: (z_0.975 + z_0.8) pooled sqrt(2 / n)."""
    runs = [[p["MPVPE_all"] for p in by_seed.values()] for by_seed in points.values() if len(by_seed) > 1]
    dof = sum(len(r) - 1 for r in runs)
    pooled = math.sqrt(sum((len(r) - 1) * _mean_std(r)[1] ** 2 for r in runs) / dof)
    n = sorted(len(by_seed) for by_seed in points.values())[len(points) // 2]
    return pooled, dof, n, _z() * pooled * math.sqrt(2 / max(n, 1))


def _resolution(points: dict) -> str:
    """Markdown: what differences the seeds at hand can resolve. The seed-to-seed spread of MPVPE_all pooled
    over the methods with more than one seed (sample variances weighted by their degrees of freedom), the
    smallest difference between two methods' means that a 5 %-level test finds with 80 % power at the
    typical seed count, and, when FP and BNN ran, the seeds per method that the FP-BNN gap and 40 % of it
    would need (40 %: the farthest BiDRN may sit from FP and still close 60 % of the gap; the gap as a
    difference of means over the seeds both ran)."""
    pooled, dof, n, smallest = _seed_spread(points)
    runs = sum(len(by_seed) > 1 for by_seed in points.values())
    text = (f"\nSeed-to-seed spread of MPVPE_all, pooled over {runs} methods with several seeds: {pooled:.1f} mm "
            f"({dof} degrees of freedom). With {n} seeds per method, a difference between two methods' means "
            f"smaller than {smallest:.1f} mm is found less than 80 % of the time "
            f"(two-sided 5 % test, normal approximation).")
    seeds = _shared_seeds(points, ("fp", "bnn"))
    if seeds and pooled > 0:
        gap = _mean_on(points, "bnn", seeds) - _mean_on(points, "fp", seeds)
        on = "" if set(points["fp"]) == set(points["bnn"]) else f" on {_seed_words(seeds)}, which both ran"
        if gap > 0:
            text += (f" The FP-BNN gap here ({gap:.1f} mm{on}) needs {seeds_needed(gap, pooled)} seeds per method; "
                     f"40 % of it ({0.4 * gap:.1f} mm) needs {seeds_needed(0.4 * gap, pooled)}.")
    return text + "\n"


def _against_bidrn(points: dict) -> str:
    """Markdown: every other binarized method against BiDRN, seed by seed (a seed fixes the batch order and
    augmentation for every method; the initial weights differ with the architecture): the error differences
    method - BiDRN per shared seed, their mean +- sample std and at how many seeds BiDRN is lower.
    ``points``: {method: {seed: metric point}}; "" when no other binarized method shares a seed with BiDRN."""
    rows = ""
    for m, by_seed in points.items():
        shared = [s for s in by_seed if s in points["bidrn"]]
        if m in ("fp", "bidrn") or not shared:
            continue
        cells = []
        for k in ("MPVPE_all", "PA_MPJPE_body"):
            diff = [by_seed[s][k] - points["bidrn"][s][k] for s in shared]
            mu, sd = _mean_std(diff)
            cells += [", ".join(f"{d:+.1f}" for d in diff), f"{mu:+.1f} +- {sd:.1f}",
                      f"{sum(d > 0 for d in diff)} of {len(diff)}"]
        rows += f"| {m} | {', '.join(str(s) for s in shared)} | " + " | ".join(cells) + " |\n"
    if not rows:
        return ""
    return ("\nEvery other binarized method minus BiDRN, seed by seed (positive: BiDRN lower):\n\n"
            "| method | seeds | MPVPE_all difference per seed | mean +- sample std | BiDRN lower at "
            "| PA_MPJPE_body difference per seed | mean +- sample std | BiDRN lower at |\n"
            "|---|---|---|---|---|---|---|---|\n" + rows)


POSE_LOSS_WORDS = {"axis_angle": "axis-angle (Hand4Whole)", "matrix": "rotation matrices",
                   "geodesic": "the rotation angle (geodesic)"}


def main(argv=None) -> int:
    import argparse

    from bidrn_tf.cli import (add_budget_arguments, add_distill_switches, add_scratch_switches, distill_arguments,
                              model_switches, positive_int)
    from bidrn_tf.data.synthetic import APPEARANCES
    from bidrn_tf.fileio import versioned, write_atomic
    from bidrn_tf.models.backbones import METHODS

    ap = argparse.ArgumentParser(description="Same budget for every method on the generated set: curves, control, table")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS + tuple(VARIANTS),
                    help="methods of the method= switch, and variants with a run folder and row of their own: "
                         + "; ".join(f"{k}: {v[2]}" for k, v in VARIANTS.items()))
    add_budget_arguments(ap, steps=300, out="out/compare")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0],
                    help="training seeds: every method is trained once per seed (weights, batch order, augmentation)")
    ap.add_argument("--data-seed", type=int, default=0, help="seed of the generated people, the same for every run")
    ap.add_argument("--eval-every", type=positive_int, default=50)
    ap.add_argument("--bn", default="precise", choices=("precise", "moving"))
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: table and curves of the runs saved so far (e.g. while they still run)")
    ap.add_argument("--diagnose", "--rotations", dest="diagnose", action="store_true",
                    help="also measure every finished run's final weights on the validation people: rotation errors "
                         "(angles) and the meshes against other people's (what the link to the image is worth)")
    ap.add_argument("--restore-curves", nargs="+", metavar="REPORT_JSON",
                    help="first write back the curves of comparison.json files made with this setting (e.g. ones "
                         "under docs/) for the runs that have no curve in --out: their weights are not restored")
    ap.add_argument("--diagnose-people", type=positive_int, metavar="N",
                    help="with --diagnose: measure the final weights on N fresh generated validation people instead "
                         "of the curves' --num-val (narrower intervals over the people, at the cost of evaluating)")
    ap.add_argument("--appearance", default="plain", choices=APPEARANCES,
                    help="how the generated people are drawn: plain (one colour, the first version) or front (the "
                         "body's front in a second colour, which marks which way it is turned); each in its own "
                         "data folder under --out")
    add_scratch_switches(ap)
    add_distill_switches(ap, teacher_help="every run distils its body features from this run's final weights "
                                          "(<run>/final/weights, e.g. <out>/fp/final/weights of a comparison with "
                                          "this setting); give the distilled comparison an --out of its own")
    args = ap.parse_args(argv)
    args.teacher, args.distill_weight = distill_arguments(args)
    try:
        check_arguments(bn=args.bn, seeds=args.seeds, diagnose=args.diagnose, diagnose_people=args.diagnose_people,
                        teacher=args.teacher, distill_weight=args.distill_weight)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.restore_curves:
        try:
            restored = restore_curves(args.restore_curves, os.path.abspath(args.out),
                                      {k: getattr(args, k) for k in SETTING_ARGS})
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"restored the curves of {', '.join(f'{m} seed {s}' for m, s in restored) or 'no run'} "
              f"from {', '.join(args.restore_curves)}")
    try:
        result = compare(args.methods, steps=args.steps, eval_every=args.eval_every, batch_size=args.batch_size,
                         lr=args.lr, preset=args.preset, num_train=args.num_train, num_val=args.num_val,
                         seeds=args.seeds, data_seed=args.data_seed, bn=args.bn, out=args.out,
                         report_only=args.report_only, pose_loss=args.pose_loss,
                         root_pose_weight=args.root_pose_weight, diagnose=args.diagnose,
                         diagnose_people=args.diagnose_people, appearance=args.appearance, teacher=args.teacher,
                         distill_weight=args.distill_weight, **model_switches(args))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not result["methods"]:
        print(f"error: no run of {args.methods} x seeds {args.seeds} has an evaluated point in {args.out}",
              file=sys.stderr)
        return 2
    head = (f"Generated synthetic validation split ({args.num_val} persons), mm; NOT AGORA / EHF. Budget: {args.steps} "
            f"steps x batch {args.batch_size}, Adam {args.lr:g} (x0.1 at 70 % and 90 %), preset {args.preset}"
            f"{f' with a {args.body_hw[0]}x{args.body_hw[1]} body input' if args.body_hw else ''}"
            f"{f', BoxNet {args.boxnet} for every method' if args.boxnet else ''}, "
            f"{args.num_train} training persons (data seed {args.data_seed}"
            f"{', the body front in a second colour' if args.appearance == 'front' else ''}), training seeds "
            f"{', '.join(map(str, args.seeds))}, BatchNorm statistics: {args.bn}"
            f"{', head-input BatchNorm' if args.feature_bn else ''}, rotation heads start at "
            f"{'the rest pose' if args.rotation_init == 'rest' else 'random rotations (Hand4Whole)'}, pose loss on "
            f"{POSE_LOSS_WORDS[args.pose_loss]}"
            f"{f' + the root rotation alone x {args.root_pose_weight:g}' if args.root_pose_weight else ''}, "
            f"full-precision convs "
            f"start {'He-normal' if args.fp_init == 'he' else 'at N(0, 1e-3) (Hand4Whole)'}"
            f"{f', body features distilled from {args.teacher}' if args.teacher else ''}"
            f"{f' at weight {args.distill_weight:g}' if args.teacher else ''}"
            ".\n\n")
    table = format_table(result, head)
    print("\n" + table)
    write_atomic(os.path.join(args.out, "comparison.md"), table.encode())
    write_atomic(os.path.join(args.out, "comparison.json"), json.dumps(versioned({**result, "args": vars(args)}),
                                                                       indent=1).encode())
    write_atomic(os.path.join(args.out, "curves.json"), json.dumps(versioned(
        {m: {str(s): run["curve"] for s, run in r["runs"].items()} for m, r in result["methods"].items()}
        | {"control": result["control"], "median_mesh_control": result["median_mesh_control"],
           "true_root_oracle": result["true_root_oracle"]}), indent=1).encode())
    plot_curves(result, os.path.join(args.out, "curves.png"),
                title=f"generated set, preset {args.preset}, batch {args.batch_size}, lr {args.lr:g}, BN {args.bn}")
    print(f"wrote {args.out}/comparison.md, comparison.json, curves.json, curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
