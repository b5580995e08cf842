"""Binarization primitives: sign with a chosen backward approximation, and weight binarizers.

Forward, every activation binarizer here is ``larq.math.sign`` (+1 for x >= 0, -1 otherwise), the exact
op pattern Larq Compute Engine (LCE) recognises and turns into a bit-packing ``LceQuantize``; only the
gradient differs. That keeps every option convertible to real binary ops.

Hardtanh pre-activation: the binarized branch of a BiDRB sees ``sign(hardtanh(a_f))``. Forward this is
``sign(a_f)``, so we fold hardtanh into the quantizer's gradient (zero outside [-1, 1]) instead of
emitting a separate clip op that would sit between the activation and the binary convolution.

Options (``BinarySign.sign``; the same names select the activation binarizer everywhere in the package,
where the argument is always called ``sign``):

* ``"approx"`` - 2nd-order ApproxSign (Bi-Real; the BiDRN default, seed section D):
  d/dx = 2 + 2x on [-1, 0), 2 - 2x on [0, 1), 0 elsewhere.
* ``"tanh"``  - tanh approximation (seed Table 3 ablation): d/dx = alpha * (1 - tanh(alpha x)^2),
  gated by the hardtanh pre-activation (zero outside [-1, 1]); ``alpha`` defaults to 2.
* ``"ste"``   - straight-through estimator of BNN: d/dx = 1 on [-1, 1], 0 elsewhere.
"""
from __future__ import annotations

import larq as lq
import tensorflow as tf

import bidrn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

SIGN_APPROXIMATIONS = ("approx", "tanh", "ste")  # sign forward, these backward passes
SIGNS = SIGN_APPROXIMATIONS + ("dorefa",)  # every activation binarizer (``make_sign``)
WEIGHT_QUANTIZERS = ("sign", "scaled_sign", "dorefa")  # every weight binarizer (``make_weight_quantizer``)


def approx_sign_grad(x: tf.Tensor) -> tf.Tensor:
    """Closed form of the 2nd-order ApproxSign derivative, elementwise, same shape as ``x``."""
    abs_x = tf.abs(x)
    return tf.where(abs_x < 1.0, 2.0 - 2.0 * abs_x, tf.zeros_like(x))


def tanh_sign_grad(x: tf.Tensor, alpha: float = 2.0) -> tf.Tensor:
    """Derivative of tanh(alpha x), gated to [-1, 1] by the hardtanh pre-activation."""
    t = tf.tanh(alpha * x)
    return tf.where(tf.abs(x) <= 1.0, alpha * (1.0 - t * t), tf.zeros_like(x))


def ste_grad(x: tf.Tensor) -> tf.Tensor:
    """Straight-through estimator: 1 on [-1, 1], 0 elsewhere."""
    return tf.cast(tf.abs(x) <= 1.0, x.dtype)


def _binary_sign(x: tf.Tensor, approx: str, alpha: float) -> tf.Tensor:
    """larq's sign forward with the gradient selected by ``approx`` (one of ``SIGN_APPROXIMATIONS``)."""

    @tf.custom_gradient
    def _sign(x):
        def grad(dy):
            if approx == "approx":
                return dy * approx_sign_grad(x)
            if approx == "tanh":
                return dy * tanh_sign_grad(x, alpha)
            return dy * ste_grad(x)

        return lq.math.sign(x), grad

    return _sign(x)


_binary_sign = tf.autograph.experimental.do_not_convert(_binary_sign)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class BinarySign(lq.quantizers.Quantizer):
    """sign(x) forward; the backward pass picked by ``sign`` (see module docstring).

    Args:
        sign: ``"approx"`` (2nd-order ApproxSign), ``"tanh"`` or ``"ste"``.
        alpha: slope of the tanh approximation (ignored otherwise).
    """

    precision = 1

    def __init__(self, sign: str = "approx", alpha: float = 2.0, **kwargs):
        if sign not in SIGN_APPROXIMATIONS:
            raise ValueError(f"BinarySign sign must be one of {SIGN_APPROXIMATIONS}, got {sign!r}")
        self.sign = sign
        self.alpha = float(alpha)
        super().__init__(**kwargs)

    def call(self, inputs):
        return _binary_sign(inputs, self.sign, self.alpha)

    def get_config(self):
        return {**super().get_config(), "sign": self.sign, "alpha": self.alpha}


def make_sign(sign: str | None):
    """The activation binarizer named ``sign``.

    ``"approx"``, ``"tanh"``, ``"ste"``: 1-bit sign (see :class:`BinarySign`).
    ``"dorefa"``: DoReFa's 1-bit activation quantizer, {0, 1} = round(clip(x, 0, 1)). Not a sign, so LCE
    cannot turn a convolution that uses it into ``LceBconv2d``.
    ``None``: full-precision input.
    """
    if sign is None:
        return None
    if sign == "dorefa":
        return lq.quantizers.DoReFa(k_bit=1, mode="activations")
    if sign not in SIGN_APPROXIMATIONS:
        raise ValueError(f"sign must be one of {SIGNS} or None, got {sign!r}")
    return BinarySign(sign)


def make_weight_quantizer(weight_quantizer: str):
    """The weight binarizer named ``weight_quantizer``.

    ``"sign"``: sign(W) (BNN), STE gradient.
    ``"scaled_sign"``: sign(W) * mean(|W|) per output channel (XNOR-Net, Bi-Real, ReActNet, BiDRN); LCE folds
    the scale into the binary convolution.
    ``"dorefa"``: DoReFa 1-bit weights, sign(W) * mean(|W|) over the whole tensor.
    """
    if weight_quantizer == "sign":
        return lq.quantizers.SteSign(clip_value=1.0)
    if weight_quantizer == "scaled_sign":
        return lq.quantizers.MagnitudeAwareSign(clip_value=1.0)
    if weight_quantizer == "dorefa":
        return lq.quantizers.DoReFa(k_bit=1, mode="weights")
    raise ValueError(f"weight_quantizer must be one of {WEIGHT_QUANTIZERS}, got {weight_quantizer!r}")


def quantizer_bits(quantizer) -> int:
    """Bit width of a (larq or BiDRN) quantizer; 32 for ``None`` (full precision)."""
    if quantizer is None:
        return 32
    bits = getattr(quantizer, "precision", None)
    if bits is None and getattr(quantizer, "k_bit", None) is not None:
        bits = quantizer.k_bit
    if bits is None:
        name = getattr(quantizer, "__name__", type(quantizer).__name__)
        bits = 1 if name in {"ste_sign", "approx_sign", "swish_sign", "magnitude_aware_sign"} else 32
    return int(bits)
