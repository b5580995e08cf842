"""Whole-body model -> ``.tflite``: LCE for the binarized methods, standard TF Lite for ``fp`` (Hand4Whole).

    python convert/lce_convert.py --method bidrn [--checkpoint CKPT] [--with-smplx [--smplx-model P]]
                                  --output bidrn.tflite [--verify N]
    bidrn-convert ...            (the same, installed as a console script)

Steps (:func:`convert_whole_model`):

1. build the model; load ``--checkpoint`` (its method must match) or, without one, keep the untrained
   weights and calibrate BatchNorm on the sample photo (an untrained BN is the identity at inference and the
   activations of a deep binarized net then grow without bound; see ``deploy.calibrate_batchnorm``);
2. check that every layer with 1-bit weights can become an ``LceBconv2d`` (``deploy.check_binarizable``):
   a layer that cannot is named in the error instead of silently shipping as a float conv
   (``--allow-float-convs`` accepts that, e.g. for DoReFa, whose {0, 1} activations are not a sign);
3. convert; without ``--with-smplx`` the flatbuffer outputs the SMPL-X *parameters* (plus boxes and joints),
   with it the SMPL-X layer is inside and the flatbuffer goes from image to mesh;
4. report the op census, the share of the model's binarized MACs that run inside ``LceBconv2d`` (goal
   >= 98 %), and the file size; write the ``.tflite`` atomically and a ``.json`` report beside it.

``--verify N`` compares the flatbuffer (LCE interpreter, indirect BGEMM kernel) with the Keras model on N
random images and the sample photo (:func:`compare`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import bidrn_tf  # noqa: F401
import numpy as np
import tensorflow as tf

from bidrn_tf import deploy, rotations
from bidrn_tf.backbones import METHODS
from bidrn_tf.fileio import write_atomic



@dataclasses.dataclass
class Conversion:
    """Result of :func:`convert_whole_model`."""

    method: str
    flatbuffer: bytes = dataclasses.field(repr=False)
    census: dict
    binarized_macs: int  # MACs of every layer with 1-bit weights in the Keras model (batch included)
    bconv_macs: int  # MACs inside LceBconv2d ops of the flatbuffer
    seconds: float
    with_smplx: bool

    @property
    def bconv_share(self) -> float:
        return self.bconv_macs / self.binarized_macs if self.binarized_macs else float("nan")

    def summary(self) -> dict:
        counts = self.census
        return {
            "method": self.method, "with_smplx": self.with_smplx, "bytes": len(self.flatbuffer),
            "LceBconv2d": counts.get("LceBconv2d", 0), "CONV_2D": counts.get("CONV_2D", 0),
            "other_ops": sum(n for k, n in counts.items() if k not in ("LceBconv2d", "CONV_2D")),
            "census": dict(counts), "binarized_macs": self.binarized_macs, "bconv_macs": self.bconv_macs,
            "bconv_share": self.bconv_share if self.binarized_macs else None,
            "convert_seconds": round(self.seconds, 1),
        }


def sample_photo(image_hw) -> np.ndarray:
    """scikit-image's astronaut photograph as one (1, H, W, 3) network input in [0, 1]."""
    from skimage import data

    from bidrn_tf.inference import prepare_input

    return prepare_input(data.astronaut(), None, image_hw)[0]


def prepare_model(*, method: str, checkpoint: str | None, smplx_model: str | None, with_smplx: bool, config=None):
    """Build the model and load ``checkpoint`` (or calibrate BN on the sample photo). Returns (model, notes)."""
    from bidrn_tf.checkpoints import load_weights, read_meta
    from bidrn_tf.model import ModelConfig, build_model

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if with_smplx and smplx_model and not os.path.isfile(smplx_model):
        raise FileNotFoundError(f"SMPL-X model file not found: {smplx_model!r}")
    if checkpoint is not None:
        meta = read_meta(checkpoint, method=method)  # missing / corrupt / other method: fail before the slow build
        if config is None and "model_config" in meta:  # the architecture the checkpoint was trained with
            from bidrn_tf.training import model_config_from_dict

            config = model_config_from_dict(meta["model_config"])
    cfg = config or ModelConfig()
    model = build_model(method=method, smplx_model=smplx_model, config=cfg, include_smplx=with_smplx)
    notes = []
    if checkpoint is None:
        deploy.calibrate_batchnorm(model, sample_photo(cfg.image_hw))
        notes.append("no --checkpoint: UNTRAINED weights, BatchNorm calibrated on the sample photo")
    else:
        load_weights(model, checkpoint, method=method)
    return model, notes


