"""The seed's Table 6 as an experiment: MobileNetV1 (FP, BNN, BiDRN) trained on a 2D keypoint task.

    python benchmarks/keypoints.py [--methods fp bnn bidrn] [--seeds 0] [--epochs 12] [--num-train 384]
                                   [--input-hw 128 96] [--out D]

Task: the generated AGORA-format set's people (``bidrn_tf.data.synthetic``; generated images, NOT COCO),
each warped to a crop around its box (``--input-hw``, default 128x96 on a 2-core machine) by the training pipeline (``data.pipeline.make_dataset``, with
its augmentation for training), and the 25 body joints of Hand4Whole's PositionNet projected into the crop.
MPJPE is the mean Euclidean distance in crop pixels over the joints inside the crop, on held-out people.

Model: ``build_mobilenet_v1(method)`` at H x W -> (H/32, W/32, 1024) -> BatchNorm -> a full-precision 1x1
convolution to 25 heatmaps -> 2D soft-argmax -> pixels (cell centres: ``32 x + 15.5``). The BatchNorm
(``head_bn``, default on) puts every method's features on one scale: without it, BiDRN's features (its Block
Residuals add every block's output; std 5.4 in training mode at init against FP's 0.54 and BNN's 0.72) saturate
the soft-argmax, and a 12-epoch BiDRN run stayed at its initial loss. Loss: L1 in pixels / 32 on the valid
joints. Training, the same for every method: Adam, ``lr`` with cosine decay to 0, batch 32, ``epochs`` epochs;
precise BatchNorm statistics (every training batch of one unaugmented pass) before testing.
The control predicts the training set's mean joint positions, so "learned something" is a number.
Every method x seed result is saved as it comes (``runs.json``): a killed run continues.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import bidrn_tf  # noqa: F401
from bidrn_tf.smplx.joints import BODY_POSITION_JOINTS

INPUT_HW = (128, 96)
STRIDE = 32
JOINTS = tuple(BODY_POSITION_JOINTS)


def keypoint_model(method: str, *, input_hw=INPUT_HW, num_joints: int = len(JOINTS), head_bn: bool = True,
                   fp_init: str = "hand4whole"):
    """MobileNetV1 backbone + [BatchNorm] + full-precision 1x1 heatmaps + 2D soft-argmax: image (B, H, W, 3) ->
    (B, J, 2) crop pixels. ``fp_init``: the backbone's full-precision convolutions (``build_mobilenet_v1``)."""
    import tensorflow as tf

    from bidrn_tf.models.mobilenet import build_mobilenet_v1
    from bidrn_tf.nn.layers import batch_norm
    from bidrn_tf.ops.geometry import soft_argmax_2d

    backbone = build_mobilenet_v1(method=method, input_shape=(*input_hw, 3), fp_init=fp_init)
    features = batch_norm(name="head_bn")(backbone.output) if head_bn else backbone.output
    heat = tf.keras.layers.Conv2D(num_joints, 1, name="heatmaps")(features)
    xy = tf.keras.layers.Lambda(lambda h: soft_argmax_2d(h) * STRIDE + (STRIDE - 1) / 2.0, name="to_pixels")(heat)
    return tf.keras.Model(backbone.input, xy, name=f"{method}_mobilenet_v1_keypoints")


def _arrays(ds):
    images, joints, valid = [], [], []
    for b in ds:
        images.append(b["image"].numpy())
        joints.append(b["joints_2d"].numpy()[:, list(JOINTS)])
        valid.append(b["joint_valid"].numpy()[:, list(JOINTS)])
    return np.concatenate(images), np.concatenate(joints), np.concatenate(valid)


def in_crop(joints: np.ndarray, valid: np.ndarray, input_hw=INPUT_HW) -> np.ndarray:
    """(N, J) weights: valid joints whose projection lies inside the crop."""
    h, w = input_hw
    inside = (joints[..., 0] >= 0) & (joints[..., 0] <= w - 1) & (joints[..., 1] >= 0) & (joints[..., 1] <= h - 1)
    return (valid > 0) & inside


def mpjpe_px(pred: np.ndarray, joints: np.ndarray, mask: np.ndarray) -> float:
    """Mean Euclidean distance (pixels) over the masked joints; pred / joints (N, J, 2), mask (N, J)."""
    if not mask.any():
        raise ValueError("mpjpe_px: no joint to measure")
    return float(np.linalg.norm(pred - joints, axis=-1)[mask].mean())


def prepare(*, num_train: int, num_val: int, seed: int, out: str, input_hw=INPUT_HW) -> dict:
    """Generate (once) the people and return the training people, their camera joints and the validation /
    unaugmented-training arrays."""
    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, f"data_{num_train}_{num_val}_seed{seed}"), smplx_model=smplx,
                    num_train=num_train, num_val=num_val, seed=seed)
    train_people, val_people = load_people("synthetic", data, "train"), load_people("synthetic", data, "validation")
    train_joints = ground_truth(train_people, smplx)["joints"]
    val_joints = ground_truth(val_people, smplx)["joints"]
    plain = dict(batch_size=32, training=False, input_hw=tuple(input_hw))
    return {"train_people": train_people, "train_joints": train_joints, "input_hw": tuple(input_hw),
            "train": _arrays(make_dataset(train_people, train_joints, **plain)),
            "val": _arrays(make_dataset(val_people, val_joints, **plain))}


