"""Every method of the ``method=`` switch trained with the same data, seed and budget on the generated set,
with learning curves and a mean-pose control: ``benchmarks/compare_methods.py`` / ``make compare``.

Each method's run is an ordinary training run (``<out>/<method>``, ``bidrn_tf.train.loop.train``) that
checkpoints at every evaluation, so a comparison killed half-way continues where it stopped (finished runs
are not retrained). Every ``eval_every`` steps the current weights are copied into a separate evaluation
model, its BatchNorm statistics re-estimated on training batches (precise BN, ``--bn precise``; or the
moving statistics as trained, ``--bn moving``), and validation MPVPE / PA-MPVPE / PA-MPJPE measured; the
points are kept in ``<out>/<method>/curve.json``. The control row (``train.diagnostics.mean_pose_control``)
predicts the training set's mean parameters (the root rotation included), so "learned something" is a
number; a second row gives the mean pose each person's true root rotation (an oracle, not a control).

Writes ``<out>/comparison.{md,json}`` (last point of every method, the control, images/s, minutes) and
``<out>/curves.png`` / ``curves.json``. Accuracy on generated data, not AGORA / EHF.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time


import bidrn_tf  # noqa: F401


def _committed_step(run_dir: str) -> int:
    from bidrn_tf.train.loop import committed_checkpoint

    path = committed_checkpoint(run_dir) if os.path.isdir(run_dir) else None
    return int(path.rsplit("-", 1)[1]) if path else 0


def _save_curve(path: str, *, method: str, bn: str, points: list, images_per_second=None) -> None:
    """``<run>/curve.json``: the evaluated points of one method's run (and its training images/s, once known)."""
    from bidrn_tf.fileio import versioned, write_atomic

    write_atomic(path, json.dumps(versioned({"method": method, "bn": bn, "points": points,
                                             "images_per_second": images_per_second}), indent=1).encode())


