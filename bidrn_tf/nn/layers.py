"""Small layers shared by the binarized blocks: RPReLU, learnable shifts, Hardtanh, and the binary conv factory.

All of them serialize through ``get_config`` and are registered with Keras under ``bidrn_tf>``.
"""
from __future__ import annotations

import larq as lq
import numpy as np
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
        learnable_slope: False turns the layer into a shifted LeakyReLU with the constant slope
            ``negative_slope`` (no slope weight; the two shifts stay learnable): the seed Table 4 ablation.
    """

    def __init__(self, negative_slope: float = 0.25, learnable_slope: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope)
        self.learnable_slope = bool(learnable_slope)

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.gamma = self.add_weight(name="gamma", shape=(c,), initializer="zeros")
        self.beta = (self.add_weight(name="beta", shape=(c,),
                                     initializer=tf.keras.initializers.Constant(self.negative_slope))
                     if self.learnable_slope else tf.constant(self.negative_slope))
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
    """The redistribution function after a binary conv: ``"rprelu"`` (BiDRN) or ``"leakyrelu"`` (seed
    Table 4 ablation: RPReLU's two learnable shifts around a LeakyReLU of fixed slope 0.1)."""
    if kind == "rprelu":
        return RPReLU(name=name)
    if kind == "leakyrelu":
        return RPReLU(negative_slope=0.1, learnable_slope=False, name=name)
    raise ValueError(f"redistribution must be 'rprelu' or 'leakyrelu', got {kind!r}")


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class Hardtanh(tf.keras.layers.Layer):
    """Hardtanh: clip(x, -1, 1), elementwise, any shape. Converts to TF Lite ``RELU_N1_TO_1``."""

    def call(self, inputs):
        return tf.clip_by_value(inputs, -1.0, 1.0)


def hardtanh(name: str | None = None) -> tf.keras.layers.Layer:
    """A :class:`Hardtanh` layer."""
    return Hardtanh(name=name)


FP_CONV_INITS = ("hand4whole", "he")


def fp_conv_initializer(kind: str = "hand4whole") -> tf.keras.initializers.Initializer:
    """Initializer of a backbone's full-precision convolution (a fresh instance per layer).

    ``"hand4whole"``: N(0, 1e-3), Hand4Whole's ``init_weights``, which ImageNet weights overwrite there.
    From scratch, every such conv is followed by a BatchNorm, so its output does not depend on the kernel's
    scale, but Adam's steps (about ``lr`` per element) are ``lr / 1e-3`` of the kernel at the start: at
    lr 1e-3 the first steps replace it. ``"he"``: He-normal over fan-out, sqrt(2 / (k * k * C_out)),
    torchvision's ResNet init (``kaiming_normal_(mode="fan_out")``), 1.7 % of a 3x3x64 kernel per step at
    lr 1e-3. The paper is silent (it starts from pre-trained weights); README "Comparison settings".
    """
    if kind not in FP_CONV_INITS:
        raise ValueError(f"fp_init must be one of {FP_CONV_INITS}, got {kind!r}")
    if kind == "he":
        return tf.keras.initializers.VarianceScaling(2.0, mode="fan_out", distribution="untruncated_normal")
    return tf.keras.initializers.RandomNormal(stddev=1e-3)


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


def binary_depthwise_conv2d(
    kernel_size: int,
    *,
    strides: int = 1,
    sign: str | None = "approx",
    weight_quantizer: str = "scaled_sign",
    name: str | None = None,
) -> lq.layers.QuantDepthwiseConv2D:
    """A depthwise convolution (multiplier 1) with binarized inputs and weights, laid out as
    :func:`binary_conv2d` ("same" padding with +1, no bias, clipped latent weights); ``"scaled_sign"``
    weights take one scale per channel (``quantizers.DepthwiseScaledSign``).

    LCE 0.16 has no binary depthwise convolution (``LceBconv2d`` groups need 32 input channels per group):
    in a ``.tflite`` this layer stays a float ``DEPTHWISE_CONV_2D`` on +-1 values. Used by MobileNetV1
    (``bidrn_tf.models.mobilenet``).
    """
    return lq.layers.QuantDepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same",
        pad_values=1.0,
        input_quantizer=make_sign(sign),
        depthwise_quantizer=make_weight_quantizer(weight_quantizer, depthwise=True),
        depthwise_constraint="weight_clip",
        depthwise_initializer="glorot_normal",
        use_bias=False,
        name=name,
    )


