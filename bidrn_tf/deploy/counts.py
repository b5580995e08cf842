"""Params and OPs in the binary-network convention (Bi-Real, ReActNet, BiDRN).

Rule:
* Params = binary params / 32 + full-precision params, over the trainable variables. A weight is binary
  when its layer's kernel quantizer is 1-bit. BatchNorm counts gamma and beta only (PyTorch's parameters;
  running statistics are buffers), as in the paper's 77.84M for Hand4Whole; schedule state (ReCU's tau,
  FDA's term count and noise weight) is not a parameter.
* OPs = binary MACs / 64 + full-precision MACs, per input image. A MAC is binary when both the kernel and
  the input quantizer are 1-bit. MACs are counted for convolutions (incl. transposed and depthwise), dense
  layers and the SMPL-X layer's matrix products (``SMPLXLayer.matmul_macs``): kernel_h * kernel_w *
  C_in / groups * C_out * H_out * W_out (+ 0 for bias), times the batch the layer sees for one image (the
  hand backbone and heads run on both hand crops). Pooling, BatchNorm, activations, shifts, scales and
  residual adds are not counted (BatchNorm and per-channel scales fold into the convolution before them).
  ``rule="hand4whole_fp"`` is the rule that reproduces the paper's 16.85G for full-precision Hand4Whole:
  one hand crop, transposed convolutions per output pixel (README, "Counts").

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
    kq = getattr(layer, "kernel_quantizer", getattr(layer, "depthwise_quantizer", None))
    iq = getattr(layer, "input_quantizer", None)
    return quantizer_bits(kq), quantizer_bits(iq)


OPS_RULES = ("per_image", "hand4whole_fp")


def _macs(layer, out_shape, rule: str = "per_image") -> int:
    """MACs of one call of ``layer`` whose output has ``out_shape`` (batch first), under ``rule``:

    ``"per_image"``: everything the layer computes for one input image, i.e. times its own batch (the hand
    backbone runs on both hand crops), transposed convolutions counted per *input* pixel (each input pixel
    scatters its kernel once). ``"hand4whole_fp"``: batch ignored (one hand crop) and transposed
    convolutions per *output* pixel, the rule that reproduces the paper's 16.85G for Hand4Whole.
    """
    batch = 1 if rule == "hand4whole_fp" else int(out_shape[0])
    if isinstance(layer, tf.keras.layers.Dense):
        kernel_size = int(np.prod(layer.kernel.shape))
        return kernel_size * int(np.prod(out_shape[1:-1] or [1])) * batch
    kernel = layer.depthwise_kernel if isinstance(layer, tf.keras.layers.DepthwiseConv2D) else layer.kernel
    kernel_size = int(np.prod(kernel.shape))
    spatial = int(np.prod(out_shape[1:-1]))
    stride = getattr(layer, "transposed_stride", None)  # bidrn_tf.nn.layers.BinaryConv2DTranspose
    if stride is not None:
        # its kernel holds the 16 C F weights of a 4x4 transposed conv; out_shape is the up-sampled map
        spatial = spatial // (stride * stride) * (1 if rule == "per_image" else stride * stride)
        kernel_size = kernel_size // (stride * stride) * (stride * stride)
    elif isinstance(layer, tf.keras.layers.Conv2DTranspose) and rule == "per_image":
        spatial = spatial // (layer.strides[0] * layer.strides[1])
    return kernel_size * spatial * batch


def _executed_macs(layer, out_shape) -> int:
    """MACs a runtime executes for ``layer`` (batch included): ``BinaryConv2DTranspose`` runs its 2x2 conv
    on the (H + 1) x (W + 1) grid of the padded input."""
    stride = getattr(layer, "transposed_stride", None)
    if stride is None:
        return _macs(layer, out_shape)
    h, w = out_shape[1] // stride + 1, out_shape[2] // stride + 1
    return int(np.prod(layer.kernel.shape)) * h * w * int(out_shape[0])


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


def profile(model: tf.keras.Model, *, rule: str = "per_image") -> Profile:
    """Count binary / full-precision parameters and MACs of ``model`` (rules in the module docstring and
    :func:`_macs`)."""
    return profiles(model, rules=(rule,))[rule]


def profiles(model: tf.keras.Model, *, rules=OPS_RULES) -> dict:
    """{rule: :func:`profile` under that rule} from one forward pass (a paper-size whole-body model's pass
    is seconds)."""
    bad = [r for r in rules if r not in OPS_RULES]
    if bad or not rules:
        raise ValueError(f"rule must be one of {OPS_RULES}, got {bad[0] if bad else 'none'!r}")
    counted = [m for m in model.submodules if isinstance(m, _CONV_TYPES)]
    shapes = _record_output_shapes(model, counted)
    return {rule: _count(model, counted, shapes, rule) for rule in rules}


def _count(model: tf.keras.Model, counted, shapes: dict, rule: str) -> Profile:
    """The :class:`Profile` of ``model`` under ``rule``, given its counted layers and their recorded output shapes."""
    prof = Profile()
    binary_vars = set()
    for layer in counted:
        k_bits, i_bits = _layer_bits(layer)
        kernel = layer.depthwise_kernel if isinstance(layer, tf.keras.layers.DepthwiseConv2D) else layer.kernel
        if k_bits == 1:
            binary_vars.add(id(kernel))
        if id(layer) not in shapes:  # layer not on the forward path
            continue
        macs = _macs(layer, shapes[id(layer)], rule)
        if k_bits == 1 and i_bits == 1:
            prof.binary_macs += macs
        else:
            prof.fp_macs += macs
        prof.layers.append((layer.name, k_bits, i_bits, macs))
    for layer in model.submodules:  # layers that are matrix products without being Conv / Dense (SMPL-X)
        if hasattr(layer, "matmul_macs"):
            macs = int(layer.matmul_macs())
            prof.fp_macs += macs
            prof.layers.append((layer.name, 32, 32, macs))
    for var in model.trainable_weights:  # BN statistics, ReCU's tau, FDA's schedule are state, not parameters
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

    These are the MACs a runtime executes (``_executed_macs``), because they are compared with the MACs of
    the ops in a converted flatbuffer.
    """
    counted = [m for m in model.submodules if isinstance(m, _CONV_TYPES) and _layer_bits(m)[0] == 1]
    shapes = _record_output_shapes(model, counted)
    return [(layer.name, _executed_macs(layer, shapes[id(layer)])) for layer in counted if id(layer) in shapes]


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


