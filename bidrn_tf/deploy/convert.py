"""Whole-body model -> ``.tflite`` (LCE for the binarized methods, standard TF Lite for ``fp``, Hand4Whole)
or -> OpenVINO IR (``--format openvino``: ``BinaryConvolution`` ops that run as JIT AVX2 / AVX-512 code on x86).

    python convert/lce_convert.py --method bidrn [--checkpoint CKPT] [--with-smplx [--smplx-model P]]
                                  --output bidrn.tflite [--verify N]
    python convert/lce_convert.py --method bidrn --format openvino --output bidrn.xml   (+ bidrn.bin)
    bidrn-convert ...            (the same, installed as a console script)

Steps (:func:`convert_whole_model`):

1. build the model; load ``--checkpoint`` (its method must match) or, without one, keep the untrained
   weights and calibrate BatchNorm on the sample photo (an untrained BN is the identity at inference and the
   activations of a deep binarized net then grow without bound; see ``bidrn_tf.inference.prepare_model``);
2. check that every layer with 1-bit weights can become an ``LceBconv2d`` (:func:`check_binarizable`):
   a layer that cannot is named in the error instead of silently shipping as a float conv
   (``--allow-float-convs`` accepts that, e.g. for DoReFa, whose {0, 1} activations are not a sign);
3. convert; without ``--with-smplx`` the flatbuffer outputs the SMPL-X *parameters* (plus boxes and joints),
   with it the SMPL-X layer is inside and the flatbuffer goes from image to mesh;
4. report the op census, the share of the model's binarized MACs that run inside ``LceBconv2d`` (goal
   >= 98 %), and the file size; write the ``.tflite`` atomically and a ``.json`` report beside it.
   For OpenVINO (``bidrn_tf.deploy.openvino_ir``) the census is that of the *compiled* model's runtime
   graph (the kernels the CPU plugin executes) and the share is of MACs inside ``BinaryConvolution``; the
   ``.xml``, ``.bin`` and ``.json`` are written as one set.

``--verify N`` compares the converted model (LCE interpreter with the indirect BGEMM kernel, or OpenVINO's
CPU plugin) with the Keras model on N random images and the sample photo (:func:`compare`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.deploy import flatbuffer
from bidrn_tf.fileio import write_set
from bidrn_tf.models.backbones import METHODS
from bidrn_tf.ops import rotations


def serving_function(model: tf.keras.Model):
    """``(module, concrete function)``: ``model`` called with ``training=False`` as one traced function, and a
    ``tf.Module`` that owns the model's variables (what ``tf.saved_model.save`` needs to store them).

    The function's inputs are named like the model's inputs; its outputs by the keys of a dict output,
    otherwise by ``model.output_names``. (Keras's own export names a dict's outputs after the output *layers*;
    the whole-body model names those layers like its keys, so its signature is the same both ways.)
    It is traced without AutoGraph: our layers have no tensor-dependent Python
    control flow, and AutoGraph's rewriting of every call was most of a conversion's time. A model that
    needs AutoGraph (tracing raises ``OperatorNotAllowedInGraphError``) is traced again with it.
    """
    specs = [tf.TensorSpec(t.shape, t.dtype, name=t.name.split(":")[0]) for t in model.inputs]

    def call(*inputs):
        out = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
        if isinstance(out, dict):
            return out
        return dict(zip(model.output_names, out if isinstance(out, (list, tuple)) else [out]))

    module = tf.Module()
    module.model_variables = list(model.variables)
    try:
        module.serve = tf.function(call, input_signature=specs, autograph=False)
        return module, module.serve.get_concrete_function()
    except tf.errors.OperatorNotAllowedInGraphError:
        module.serve = tf.function(call, input_signature=specs)
        return module, module.serve.get_concrete_function()


def convert(model: tf.keras.Model, *, binary: bool = True) -> bytes:
    """Convert ``model`` to a ``.tflite`` flatbuffer (LCE when ``binary``, standard TF Lite otherwise).

    Both converters read a SavedModel of :func:`serving_function` (the inference call only). What
    ``lce.convert_keras_model`` and ``TFLiteConverter.from_keras_model`` export instead, Keras's SavedModel
    with every layer's calls traced through AutoGraph, gives the same flatbuffer (same op census, size and
    outputs) about 3.7x slower: 93 s against 25 s for the small whole-body BiDRN model with SMPL-X (README,
    "Conversion time").
    """
    module, fn = serving_function(model)
    with tempfile.TemporaryDirectory() as saved_model:
        tf.saved_model.save(module, saved_model, signatures=fn)
        if binary:
            import larq_compute_engine as lce

            return lce.convert_saved_model(saved_model)
        return tf.lite.TFLiteConverter.from_saved_model(saved_model).convert()


_SIGN_QUANTIZERS = ("BinarySign", "SteSign", "ApproxSign", "SwishSign")
_SIGN_KERNEL_QUANTIZERS = ("BinarySign", "SteSign", "ApproxSign", "MagnitudeAwareSign", "ReCUWeight", "FourierScaledSign")


def lce_blockers(layer) -> list[str]:
    """Reasons why ``layer`` (a larq ``QuantConv2D``) will not convert to an ``LceBconv2d`` (empty: it will)."""
    reasons = []
    iq, kq = getattr(layer, "input_quantizer", None), getattr(layer, "kernel_quantizer", None)
    iq_name = type(iq).__name__ if iq is not None else None
    kq_name = type(kq).__name__ if kq is not None else None
    if iq_name not in _SIGN_QUANTIZERS:
        reasons.append(f"input quantizer {iq_name} is not a sign")
    if kq_name not in _SIGN_KERNEL_QUANTIZERS:
        reasons.append(f"kernel quantizer {kq_name} is not a (scaled) sign")
    if getattr(layer, "padding", "valid") == "same" and float(getattr(layer, "pad_values", 0.0)) != 1.0:
        reasons.append("padding='same' with pad_values=0 (use pad_values=1.0)")
    if isinstance(layer, tf.keras.layers.Conv2DTranspose) or isinstance(layer, tf.keras.layers.Dense):
        reasons.append(f"{type(layer).__name__} has no binary LCE op (use a QuantConv2D)")
    return reasons


class NotBinarizableError(ValueError):
    """A layer with 1-bit weights that LCE would convert to a float op."""


def check_binarizable(model: tf.keras.Model) -> list:
    """Raise :class:`NotBinarizableError` naming every 1-bit-weight layer that LCE cannot binarize.

    Returns the layers that will become ``LceBconv2d``.
    """
    from bidrn_tf.nn.quantizers import quantizer_bits

    binary = [m for m in model.submodules if quantizer_bits(getattr(m, "kernel_quantizer", None)) == 1]
    bad = [(m.name, lce_blockers(m)) for m in binary if lce_blockers(m)]
    if bad:
        lines = "; ".join(f"{name}: {', '.join(why)}" for name, why in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise NotBinarizableError(f"{len(bad)} layer(s) with 1-bit weights cannot become LceBconv2d: {lines}{more}")
    return binary


FORMATS = ("tflite", "openvino")


@dataclasses.dataclass
class Conversion:
    """Result of :func:`convert_whole_model` (``.tflite``)."""

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
            "method": self.method, "format": "tflite", "with_smplx": self.with_smplx, "bytes": len(self.flatbuffer),
            "LceBconv2d": counts.get("LceBconv2d", 0), "CONV_2D": counts.get("CONV_2D", 0),
            "other_ops": sum(n for k, n in counts.items() if k not in ("LceBconv2d", "CONV_2D")),
            "census": dict(counts), "binarized_macs": self.binarized_macs, "bconv_macs": self.bconv_macs,
            "bconv_share": self.bconv_share if self.binarized_macs else None,
            "convert_seconds": round(self.seconds, 1),
        }


@dataclasses.dataclass
class OpenVINOConversion:
    """Result of :func:`convert_whole_model` with ``format="openvino"``: the model, compiled for the CPU."""

    method: str
    model: object = dataclasses.field(repr=False)  # openvino.Model
    runner: object = dataclasses.field(repr=False)  # openvino_ir.Runner (1 thread)
    census: dict  # layer types of the compiled model's runtime graph
    binary_kernels: dict  # CPU plugin primitive of each executed BinaryConvolution
    binarized_macs: int
    binary_conv_macs: int  # MACs inside BinaryConvolution ops
    seconds: float
    with_smplx: bool

    @property
    def binary_share(self) -> float:
        return self.binary_conv_macs / self.binarized_macs if self.binarized_macs else float("nan")

    def summary(self) -> dict:
        counts = self.census
        return {
            "method": self.method, "format": "openvino", "with_smplx": self.with_smplx,
            "BinaryConvolution": counts.get("BinaryConvolution", 0), "Convolution": counts.get("Convolution", 0),
            "other_ops": sum(n for k, n in counts.items() if k not in ("BinaryConvolution", "Convolution")),
            "census": dict(counts), "binary_kernels": dict(self.binary_kernels),
            "binarized_macs": self.binarized_macs, "binary_conv_macs": self.binary_conv_macs,
            "binary_share": self.binary_share if self.binarized_macs else None,
            "convert_seconds": round(self.seconds, 1),
        }


def convert_whole_model(model: tf.keras.Model, *, method: str, allow_float_convs: bool = False,
                        format: str = "tflite"):
    """Convert a built whole-body model (see module docstring, steps 2-4) to ``format`` (``FORMATS``).

    Returns a :class:`Conversion` (``.tflite``) or an :class:`OpenVINOConversion`.
    """
    from bidrn_tf.deploy.counts import binarized_weight_macs

    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    binary = method != "fp"
    if binary and not allow_float_convs:
        check_binarizable(model)
    with_smplx = isinstance(model.output, dict) and "vertices" in model.output
    binarized = sum(n for _, n in binarized_weight_macs(model)) if binary else 0
    if format == "openvino":
        from bidrn_tf.deploy import openvino_ir

        t = time.perf_counter()
        ov_model, _ = openvino_ir.convert_keras(model, binary=binary)
        runner = openvino_ir.Runner(ov_model)
        seconds = time.perf_counter() - t
        return OpenVINOConversion(method=method, model=ov_model, runner=runner,
                                  census=dict(openvino_ir.runtime_census(runner.compiled)),
                                  binary_kernels=dict(openvino_ir.kernels(runner.compiled)),
                                  binarized_macs=binarized, binary_conv_macs=openvino_ir.binary_conv_macs(ov_model),
                                  seconds=seconds, with_smplx=with_smplx)
    t = time.perf_counter()
    fb = convert(model, binary=binary)
    seconds = time.perf_counter() - t
    census = flatbuffer.op_census(fb)
    return Conversion(method=method, flatbuffer=fb, census=dict(census), binarized_macs=binarized,
                      bconv_macs=flatbuffer.bconv_macs(fb), seconds=seconds, with_smplx=with_smplx)


def compare(model: tf.keras.Model, converted, images: np.ndarray, *, kernel: str = "indirect") -> dict:
    """Per output: max |converted - keras|, that max relative to 1 + max |keras|, and the same numbers for the
    *control*: the Keras model against itself with every BatchNorm beta shifted by N(0, 1e-6), the largest
    difference over three such shifts (one draw under-estimates a chaotic branch's sensitivity).

    ``converted`` is a flatbuffer (bytes, run in the LCE interpreter with ``kernel``) or any runner with a
    ``predict(images) -> {output: array}`` (``bidrn_tf.deploy.openvino_ir.Runner``).

    The control measures how far a rounding-sized change moves the outputs. A binarized net is not
    continuous: a value within rounding of zero flips sign, and the flip propagates. When the tflite
    difference is of the control's size, it is this sensitivity and not a conversion error.
    Poses (``*_pose``) are compared as rotation matrices (axis-angle jumps between +-pi for the same rotation).
    """
    ref = {k: np.asarray(v) for k, v in model(images, training=False).items()}
    if isinstance(converted, (bytes, bytearray)):
        got = flatbuffer.run(converted, images, kernel=kernel)
    else:
        got = converted.predict(images)
    bns = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    rng = np.random.default_rng(0)
    saved = [bn.beta.numpy() for bn in bns]
    controls = []
    try:
        for _ in range(3):
            for bn, b in zip(bns, saved):
                bn.beta.assign(b + rng.normal(0, 1e-6, b.shape).astype(np.float32))
            controls.append({k: np.asarray(v) for k, v in model(images, training=False).items()})
    finally:
        for bn, b in zip(bns, saved):
            bn.beta.assign(b)
    for outs in (ref, got, *controls):  # axis-angle is ambiguous near pi: compare poses as rotation matrices
        for k in [k for k in outs if k.endswith("_pose")]:
            outs[k] = rotations.axis_angle_to_matrix(np.reshape(outs[k], (-1, 3))).numpy()
    rows = {}
    for k in got:
        scale = 1.0 + float(np.abs(ref[k]).max())
        d = float(np.abs(got[k] - ref[k]).max())
        c = max(float(np.abs(control[k] - ref[k]).max()) for control in controls)
        rows[k] = {"max_abs_diff": d, "rel_diff": d / scale, "control_max_abs_diff": c, "control_rel_diff": c / scale}
    return rows


def format_compare(rows: dict) -> str:
    lines = [f"{'output':<14} {'max |conv-keras|':>19} {'/ (1+max|y|)':>13} {'control':>10} {'/ (1+max|y|)':>13}"]
    for k, r in rows.items():
        lines.append(f"{k:<14} {r['max_abs_diff']:>19.3g} {r['rel_diff']:>13.3g} "
                     f"{r['control_max_abs_diff']:>10.3g} {r['control_rel_diff']:>13.3g}")
    return "\n".join(lines)


def format_summary(s: dict) -> str:
    if s.get("format") == "openvino":
        share = "n/a (full precision)" if s["method"] == "fp" else f"{100 * s['binary_share']:.2f} %"
        return "\n".join([
            f"method {s['method']}{' + SMPL-X layer' if s['with_smplx'] else ''}: OpenVINO IR, {s['bytes'] / 1e6:.2f} MB "
            f"(.xml + .bin), converted and compiled in {s['convert_seconds']} s",
            f"executed kernels: BinaryConvolution {s['BinaryConvolution']}, float Convolution {s['Convolution']}, "
            f"other {s['other_ops']}",
            f"binarized MACs inside BinaryConvolution: {share} ({s['binary_conv_macs']:,} of {s['binarized_macs']:,}); "
            f"kernels: {flatbuffer.format_census(s['binary_kernels']) or 'none'}",
            "runtime census: " + flatbuffer.format_census(s["census"]),
        ])
    share = "n/a (full precision)" if s["method"] == "fp" else f"{100 * s['bconv_share']:.2f} %"
    return "\n".join([
        f"method {s['method']}{' + SMPL-X layer' if s['with_smplx'] else ''}: {s['bytes'] / 1e6:.2f} MB, "
        f"converted in {s['convert_seconds']} s",
        f"ops: LceBconv2d {s['LceBconv2d']}, float CONV_2D {s['CONV_2D']}, other {s['other_ops']}",
        f"binarized MACs inside LceBconv2d: {share} ({s['bconv_macs']:,} of {s['binarized_macs']:,})",
        "census: " + flatbuffer.format_census(s["census"]),
    ])


def main(argv=None) -> int:
    from bidrn_tf.cli import check_outputs, non_negative_int
    from bidrn_tf.inference import prepare_model, sample_photo
    from bidrn_tf.models.checkpoints import CheckpointError
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    ap = argparse.ArgumentParser(description="Convert the whole-body model to .tflite (LCE for binarized methods) "
                                             "or to OpenVINO IR (BinaryConvolution for x86 CPUs)")
    ap.add_argument("--method", required=True, choices=METHODS)
    ap.add_argument("--format", default="tflite", choices=FORMATS,
                    help="tflite (LCE / TF Lite, default) or openvino (IR .xml + .bin)")
    ap.add_argument("--checkpoint", default=None, help="weights saved by training (default: untrained)")
    ap.add_argument("--with-smplx", action="store_true", help="put the SMPL-X layer inside the flatbuffer")
    ap.add_argument("--smplx-model", default=None,
                    help="SMPLX_NEUTRAL.npz for --with-smplx (default: the checkpoint's, else the generated "
                         "SMPL-X-format stand-in)")
    ap.add_argument("--output", required=True,
                    help="the .tflite (or, with --format openvino, the .xml) to write; a .json report of the same "
                         "name is written beside it (and the OpenVINO weights .bin)")
    ap.add_argument("--verify", type=non_negative_int, default=0, metavar="N",
                    help="compare with Keras on N random images and the sample photo")
    ap.add_argument("--allow-float-convs", action="store_true",
                    help="convert even if some 1-bit-weight layers cannot become LceBconv2d (e.g. dorefa)")
    ap.add_argument("--preset", default=None, choices=tuple(PRESETS),
                    help="model size without a checkpoint (default: paper); a checkpoint brings its own")
    args = ap.parse_args(argv)
    cfg = PRESETS[args.preset] if args.preset else None
    stem = os.path.splitext(args.output)[0]
    report = stem + ".json"
    outputs = {"output": args.output, "report": report}
    if args.format == "openvino":
        outputs["weights"] = stem + ".bin"
    try:
        if args.format == "openvino" and not args.output.endswith(".xml"):
            raise ValueError(f"--output {args.output!r}: an OpenVINO model is an .xml file (its .bin is written beside it)")
        check_outputs(**outputs)  # before the slow build and conversion
        smplx_model = args.smplx_model
        if args.with_smplx and smplx_model is None and args.checkpoint is None:
            smplx_model = model_or_stand_in(None, os.path.dirname(os.path.abspath(args.output)))
        model, notes = prepare_model(method=args.method, checkpoint=args.checkpoint, smplx_model=smplx_model,
                                     include_smplx=args.with_smplx, config=cfg)
        cfg = model.get_layer("whole_body").cfg
        for n in notes:
            print(f"NOTE: {n}")
        tool = ("OpenVINO" if args.format == "openvino" else "LCE" if args.method != "fp"
                else "the TF Lite converter")
        print(f"converting {args.method} with {tool} ...", flush=True)
        conv = convert_whole_model(model, method=args.method, allow_float_convs=args.allow_float_convs,
                                   format=args.format)
    except (CheckpointError, NotBinarizableError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = conv.summary()
    if args.format == "openvino":
        from bidrn_tf.deploy import openvino_ir

        files = openvino_ir.serialize(conv.model, args.output)
        summary["bytes"] = sum(len(b) for b in files.values())
    else:
        files = {args.output: conv.flatbuffer}
    summary.update(checkpoint=args.checkpoint, smplx_model=model.get_layer("whole_body").smplx_model,
                   image_hw=list(cfg.image_hw), notes=notes)
    print(format_summary(summary))
    share, where = ((conv.binary_share, "BinaryConvolution") if args.format == "openvino"
                    else (conv.bconv_share, "LceBconv2d"))
    if args.method != "fp" and share < 0.98:
        print(f"WARNING: only {100 * share:.1f} % of the binarized MACs run in {where} (goal 98 %)")
    if args.verify:  # all the work before the first write: the model and its report are written together
        rng = np.random.default_rng(0)
        images = np.concatenate([rng.uniform(size=(args.verify, *cfg.image_hw, 3)).astype(np.float32),
                                 sample_photo(cfg.image_hw)])
        rows = compare(model, conv.runner if args.format == "openvino" else conv.flatbuffer, images)
        runtime = "OpenVINO CPU plugin" if args.format == "openvino" else "LCE interpreter, indirect kernel"
        print(f"\nfidelity on {args.verify} random images + the sample photo ({runtime}):")
        print(format_compare(rows))
        summary["fidelity"] = rows
    summary["bidrn_tf_version"] = bidrn_tf.__version__
    write_set({**files, report: json.dumps(summary, indent=1).encode()})
    print(f"wrote {', '.join(files)} and {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