def mean_joint_control(data: dict) -> float:
    """MPJPE (px) of predicting the training set's mean joint positions (unaugmented crops) for everyone."""
    _, tr_j, tr_v = data["train"]
    _, va_j, va_v = data["val"]
    hw = data.get("input_hw", INPUT_HW)
    tr_m, va_m = in_crop(tr_j, tr_v, hw), in_crop(va_j, va_v, hw)
    mean = (tr_j * tr_m[..., None]).sum(0) / np.maximum(tr_m.sum(0), 1)[:, None]
    return mpjpe_px(np.broadcast_to(mean, va_j.shape), va_j, va_m)


def train_one(method: str, data: dict, *, seed: int, epochs: int, batch_size: int = 32, lr: float = 1e-3,
              head_bn: bool = True, fp_init: str = "hand4whole") -> dict:
    """Train one keypoint model; returns {"mpjpe_px" (precise BN), "mpjpe_px_moving_bn", "train_mpjpe_px",
    "seconds", "steps"}."""
    import tensorflow as tf
    from tqdm import tqdm

    from bidrn_tf.data.pipeline import make_dataset
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.nn.quantizers import set_progress

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    input_hw = data["input_hw"]
    model = keypoint_model(method, input_hw=input_hw, head_bn=head_bn, fp_init=fp_init)
    people, joints_cam = data["train_people"], data["train_joints"]
    steps_per_epoch = len(people) // batch_size
    steps = epochs * steps_per_epoch
    opt = tf.keras.optimizers.Adam(tf.keras.optimizers.schedules.CosineDecay(lr, steps))
    idx = list(JOINTS)
    h, w = input_hw

    @tf.function
    def step(images, target, valid):
        inside = tf.cast((target[..., 0] >= 0) & (target[..., 0] <= w - 1) & (target[..., 1] >= 0)
                         & (target[..., 1] <= h - 1), tf.float32) * valid
        with tf.GradientTape() as tape:
            pred = model(images, training=True)
            err = tf.reduce_sum(tf.abs(pred - target), -1) / STRIDE
            loss = tf.reduce_sum(err * inside) / tf.maximum(tf.reduce_sum(inside), 1.0)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    ds = make_dataset(people, joints_cam, batch_size=batch_size, training=True, input_hw=input_hw, seed=seed,
                      epochs=epochs)
    t = time.perf_counter()
    bar = tqdm(ds, total=steps, desc=f"{method} seed {seed}", unit="step", leave=False)
    for k, b in enumerate(bar):
        set_progress(model, k / steps)
        loss = step(b["image"], tf.gather(b["joints_2d"], idx, axis=1), tf.gather(b["joint_valid"], idx, axis=1))
        if k % 10 == 0:
            bar.set_postfix(loss=f"{float(loss):.3f}")
    seconds = time.perf_counter() - t

    def measure(split):
        images, j, v = data[split]
        return mpjpe_px(model.predict(images, batch_size=64, verbose=0), j, in_crop(j, v, input_hw))

    moving = measure("val")
    tr_images = data["train"][0]
    precise_batchnorm(model, (tr_images[i:i + batch_size] for i in range(0, len(tr_images), batch_size)))
    return {"mpjpe_px": measure("val"), "mpjpe_px_moving_bn": moving, "train_mpjpe_px": measure("train"),
            "seconds": seconds, "steps": steps}


def run(methods, seeds, *, epochs: int, lr: float, num_train: int, num_val: int, out: str, input_hw=INPUT_HW,
        head_bn: bool = True, fp_init: str = "hand4whole") -> dict:
    """Every method x seed (each result saved as it comes in ``<out>/runs.json``); returns the table rows."""
    from bidrn_tf.fileio import load_runs, save_runs

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "runs.json")
    done = load_runs(path)
    data = prepare(num_train=num_train, num_val=num_val, seed=0, out=out, input_hw=input_hw)
    control = mean_joint_control(data)
    for method in methods:
        for seed in seeds:
            key = _key(method, seed, epochs, lr, num_train, input_hw, head_bn, fp_init)
            if key not in done:
                done[key] = {"method": method, "seed": seed,
                             **train_one(method, data, seed=seed, epochs=epochs, lr=lr, head_bn=head_bn,
                                         fp_init=fp_init)}
                save_runs(path, done, control_mpjpe_px=control)
                print(f"  {method} seed {seed}: MPJPE {done[key]['mpjpe_px']:.1f} px", flush=True)
    rows = {"mean-joint control": {"mean": control, "std": 0.0, "values": [control], "minutes_per_run": 0.0}}
    for m in methods:
        runs = [done[_key(m, s, epochs, lr, num_train, input_hw, head_bn, fp_init)] for s in seeds]
        vals = [r["mpjpe_px"] for r in runs]
        rows[m] = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                   "values": vals, "train_mpjpe_px": float(np.mean([r["train_mpjpe_px"] for r in runs])),
                   "minutes_per_run": float(np.mean([r["seconds"] for r in runs])) / 60}
    return rows


