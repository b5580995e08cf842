"""ResNet-18 / ResNet-50 backbones for every method: full precision, the BNN baselines, and BiDRN.

``build_resnet(*, depth, method, input_shape, ...)`` is the single entry point. Methods:

=========  ==========================================================================================
``fp``     torchvision-layout ResNet (v1.5: stride on the 3x3 conv), as Hand4Whole uses. ReLU.
``bnn``    BNN (Hubara et al.): sign activations with STE, sign weights (no scale), hardtanh.
``xnor``   XNOR-Net: as BNN with a per-output-channel weight scale mean(|W|). The activation scaling
           matrix K of the paper is left out (as in most re-implementations). **Consequence:** a BatchNorm
           follows every binary conv, so it divides the per-channel scale out (up to its epsilon) and the
           scale is a constant of the backward pass: ``xnor`` computes BNN's function with BNN's gradients
           (``test_xnor_is_bnn_when_batchnorm_follows_every_binary_conv``). Trained, the two differ only as
           two runs whose rounding differs (sign flips of near-zero inputs amplify BN's epsilon).
           ``build_resnet(..., xnor_activation_scale=True)`` adds K (``nn.layers.ActivationScale``): the
           faithful XNOR-Net, which BN does not reduce to BNN.
``dorefa`` DoReFa-Net at W1/A1: weights sign(W) * mean(|W|) over the tensor, activations
           round(clip(x, 0, 1)) in {0, 1}. **Not a sign**, so LCE cannot make binary ops of it: its
           convolutions stay float ``CONV_2D`` in a ``.tflite`` (excluded from the conversion contract).
``bireal`` Bi-Real Net: ApproxSign gradient, scaled sign weights, a real-valued identity shortcut around
           every binary conv whose input and output shapes match.
``reactnet`` ReActNet: as Bi-Real plus RSign (learnable per-channel shift before sign) and RPReLU.
``recu``   ReCU (Xu et al., ICCV 2021): Bi-Real layout with hardtanh after each unit, as ReCU's ResNet;
           weights binarized by the rectified clamp unit (``quantizers.ReCUWeight``: standardize per
           filter, clamp at the tau-quantile, sign; tau 0.85 -> 0.99 over training), a learnable
           per-channel scale alpha after each binary conv (``layers.LearnableScale``), activations with
           ApproxSign on the per-sample standardized input (``sign="recu"``).
``fda``    FDA (Xu et al., NeurIPS 2021): Bi-Real layout with per-channel PReLU ("Bi-Real + PReLU", FDA's
           baseline); the Fourier-series gradient of sign for weights and activations, and the weights'
           noise-adaptation module during training (``layers.FDAConv2D``).
``bbcu``   BBCU (Xia et al., ICLR 2023): every unit is ``RPReLU(BN(BinConv(sign(x + b)))) + x`` (activation
           before the residual add, RSign shift, scaled-sign weights, ApproxSign). BBCU drops BatchNorm in
           its restoration networks and rescales the input by k instead (residual alignment); a ResNet
           backbone keeps its BatchNorms (the paper's 22.04M for BBCU is above BNN + BBCU's own per-conv
           parameters, so its BNs were kept), and with a BatchNorm after the stem the input scale k cancels,
           so it is left out.
``bidrn``  BiDRN: blocks built from ``bidrn_tf.nn.blocks`` following the mapping table (seed Table 1).
=========  ==========================================================================================

LCE: every method except ``dorefa`` converts to ``LceBconv2d`` ({0, 1} activations are not a sign). ReCU's
scale, FDA's per-channel weight scale and BBCU's shift fold into the binary convolution or stay as small
float elementwise ops; FDA's noise module and the schedules are training-only.

Counting rule shared by the BNN family (reproduces the paper's 21.61M, SPEC section 1): every backbone
convolution except the first 7x7 is binarized, the 1x1 down-sampling shortcut convs included; BatchNorm
stays full precision. In the stem, binarized methods use hardtanh instead of ReLU (a ReLU in front of a
sign would make every first-block binary input +1).

BiDRN mapping (SPEC's reading of the garbled Table 1), with ``r = C_in / C_out`` for 1x1 convs:
  ResNet-18 BasicBlock: 3x3 convs are LCRs; the first block of stages 2-4 starts with G-DSaR (tau = 1).
  ResNet-50 Bottleneck: 1x1 reduce -> G-FDR (tau = r / 2), or LCR when channels are kept (stage 1,
  block 1); 3x3 -> LCR, or G-DScR (tau = 1) where it strides; 1x1 expand -> G-FUR (tau = 2, x4 channels).
  Every block has a Block Residual (identity, or a full-precision 1x1 conv with the block's stride + BN).
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.models.config import BiDRNConfig
from bidrn_tf.nn import blocks
from bidrn_tf.nn.layers import (ActivationScale, FDAConv2D, LearnableScale, LearnableShift, RPReLU, batch_norm,
                                binary_conv2d, fp_conv_initializer, hardtanh, prelu)

METHODS = ("fp", "bnn", "xnor", "dorefa", "bireal", "reactnet", "recu", "fda", "bbcu", "bidrn")
# methods whose weights can stay real while the activations are binary (``build_resnet(binary_weights=False)``):
# not fp (nothing is binary) nor fda (its convolution is its weight binarizer)
REAL_WEIGHT_METHODS = tuple(m for m in METHODS if m not in ("fp", "fda"))
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 50: ("bottleneck", (3, 4, 6, 3))}
STAGE_WIDTHS = (64, 128, 256, 512)


@dataclasses.dataclass(frozen=True)
class BaselineSpec:
    """What distinguishes the classic BNN baselines from each other (configuration as data)."""

    sign: str  # activation binarizer, see bidrn_tf.nn.quantizers.input_quantizer
    weight_quantizer: str  # see bidrn_tf.nn.quantizers.kernel_quantizer
    conv_shortcut: bool  # Bi-Real: identity shortcut around each binary conv where shapes match
    learnable_shift: bool  # ReActNet: RSign = sign(x + b)
    activation: str  # after each unit: "hardtanh", "rprelu", "prelu" or "none"
    lce_binary: bool = True  # converts to LceBconv2d
    learned_scale: bool = False  # ReCU: a learnable per-channel scale after each binary conv
    conv: str = "quant"  # "quant" (larq QuantConv2D) or "fda" (FDAConv2D with the noise-adaptation module)
    activation_before_add: bool = False  # BBCU: y = act(BN(conv)) + residual instead of act(BN(conv) + residual)
    activation_scale: bool = False  # XNOR-Net's K after each binary conv (nn.layers.ActivationScale)


BASELINES = {
    "bnn": BaselineSpec("ste", "sign", False, False, "hardtanh"),
    "xnor": BaselineSpec("ste", "scaled_sign", False, False, "hardtanh"),
    "dorefa": BaselineSpec("dorefa", "dorefa", False, False, "hardtanh", lce_binary=False),
    "bireal": BaselineSpec("approx", "scaled_sign", True, False, "none"),
    "reactnet": BaselineSpec("approx", "scaled_sign", True, True, "rprelu"),
    "recu": BaselineSpec("recu", "recu", True, False, "hardtanh", learned_scale=True),
    "fda": BaselineSpec("fda", "fda", True, False, "prelu", conv="fda"),
    "bbcu": BaselineSpec("approx", "scaled_sign", True, True, "rprelu", activation_before_add=True),
}


def is_lce_binary(method: str) -> bool:
    """Whether a backbone of ``method`` is meant to convert to real ``LceBconv2d`` ops."""
    _check_method(method)
    return method == "bidrn" or (method in BASELINES and BASELINES[method].lce_binary)


def baseline_spec(method: str, *, xnor_activation_scale: bool = False) -> BaselineSpec:
    """The ``BaselineSpec`` of a baseline ``method``; ``xnor_activation_scale`` adds XNOR-Net's K to ``xnor``."""
    spec = BASELINES[method]
    return dataclasses.replace(spec, activation_scale=True) if xnor_activation_scale else spec


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


