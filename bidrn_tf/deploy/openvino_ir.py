"""Whole-body model -> OpenVINO IR (``.xml`` + ``.bin``) with real 1-bit ``BinaryConvolution`` ops for x86 CPUs.

LCE has no x86 binary kernels (its x86 "optimized" path is a portable scalar-popcount loop). OpenVINO's CPU
plugin runs opset-1 ``BinaryConvolution`` (``mode="xnor-popcount"``) as JIT AVX2 / AVX-512 code, picked at run
time for the machine it runs on. This module builds such a model:

1. ``openvino.convert_model`` converts the Keras model (its TensorFlow frontend freezes the variables and
   folds BatchNorm and the weight binarizer's per-channel scale into the convolution weights);
2. :func:`binarize` rewrites every convolution that the binarizers make binary. In the converted graph a
   larq binary convolution reads ``Convolution(Pad(Sign(Add(Sign(x), 0.1)), value=1), W)`` (``larq.math.sign``
   maps 0 to +1; ``pad_values=1.0``), with ``W = s_c * sign(W_latent)`` for a per-output-channel magnitude
   ``s_c`` (BatchNorm directly after it folds into ``s_c``, and a negative BN scale flips signs only). It
   becomes

       FakeQuantize(x, levels=2, threshold -1e-30 -> {0, 1})     the input's 1-bit binarization
       -> BinaryConvolution(1-bit weights, pads, pad_value=1.0)  sum of +-1 products, xnor-popcount
       -> Multiply(s_c)                                          the per-channel scale (and folded BN)

   The threshold just below 0 keeps larq's sign(0) = +1; the output levels {0, 1} are the form the CPU
   plugin binarizes into packed bits (its runtime graph shows the ``FakeQuantize`` with ``u1`` output
   feeding ``BinaryConvolution``, or the binarization fused into the op before it). Weights are stored as
   ``u1`` (bit 1 = +1, little-endian within each byte, the layout the CPU plugin reads).
   A convolution whose input is not a sign (DoReFa's {0, 1} activations, full-precision layers) or whose
   weights are not +-s per channel stays a float ``Convolution``.
3. :func:`runtime_census` reads the *compiled* model's runtime graph: the layer type each executed node
   ran as (``BinaryConvolution``, ``Convolution``, ``Eltwise``, ...), the proof that binary convs really run
   on the binary kernel.

:class:`Runner` is this runtime's counterpart of ``bidrn_tf.deploy.flatbuffer.Runner`` (same ``invoke`` /
``predict`` / ``input_shapes``), so the latency harness and the fidelity check treat both alike.
"""
from __future__ import annotations

import collections
import os
import sys
import tempfile

import numpy as np

import bidrn_tf  # noqa: F401
from bidrn_tf.deploy import flatbuffer

# larq's sign(x) is sign(sign(x) + 0.1); its inner sign's 0 becomes +1. Below -1e-30 -> 0 (i.e. -1), else 1.
SIGN_THRESHOLD = np.float32(-1e-30)
BINARY_SUFFIX = "/BinaryConvolution"  # friendly name of the op that replaces convolution NAME: NAME + this
PACKING_LAYERS = ("FakeQuantize", "BinaryConvolution")  # runtime layers that write packed u1 bits


class OpenVINOUnavailable(RuntimeError):
    """The optional ``openvino`` package is not installed."""


def _ov():
    try:
        import openvino as ov
    except ImportError as err:  # pragma: no cover - openvino is in requirements.txt
        raise OpenVINOUnavailable("the OpenVINO runtime is not installed: pip install 'bidrn-tf[openvino]' "
                                  "(or `make venv`, which installs requirements.txt)") from err
    return ov


def _const_value(output):
    """numpy value of a Constant node's output, else None."""
    node = output.get_node()
    if node.get_type_name() != "Constant":
        return None
    return node.get_data()