def _key(method, seed, epochs, lr, num_train, input_hw, head_bn, fp_init="hand4whole") -> str:
    """One run's key in ``runs.json`` (runs saved before ``fp_init`` existed keep theirs)."""
    return (f"{method}/{seed}/{epochs}/{lr:g}/{num_train}/{input_hw[0]}x{input_hw[1]}" + ("/head_bn" if head_bn else "")
            + ("" if fp_init == "hand4whole" else f"/fp_init_{fp_init}"))


def format_table(rows: dict, *, seeds, epochs, lr, num_train, num_val, input_hw=INPUT_HW, head_bn=True,
                 fp_init="hand4whole") -> str:
    from bidrn_tf.deploy.counts import TABLE6_INPUT, TABLE6_PAPER, profile
    from bidrn_tf.evaluate.metrics import gap_closed
    from bidrn_tf.models.mobilenet import build_mobilenet_v1

    head = "BatchNorm + " if head_bn else ""
    lines = [f"Generated people (NOT COCO), {input_hw[0]}x{input_hw[1]} crops, 25 body joints; {num_train} training / "
             f"{num_val} held-out people; MobileNetV1 + {head}1x1 heatmaps + soft-argmax; Adam {lr:g} cosine, batch 32, "
             f"{epochs} epochs; full-precision convs start "
             f"{'He-normal' if fp_init == 'he' else 'at N(0, 1e-3) (Hand4Whole)'}; "
             f"seeds {', '.join(map(str, seeds))}. MPJPE in crop pixels (mean +- sample std over seeds).", "",
             "| method | backbone Params (M) | backbone OPs (M) @224 | MPJPE (px) | per seed | train MPJPE (px) | "
             "minutes per run |", "|---|---|---|---|---|---|---|"]
    for m, r in rows.items():
        if m == "mean-joint control":
            lines.append(f"| {m} | - | - | {r['mean']:.1f} | - | - | - |")
            continue
        p = profile(build_mobilenet_v1(method=m, input_shape=TABLE6_INPUT))
        lines.append(f"| {m} | {p.params_m:.3f} | {p.ops_g * 1e3:.1f} | {r['mean']:.1f} +- {r['std']:.1f} | "
                     f"{', '.join(f'{v:.1f}' for v in r['values'])} | {r['train_mpjpe_px']:.1f} | "
                     f"{r['minutes_per_run']:.1f} |")
    paper = {m: v[2] for m, v in TABLE6_PAPER.items()}
    gap = gap_closed({m: r["mean"] for m, r in rows.items() if m != "mean-joint control"},
                     paper_note="paper, COCO keypoints: "
                     f"{100 * (paper['bnn'] - paper['bidrn']) / (paper['bnn'] - paper['fp']):.0f} %")
    if gap:
        lines += ["", gap]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse

    from bidrn_tf.cli import positive_int
    from bidrn_tf.fileio import write_report
    from bidrn_tf.models.mobilenet import MOBILENET_METHODS
    from bidrn_tf.nn.layers import FP_CONV_INITS

    ap = argparse.ArgumentParser(description="Seed Table 6: MobileNetV1 (fp / bnn / bidrn) on 2D keypoints of the "
                                             "generated people, MPJPE in pixels")
    ap.add_argument("--methods", nargs="+", default=list(MOBILENET_METHODS), choices=MOBILENET_METHODS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--epochs", type=positive_int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--num-train", type=positive_int, default=384)
    ap.add_argument("--num-val", type=positive_int, default=64)
    ap.add_argument("--input-hw", nargs=2, type=positive_int, default=list(INPUT_HW), metavar=("H", "W"),
                    help="crop size, multiples of 32 (default %(default)s)")
    ap.add_argument("--no-head-bn", action="store_true", help="no BatchNorm between backbone and heatmaps")
    ap.add_argument("--fp-init", default="hand4whole", choices=FP_CONV_INITS,
                    help="full-precision backbone convs start at N(0, 1e-3) (Hand4Whole) or He-normal")
    ap.add_argument("--out", default="out/keypoints")
    args = ap.parse_args(argv)
    if any(v % 32 for v in args.input_hw):
        ap.error(f"--input-hw must be multiples of 32, got {args.input_hw}")
    if args.num_train < 32:
        ap.error("--num-train must be at least one batch (32)")
    hw = tuple(args.input_hw)
    rows = run(args.methods, args.seeds, epochs=args.epochs, lr=args.lr, num_train=args.num_train,
               num_val=args.num_val, out=args.out, input_hw=hw, head_bn=not args.no_head_bn, fp_init=args.fp_init)
    table = format_table(rows, seeds=args.seeds, epochs=args.epochs, lr=args.lr, num_train=args.num_train,
                         num_val=args.num_val, input_hw=hw, head_bn=not args.no_head_bn, fp_init=args.fp_init)
    print("\n" + table)
    write_report(os.path.join(args.out, "keypoints"), {"rows": rows, "args": vars(args)}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