# ----------------------------------------------------------------------------------------------------
# stem
# ----------------------------------------------------------------------------------------------------
def _stem(x, activation: str, fp_init: str):
    """7x7/2 full-precision conv, BN, activation, 3x3/2 max-pool.

    TF ``"same"`` padding (asymmetric for stride 2) rather than torchvision's symmetric padding: LCE 0.16's
    converter fuses an explicit ``ZeroPadding2D`` into a following *strided* conv as ``SAME`` padding, which
    silently changes the result (the standard TF Lite converter keeps the PAD). Counts are unaffected.
    """
    x = tf.keras.layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name="conv1",
                               kernel_initializer=fp_conv_initializer(fp_init))(x)
    x = batch_norm(name="bn1")(x)
    x = (tf.keras.layers.ReLU(name="relu1") if activation == "relu" else hardtanh(name="hardtanh1"))(x)
    return tf.keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)


# ----------------------------------------------------------------------------------------------------
# full precision (torchvision layout; TF "same" padding, see _stem)
# ----------------------------------------------------------------------------------------------------
def _fp_conv(x, filters, kernel, stride, name, fp_init):
    return tf.keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=name,
                                  kernel_initializer=fp_conv_initializer(fp_init))(x)


def _fp_block(x, kind, width, stride, name, fp_init):
    out_c = width * (4 if kind == "bottleneck" else 1)
    shortcut = x
    if stride != 1 or int(x.shape[-1]) != out_c:
        shortcut = _fp_conv(x, out_c, 1, stride, f"{name}_downsample_conv", fp_init)
        shortcut = batch_norm(name=f"{name}_downsample_bn")(shortcut)
    if kind == "basic":
        plan = [(width, 3, stride), (width, 3, 1)]
    else:
        plan = [(width, 1, 1), (width, 3, stride), (out_c, 1, 1)]
    for i, (f, k, s) in enumerate(plan, 1):
        x = _fp_conv(x, f, k, s, f"{name}_conv{i}", fp_init)
        x = batch_norm(name=f"{name}_bn{i}")(x)
        if i < len(plan):
            x = tf.keras.layers.ReLU(name=f"{name}_relu{i}")(x)
    x = tf.keras.layers.Add(name=f"{name}_add")([x, shortcut])
    return tf.keras.layers.ReLU(name=f"{name}_out")(x)


