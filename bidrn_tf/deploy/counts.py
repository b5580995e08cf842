"""Params and OPs in the binary-network convention (Bi-Real, ReActNet, BiDRN).

Rule:
* Params = binary params / 32 + full-precision params. A weight is binary when its layer's kernel quantizer
  is 1-bit. BatchNorm counts gamma and beta only (PyTorch's parameters; running statistics are buffers), as
  in the paper's 77.84M for Hand4Whole.
* OPs = binary MACs / 64 + full-precision MACs. A MAC is binary when both the kernel and the input
  quantizer are 1-bit. MACs are counted for convolutions (incl. transposed and depthwise) and dense layers
  only: kernel_h * kernel_w * C_in / groups * C_out * H_out * W_out (+ 0 for bias). Pooling, BatchNorm,
  activations and residual adds are not counted (they are a few percent of the total and the paper does
  not say that it counts them).

MACs are measured, not derived: ``profile`` runs one forward pass on zeros and records every counted
layer's real output shape, so nested layers (the BiDRB modules) are covered.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.nn.quantizers import quantizer_bits

_CONV_TYPES = (tf.keras.layers.Conv2D, tf.keras.layers.DepthwiseConv2D, tf.keras.layers.Dense)


@dataclass
class Profile:
    """Counts of one model. ``params_m`` / ``ops_g`` follow the convention in the module docstring."""

    binary_params: int = 0
    fp_params: int = 0
    binary_macs: int = 0
    fp_macs: int = 0
    layers: list = field(default_factory=list, repr=False)

    @property
    def params_m(self) -> float:
        return (self.binary_params / 32 + self.fp_params) / 1e6

    @property
    def ops_g(self) -> float:
        return (self.binary_macs / 64 + self.fp_macs) / 1e9

    @property
    def total_params(self) -> int:
        return self.binary_params + self.fp_params

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "layers"}
        return {**d, "params_m": self.params_m, "ops_g": self.ops_g}


def _is_bn_stat(var) -> bool:
    n = var.name
    return "moving_mean" in n or "moving_variance" in n


def _layer_bits(layer):
    """(kernel bits, input bits) of a layer; 32 for full precision."""
    kq = getattr(layer, "kernel_quantizer", None)
    iq = getattr(layer, "input_quantizer", None)
    return quantizer_bits(kq), quantizer_bits(iq)


def _macs(layer, out_shape) -> int:
    if isinstance(layer, tf.keras.layers.Dense):
        kernel_size = int(np.prod(layer.kernel.shape))
        return kernel_size * int(np.prod(out_shape[1:-1] or [1]))
    kernel = layer.depthwise_kernel if isinstance(layer, tf.keras.layers.DepthwiseConv2D) else layer.kernel
    kernel_size = int(np.prod(kernel.shape))
    spatial = int(np.prod(out_shape[1:-1]))
    if isinstance(layer, tf.keras.layers.Conv2DTranspose):
        # every input pixel scatters its kernel: MACs = kernel size * input pixels
        spatial = spatial // (layer.strides[0] * layer.strides[1])
    return kernel_size * spatial


def _record_output_shapes(model: tf.keras.Model, counted) -> dict:
    """Run one forward pass on zeros (batch 1) and return {id(layer): output shape} for ``counted``."""
    shapes, originals = {}, {}
    for layer in counted:
        originals[id(layer)] = layer.call

        def wrapped(*args, __layer=layer, __call=layer.call, **kwargs):
            out = __call(*args, **kwargs)
            shapes[id(__layer)] = tuple(out.shape)
            return out

        layer.call = wrapped
    try:
        inputs = [tf.zeros((1,) + tuple(t.shape[1:]), t.dtype) for t in model.inputs]
        model(inputs if len(inputs) > 1 else inputs[0], training=False)
    finally:
        for layer in counted:
            layer.call = originals[id(layer)]
    return shapes


def profile(model: tf.keras.Model) -> Profile:
    """Count binary / full-precision parameters and MACs of ``model`` (rule in the module docstring)."""
    counted = [m for m in model.submodules if isinstance(m, _CONV_TYPES)]
    shapes = _record_output_shapes(model, counted)
    prof = Profile()
    binary_vars = set()
    for layer in counted:
        k_bits, i_bits = _layer_bits(layer)
        kernel = layer.depthwise_kernel if isinstance(layer, tf.keras.layers.DepthwiseConv2D) else layer.kernel
        if k_bits == 1:
            binary_vars.add(id(kernel))
        if id(layer) not in shapes:  # layer not on the forward path
            continue
        macs = _macs(layer, shapes[id(layer)])
        if k_bits == 1 and i_bits == 1:
            prof.binary_macs += macs
        else:
            prof.fp_macs += macs
        prof.layers.append((layer.name, k_bits, i_bits, macs))
    for var in model.weights:
        if _is_bn_stat(var):
            continue
        n = int(np.prod(var.shape))
        if id(var) in binary_vars:
            prof.binary_params += n
        else:
            prof.fp_params += n
    return prof


def binarized_weight_macs(model: tf.keras.Model) -> list[tuple[str, int]]:
    """[(layer name, MACs of one forward pass at batch 1, *including* the batch the layer really sees)]
    for every conv / dense layer with 1-bit weights, whatever its input quantizer (names can repeat).

    Unlike :func:`profile` this multiplies by the layer's own batch (the hand backbone runs on two crops per
    image), because it is compared with the MACs of the ops in a converted flatbuffer.
    """
    counted = [m for m in model.submodules if isinstance(m, _CONV_TYPES) and _layer_bits(m)[0] == 1]
    shapes = _record_output_shapes(model, counted)
    return [(layer.name, _macs(layer, shapes[id(layer)]) * int(shapes[id(layer)][0]))
            for layer in counted if id(layer) in shapes]


# ----------------------------------------------------------------------------------------------------
# command line: the table for every depth x method at the paper's input sizes
# ----------------------------------------------------------------------------------------------------
PAPER_INPUTS = {"body (ResNet-50)": (50, (256, 192, 3)), "hand (ResNet-50)": (50, (256, 256, 3)),
                "face (ResNet-18)": (18, (192, 192, 3))}


def backbone_table(methods=None) -> list[dict]:
    from bidrn_tf.models.backbones import METHODS, build_resnet

    rows = []
    for method in methods or METHODS:
        for part, (depth, shape) in PAPER_INPUTS.items():
            tf.keras.backend.clear_session()
            p = profile(build_resnet(depth=depth, method=method, input_shape=shape))
            rows.append({"method": method, "part": part, "input": "x".join(map(str, shape[:2])), **p.as_dict()})
    return rows


def format_table(rows: list[dict]) -> str:
    head = "| method | part | input | Params (M) | OPs (G) | binary params | FP params | binary MACs | FP MACs |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['part']} | {r['input']} | {r['params_m']:.3f} | {r['ops_g']:.3f} | "
            f"{r['binary_params']:,} | {r['fp_params']:,} | {r['binary_macs']:,} | {r['fp_macs']:,} |")
    return "\n".join(lines)


# seed Table 5 (MNIST classification with ResNet-18): the paper gives FP 11.2M / 1826.0M OPs, which is an
# ImageNet-layout ResNet-18 at 224x224x3 with a 10-class head; we count that configuration.
TABLE5_INPUT = (224, 224, 3)
TABLE5_PAPER = {"fp": (11.2, 1826.0), "bnn": (0.4, 40.7), "bidrn": (0.4, 40.7)}


def table5_rows() -> list[dict]:
    from bidrn_tf.models.backbones import build_resnet

    rows = []
    for method, (paper_params, paper_ops) in TABLE5_PAPER.items():
        tf.keras.backend.clear_session()
        model = build_resnet(depth=18, method=method, input_shape=TABLE5_INPUT, include_top=True, num_classes=10)
        p = profile(model)
        rows.append({"method": method, "params_m": p.params_m, "ops_m": p.ops_g * 1e3,
                     "paper_params_m": paper_params, "paper_ops_m": paper_ops})
    return rows


def format_table5(rows: list[dict]) -> str:
    lines = ["| method | Params (M) | paper | OPs (M) | paper |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['params_m']:.3f} | {r['paper_params_m']} | {r['ops_m']:.1f} | "
                     f"{r['paper_ops_m']} |")
    return "\n".join(lines)


PAPER_WHOLE = {"fp": (77.84, 16.85), "bnn": (21.61, 2.63), "xnor": (21.61, 2.63), "dorefa": (21.61, 2.63),
               "bireal": (21.61, 2.63), "reactnet": (21.66, 2.63), "bidrn": (17.22, 2.50)}


def whole_model_rows(methods=None, smplx_model=None) -> list[dict]:
    """Params / OPs of the whole-body model (512x384 input) for every method, next to the paper's."""
    import tempfile

    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    smplx_model = model_or_stand_in(smplx_model, tempfile.mkdtemp(), announce=False)
    rows = []
    for method in methods or PAPER_WHOLE:
        tf.keras.backend.clear_session()
        p = profile(build_model(method=method, smplx_model=smplx_model))
        paper_p, paper_o = PAPER_WHOLE[method]
        rows.append({"method": method, "params_m": p.params_m, "ops_g": p.ops_g, "paper_params_m": paper_p,
                     "paper_ops_g": paper_o, "total_params": p.total_params})
    return rows


