"""Conversion to TF Lite flatbuffers and the tools to check them.

* :func:`convert` - Larq Compute Engine (``larq_compute_engine.convert_keras_model``) for binarized models,
  the standard ``tf.lite.TFLiteConverter`` for full-precision ones.
* :func:`op_census` - counts the operators of a flatbuffer by parsing it with TF Lite's schema (no string
  matching on bytes): builtin ops by name (``CONV_2D``, ...), custom ops by their custom code
  (``LceBconv2d``, ``LceQuantize``, ...).
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