# ----------------------------------------------------------------------------------------------------
# BNN baselines
# ----------------------------------------------------------------------------------------------------
def _baseline_conv(x, spec: BaselineSpec, filters, kernel, stride, name):
    """[RSign shift] -> binary conv -> [learnable scale] (the binarized convolution of a baseline unit)."""
    q = LearnableShift(name=f"{name}_rsign_shift")(x) if spec.learnable_shift else x
    if spec.conv == "fda":
        y = FDAConv2D(filters, kernel, strides=stride, name=f"{name}_binconv")(q)
    else:
        y = binary_conv2d(filters, kernel, strides=stride, sign=spec.sign,
                          weight_quantizer=spec.weight_quantizer, name=f"{name}_binconv")(q)
    if spec.activation_scale:
        y = ActivationScale(kernel, stride, name=f"{name}_activation_scale")([q, y])
    return LearnableScale(name=f"{name}_scale")(y) if spec.learned_scale else y


def _activation(spec: BaselineSpec, name):
    if spec.activation == "hardtanh":
        return hardtanh(name=f"{name}_hardtanh")
    if spec.activation == "rprelu":
        return RPReLU(name=f"{name}_rprelu")
    if spec.activation == "prelu":
        return prelu(name=f"{name}_prelu")
    return None


def _baseline_unit(x, spec: BaselineSpec, filters, kernel, stride, residual, name):
    """y = act(BN(BinConv(sign([shift](x)))) + residual)  (BBCU: act(BN(...)) + residual)."""
    y = batch_norm(name=f"{name}_bn")(_baseline_conv(x, spec, filters, kernel, stride, name))
    act = _activation(spec, name)
    if spec.activation_before_add and act is not None:
        y = act(y)
        act = None
    if residual is not None:
        y = tf.keras.layers.Add(name=f"{name}_add")([y, residual])
    return act(y) if act is not None else y


