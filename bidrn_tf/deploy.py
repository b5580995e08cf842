"""Conversion to TF Lite flatbuffers and the tools to check them.

* :func:`convert` - Larq Compute Engine (``larq_compute_engine.convert_keras_model``) for binarized models,
  the standard ``tf.lite.TFLiteConverter`` for full-precision ones.
* :func:`op_census` - counts the operators of a flatbuffer by parsing it with TF Lite's schema (no string
  matching on bytes): builtin ops by name (``CONV_2D``, ...), custom ops by their custom code
  (``LceBconv2d``, ``LceQuantize``, ...).
* :func:`lce_blockers` - why a layer with 1-bit weights would *not* become an ``LceBconv2d`` (SPEC section 4),
  so conversion can fail with the layer's name instead of silently shipping a float conv.
* :func:`bconv_macs` - MACs that run inside ``LceBconv2d`` ops, read from the flatbuffer's tensors and the
  ops' custom options (``channels_in``).
* :func:`lce_interpreter` / :func:`run_tflite` - the LCE interpreter (which knows the Lce* custom ops) with a
  chosen binary-conv kernel: ``"default"`` (ruy), ``"indirect"`` (indirect BGEMM) or ``"reference"``.
"""
from __future__ import annotations

import collections

import bidrn_tf  # noqa: F401
import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema

from bidrn_tf.fileio import write_atomic  # noqa: F401  (re-exported for the scripts)

KERNELS = ("default", "indirect", "reference")
_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


class FlatbufferError(ValueError):
    """Raised for bytes that are not a TF Lite flatbuffer."""


def convert(model: tf.keras.Model, *, binary: bool = True) -> bytes:
    """Convert ``model`` to a ``.tflite`` flatbuffer (LCE when ``binary``, standard TF Lite otherwise)."""
    if binary:
        import larq_compute_engine as lce

        return lce.convert_keras_model(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    return converter.convert()


def _parse(flatbuffer: bytes):
    buf = bytearray(flatbuffer)
    if len(buf) < 8 or bytes(buf[4:8]) != b"TFL3":
        raise FlatbufferError("not a TF Lite flatbuffer (missing the 'TFL3' file identifier)")
    try:
        return schema.Model.GetRootAsModel(buf, 0)
    except Exception as err:  # pragma: no cover - flatbuffers raises assorted errors on garbage
        raise FlatbufferError(f"corrupt TF Lite flatbuffer: {err}") from err


def op_name(model, opcode_index: int) -> str:
    code = model.OperatorCodes(opcode_index)
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == schema.BuiltinOperator.CUSTOM:
        return code.CustomCode().decode()
    return _BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")


def op_census(flatbuffer: bytes) -> collections.Counter:
    """Counter {op name: number of operators} over every subgraph of ``flatbuffer``."""
    model = _parse(flatbuffer)
    census = collections.Counter()
    try:
        for g in range(model.SubgraphsLength()):
            sub = model.Subgraphs(g)
            for i in range(sub.OperatorsLength()):
                census[op_name(model, sub.Operators(i).OpcodeIndex())] += 1
    except Exception as err:
        raise FlatbufferError(f"corrupt TF Lite flatbuffer: {err}") from err
    return census


def signature_output_names(flatbuffer: bytes) -> list[str]:
    """Names of the main subgraph's outputs, in output order, from the flatbuffer's first signature."""
    model = _parse(flatbuffer)
    if not model.SignatureDefsLength():
        raise FlatbufferError("flatbuffer has no signature: output names unknown")
    sig = model.SignatureDefs(0)
    by_tensor = {sig.Outputs(i).TensorIndex(): sig.Outputs(i).Name().decode() for i in range(sig.OutputsLength())}
    sub = model.Subgraphs(sig.SubgraphIndex())
    return [by_tensor[sub.Outputs(i)] for i in range(sub.OutputsLength())]


def bconv_macs(flatbuffer: bytes) -> int:
    """Sum over the ``LceBconv2d`` ops of out_n * out_h * out_w * out_c * k_h * k_w * channels_in / groups."""
    import flatbuffers.flexbuffers as flexbuffers

    model = _parse(flatbuffer)
    total = 0
    for g in range(model.SubgraphsLength()):
        sub = model.Subgraphs(g)
        for i in range(sub.OperatorsLength()):
            op = sub.Operators(i)
            if op_name(model, op.OpcodeIndex()) != "LceBconv2d":
                continue
            options = flexbuffers.Loads(bytes(op.CustomOptionsAsNumpy()))
            out = sub.Tensors(op.Outputs(0)).ShapeAsNumpy()
            kernel = sub.Tensors(op.Inputs(1)).ShapeAsNumpy()  # (C_out, k_h, k_w, packed C_in)
            groups = max(int(options.get("groups", 1)), 1)
            total += int(np.prod(out)) * int(kernel[1] * kernel[2]) * int(options["channels_in"]) // groups
    return total


_SIGN_QUANTIZERS = ("BinarySign", "SteSign", "ApproxSign", "SwishSign")
_SIGN_KERNEL_QUANTIZERS = ("BinarySign", "SteSign", "ApproxSign", "MagnitudeAwareSign")


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
    from bidrn_tf.quantizers import quantizer_bits

    binary = [m for m in model.submodules if quantizer_bits(getattr(m, "kernel_quantizer", None)) == 1]
    bad = [(m.name, lce_blockers(m)) for m in binary if lce_blockers(m)]
    if bad:
        lines = "; ".join(f"{name}: {', '.join(why)}" for name, why in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise NotBinarizableError(f"{len(bad)} layer(s) with 1-bit weights cannot become LceBconv2d: {lines}{more}")
    return binary


def format_census(census: collections.Counter) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(census.items(), key=lambda kv: (-kv[1], kv[0])))


def lce_interpreter(flatbuffer: bytes, *, kernel: str = "indirect", num_threads: int = 1):
    """An LCE interpreter for ``flatbuffer`` with the binary-conv ``kernel`` (see module docstring)."""
    from larq_compute_engine.tflite.python.interpreter import Interpreter

    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    _parse(flatbuffer)
    return Interpreter(
        flatbuffer,
        num_threads=num_threads,
        use_reference_bconv=kernel == "reference",
        use_indirect_bgemm=kernel == "indirect",
    )


def run_tflite(flatbuffer: bytes, inputs: np.ndarray, *, kernel: str = "indirect", num_threads: int = 1):
    """Run ``flatbuffer`` in the LCE interpreter on ``inputs`` (batch of the model's input shape).

    Returns a list of output arrays (one per model output). The LCE interpreter takes one sample at a time
    for a batch-1 model; batches are run sample by sample and stacked.
    """
    interp = lce_interpreter(flatbuffer, kernel=kernel, num_threads=num_threads)
    outs = interp.predict(np.asarray(inputs, np.float32))
    return outs if isinstance(outs, list) else [outs]


def calibrate_batchnorm(model: tf.keras.Model, images) -> None:
    """Set every BatchNorm's moving statistics to the batch statistics of one forward pass on ``images``.

    An untrained model's BatchNorms are identities (mean 0, variance 1), so activations of a deep residual
    network grow without bound and any comparison of two implementations is meaningless. Calibrating
    gives the activation ranges of a trained network. Each BN sees the statistics of inputs normalised by
    the BNs before it, exactly as in inference afterwards.
    """
    bns = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    try:
        for bn in bns:
            bn.momentum = 0.0
        model(tf.convert_to_tensor(images, tf.float32), training=True)
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m
