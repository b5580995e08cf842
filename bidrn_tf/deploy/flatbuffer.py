"""TF Lite flatbuffers: reading, checking and running them (the one place that does).

* :func:`read_flatbuffer` - the bytes of a ``.tflite`` file; :func:`verify` - every table, vector and index of
  a flatbuffer checked to lie inside it (a truncated file would otherwise crash the C++ interpreter).
* :func:`op_census` - counts the operators of a flatbuffer by parsing it with TF Lite's schema (no string
  matching on bytes): builtin ops by name (``CONV_2D``, ...), custom ops by their custom code
  (``LceBconv2d``, ``LceQuantize``, ...).
* :func:`bconv_macs` - MACs that run inside ``LceBconv2d`` ops, read from the flatbuffer's tensors and the
  ops' custom options (``channels_in``).
* :class:`Runner` - the one interpreter factory: the LCE interpreter (which knows the ``Lce*`` custom ops)
  with a chosen binary-conv kernel (``"default"``: ruy, ``"indirect"``: indirect BGEMM, ``"reference"``),
  or TF Lite's own interpreter (XNNPACK for float ops); :func:`run` - the one way to run a flatbuffer on
  a batch of inputs and get its outputs by name.
"""
from __future__ import annotations

import collections

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema

import bidrn_tf  # noqa: F401

KERNELS = ("default", "indirect", "reference")
RUNTIMES = ("lce", "tflite")
_BUILTIN_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


class FlatbufferError(ValueError):
    """Raised for bytes that are not a TF Lite flatbuffer."""


def _parse(flatbuffer: bytes):
    buf = bytearray(flatbuffer)
    if len(buf) < 8 or bytes(buf[4:8]) != b"TFL3":
        raise FlatbufferError("not a TF Lite flatbuffer (missing the 'TFL3' file identifier)")
    try:
        return schema.Model.GetRootAsModel(buf, 0)
    except Exception as err:  # pragma: no cover - flatbuffers raises assorted errors on garbage
        raise FlatbufferError(f"corrupt TF Lite flatbuffer: {err}") from err


def verify(flatbuffer: bytes) -> None:
    """Check the whole flatbuffer before any interpreter sees it: every table and vector the interpreter reads
    (operator codes, subgraphs, tensors, operators, buffers, signatures) lies inside the bytes and every index
    points at something that exists. A truncated or corrupt file raises :class:`FlatbufferError` here
    instead of crashing TF Lite's C++ reader (a ``.tflite`` cut at 50 % or 99 % passes a header check)."""
    model = _parse(flatbuffer)
    size = len(flatbuffer)
    try:
        n_codes, n_buffers = model.OperatorCodesLength(), model.BuffersLength()
        for i in range(n_codes):
            op_name(model, i)
        for b in range(n_buffers):
            buf = model.Buffers(b)
            buf.DataAsNumpy() if buf.DataLength() else None  # raises when the data runs past the end
            if buf.Offset() and buf.Offset() + buf.Size() > size:  # data stored after the flatbuffer (> 2 GB)
                raise FlatbufferError(f"buffer {b} lies past the end of the file")
        if model.SubgraphsLength() < 1:
            raise FlatbufferError("no subgraph")
        for g in range(model.SubgraphsLength()):
            sub = model.Subgraphs(g)
            n_tensors = sub.TensorsLength()
            for t in range(n_tensors):
                tensor = sub.Tensors(t)
                tensor.ShapeAsNumpy() if tensor.ShapeLength() else None
                if not 0 <= tensor.Buffer() < max(n_buffers, 1):
                    raise FlatbufferError(f"tensor {t} of subgraph {g} names buffer {tensor.Buffer()} of {n_buffers}")
            for i in range(sub.OperatorsLength()):
                op = sub.Operators(i)
                if not 0 <= op.OpcodeIndex() < n_codes:
                    raise FlatbufferError(f"operator {i} of subgraph {g} names operator code {op.OpcodeIndex()}")
                for idx in [*(op.InputsAsNumpy() if op.InputsLength() else []),
                            *(op.OutputsAsNumpy() if op.OutputsLength() else [])]:
                    if not -1 <= idx < n_tensors:
                        raise FlatbufferError(f"operator {i} of subgraph {g} names tensor {idx} of {n_tensors}")
                op.CustomOptionsAsNumpy() if op.CustomOptionsLength() else None
            for idx in [*(sub.InputsAsNumpy() if sub.InputsLength() else []),
                        *(sub.OutputsAsNumpy() if sub.OutputsLength() else [])]:
                if not 0 <= idx < n_tensors:
                    raise FlatbufferError(f"subgraph {g} input / output names tensor {idx} of {n_tensors}")
        for s in range(model.SignatureDefsLength()):
            sig = model.SignatureDefs(s)
            for k in range(sig.OutputsLength()):
                sig.Outputs(k).Name()
    except FlatbufferError as err:
        raise FlatbufferError(f"corrupt TF Lite flatbuffer: {err}") from err
    except Exception as err:  # the flatbuffers reader raises struct.error / IndexError / ValueError past the end
        raise FlatbufferError(f"truncated or corrupt TF Lite flatbuffer ({len(flatbuffer):,} bytes): "
                              f"{type(err).__name__}: {err}") from err


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