def _baseline_block(x, spec: BaselineSpec, kind, width, stride, name):
    out_c = width * (4 if kind == "bottleneck" else 1)
    block_in = x
    shortcut = x
    if stride != 1 or int(x.shape[-1]) != out_c:
        shortcut = _baseline_conv(x, spec, out_c, 1, stride, f"{name}_downsample")
        shortcut = batch_norm(name=f"{name}_downsample_bn")(shortcut)
        if spec.activation_before_add:  # BBCU: every binary conv is a unit with its activation
            shortcut = _activation(spec, f"{name}_downsample")(shortcut)
    plan = ([(width, 3, stride), (width, 3, 1)] if kind == "basic"
            else [(width, 1, 1), (width, 3, stride), (out_c, 1, 1)])
    for i, (f, k, s) in enumerate(plan, 1):
        last = i == len(plan)
        if last:
            residual = shortcut
        elif spec.conv_shortcut and s == 1 and int(x.shape[-1]) == f:
            residual = x
        elif spec.conv_shortcut and kind == "basic" and x is block_in:
            residual = shortcut  # Bi-Real: the down-sampling unit takes the projected shortcut
        else:
            residual = None
        x = _baseline_unit(x, spec, f, k, s, residual, f"{name}_unit{i}")
    return x


# ----------------------------------------------------------------------------------------------------
# BiDRN
# ----------------------------------------------------------------------------------------------------
def _ratio_tau(ratio: float, what: str) -> int:
    if ratio != int(ratio) or int(ratio) % 2:
        raise ValueError(f"{what}: channel ratio {ratio} is not 2 tau for an integer tau")
    return int(ratio) // 2


def _bidrn_block(x, cfg: BiDRNConfig, kind, width, stride, name, fp_init):
    args = cfg.module_args()
    parallel = dict(args, branch_bn=cfg.branch_bn)
    in_c = int(x.shape[-1])
    block_in = x

    def plain(filters, kernel, strides, unit):  # stands in for a derived module that is switched off
        return blocks.PlainBinaryUnit(filters=filters, strides=strides, kernel_size=kernel, **args,
                                      name=f"{name}_{unit}")(x)

    if kind == "basic":
        if stride != 1 or in_c != width:
            x = (blocks.GDSaR(tau=_ratio_tau(width / in_c, name), kernel_size=3, **parallel, name=f"{name}_dsar")(x)
                 if cfg.uses("dsar") else plain(width, 3, stride, "plain_dsar"))
        else:
            x = blocks.BaseLCR(kernel_size=3, **args, name=f"{name}_lcr1")(x)
        x = blocks.BaseLCR(kernel_size=3, **args, name=f"{name}_lcr2")(x)
        out_c = width
    else:
        out_c = 4 * width
        if in_c == width:
            x = blocks.BaseLCR(kernel_size=1, **args, name=f"{name}_lcr1")(x)
        else:
            x = (blocks.GFDR(tau=_ratio_tau(in_c / width, name), kernel_size=1, **parallel, name=f"{name}_fdr")(x)
                 if cfg.uses("fdr") else plain(width, 1, 1, "plain_fdr"))
        if stride != 1:
            x = (blocks.GDScR(tau=_ratio_tau(stride, name), kernel_size=3, **args, name=f"{name}_dscr")(x)
                 if cfg.uses("dscr") else plain(width, 3, stride, "plain_dscr"))
        else:
            x = blocks.BaseLCR(kernel_size=3, **args, name=f"{name}_lcr2")(x)
        x = (blocks.GFUR(tau=2, kernel_size=1, **parallel, name=f"{name}_fur")(x)
             if cfg.uses("fur") else plain(out_c, 1, 1, "plain_fur"))
    return blocks.BlockResidual(filters=out_c, strides=stride, mode=cfg.block_residual, fp_init=fp_init,
                                sign=cfg.sign, weight_quantizer=cfg.weight_quantizer, name=f"{name}_br")([block_in, x])