def format_whole(rows: list[dict]) -> str:
    lines = ["| method | Params (M) | paper | diff | OPs (G) | paper | diff | all params |", "|" + "---|" * 8]
    for r in rows:
        lines.append(f"| {r['method']} | {r['params_m']:.2f} | {r['paper_params_m']} | "
                     f"{100 * (r['params_m'] / r['paper_params_m'] - 1):+.1f}% | {r['ops_g']:.2f} | {r['paper_ops_g']} | "
                     f"{100 * (r['ops_g'] / r['paper_ops_g'] - 1):+.1f}% | {r['total_params']:,} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Params/OPs of every backbone at the paper's input sizes")
    ap.add_argument("--methods", nargs="*", default=None, help="subset of methods (default: all)")
    ap.add_argument("--no-table5", action="store_true", help="skip the seed Table 5 (MNIST ResNet-18) check")
    ap.add_argument("--whole", action="store_true", help="only the whole-body model table (paper Table 1)")
    args = ap.parse_args(argv)
    if args.whole:
        print("Whole-body model, 512x384 input (paper Table 1):")
        print(format_whole(whole_model_rows(args.methods)))
        return
    print("Backbones (Params = binary/32 + FP; OPs = binary MACs/64 + FP MACs):")
    print(format_table(backbone_table(args.methods)))
    if not args.no_table5:
        print("\nSeed Table 5 (ResNet-18 classifier, 10 classes, 224x224x3):")
        print(format_table5(table5_rows()))


if __name__ == "__main__":
    main()