def format_census(census: collections.Counter) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(census.items(), key=lambda kv: (-kv[1], kv[0])))


def read_flatbuffer(path: str) -> bytes:
    """The bytes of a ``.tflite`` file, checked whole by :func:`verify` (one clear error if it is not a complete
    TF Lite flatbuffer)."""
    import os

    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path!r}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        verify(data)
    except FlatbufferError as err:
        raise FlatbufferError(f"{path!r}: {err}") from err
    return data


def has_lce_ops(flatbuffer: bytes) -> bool:
    """Whether the flatbuffer holds ``Lce*`` custom ops (it then needs the LCE interpreter)."""
    return any(name.startswith("Lce") for name in op_census(flatbuffer))


class Runner:
    """A flatbuffer loaded in an interpreter. ``invoke(inputs)`` runs one call at the model's own input shapes
    and returns the outputs in the subgraph's output order; ``predict(x)`` runs a batch of samples.

    Args:
        runtime: ``"lce"`` (the LCE interpreter; knows the ``Lce*`` ops) or ``"tflite"``
            (``tf.lite.Interpreter``, which applies XNNPACK to float ops); ``None`` picks ``"lce"`` exactly
            when the flatbuffer has ``Lce*`` ops.
        kernel: binary-convolution kernel of the LCE interpreter (``KERNELS``).
        num_threads: interpreter threads.
        xnnpack: whether the LCE interpreter hands its float ops (stem, full-precision shortcuts, heads,
            adds, PReLU, SMPL-X) to the XNNPACK delegate, as ``tf.lite.Interpreter`` does for a float model
            and as LCE's own benchmarks do. The LCE wrapper's default is off (TF Lite's slower builtin
            kernels); ``True`` here, so binary and float models are compared like with like.
    """

    def __init__(self, flatbuffer: bytes, *, runtime: str | None = None, kernel: str = "indirect",
                 num_threads: int = 1, xnnpack: bool = True):
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        if runtime is not None and runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        verify(flatbuffer)
        self.runtime = runtime or ("lce" if has_lce_ops(flatbuffer) else "tflite")
        self.kernel = kernel if self.runtime == "lce" else None
        self.num_threads = num_threads
        self.xnnpack = bool(xnnpack) if self.runtime == "lce" else True
        try:
            self.output_names = signature_output_names(flatbuffer)
        except FlatbufferError:
            self.output_names = None
        if self.runtime == "lce":
            from larq_compute_engine.tflite.python.interpreter import Interpreter

            # the wrapper's own predict splits a batch into single samples; we call the model at its batch
            self._lce = Interpreter(flatbuffer, num_threads=num_threads, use_reference_bconv=kernel == "reference",
                                    use_indirect_bgemm=kernel == "indirect", use_xnnpack=self.xnnpack).interpreter
            self.input_shapes = [tuple(s) for s in self._lce.input_shapes]
        else:
            self._tfl = tf.lite.Interpreter(model_content=flatbuffer, num_threads=num_threads)
            self._tfl.allocate_tensors()
            self._inputs = self._tfl.get_input_details()
            self._outputs = self._tfl.get_output_details()
            self.input_shapes = [tuple(int(v) for v in d["shape"]) for d in self._inputs]

    def invoke(self, inputs: list) -> list:
        """One call; ``inputs`` has one array per model input, each of the model's input shape."""
        if self.runtime == "lce":
            return list(self._lce.predict([np.asarray(x, np.float32) for x in inputs]))
        for d, x in zip(self._inputs, inputs):
            self._tfl.set_tensor(d["index"], np.asarray(x, d["dtype"]))
        self._tfl.invoke()
        return [self._tfl.get_tensor(d["index"]) for d in self._outputs]

    def predict(self, x: np.ndarray) -> dict:
        """{output name: array} for ``x`` (N, ...) samples of a one-input model, run a model batch at a time."""
        b = self.input_shapes[0][0]
        x = np.asarray(x, np.float32)
        if len(x) % b:
            raise ValueError(f"{len(x)} samples is not a multiple of the model's batch size {b}")
        chunks = [self.invoke([x[i:i + b]]) for i in range(0, len(x), b)]
        names = self.output_names or [f"output_{i}" for i in range(len(chunks[0]))]
        return {name: np.concatenate([c[i] for c in chunks]) for i, name in enumerate(names)}


def run(flatbuffer: bytes, x: np.ndarray, *, runtime: str | None = None, kernel: str = "indirect",
        num_threads: int = 1, xnnpack: bool = True) -> dict:
    """{output name: array}: ``flatbuffer`` run on the samples ``x`` (see :class:`Runner`)."""
    return Runner(flatbuffer, runtime=runtime, kernel=kernel, num_threads=num_threads, xnnpack=xnnpack).predict(x)