# seed Table 6 (COCO 2D keypoints on MobileNetV1): (Params M, OPs M, MPJPE); the paper gives no input size, we
# count at MobileNetV1's 224x224x3 without a top
TABLE6_INPUT = (224, 224, 3)
TABLE6_PAPER = {"fp": (3.2, 583.3, 176.5), "bnn": (0.2, 17.9, 338.3), "bidrn": (0.2, 17.9, 188.3)}


def table6_rows() -> list[dict]:
    from bidrn_tf.models.mobilenet import build_mobilenet_v1

    rows = []
    for method, (paper_params, paper_ops, _) in TABLE6_PAPER.items():
        tf.keras.backend.clear_session()
        p = profile(build_mobilenet_v1(method=method, input_shape=TABLE6_INPUT))
        rows.append({"method": method, "params_m": p.params_m, "ops_m": p.ops_g * 1e3,
                     "paper_params_m": paper_params, "paper_ops_m": paper_ops})
    return rows


# main-paper Table 1 (BBCU: seed Table 7): (Params M, OPs G)
PAPER_WHOLE = {"fp": (77.84, 16.85), "bnn": (21.61, 2.63), "xnor": (21.61, 2.63), "dorefa": (21.61, 2.63),
               "bireal": (21.61, 2.63), "reactnet": (21.66, 2.63), "recu": (21.71, 2.65), "fda": (32.06, 2.81),
               "bbcu": (22.04, 2.68), "bidrn": (17.22, 2.50)}


def whole_model_rows(methods=None, smplx_model=None, config=None) -> list[dict]:
    """Params / OPs of the whole-body model (paper sizes unless ``config``) for every method, under both OPs
    rules, next to the paper's numbers (``None`` where the paper has none)."""
    import tempfile

    from bidrn_tf.models.backbones import METHODS
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    rows = []
    with tempfile.TemporaryDirectory() as folder:  # the stand-in is 112 MB: never left behind in /tmp
        path = model_or_stand_in(smplx_model, folder, announce=False)
        for method in methods or METHODS:
            rows.append(_whole_model_row(method, path, config))
    return rows