def compare(methods, *, steps: int, eval_every: int, batch_size: int = 8, lr: float = 1e-4, preset: str = "small",
            num_train: int = 64, num_val: int = 16, seed: int = 0, bn: str = "precise", out: str = "out/compare",
            report_only: bool = False, feature_bn: bool = False, rotation_init: str = "hand4whole",
            pose_loss: str = "axis_angle", fp_init: str = "hand4whole") -> dict:
    """Train (or continue) every method's run and return {"control", "true_root_oracle", "methods": {method:
    {"curve", "images_per_second"}}}. ``report_only``: train nothing, report the curves saved so far (methods
    without a curve are left out); a comparison still running in another process is not disturbed.
    ``feature_bn`` / ``rotation_init`` / ``fp_init``: these ``ModelConfig`` switches on top of the preset;
    ``pose_loss``: ``TrainConfig.pose_loss``."""
    import tensorflow as tf

    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.evaluate.loop import evaluate
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.smplx.synthetic import model_or_stand_in
    from bidrn_tf.train.diagnostics import mean_pose_control
    from bidrn_tf.train.loop import TrainConfig, train

    if bn not in ("precise", "moving"):
        raise ValueError(f"bn must be precise or moving, got {bn!r}")
    out = os.path.abspath(out)
    if report_only and not any(os.path.isfile(os.path.join(out, m, "curve.json")) for m in methods):
        return {"control": None, "true_root_oracle": None, "methods": {}}  # nothing to report: render nothing
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, "data"), smplx_model=smplx, num_train=num_train, num_val=num_val, seed=seed)
    train_people, val_people = load_people("synthetic", data, "train"), load_people("synthetic", data, "validation")
    cfg = dataclasses.replace(PRESETS[preset], feature_bn=feature_bn, rotation_init=rotation_init, fp_init=fp_init)
    joints = ground_truth(train_people, smplx)["joints"]
    calib = make_dataset(train_people, joints, batch_size=batch_size, training=False, input_hw=cfg.image_hw)
    control = mean_pose_control(train_people, val_people, smplx)
    oracle = mean_pose_control(train_people, val_people, smplx, root="true")
    results = {}
    for method in methods:
        run_dir = os.path.join(out, method)
        curve_path = os.path.join(run_dir, "curve.json")
        start = _committed_step(run_dir)
        curve, stored_ips = [], None
        if os.path.isfile(curve_path):
            with open(curve_path) as f:
                stored = json.load(f)
            curve = [p for p in stored["points"] if p["step"] <= start]  # drop points past the checkpoint
            stored_ips = stored.get("images_per_second")
        if report_only:
            if curve:
                results[method] = {"curve": curve, "images_per_second": stored_ips}
            continue
        tf.keras.backend.clear_session()
        evaluator = build_model(method=method, smplx_model=smplx, config=cfg)

        spent = [0.0]  # seconds of evaluation inside the training loop, left out of images/s

        def hook(step, model, curve=curve, evaluator=evaluator, curve_path=curve_path, method=method, spent=spent):
            if step % eval_every and step != steps:
                return
            t_eval = time.perf_counter()
            evaluator.set_weights(model.get_weights())
            if bn == "precise":
                precise_batchnorm(evaluator, (b["image"] for b in calib.take(8)))
            mean = evaluate(evaluator, val_people, smplx_model=smplx, input_hw=cfg.image_hw, progress=False)["mean"]
            curve.append({"step": step, **mean})
            print(f"  {method} step {step}: MPVPE_all {mean['MPVPE_all']:.1f} mm", flush=True)
            _save_curve(curve_path, method=method, bn=bn, points=curve)
            spent[0] += time.perf_counter() - t_eval

        t = time.perf_counter()
        summary = train(TrainConfig(method=method, dataset="synthetic", data_dir=data, smplx_model=smplx, out=run_dir,
                                    preset=preset, model_config=cfg, steps=steps, batch_size=batch_size, lr=lr,
                                    checkpoint_every=eval_every, seed=seed, pose_loss=pose_loss,
                                    resume=os.path.exists(os.path.join(run_dir, "run.json"))),
                        step_hook=hook)
        if not curve or curve[-1]["step"] != steps:  # a finished run resumed: nothing trained, evaluate the end
            from bidrn_tf.models.checkpoints import load_trained

            hook(steps, load_trained(os.path.join(run_dir, "final", "weights")))
        train_seconds = summary["seconds_after_first_step"] - spent[0]
        ips = summary["timed_steps"] * batch_size / train_seconds if summary["timed_steps"] and train_seconds > 0 else None
        if ips is None:  # finished in an earlier session: its speed as measured then
            ips = stored_ips
        _save_curve(curve_path, method=method, bn=bn, points=curve, images_per_second=ips)
        results[method] = {"curve": curve, "images_per_second": ips,
                           "minutes_this_session": (time.perf_counter() - t) / 60}
    return {"control": control, "true_root_oracle": oracle, "methods": results}