def batch_norm(name: str | None = None) -> tf.keras.layers.BatchNormalization:
    """BatchNorm with PyTorch's defaults (momentum 0.1 == Keras 0.9, eps 1e-5)."""
    return tf.keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class BinaryConv2DTranspose(lq.layers.QuantConv2D):
    """A binarized 4x4 / stride-2 transposed convolution, written as one binary 2x2 convolution so LCE can
    convert it to an ``LceBconv2d`` (LCE has no binary transposed convolution). (B, H, W, C) -> (B, 2H, 2W, F).

    Sub-pixel (phase) decomposition: with TF's ``"same"`` padding, output row ``2m`` of a 4x4/2 transposed
    convolution takes input rows ``m - 1, m`` (taps 3, 1) and output row ``2m + 1`` rows ``m, m + 1``
    (taps 2, 0); columns alike. So the input is padded by one pixel on every side, one VALID 2x2 convolution
    with ``4 F`` filters computes all four phases (py, px) on the (H + 1) x (W + 1) grid, phase (py, px)
    keeps the window starting at (py, px), and ``depth_to_space`` interleaves them. The 2 x 2 x C x 4F
    kernel holds exactly the 16 C F weights of the 4x4 transposed kernel, re-indexed (``to_transposed_kernel``
    gives the latter).

    Binary domain: the input is padded with +1 *before* the sign (``pad_values=1.0`` everywhere in the
    package), so beyond the border the layer sees sign = +1 where a float transposed convolution sees 0.
    The weight binarizer's scale is per filter of the 2x2 kernel (per phase and output channel).
    Counting (``bidrn_tf.deploy.counts``): as a transposed convolution, kernel x input pixels.
    """

    transposed_stride = 2

    def __init__(self, filters: int, *, sign: str | None = "approx", weight_quantizer: str = "scaled_sign",
                 **kwargs):
        for key in ("kernel_size", "strides", "padding", "input_quantizer", "kernel_quantizer", "use_bias",
                    "pad_values", "kernel_constraint", "kernel_initializer"):
            kwargs.pop(key, None)
        self.out_filters, self.sign, self.weight_quantizer = int(filters), sign, weight_quantizer
        super().__init__(4 * int(filters), 2, padding="valid", input_quantizer=make_sign(sign),
                         kernel_quantizer=make_weight_quantizer(weight_quantizer), kernel_constraint="weight_clip",
                         kernel_initializer="glorot_normal", use_bias=False, **kwargs)

    def call(self, inputs):
        padded = tf.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=1.0)
        binary = self.input_quantizer(padded) if self.input_quantizer is not None else padded
        with lq.context.quantized_scope(True):  # (Keras' Conv.call would pin the output to this layer's shape)
            phases = self.convolution_op(binary, self.kernel)  # (B, H + 1, W + 1, 4 F), block p = 2 py + px
        h, w, f = inputs.shape[1], inputs.shape[2], self.out_filters
        parts = [phases[:, py:py + h, px:px + w, (2 * py + px) * f:(2 * py + px + 1) * f]
                 for py in (0, 1) for px in (0, 1)]
        return tf.nn.depth_to_space(tf.concat(parts, -1), 2)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return tf.TensorShape([b, None if h is None else 2 * h, None if w is None else 2 * w, self.out_filters])

    def to_transposed_kernel(self, kernel=None):
        """The 4x4 kernel (4, 4, F, C) of ``tf.nn.conv2d_transpose`` this layer computes with ``kernel``
        (default: the binarized kernel)."""
        if kernel is None:  # (2, 2, C, 4F)
            kernel = tf.identity(getattr(self.kernel, "latent_variable", self.kernel))
            kernel = self.kernel_quantizer(kernel) if self.kernel_quantizer is not None else kernel
        k = kernel
        f = self.out_filters
        rows = {0: (3, 1), 1: (2, 0)}  # phase -> transposed-kernel taps at window offsets 0, 1
        out = [[None] * 4 for _ in range(4)]
        for py in (0, 1):
            for px in (0, 1):
                p = 2 * py + px
                for dy in (0, 1):
                    for dx in (0, 1):
                        out[rows[py][dy]][rows[px][dx]] = tf.transpose(k[dy, dx, :, p * f:(p + 1) * f])
        return tf.stack([tf.stack(r, 0) for r in out], 0)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_size", "strides", "padding", "input_quantizer", "kernel_quantizer",
                    "use_bias", "pad_values", "kernel_constraint", "kernel_initializer"):
            config.pop(key, None)
        return {**config, "filters": self.out_filters, "sign": self.sign, "weight_quantizer": self.weight_quantizer}


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class LearnableScale(tf.keras.layers.Layer):
    """y = x * a with a learnable per-channel a of shape (C,), initialised uniform in [0, 1) as ReCU's
    (its alpha after each binary convolution). Any shape (..., C)."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(int(input_shape[-1]),),
                                     initializer=tf.keras.initializers.RandomUniform(0.0, 1.0), trainable=True)
        super().build(input_shape)

    def call(self, inputs):
        return inputs * self.scale


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class ActivationScale(tf.keras.layers.Layer):
    """XNOR-Net's activation scale K (Rastegari et al., 2016, section 3.2): ``[x, y] -> y * K`` with
    K = box_k(mean_c |x|), the channel mean of the binary conv's real-valued input x (B, H, W, C) averaged over
    each ``kernel_size`` x ``kernel_size`` window at the conv's ``strides`` and "same" padding, so K has the
    shape (B, H', W', 1) of the conv output y (B, H', W', C'). Unlike the per-channel weight scale, K varies
    with position and input, so the BatchNorm after the conv does not divide it out.

    Choices where the paper is silent: at the border the box averages the window's pixels inside the image
    (``avg_pool`` "same"; the conv itself pads its sign input with +1); K is a constant of the backward pass
    (``stop_gradient``, as the weight scale in ``MagnitudeAwareSign``): x gets its gradient through the sign's
    estimator only. Measured (README "Methods"): with the gradient through K as well, ResNet-18 XNOR+K on the
    digits trained to 39-47 % training accuracy and 55.1 +- 3.7 % test error (3 seeds; BNN 10.7 +- 1.7), and
    with K constant to 10.8 % at seed 0. No parameters. TF Lite: ABS, MEAN, AVERAGE_POOL_2D and MUL around the
    ``LceBconv2d``."""

    def __init__(self, kernel_size: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        if kernel_size < 1 or strides < 1:
            raise ValueError(f"kernel_size and strides must be positive, got {kernel_size} and {strides}")
        self.kernel_size, self.strides = int(kernel_size), int(strides)

    def call(self, inputs):
        x, y = inputs
        a = tf.reduce_mean(tf.abs(tf.stop_gradient(x)), axis=-1, keepdims=True)
        k = tf.nn.avg_pool2d(a, self.kernel_size, self.strides, "SAME")
        return y * k

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides}


def prelu(name: str | None = None) -> tf.keras.layers.PReLU:
    """Per-channel PReLU with PyTorch's initial slope 0.25 (FDA's Bi-Real + PReLU baseline)."""
    return tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.Constant(0.25), shared_axes=[1, 2],
                                 name=name)


FDA_NOISE_REDUCTION = 64  # FDA's k: the noise module's hidden width is d / k


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class FDAConv2D(lq.layers.QuantConv2D):
    """FDA's binary convolution (Xu et al., NeurIPS 2021): sign activations and scaled-sign weights with the
    Fourier-series gradient (``quantizers.fourier_sign_grad``) plus, during training, the noise-adaptation
    module on the weights:

        W_train = sign(W) * s + alpha * e(W),   e(w_f) = ReLU(w_f W1) W2 + 0.1 sin(w_f)

    per flattened output filter w_f (length d = kh kw C_in), W1 (d x d/64) and W2 (d/64 x d) without bias
    (FDA's k = 64; both glorot-uniform initialised). alpha = 0.05 (1 + cos(pi p)) decays from 0.1 to 0 at the end of training (progress p,
    ``set_progress``), so the trained network is the plain binary convolution; at inference
    (``training`` false) the module is not run and the layer converts to ``LceBconv2d``. The module's
    weights are parameters of the model (they are in the paper's 32.06M for FDA).
    """

    def __init__(self, filters: int, kernel_size: int, *, strides: int = 1, **kwargs):
        for key in ("padding", "pad_values", "input_quantizer", "kernel_quantizer", "use_bias", "kernel_constraint",
                    "kernel_initializer"):
            kwargs.pop(key, None)
        super().__init__(filters, kernel_size, strides=strides, padding="same", pad_values=1.0,
                         input_quantizer=make_sign("fda"), kernel_quantizer=make_weight_quantizer("fda"),
                         kernel_constraint="weight_clip", kernel_initializer="glorot_normal", use_bias=False,
                         **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        d = int(np.prod(self.kernel.shape[:-1]))
        hidden = max(d // FDA_NOISE_REDUCTION, 1)
        self.noise_w1 = self.add_weight(name="noise_w1", shape=(d, hidden), initializer="glorot_uniform")
        self.noise_w2 = self.add_weight(name="noise_w2", shape=(hidden, d), initializer="glorot_uniform")
        self.noise_alpha = self.add_weight(name="noise_alpha", shape=(), trainable=False,
                                           initializer=tf.keras.initializers.Constant(0.1))

    def _noisy_kernel(self):
        latent = tf.identity(getattr(self.kernel, "latent_variable", self.kernel))
        filters = tf.transpose(tf.reshape(latent, [-1, self.filters]))  # (C_out, d)
        noise = tf.nn.relu(filters @ self.noise_w1) @ self.noise_w2 + 0.1 * tf.sin(filters)
        noise = tf.reshape(tf.transpose(noise), tf.shape(latent))
        return self.kernel_quantizer(latent) + self.noise_alpha * noise

    def call(self, inputs, training=None):
        if not training:
            return super().call(inputs)
        x = self.input_quantizer(inputs)
        x = tf.pad(x, self._get_padding_same(x), constant_values=self.pad_values)
        with lq.utils.patch_object(self, "padding", "valid"):
            return self.convolution_op(x, self._noisy_kernel())

    def set_progress(self, progress) -> None:
        p = tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)
        self.noise_alpha.assign(0.05 * (1.0 + tf.cos(np.pi * p)))
        self.input_quantizer.set_progress(progress)
        self.kernel_quantizer.set_progress(progress)

    def get_config(self):
        config = super().get_config()
        for key in ("padding", "pad_values", "input_quantizer", "kernel_quantizer", "use_bias", "kernel_constraint",
                    "kernel_initializer"):
            config.pop(key, None)
        return config
