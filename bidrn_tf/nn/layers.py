"""Small layers shared by the binarized blocks: RPReLU, learnable shifts, Hardtanh, and the binary conv factory.

All of them serialize through ``get_config`` and are registered with Keras under ``bidrn_tf>``.
"""
from __future__ import annotations

import larq as lq
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.nn.quantizers import make_sign, make_weight_quantizer


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class LearnableShift(tf.keras.layers.Layer):
    """Adds a learnable per-channel bias: y = x + b, b of shape (C,), initialised to zero.

    ReActNet's RSign is ``sign(LearnableShift(x))``; RPReLU uses two of them.
    """

    def build(self, input_shape):
        self.shift = self.add_weight(
            name="shift", shape=(int(input_shape[-1]),), initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, inputs):
        return inputs + self.shift


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class RPReLU(tf.keras.layers.Layer):
    """RPReLU (ReActNet): per-channel shift -> PReLU -> per-channel shift.

    f(x_c) = PReLU_c(x_c - gamma_c) + zeta_c, with PReLU_c(z) = z for z > 0 and beta_c * z otherwise.
    gamma, zeta start at 0 and beta at 0.25 (PyTorch's PReLU default). Inputs (B, H, W, C) -> same shape.

    Args:
        negative_slope: initial (and, when ``learnable_slope`` is False, fixed) negative slope beta.
        learnable_slope: False turns the layer into a shifted LeakyReLU, the seed Table 4 ablation.
    """

    def __init__(self, negative_slope: float = 0.25, learnable_slope: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)
        self.learnable_slope = bool(learnable_slope)

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="zeros")
        self.beta = self.add_weight(
            name="beta",
            shape=(c,),
            initializer=tf.keras.initializers.Constant(self.negative_slope),
            trainable=self.learnable_slope,
        )
        self.zeta = self.add_weight(name="zeta", shape=(c,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        z = inputs - self.gamma
        return tf.maximum(z, 0.0) + self.beta * tf.minimum(z, 0.0) + self.zeta

    def get_config(self):
        return {
            **super().get_config(),
            "negative_slope": self.negative_slope,
            "learnable_slope": self.learnable_slope,
        }


def redistribution(kind: str, name: str | None = None) -> tf.keras.layers.Layer:
    """The redistribution function after a binary conv: ``"rprelu"`` (BiDRN) or ``"leakyrelu"``
    (seed Table 4 ablation, fixed slope 0.1, no shifts)."""
    if kind == "rprelu":
        return RPReLU(name=name)
    if kind == "leakyrelu":
        return tf.keras.layers.LeakyReLU(alpha=0.1, name=name)
    raise ValueError(f"redistribution must be 'rprelu' or 'leakyrelu', got {kind!r}")


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class Hardtanh(tf.keras.layers.Layer):
    """Hardtanh: clip(x, -1, 1), elementwise, any shape. Converts to TF Lite ``RELU_N1_TO_1``."""

    def call(self, inputs):
        return tf.clip_by_value(inputs, -1.0, 1.0)


def hardtanh(name: str | None = None) -> tf.keras.layers.Layer:
    """A :class:`Hardtanh` layer."""
    return Hardtanh(name=name)


def binary_conv2d(
    filters: int,
    kernel_size: int,
    *,
    strides: int = 1,
    sign: str | None = "approx",
    weight_quantizer: str = "scaled_sign",
    name: str | None = None,
) -> lq.layers.QuantConv2D:
    """A convolution with binarized inputs and weights, laid out so LCE emits one ``LceBconv2d``.

    ``sign`` names the activation binarizer and ``weight_quantizer`` the weight binarizer
    (``bidrn_tf.nn.quantizers``). Padding is ``"same"`` with ``pad_values=1.0`` (zero padding would block LCE's fusion); no bias (a
    following BatchNorm or shift carries it); latent weights are clipped to [-1, 1] (``weight_clip``).
    Latent kernels start glorot-normal (as in larq-zoo); only their signs and per-channel mean magnitude
    reach the forward pass.
    """
    return lq.layers.QuantConv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        pad_values=1.0,
        input_quantizer=make_sign(sign),
        kernel_quantizer=make_weight_quantizer(weight_quantizer),
        kernel_constraint="weight_clip",
        kernel_initializer="glorot_normal",
        use_bias=False,
        name=name,
    )


def batch_norm(name: str | None = None) -> tf.keras.layers.BatchNormalization:
    """BatchNorm with PyTorch's defaults (momentum 0.1 == Keras 0.9, eps 1e-5)."""
    return tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)