def _sign_source(output):
    """The tensor ``x`` if ``output`` is larq's ``Sign(Add(Sign(x), c))`` with 0 < c < 1, else None."""
    node = output.get_node()
    if node.get_type_name() != "Sign":
        return None
    add = node.input_value(0).get_node()
    if add.get_type_name() != "Add":
        return None
    for i in (0, 1):
        inner, const = add.input_value(i), _const_value(add.input_value(1 - i))
        if (inner.get_node().get_type_name() == "Sign" and const is not None and const.size == 1
                and 0 < float(const.reshape(-1)[0]) < 1):
            return inner.get_node().input_value(0)
    return None


def _binary_weights(w: np.ndarray, rtol: float = 1e-4):
    """(bits, scale) if every output channel of ``w`` (O, I, kh, kw) is +-s_c, else None."""
    mag = np.abs(w).reshape(w.shape[0], -1)
    scale = mag.max(axis=1)
    if not np.all(np.abs(mag - scale[:, None]) <= rtol * np.maximum(scale[:, None], 1e-30)):
        return None
    return w > 0, scale.astype(np.float32)


def _u1_constant(bits: np.ndarray):
    ov = _ov()
    tensor = ov.Tensor(ov.Type.u1, ov.Shape(list(bits.shape)))
    tensor.data[...] = np.packbits(bits.reshape(-1), bitorder="little")
    return ov.op.Constant(tensor)


def binarize(model, exclude=()) -> list[str]:
    """Rewrite, in place, every convolution of the OpenVINO ``model`` whose input is a sign and whose
    weights are +-s per output channel into FakeQuantize -> BinaryConvolution -> Multiply (module docstring),
    except those whose friendly names are in ``exclude``.

    Returns the friendly names of the rewritten convolutions.
    """
    import openvino.opset1 as ops

    done = []
    for conv in list(model.get_ordered_ops()):
        if conv.get_type_name() != "Convolution" or conv.get_friendly_name() in exclude:
            continue
        data, weights = conv.input_value(0), _const_value(conv.input_value(1))
        if weights is None:
            continue
        attrs = conv.get_attributes()
        pads_begin, pads_end = list(attrs["pads_begin"]), list(attrs["pads_end"])
        if attrs.get("auto_pad", "explicit") not in ("explicit", "valid", "notset") or any(pads_begin) or any(pads_end):
            continue  # the conv pads with zeros itself: a binary input cannot hold a 0 (larq's pad_values=0)
        if data.get_node().get_type_name() == "Pad":  # larq's pad_values=1.0 padding, spatial axes only
            pad = data.get_node()
            begin, end = _const_value(pad.input_value(1)), _const_value(pad.input_value(2))
            value = _const_value(pad.input_value(3)) if pad.get_input_size() > 3 else None
            if (begin is None or end is None or value is None or float(value.reshape(-1)[0]) != 1.0
                    or pad.get_attributes().get("pad_mode") != "constant" or np.any(begin[:2]) or np.any(end[:2])):
                continue
            pads_begin, pads_end = [int(v) for v in begin[2:]], [int(v) for v in end[2:]]
            data = pad.input_value(0)
        x = _sign_source(data)
        binary = _binary_weights(weights)
        if x is None or binary is None:
            continue
        bits, scale = binary
        t = ops.constant(SIGN_THRESHOLD)
        fq = ops.fake_quantize(x, t, t, ops.constant(np.float32(0)), ops.constant(np.float32(1)), 2)
        bconv = ops.binary_convolution(fq, _u1_constant(bits), list(attrs["strides"]), pads_begin, pads_end,
                                       list(attrs["dilations"]), "xnor-popcount", 1.0)
        out = ops.multiply(bconv, ops.constant(scale.reshape(1, -1, 1, 1)))
        name = conv.get_friendly_name()
        out.set_friendly_name(name)
        bconv.set_friendly_name(name + BINARY_SUFFIX)
        conv.output(0).replace(out.output(0))
        done.append(name)
    model.validate_nodes_and_infer_types()
    return done


