"""MobileNetV1 backbones (full precision, BNN, BiDRN): the seed's Table 6 generalisation experiment.

``build_mobilenet_v1(*, method, input_shape, ...)`` is the single entry point; ``MOBILENET_METHODS`` are the
three rows of the paper's table. Layout (Howard et al. 2017, width 1.0): a 3x3/2 stem convolution with 32
channels, then 13 depthwise-separable blocks ``BLOCKS`` (output channels, stride), each a 3x3 depthwise
convolution carrying the stride followed by a 1x1 pointwise convolution. Output: (B, H/32, W/32, 1024).

=========  ==========================================================================================
``fp``     Conv-BN-ReLU everywhere (keras.applications' layout without its ReLU6 cap).
``bnn``    BNN (Hubara et al.): every convolution but the stem binarized (sign activations with STE, sign
           weights without scale; depthwise ones as well), each followed by BN and hardtanh.
``bidrn``  BiDRN's modules in place of the two convolutions of a block, following the ResNet mapping
           (``bidrn_tf.models.backbones``): the depthwise 3x3 is a Base LCR, or a G-DScR (tau = 1) where it
           strides; the pointwise 1x1 is a Base LCR where it keeps the channels, or a G-FUR (tau = C_out /
           2 C_in, i.e. 1: every channel change of MobileNetV1 doubles) where it widens them. A Block Residual
           surrounds each block.
=========  ==========================================================================================

Choices where the paper is silent (its appendix only says the modules were "integrated into MobileNetv1"):

* The depthwise convolutions are binarized too (inputs and weights), in both binary rows: the paper counts
  BNN and BiDRN alike (0.2M / 17.9M OPs), i.e. everything but the stem is binary. LCE 0.16 has no binary
  depthwise convolution, so in a ``.tflite`` those stay float ``DEPTHWISE_CONV_2D`` ops on +-1 values.
* Shape-changing Block Residuals are parameter-free by default (``BiDRNConfig(block_residual="duplicate")``:
  AvgPool with the stride, channels repeated). ResNet's full-precision 1x1 projection would add 0.70M
  full-precision parameters and, at 224x224, 128M full-precision MACs to a 17.9M-OP network; the G-DScR and
  G-FUR of the block already carry a full-precision path through every shape change. Pass another
  ``bidrn_config`` to switch (e.g. ``block_residual="fp"``).
* The stem keeps full precision and uses hardtanh in the binary rows (as the ResNets do).
* Full-precision convolutions (the stem; in ``fp`` every convolution) start at N(0, 1e-3) by default, as the
  ResNets of ``bidrn_tf.models.backbones`` (Hand4Whole's ``init_weights``); ``fp_init="he"`` gives He-normal
  over the fan-out (``nn.layers.fp_conv_initializer``). For a depthwise 3x3 kernel (k, k, C, 1) the fan-out
  keras computes is k * k, the fan of one depthwise filter.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.models.config import BiDRNConfig
from bidrn_tf.nn import blocks
from bidrn_tf.nn.layers import (FP_CONV_INITS, batch_norm, binary_conv2d, binary_depthwise_conv2d,
                                fp_conv_initializer, hardtanh)

MOBILENET_METHODS = ("fp", "bnn", "bidrn")
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
STEM_CHANNELS = 32
MOBILENET_BIDRN = BiDRNConfig(block_residual="duplicate")  # the default BiDRN switches of this family


def _stem(x, activation: str, fp_init: str):
    x = tf.keras.layers.Conv2D(STEM_CHANNELS, 3, strides=2, padding="same", use_bias=False, name="conv1",
                               kernel_initializer=fp_conv_initializer(fp_init))(x)
    x = batch_norm(name="bn1")(x)
    return (tf.keras.layers.ReLU(name="relu1") if activation == "relu" else hardtanh(name="hardtanh1"))(x)


def _fp_block(x, filters, stride, name, fp_init: str):
    x = tf.keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw",
                                        depthwise_initializer=fp_conv_initializer(fp_init))(x)
    x = tf.keras.layers.ReLU(name=f"{name}_dw_relu")(batch_norm(name=f"{name}_dw_bn")(x))
    x = tf.keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw",
                               kernel_initializer=fp_conv_initializer(fp_init))(x)
    return tf.keras.layers.ReLU(name=f"{name}_pw_relu")(batch_norm(name=f"{name}_pw_bn")(x))


def _bnn_block(x, filters, stride, name):
    x = binary_depthwise_conv2d(3, strides=stride, sign="ste", weight_quantizer="sign", name=f"{name}_dw")(x)
    x = hardtanh(name=f"{name}_dw_hardtanh")(batch_norm(name=f"{name}_dw_bn")(x))
    x = binary_conv2d(filters, 1, sign="ste", weight_quantizer="sign", name=f"{name}_pw")(x)
    return hardtanh(name=f"{name}_pw_hardtanh")(batch_norm(name=f"{name}_pw_bn")(x))


def _bidrn_block(x, cfg: BiDRNConfig, filters, stride, name):
    args = cfg.module_args()
    in_c = int(x.shape[-1])
    block_in = x
    if stride != 1:
        x = (blocks.GDScR(tau=stride // 2, kernel_size=3, depthwise=True, **args, name=f"{name}_dscr")(x)
             if cfg.uses("dscr") else
             blocks.PlainBinaryUnit(filters=in_c, strides=stride, kernel_size=3, depthwise=True, **args,
                                    name=f"{name}_plain_dscr")(x))
    else:
        x = blocks.BaseLCR(kernel_size=3, depthwise=True, **args, name=f"{name}_lcr_dw")(x)
    if filters == in_c:
        x = blocks.BaseLCR(kernel_size=1, **args, name=f"{name}_lcr_pw")(x)
    elif cfg.uses("fur"):
        ratio = filters / in_c
        if ratio != int(ratio) or int(ratio) % 2:
            raise ValueError(f"{name}: G-FUR needs C_out / C_in = 2 tau, got {filters} / {in_c}")
        x = blocks.GFUR(tau=int(ratio) // 2, kernel_size=1, **args, branch_bn=cfg.branch_bn, name=f"{name}_fur")(x)
    else:
        x = blocks.PlainBinaryUnit(filters=filters, kernel_size=1, **args, name=f"{name}_plain_fur")(x)
    return blocks.BlockResidual(filters=filters, strides=stride, mode=cfg.block_residual, sign=cfg.sign,
                                weight_quantizer=cfg.weight_quantizer, name=f"{name}_br")([block_in, x])


def build_mobilenet_v1(
    *,
    method: str,
    input_shape=(224, 224, 3),
    include_top: bool = False,
    num_classes: int | None = None,
    weights: str | None = None,
    classifier_activation: str | None = "softmax",
    bidrn_config: BiDRNConfig | None = None,
    fp_init: str = "hand4whole",
    name: str | None = None,
) -> tf.keras.Model:
    """Build a MobileNetV1 (width 1.0) backbone binarized with ``method``.

    Args:
        method: one of ``MOBILENET_METHODS``.
        input_shape: (H, W, C) of the input image; H and W at least 32.
        include_top: False returns the last feature map (B, H/32, W/32, 1024); True adds global average
            pooling and a full-precision ``num_classes`` classifier.
        num_classes: classes of the top (required with ``include_top``).
        weights: None (random init) or a path to weights saved by ``model.save_weights``.
        classifier_activation: activation of the top layer (``None`` returns logits).
        bidrn_config: research switches for ``method="bidrn"`` (default ``MOBILENET_BIDRN``).
        fp_init: initializer of the full-precision convolutions, one of ``nn.layers.FP_CONV_INITS``
            (``"hand4whole"``: N(0, 1e-3); ``"he"``: He-normal over the fan-out).
    Returns:
        A ``tf.keras.Model`` named ``{method}_mobilenet_v1`` unless ``name`` is given.
    """
    if method not in MOBILENET_METHODS:
        raise ValueError(f"MobileNetV1 method must be one of {MOBILENET_METHODS}, got {method!r}")
    if len(tuple(input_shape)) != 3 or min(tuple(input_shape)[:2]) < 32:
        raise ValueError(f"input_shape must be (H, W, C) with H, W >= 32, got {tuple(input_shape)!r}")
    if include_top and not num_classes:
        raise ValueError("include_top=True needs num_classes")
    if bidrn_config is not None and method != "bidrn":
        raise ValueError("bidrn_config applies to method='bidrn' only")
    if fp_init not in FP_CONV_INITS:
        raise ValueError(f"fp_init must be one of {FP_CONV_INITS}, got {fp_init!r}")
    cfg = bidrn_config or MOBILENET_BIDRN

    inputs = tf.keras.Input(shape=tuple(input_shape), name="image")
    x = _stem(inputs, "relu" if method == "fp" else (cfg.stem_activation if method == "bidrn" else "hardtanh"),
              fp_init)
    for i, (filters, stride) in enumerate(BLOCKS, 1):
        block_name = f"block{i}"
        if method == "fp":
            x = _fp_block(x, filters, stride, block_name, fp_init)
        elif method == "bnn":
            x = _bnn_block(x, filters, stride, block_name)
        else:
            x = _bidrn_block(x, cfg, filters, stride, block_name)
    if include_top:
        x = tf.keras.layers.GlobalAveragePooling2D(name="avgpool")(x)
        x = tf.keras.layers.Dense(num_classes, activation=classifier_activation, name="fc")(x)
    model = tf.keras.Model(inputs, x, name=name or f"{method}_mobilenet_v1")
    if weights is not None:
        model.load_weights(weights)
    return model