def _whole_model_row(method: str, smplx_model: str, config) -> dict:
    import gc

    from bidrn_tf.models.whole_body import build_model

    tf.keras.backend.clear_session()
    model = build_model(method=method, smplx_model=smplx_model, config=config)
    by_rule = profiles(model, rules=("per_image", "hand4whole_fp"))
    p, h = by_rule["per_image"], by_rule["hand4whole_fp"]
    paper_p, paper_o = PAPER_WHOLE.get(method, (None, None))
    row = {"method": method, "params_m": p.params_m, "ops_g": p.ops_g, "ops_g_hand4whole_rule": h.ops_g,
           "paper_params_m": paper_p, "paper_ops_g": paper_o, "total_params": p.total_params,
           "binary_macs": p.binary_macs, "fp_macs": p.fp_macs}
    del model
    gc.collect()  # Keras models sit in reference cycles: free each paper-size model before the next
    return row


def _rel(value, paper):
    return "" if paper is None else f"{100 * (value / paper - 1):+.1f}%"


def format_whole(rows: list[dict]) -> str:
    lines = ["| method | Params (M) | paper | diff | OPs (G), per image | paper | diff | OPs (G), Hand4Whole-FP rule "
             "| diff | all params |", "|" + "---|" * 10]
    for r in rows:
        pp, po = r["paper_params_m"], r["paper_ops_g"]
        lines.append(f"| {r['method']} | {r['params_m']:.2f} | {pp if pp is not None else '-'} | "
                     f"{_rel(r['params_m'], pp)} | {r['ops_g']:.2f} | {po if po is not None else '-'} | "
                     f"{_rel(r['ops_g'], po)} | {r['ops_g_hand4whole_rule']:.2f} | "
                     f"{_rel(r['ops_g_hand4whole_rule'], po)} | {r['total_params']:,} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    from bidrn_tf.models.backbones import METHODS

    ap = argparse.ArgumentParser(description="Params / OPs of every backbone at the paper's input sizes, or of "
                                             "the whole-body model (--whole) next to the paper's Table 1")
    ap.add_argument("--methods", nargs="*", default=None, choices=METHODS, metavar="METHOD",
                    help=f"subset of methods (default: all of {', '.join(METHODS)})")
    ap.add_argument("--no-table5", action="store_true", help="skip the seed Tables 5 and 6 (ResNet-18 classifier, "
                                                             "MobileNetV1) checks")
    ap.add_argument("--whole", action="store_true", help="only the whole-body model table (paper Table 1)")
    ap.add_argument("--json", metavar="FILE", default=None,
                    help="with --whole: also write {method: {params_m, ops_g, ...}} to FILE (atomically)")
    args = ap.parse_args(argv)
    if args.json and not args.whole:
        ap.error("--json needs --whole")
    if args.json:
        from bidrn_tf.cli import check_outputs

        try:
            check_outputs(json=args.json)
        except ValueError as err:
            ap.error(str(err))
    if args.whole:
        import json

        import bidrn_tf
        from bidrn_tf.fileio import write_atomic

        rows = whole_model_rows(args.methods)
        print("Whole-body model, 512x384 input, both hands (paper Table 1; OPs = binary MACs / 64 + FP MACs):")
        print(format_whole(rows))
        if args.json:
            table = {r["method"]: {**{k: v for k, v in r.items() if k != "method"},
                                   "bidrn_tf_version": bidrn_tf.__version__} for r in rows}
            write_atomic(args.json, json.dumps(table, indent=1).encode())
            print(f"wrote {args.json}")
        return
    print("Backbones (Params = binary/32 + FP; OPs = binary MACs/64 + FP MACs):")
    print(format_table(backbone_table(args.methods)))
    if not args.no_table5:
        print("\nSeed Table 5 (ResNet-18 classifier, 10 classes, 224x224x3):")
        print(format_table5(table5_rows()))
        print("\nSeed Table 6 (MobileNetV1 backbone, 224x224x3):")
        print(format_table5(table6_rows()))


if __name__ == "__main__":
    main()