def unpacked_binary_convs(compiled) -> list[str]:
    """Names of the convolutions whose compiled ``BinaryConvolution`` does not read packed bits straight
    from a 2-level ``FakeQuantize`` or from a ``BinaryConvolution`` with the next sign fused into its output
    (``PACKING_LAYERS``; the plugin does that where a binary conv is followed by BN and sign only, as in BNN).

    OpenVINO 2026.4's CPU plugin binarizes a ``FakeQuantize`` into packed ``u1`` only where it can fuse it;
    where it cannot (seen when the quantized tensor comes straight from a layout ``Transpose``, e.g. a
    binary conv on the model input) it emits float output, a ``Convert`` to ``u1`` and reorders, and that
    graph crashes at inference. :func:`convert_keras` keeps such convolutions float.
    """
    names = []
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) != "BinaryConvolution":
            continue
        src = op.input_value(0).get_node().get_rt_info()
        if (src["layerType"].astype(str) not in PACKING_LAYERS or src["outputPrecisions"].astype(str) != "u1"):
            fused = info["originalLayersNames"].astype(str).split(",")
            names += [n[:-len(BINARY_SUFFIX)] for n in fused if n.endswith(BINARY_SUFFIX)]
    return names


def convert_keras(keras_model, *, binary: bool = True, batch: int = 1):
    """``(openvino.Model, names of the BinaryConvolutions)`` for a Keras model.

    The input shapes are made static (``batch`` x each Keras input's shape), which lets the CPU plugin pick its
    fastest kernels; ``binary=False`` keeps every convolution float (the ``fp`` model, or a check).
    The binarized model is compiled once to check that every ``BinaryConvolution`` reads packed bits
    (:func:`unpacked_binary_convs`); any that would not is left a float convolution, with a warning.
    """
    ov = _ov()
    shapes = [(x.name.split(":")[0], [batch if batch else -1, *[int(d) for d in x.shape[1:]]])
              for x in keras_model.inputs]  # by name: OpenVINO may order a dict of inputs otherwise
    model = ov.convert_model(keras_model, input=shapes)
    if not binary:
        return model, []
    trial = model.clone()  # same friendly names
    unsafe = unpacked_binary_convs(compile_model(trial)) if binarize(trial) else []
    if unsafe:
        print(f"WARNING: {len(unsafe)} binary convolution(s) stay float in OpenVINO (the CPU plugin cannot pack "
              f"their input into bits there): {', '.join(unsafe[:5])}", file=sys.stderr)
    names = binarize(model, exclude=set(unsafe))
    return model, names


def serialize(model, xml_path: str) -> dict:
    """``{xml_path: bytes, <same name>.bin: bytes}``: the IR files of ``model``, for ``fileio.write_set``
    (the caller writes them, with its report, as one output set). Weights stay float32 (no fp16 compression).

    The ``.xml`` names its weights file by the ``.bin``'s position beside it, so the pair may be moved together.
    """
    ov = _ov()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_xml = os.path.join(tmp, "model.xml")
        ov.save_model(model, tmp_xml, compress_to_fp16=False)
        with open(tmp_xml, "rb") as f, open(tmp_xml[:-4] + ".bin", "rb") as g:
            return {xml_path: f.read(), os.path.splitext(xml_path)[0] + ".bin": g.read()}


def read(xml_path: str):
    """The OpenVINO model of ``xml_path`` (its ``.bin`` beside it), with one clear error for a bad file."""
    ov = _ov()
    bin_path = os.path.splitext(xml_path)[0] + ".bin"
    for p in (xml_path, bin_path):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"OpenVINO model file not found: {p!r}")
    try:
        return ov.Core().read_model(xml_path, bin_path)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise ValueError(f"{xml_path!r} is not a readable OpenVINO IR model: {first}") from None


def compile_model(model, *, num_threads: int = 1):
    """The model compiled for the CPU plugin with ``num_threads`` inference threads (latency hint)."""
    ov = _ov()
    config = {"INFERENCE_NUM_THREADS": int(num_threads), "PERFORMANCE_HINT": "LATENCY",
              "INFERENCE_PRECISION_HINT": "f32"}
    return ov.Core().compile_model(model, "CPU", config)


