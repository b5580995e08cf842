"""Benchmark (not a test): why does BiDRN train last at a small budget? One measurement per suspect.

    python benchmarks/diagnose_training.py [--methods fp bnn reactnet bidrn] [--steps 200] [--lr 1e-4]
                                           [--extra bidrn:1e-3 ...] [--preset small] [--out out/diagnose]

For each method (and each ``method:lr`` of ``--extra``), on the generated synthetic set, same data, seed and
budget:

1. activation growth at initialisation: std of each residual block's output of the body backbone (BatchNorm
   as initialised) relative to the stem's, on training crops (``train.diagnostics.block_activation_std``);
2. training (``bidrn-train``'s loop, an ordinary resumable run under ``<out>/<method>[_lr]``), tracking which
   latent binary weights ever change sign (``train.diagnostics.SignFlips``);
3. validation MPVPE with the moving BatchNorm statistics as trained, and after precise BatchNorm
   re-estimation on 16 training batches (``models.batchnorm.precise_batchnorm``);
4. the mean-pose control (``train.diagnostics.mean_pose_control``): what "learned nothing" scores.

Writes ``<out>/diagnosis.json`` and ``<out>/diagnosis.md``. Accuracy here is on generated data, not AGORA / EHF.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv=None) -> int:
    from bidrn_tf.cli import add_budget_arguments

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["fp", "bnn", "reactnet", "bidrn"])
    ap.add_argument("--extra", nargs="*", default=[], help="method:lr runs in addition, e.g. bidrn:1e-3")
    add_budget_arguments(ap, steps=200, out="out/diagnose")
    args = ap.parse_args(argv)
    import numpy as np

    import bidrn_tf  # noqa: F401
    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.evaluate.loop import evaluate
    from bidrn_tf.fileio import write_report
    from bidrn_tf.models.backbones import build_resnet
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.smplx.synthetic import model_or_stand_in
    from bidrn_tf.train.diagnostics import SignFlips, block_activation_std, mean_pose_control
    from bidrn_tf.train.loop import TrainConfig, train

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, "data"), smplx_model=smplx, num_train=args.num_train, num_val=args.num_val)
    train_people = load_people("synthetic", data, "train")
    val_people = load_people("synthetic", data, "validation")
    cfg = PRESETS[args.preset]
    joints = ground_truth(train_people, smplx)["joints"]
    plain = make_dataset(train_people, joints, batch_size=args.batch_size, training=False, input_hw=cfg.image_hw)
    crops = next(iter(plain))["image"]
    body_crops = __import__("tensorflow").image.resize(crops, cfg.body_hw)
    control = mean_pose_control(train_people, val_people, smplx)
    print(f"mean-pose control: MPVPE_all {control['MPVPE_all']:.1f} mm", flush=True)
    runs = [(m, args.lr) for m in args.methods] + [(e.split(":")[0], float(e.split(":")[1])) for e in args.extra]
    rows = {}
    for method, lr in runs:
        label = method if lr == args.lr else f"{method} lr {lr:g}"
        run_dir = os.path.join(out, method if lr == args.lr else f"{method}_lr{lr:g}")
        growth = block_activation_std(build_resnet(depth=cfg.body_depth, method=method,
                                                   input_shape=(*cfg.body_hw, 3)), body_crops)
        stem = growth.pop("stem")
        ratios = np.array(list(growth.values())) / stem
        tracker = {}

        def hook(step, model, tracker=tracker):
            if "flips" not in tracker:
                tracker["flips"] = SignFlips(model)  # after the first step: its change is not counted
            else:
                tracker["flips"].update()

        t = time.perf_counter()
        summary = train(TrainConfig(method=method, dataset="synthetic", data_dir=data, smplx_model=smplx, out=run_dir,
                                    preset=args.preset, steps=args.steps, batch_size=args.batch_size, lr=lr,
                                    checkpoint_every=args.steps, resume=os.path.exists(os.path.join(run_dir, "run.json"))),
                        step_hook=hook)
        minutes = (time.perf_counter() - t) / 60
        flips = tracker["flips"].summary() if "flips" in tracker else {}
        model = load_trained(os.path.join(run_dir, "final", "weights"))
        moving = evaluate(model, val_people, smplx_model=smplx, input_hw=cfg.image_hw, progress=False)["mean"]
        precise_batchnorm(model, (b["image"] for b in plain.take(16)))
        precise = evaluate(model, val_people, smplx_model=smplx, input_hw=cfg.image_hw, progress=False)["mean"]
        rows[label] = {"method": method, "lr": lr, "steps": summary["steps"], "minutes": minutes,
                       "activation_growth_last": float(ratios[-1]), "activation_growth_max": float(ratios.max()),
                       "sign_flips": flips, "mpvpe_moving_bn": moving["MPVPE_all"],
                       "mpvpe_precise_bn": precise["MPVPE_all"], "pa_mpjpe_body_precise_bn": precise["PA_MPJPE_body"],
                       "final_loss": summary["last_losses"]}
        print(f"=== {label}: {rows[label]}", flush=True)
    head = (f"Generated synthetic set ({args.num_train} train / {args.num_val} validation persons), preset "
            f"{args.preset}, {args.steps} steps x batch {args.batch_size}, Adam lr as listed, seed 0. NOT AGORA / EHF.\n\n")
    table = head + ("| run | MPVPE moving BN (mm) | MPVPE precise BN (mm) | PA-MPJPE body, precise BN | block std / stem "
                    "std at init (last, max) | binary weights that ever flipped sign | minutes |\n|---|---|---|---|---|---|---|\n")
    table += f"| mean-pose control | {control['MPVPE_all']:.1f} | | {control['PA_MPJPE_body']:.1f} | | | |\n"
    for label, r in rows.items():
        f = r["sign_flips"].get("ever_flipped")
        table += (f"| {label} | {r['mpvpe_moving_bn']:.1f} | {r['mpvpe_precise_bn']:.1f} | {r['pa_mpjpe_body_precise_bn']:.1f} | "
                  f"{r['activation_growth_last']:.2f}, {r['activation_growth_max']:.2f} | "
                  f"{'n/a' if f is None else f'{100 * f:.2f} %'} | {r['minutes']:.1f} |\n")
    print("\n" + table)
    write_report(os.path.join(out, "diagnosis"), {"control": control, "runs": rows, "args": vars(args)}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