def convert_whole_model(model: tf.keras.Model, *, method: str, allow_float_convs: bool = False) -> Conversion:
    """Convert a built whole-body model (see module docstring, steps 2-4)."""
    from bidrn_tf.profile import binarized_weight_macs

    binary = method != "fp"
    if binary and not allow_float_convs:
        deploy.check_binarizable(model)
    t = time.perf_counter()
    flatbuffer = deploy.convert(model, binary=binary)
    seconds = time.perf_counter() - t
    census = deploy.op_census(flatbuffer)
    return Conversion(method=method, flatbuffer=flatbuffer, census=dict(census),
                      binarized_macs=sum(n for _, n in binarized_weight_macs(model)) if binary else 0,
                      bconv_macs=deploy.bconv_macs(flatbuffer), seconds=seconds,
                      with_smplx=isinstance(model.output, dict) and "vertices" in model.output)


def run_flatbuffer(flatbuffer: bytes, images: np.ndarray, *, kernel: str = "indirect") -> dict:
    """{output name: array} for a batch of images, run one image at a time in the LCE interpreter."""
    names = deploy.signature_output_names(flatbuffer)  # the Keras output dict's keys, in output order
    interp = deploy.lce_interpreter(flatbuffer, kernel=kernel, num_threads=1)
    per_image = []
    for x in images:
        outs = interp.predict(np.asarray(x[None], np.float32))
        per_image.append(outs if isinstance(outs, list) else [outs])
    return {name: np.concatenate([o[i] for o in per_image]) for i, name in enumerate(names)}


def compare(model: tf.keras.Model, flatbuffer: bytes, images: np.ndarray, *, kernel: str = "indirect") -> dict:
    """Per output: max |tflite - keras|, that max relative to 1 + max |keras|, and the same numbers for the
    *control*: the Keras model against itself with every BatchNorm beta shifted by N(0, 1e-6).

    The control measures how far a rounding-sized change moves the outputs. A binarized net is not
    continuous: a value within rounding of zero flips sign, and the flip propagates. When the tflite
    difference is of the control's size, it is this sensitivity and not a conversion error.
    Poses (``*_pose``) are compared as rotation matrices (axis-angle jumps between +-pi for the same rotation).
    """
    ref = {k: np.asarray(v) for k, v in model(images, training=False).items()}
    got = run_flatbuffer(flatbuffer, images, kernel=kernel)
    bns = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    rng = np.random.default_rng(0)
    saved = [bn.beta.numpy() for bn in bns]
    try:
        for bn in bns:
            bn.beta.assign(bn.beta.numpy() + rng.normal(0, 1e-6, bn.beta.shape).astype(np.float32))
        control = {k: np.asarray(v) for k, v in model(images, training=False).items()}
    finally:
        for bn, b in zip(bns, saved):
            bn.beta.assign(b)
    for outs in (ref, got, control):  # axis-angle is ambiguous near pi: compare poses as rotation matrices
        for k in [k for k in outs if k.endswith("_pose")]:
            outs[k] = rotations.axis_angle_to_matrix(np.reshape(outs[k], (-1, 3))).numpy()
    rows = {}
    for k in got:
        scale = 1.0 + float(np.abs(ref[k]).max())
        d, c = float(np.abs(got[k] - ref[k]).max()), float(np.abs(control[k] - ref[k]).max())
        rows[k] = {"max_abs_diff": d, "rel_diff": d / scale, "control_max_abs_diff": c, "control_rel_diff": c / scale}
    return rows


def format_compare(rows: dict) -> str:
    lines = [f"{'output':<14} {'max |tflite-keras|':>19} {'/ (1+max|y|)':>13} {'control':>10} {'/ (1+max|y|)':>13}"]
    for k, r in rows.items():
        lines.append(f"{k:<14} {r['max_abs_diff']:>19.3g} {r['rel_diff']:>13.3g} "
                     f"{r['control_max_abs_diff']:>10.3g} {r['control_rel_diff']:>13.3g}")
    return "\n".join(lines)