def runtime_census(compiled) -> collections.Counter:
    """Counts of the layer types the CPU plugin executes (constants, inputs, outputs and reorders left out)."""
    skip = {"Const", "Input", "Output", "Parameter", "Result", "Reorder"}
    counts = collections.Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        kind = op.get_rt_info()["layerType"].astype(str)
        if kind not in skip:
            counts[kind] += 1
    return counts


def kernels(compiled, layer_type: str = "BinaryConvolution") -> collections.Counter:
    """Counts of the CPU plugin's primitive (``jit_avx512_...``, ``jit_avx2_...``, ``ref_...``) that runs
    each ``layer_type`` node of the compiled model: which instruction set the binary kernel was built for."""
    counts = collections.Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) == layer_type:
            counts[info["primitiveType"].astype(str)] += 1
    return counts


def layer_profile(model, *, runs: int = 5, warmup: int = 3, num_threads: int = 1) -> dict:
    """{runtime layer type: (mean ms per inference, node count)}: the CPU plugin's own per-node timing
    (``PERF_COUNT``) summed by layer type, over ``runs`` inferences on fixed random inputs after ``warmup``.
    The Python TF Lite / LCE interpreters have no such profiler; this is where OpenVINO's time goes."""
    ov = _ov()
    if isinstance(model, (str, os.PathLike)):
        model = read(os.fspath(model))
    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": int(num_threads), "PERF_COUNT": True,
                                                      "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    rng = np.random.default_rng(0)
    xs = [rng.uniform(size=i.get_partial_shape().to_shape()).astype(np.float32) for i in compiled.inputs]
    ms, count = collections.Counter(), collections.Counter()
    for i in range(warmup + runs):
        request.infer(xs)
        if i < warmup:
            continue
        for node in request.get_profiling_info():
            ms[node.node_type] += node.real_time.total_seconds() * 1e3 / runs
            count[node.node_type] += i == warmup
    return {kind: (ms[kind], count[kind]) for kind, _ in ms.most_common()}


def binary_conv_macs(model) -> int:
    """MACs inside the ``BinaryConvolution`` ops of ``model`` (static shapes: batch included)."""
    total = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() == "BinaryConvolution":
            out = [int(d) for d in op.get_output_shape(0)]
            kernel = [int(d) for d in op.get_input_shape(1)]  # (O, I, kh, kw)
            total += int(np.prod(out)) * kernel[1] * kernel[2] * kernel[3]
    return total


class Runner:
    """An OpenVINO model compiled for the CPU: ``invoke(inputs)`` / ``predict(x)`` / ``input_shapes`` /
    ``output_names`` as in ``bidrn_tf.deploy.flatbuffer.Runner``. ``model`` is an ``openvino.Model`` or
    the path of an IR ``.xml``."""

    runtime = "openvino"

    def __init__(self, model, *, num_threads: int = 1):
        if isinstance(model, (str, os.PathLike)):
            model = read(os.fspath(model))
        self.num_threads = num_threads
        self.compiled = compile_model(model, num_threads=num_threads)
        self._request = self.compiled.create_infer_request()
        self.input_shapes = [tuple(int(d) for d in i.get_partial_shape().to_shape()) for i in self.compiled.inputs]
        self.output_names = [_output_name(o) for o in self.compiled.outputs]

    def invoke(self, inputs: list) -> list:
        result = self._request.infer([np.asarray(x, np.float32) for x in inputs])
        return [np.asarray(result[o]) for o in self.compiled.outputs]

    predict = flatbuffer.Runner.predict  # {output name: array} for samples x, a model batch at a time


def _output_name(output) -> str:
    """The Keras output key of an OpenVINO output (its tensor names carry the Keras layer name)."""
    names = sorted(output.get_names(), key=len)
    name = names[0] if names else output.get_any_name()
    return name.split(":")[0].split("/")[0]