def plot_curves(result: dict, path: str, *, title: str) -> None:
    """Validation MPVPE (All) against step per method, the control as a dashed line (matplotlib, PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bidrn_tf.fileio import write_atomic

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for method, r in result["methods"].items():
        pts = r["curve"]
        ax.plot([p["step"] for p in pts], [p["MPVPE_all"] for p in pts], marker="o", ms=3, label=method)
    ax.axhline(result["control"]["MPVPE_all"], color="k", ls="--", lw=1, label="mean-pose control")
    if "true_root_oracle" in result:
        ax.axhline(result["true_root_oracle"]["MPVPE_all"], color="grey", ls=":", lw=1,
                   label="mean pose + true root (oracle)")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation MPVPE all (mm)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def common_step(result: dict) -> int:
    """The last evaluated step every method of ``result`` reached (methods are compared there)."""
    steps = [{p["step"] for p in r["curve"]} for r in result["methods"].values()]
    shared = set.intersection(*steps) if steps else set()
    if not shared:
        raise ValueError("the methods' curves share no evaluated step; nothing to compare")
    return max(shared)


def format_table(result: dict, head: str) -> str:
    from bidrn_tf.evaluate.metrics import format_table as metric_table, gap_closed

    rows = {"mean-pose control": result["control"]}
    if "true_root_oracle" in result:
        rows["mean pose + true root (oracle)"] = result["true_root_oracle"]
    at = common_step(result)
    points = {m: next(p for p in r["curve"] if p["step"] == at) for m, r in result["methods"].items()}
    rows.update({m: {k: v for k, v in p.items() if k != "step"} for m, p in points.items()})
    table = head + f"Every method at step {at}, the last step all of them reached.\n\n" + metric_table(rows)
    table += "\n| method | training images/s (after the first step) |\n|---|---|\n"
    table += "".join(f"| {m} | {r['images_per_second']:.2f} |\n" for m, r in result["methods"].items()
                     if r["images_per_second"] is not None)
    if "fp" in points:
        ctrl, f = result["control"]["MPVPE_all"], points["fp"]["MPVPE_all"]
        where = "below" if f < ctrl else "above"
        table += f"\nFP is {abs(ctrl - f):.1f} mm {where} the control ({100 * abs(ctrl - f) / ctrl:.0f} %).\n"
    gap = gap_closed({m: p["MPVPE_all"] for m, p in points.items()}, paper_note="paper, EHF MPVPE: 62.7 %")
    if gap:
        table += f"\n{gap}\n"
    return table


def main(argv=None) -> int:
    import argparse

    from bidrn_tf.cli import add_budget_arguments, add_scratch_switches, model_switches, positive_int
    from bidrn_tf.fileio import versioned, write_atomic
    from bidrn_tf.models.backbones import METHODS

    ap = argparse.ArgumentParser(description="Same budget for every method on the generated set: curves, control, table")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    add_budget_arguments(ap, steps=300, out="out/compare")
    ap.add_argument("--eval-every", type=positive_int, default=50)
    ap.add_argument("--bn", default="precise", choices=("precise", "moving"))
    ap.add_argument("--report-only", action="store_true",
                    help="train nothing: table and curves of the runs saved so far (e.g. while they still run)")
    add_scratch_switches(ap)
    args = ap.parse_args(argv)
    result = compare(args.methods, steps=args.steps, eval_every=args.eval_every, batch_size=args.batch_size, lr=args.lr,
                     preset=args.preset, num_train=args.num_train, num_val=args.num_val, bn=args.bn, out=args.out,
                     report_only=args.report_only, pose_loss=args.pose_loss, **model_switches(args))
    if not result["methods"]:
        print(f"error: no method of {args.methods} has an evaluated point in {args.out}", file=sys.stderr)
        return 2
    head = (f"Generated synthetic validation split ({args.num_val} persons), mm; NOT AGORA / EHF. Budget: {args.steps} "
            f"steps x batch {args.batch_size}, Adam {args.lr:g} (x0.1 at 70 % and 90 %), preset {args.preset}, "
            f"{args.num_train} training persons, seed 0, BatchNorm statistics: {args.bn}"
            f"{', head-input BatchNorm' if args.feature_bn else ''}, rotation heads start at "
            f"{'the rest pose' if args.rotation_init == 'rest' else 'random rotations (Hand4Whole)'}, pose loss on "
            f"{'rotation matrices' if args.pose_loss == 'matrix' else 'axis-angle (Hand4Whole)'}, full-precision convs "
            f"start {'He-normal' if args.fp_init == 'he' else 'at N(0, 1e-3) (Hand4Whole)'}.\n\n")
    table = format_table(result, head)
    print("\n" + table)
    write_atomic(os.path.join(args.out, "comparison.md"), table.encode())
    write_atomic(os.path.join(args.out, "comparison.json"), json.dumps(versioned({**result, "args": vars(args)}),
                                                                       indent=1).encode())
    write_atomic(os.path.join(args.out, "curves.json"), json.dumps(versioned(
        {m: r["curve"] for m, r in result["methods"].items()}
        | {"control": result["control"], "true_root_oracle": result["true_root_oracle"]}), indent=1).encode())
    plot_curves(result, os.path.join(args.out, "curves.png"),
                title=f"generated set, preset {args.preset}, batch {args.batch_size}, lr {args.lr:g}, BN {args.bn}")
    print(f"wrote {args.out}/comparison.md, comparison.json, curves.json, curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
