"""Overfit check: can a training setup memorise a handful of generated people?

``benchmarks/overfit_check.py`` (``make overfit``) trains one method on ``num_people`` generated people
without augmentation and evaluates it on the *same* people (precise BatchNorm statistics from them). A model,
loss and optimiser that work drive every error towards zero here; what stays high is a defect of the setup
(loss, parametrisation, optimisation), not a lack of data or budget. Beside the usual metrics it reports the
mean rotation angle between the predicted and the true rotations per part (root, body, hands, jaw), and the
same for a constant: the training people's mean rotation of each joint (chordal L2 mean), so "memorised"
and "learned nothing" are both numbers.

The README ("Overfit check") has the measured table of the pose losses; accuracy here is on generated
people, not AGORA / EHF.
"""
from __future__ import annotations

import dataclasses
import json
import os

import bidrn_tf  # noqa: F401
from bidrn_tf.fileio import versioned, write_atomic


def overfit_check(*, method: str, out: str, num_people: int = 16, steps: int = 800, batch_size: int = 8,
                  lr: float = 1e-3, seed: int = 1, data_seed: int = 5, preset: str = "tiny", model_config=None,
                  pose_loss: str = "axis_angle", root_pose_weight: float = 0.0, progress: bool = True) -> dict:
    """Train ``method`` on ``num_people`` generated people (data seed ``data_seed``) without augmentation into
    ``out`` (resumed when it holds the same run), then evaluate it on those people. ``model_config``: the
    ``ModelConfig`` (default: the preset's); ``pose_loss`` / ``root_pose_weight``: ``TrainConfig``'s.

    Returns {"fit": metrics (mm), "control": the mean-pose control's metrics on the same people, "angles":
    {part: degrees}, "control_angles": the same for every joint's mean rotation, "settings"}; also written
    to ``<out>/overfit.json``."""
    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.evaluate.loop import evaluate
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.smplx.synthetic import model_or_stand_in
    from bidrn_tf.train.diagnostics import mean_pose_control, predicted_rotations, rotation_errors
    from bidrn_tf.train.loop import TrainConfig, train

    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {preset!r}")
    if isinstance(num_people, bool) or not isinstance(num_people, int) or num_people < batch_size:
        raise ValueError(f"num_people must be a whole number >= batch_size ({batch_size}), got {num_people!r}")
    cfg = model_config or PRESETS[preset]
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, "data"), smplx_model=smplx, num_train=num_people, num_val=1, seed=data_seed)
    run = os.path.join(out, "run")
    summary = train(TrainConfig(method=method, dataset="synthetic", data_dir=data, smplx_model=smplx, out=run,
                                preset=preset, model_config=cfg, steps=steps, batch_size=batch_size, lr=lr,
                                checkpoint_every=max(steps // 4, 1), seed=seed, pose_loss=pose_loss,
                                root_pose_weight=root_pose_weight, augment=False, progress=progress,
                                resume=os.path.exists(os.path.join(run, "run.json"))))
    people = load_people("synthetic", data, "train")
    model = load_trained(os.path.join(run, "final", "weights"), smplx_model=smplx)
    batches = make_dataset(people, ground_truth(people, smplx)["joints"], batch_size=batch_size, training=False,
                           input_hw=cfg.image_hw)
    precise_batchnorm(model, (b["image"] for b in batches))
    pred, truth = predicted_rotations(model, batches)
    angles = rotation_errors(pred, truth, truth)  # the constant: each joint's mean over these same people
    result = {
        "fit": evaluate(model, people, smplx_model=smplx, input_hw=cfg.image_hw, progress=False)["mean"],
        "control": mean_pose_control(people, people, smplx),
        "angles": angles["model"], "control_angles": angles["constant"],
        "settings": {"method": method, "num_people": num_people, "steps": steps, "batch_size": batch_size,
                     "lr": lr, "seed": seed, "data_seed": data_seed, "preset": preset,
                     "model_config": dataclasses.asdict(cfg), "pose_loss": pose_loss,
                     "root_pose_weight": root_pose_weight},
        "minutes": summary["seconds_after_first_step"] / 60,
    }
    write_atomic(os.path.join(out, "overfit.json"), json.dumps(versioned(result), indent=1).encode())
    return result


def format_result(result: dict) -> str:
    """A Markdown table: the fit and the control on the trained people (mm, degrees)."""
    s = result["settings"]
    root = f" + root x {s['root_pose_weight']:g}" if s["root_pose_weight"] else ""
    lines = [f"{s['method']}, {s['num_people']} generated people memorised for {s['steps']} steps x {s['batch_size']} "
             f"(lr {s['lr']:g}, no augmentation), evaluated on the same people; pose loss {s['pose_loss']}{root}. "
             f"Generated data, not AGORA / EHF.", "",
             "| | MPVPE_all | PA-MPVPE_all | PA-MPJPE_body | PA-MPVPE_hands | root deg | body deg | hands deg |",
             "|---|---|---|---|---|---|---|---|"]
    for name, metrics, angles in (("fit", result["fit"], result["angles"]),
                                  ("mean-pose control", result["control"], result["control_angles"])):
        hands = (angles["lhand_pose"] + angles["rhand_pose"]) / 2
        lines.append(f"| {name} | {metrics['MPVPE_all']:.1f} | {metrics['PA_MPVPE_all']:.1f} | "
                     f"{metrics['PA_MPJPE_body']:.1f} | {metrics['PA_MPVPE_hands']:.1f} | {angles['root_pose']:.1f} | "
                     f"{angles['body_pose']:.1f} | {hands:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse
    import sys

    from bidrn_tf.cli import add_scratch_switches, model_switches, positive_int
    from bidrn_tf.models.backbones import METHODS
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.train.loop import TrainingError

    ap = argparse.ArgumentParser(description="Memorise a few generated people (no augmentation) and evaluate on them")
    ap.add_argument("--method", default="fp", choices=METHODS)
    ap.add_argument("--num-people", type=positive_int, default=16)
    ap.add_argument("--steps", type=positive_int, default=800)
    ap.add_argument("--batch-size", type=positive_int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1, help="training seed")
    ap.add_argument("--data-seed", type=int, default=5, help="seed of the generated people")
    ap.add_argument("--preset", default="tiny", choices=tuple(PRESETS))
    ap.add_argument("--out", required=True, help="folder: data, the run, overfit.json / overfit.md")
    add_scratch_switches(ap)
    args = ap.parse_args(argv)
    cfg = dataclasses.replace(PRESETS[args.preset], **model_switches(args))
    try:
        result = overfit_check(method=args.method, out=args.out, num_people=args.num_people, steps=args.steps,
                               batch_size=args.batch_size, lr=args.lr, seed=args.seed, data_seed=args.data_seed,
                               preset=args.preset, model_config=cfg, pose_loss=args.pose_loss,
                               root_pose_weight=args.root_pose_weight)
    except (TrainingError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = format_result(result)
    write_atomic(os.path.join(args.out, "overfit.md"), table.encode())
    print("\n" + table + f"\nwrote {args.out}/overfit.json, overfit.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