# ----------------------------------------------------------------------------------------------------
# builder
# ----------------------------------------------------------------------------------------------------
def build_resnet(
    *,
    depth: int,
    method: str,
    input_shape=(256, 192, 3),
    include_top: bool = False,
    num_classes: int | None = None,
    weights: str | None = None,
    classifier_activation: str | None = "softmax",
    bidrn_config: BiDRNConfig | None = None,
    fp_init: str = "hand4whole",
    xnor_activation_scale: bool = False,
    binary_weights: bool = True,
    name: str | None = None,
) -> tf.keras.Model:
    """Build a ResNet-``depth`` backbone binarized with ``method``.

    Args:
        depth: 18 (BasicBlock, stages [2, 2, 2, 2]) or 50 (Bottleneck, stages [3, 4, 6, 3]).
        method: one of ``METHODS``.
        input_shape: (H, W, C) of the input image.
        include_top: False returns the last feature map (B, H/32, W/32, 512 or 2048); True adds global
            average pooling and a full-precision ``num_classes`` classifier.
        num_classes: classes of the top (required with ``include_top``).
        weights: None (random init) or a path to weights saved by ``model.save_weights``.
        classifier_activation: activation of the top layer (``None`` returns logits).
        bidrn_config: research switches for ``method="bidrn"``.
        fp_init: initializer of the full-precision convolutions (stem, ``fp`` blocks, BiDRN's Block Residual
            projections; ``nn.layers.FP_CONV_INITS``): ``"hand4whole"`` N(0, 1e-3) or ``"he"``.
        xnor_activation_scale: ``method="xnor"`` only: multiply each binary conv's output by XNOR-Net's
            activation scale K (``nn.layers.ActivationScale``). Off by default, as in the runs reported so far;
            without it ``xnor`` computes BNN's function (module docstring).
        binary_weights: False keeps every binary convolution's weights real-valued (weight quantizer
            ``"real"``) while its activations stay binary: the first stage of the two-stage recipe of ReActNet
            and Real-to-Binary, whose second stage loads these weights into the ``binary_weights=True`` model
            (same variables, same order). Not for ``fp`` (nothing is binary) or ``fda`` (its convolution is
            its weight binarizer). Such a model is not a deployable BNN: LCE would keep its convs float.
    Returns:
        A ``tf.keras.Model`` named ``{method}_resnet{depth}`` unless ``name`` is given.
    """
    _check_method(method)
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
    if include_top and not num_classes:
        raise ValueError("include_top=True needs num_classes")
    if bidrn_config is not None and method != "bidrn":
        raise ValueError("bidrn_config applies to method='bidrn' only")
    if xnor_activation_scale and method != "xnor":
        raise ValueError(f"xnor_activation_scale applies to method='xnor' only, got method={method!r}")
    if not binary_weights and method not in REAL_WEIGHT_METHODS:
        raise ValueError(f"binary_weights=False applies to {REAL_WEIGHT_METHODS}, got method={method!r}")
    fp_conv_initializer(fp_init)  # a ValueError naming the choices
    kind, stages = DEPTHS[depth]
    cfg = bidrn_config or BiDRNConfig()
    spec = baseline_spec(method, xnor_activation_scale=xnor_activation_scale) if method in BASELINES else None
    if not binary_weights:
        cfg = dataclasses.replace(cfg, weight_quantizer="real")
        if spec is not None:  # None for bidrn, whose weight quantizer is in cfg
            spec = dataclasses.replace(spec, weight_quantizer="real")

    inputs = tf.keras.Input(shape=tuple(input_shape), name="image")
    stem_act = "relu" if method == "fp" else (cfg.stem_activation if method == "bidrn" else "hardtanh")
    x = _stem(inputs, stem_act, fp_init)
    for s, (n_blocks, width) in enumerate(zip(stages, STAGE_WIDTHS), 1):
        for b in range(n_blocks):
            stride = 2 if (b == 0 and s > 1) else 1
            block_name = f"stage{s}_block{b + 1}"
            if method == "fp":
                x = _fp_block(x, kind, width, stride, block_name, fp_init)
            elif method == "bidrn":
                x = _bidrn_block(x, cfg, kind, width, stride, block_name, fp_init)
            else:
                x = _baseline_block(x, spec, kind, width, stride, block_name)
    if include_top:
        x = tf.keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
        x = tf.keras.layers.Dense(num_classes, activation=classifier_activation, name="fc")(x)
    model = tf.keras.Model(inputs, x, name=name or f"{method}_resnet{depth}")
    if weights is not None:
        model.load_weights(weights)
    return model