def format_summary(s: dict) -> str:
    share = "n/a (full precision)" if s["method"] == "fp" else f"{100 * s['bconv_share']:.2f} %"
    return "\n".join([
        f"method {s['method']}{' + SMPL-X layer' if s['with_smplx'] else ''}: {s['bytes'] / 1e6:.2f} MB, "
        f"converted in {s['convert_seconds']} s",
        f"ops: LceBconv2d {s['LceBconv2d']}, float CONV_2D {s['CONV_2D']}, other {s['other_ops']}",
        f"binarized MACs inside LceBconv2d: {share} ({s['bconv_macs']:,} of {s['binarized_macs']:,})",
        "census: " + deploy.format_census(s["census"]),
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Convert the whole-body model to .tflite (LCE for binarized methods)")
    ap.add_argument("--method", required=True, choices=METHODS)
    ap.add_argument("--checkpoint", default=None, help="weights saved by training (default: untrained)")
    ap.add_argument("--with-smplx", action="store_true", help="put the SMPL-X layer inside the flatbuffer")
    ap.add_argument("--smplx-model", default=None,
                    help="SMPLX_NEUTRAL.npz for --with-smplx (default: the generated SMPL-X-format stand-in)")
    ap.add_argument("--output", required=True, help="the .tflite to write (a .json report is written beside it)")
    ap.add_argument("--verify", type=int, default=0, metavar="N",
                    help="compare with Keras on N random images and the sample photo")
    ap.add_argument("--allow-float-convs", action="store_true",
                    help="convert even if some 1-bit-weight layers cannot become LceBconv2d (e.g. dorefa)")
    ap.add_argument("--preset", default=None, choices=("paper", "small", "tiny"),
                    help="model size without a checkpoint (default: paper); a checkpoint brings its own")
    args = ap.parse_args(argv)
    from bidrn_tf.checkpoints import CheckpointError
    from bidrn_tf.training import PRESETS

    cfg = PRESETS[args.preset] if args.preset else None
    smplx_model = args.smplx_model
    try:
        if args.with_smplx and smplx_model is None:
            from bidrn_tf.smplx import write_synthetic_model

            smplx_model = os.path.join(os.path.dirname(os.path.abspath(args.output)), "synthetic_smplx_model.npz")
            if not os.path.exists(smplx_model):
                write_synthetic_model(smplx_model)
            print("NOTE: --with-smplx without --smplx-model: using the generated SMPL-X-format model (NOT SMPL-X).")
        model, notes = prepare_model(method=args.method, checkpoint=args.checkpoint, smplx_model=smplx_model,
                                     with_smplx=args.with_smplx, config=cfg)
        cfg = model.get_layer("whole_body").cfg
        for n in notes:
            print(f"NOTE: {n}")
        print(f"converting {args.method} with {'LCE' if args.method != 'fp' else 'the TF Lite converter'} ...",
              flush=True)
        conv = convert_whole_model(model, method=args.method, allow_float_convs=args.allow_float_convs)
    except (CheckpointError, deploy.NotBinarizableError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = conv.summary()
    summary.update(checkpoint=args.checkpoint, smplx_model=smplx_model, image_hw=list(cfg.image_hw), notes=notes)
    print(format_summary(summary))
    if args.method != "fp" and conv.bconv_share < 0.98:
        print(f"WARNING: only {100 * conv.bconv_share:.1f} % of the binarized MACs run in LceBconv2d (goal 98 %)")
    write_atomic(args.output, conv.flatbuffer)
    if args.verify:
        rng = np.random.default_rng(0)
        images = np.concatenate([rng.uniform(size=(args.verify, *cfg.image_hw, 3)).astype(np.float32),
                                 sample_photo(cfg.image_hw)])
        rows = compare(model, conv.flatbuffer, images)
        print(f"\nfidelity on {args.verify} random images + the sample photo (LCE interpreter, indirect kernel):")
        print(format_compare(rows))
        summary["fidelity"] = rows
    report = os.path.splitext(args.output)[0] + ".json"
    write_atomic(report, json.dumps(summary, indent=1).encode())
    print(f"wrote {args.output} and {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
