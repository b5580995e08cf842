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
* ``"recu"``  - ReCU (Xu et al., ICCV 2021): the ApproxSign derivative taken on the per-sample standardized
  input, d/dx = ApproxSign'(x / s) / s with s = sqrt(Var_{H,W,C}(x) + 1e-5) (s treated as a constant in the
  backward pass; ReCU also differentiates through s). Dividing by s > 0 does not change the sign, so the
  forward pass (and the converted model) is a plain sign.
* ``"fda"``   - FDA (Xu et al., NeurIPS 2021): the derivative of the n-term Fourier series of the square wave,
  sign(t) ~ (4 / pi) sum_{i=0}^{n} sin((2i + 1) w t) / (2i + 1), i.e. d/dt = (4 w / pi) sum_{i=0}^{n}
  cos((2i + 1) w t), gated to [-1, 1]; n grows from 9 to 18 over training (``set_progress``), as FDA's
  paper doubles it. The sum is (4 w / pi) sin(2 (n + 1) w t) / (2 sin(w t)), zero first at t = pi / (2 (n + 1) w).
  w = 0.1 (a square wave of period 20 pi): the FDA authors published no training code; 0.1 is the value of
  BiBench's FDA layer (htqin/BiBench, ``bibench/models/layers/fda.py``). With n = 9 the gradient is then a
  positive bump on [-1, 1] (1.27 at 0, 0.58 at +-1); at n = 18 it turns negative for |t| > 0.83. The first
  reading, w = 1 (sign on (-pi, pi)), gives 12.7 at 0 and a first zero at 0.157, so the gradient is
  *reversed* on about a third of N(0, 1) inputs; FDA trained to 19 % training accuracy on the digits with it.

Scheduled binarizers (ReCU's tau, FDA's n) hold their schedule state in non-trainable variables and expose
``set_progress(p)``, p = step / total steps in [0, 1]; ``set_progress(model, p)`` sets every one of a model.
"""
from __future__ import annotations

import math

import larq as lq
import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow is imported)

SIGN_APPROXIMATIONS = ("approx", "tanh", "ste", "recu", "fda")  # sign forward, these backward passes
SIGNS = SIGN_APPROXIMATIONS + ("dorefa",)  # every activation binarizer (``make_sign``)
WEIGHT_QUANTIZERS = ("sign", "scaled_sign", "dorefa", "recu", "fda", "real")  # ``make_weight_quantizer``
FDA_TERMS = (9, 18)  # FDA's number of Fourier terms: at the start, at the end of training
FDA_OMEGA = 0.1  # BiBench's value; see the module docstring
RECU_TAU = (0.85, 0.99)  # ReCU's tau: at the start, at the end of training


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


def recu_sign_grad(x: tf.Tensor) -> tf.Tensor:
    """ReCU's activation gradient: ApproxSign' on x / s, times 1 / s; s per sample over all but the batch axis."""
    axes = list(range(1, x.shape.rank)) if x.shape.rank and x.shape.rank > 1 else None
    s = tf.sqrt(tf.math.reduce_variance(x, axis=axes, keepdims=True) + 1e-5)
    return approx_sign_grad(x / s) / s


def fourier_sign_grad(x: tf.Tensor, terms, omega: float = FDA_OMEGA, max_terms: int = FDA_TERMS[1]) -> tf.Tensor:
    """FDA: (4 omega / pi) sum_{i=0}^{n} cos((2i + 1) omega x) on [-1, 1], 0 elsewhere; n = min(floor(terms),
    max_terms), ``terms`` may be a tensor (the schedule).

    Evaluated in closed form, sum_{i=0}^{n} cos((2i + 1) u) = sin(2 (n + 1) u) / (2 sin u) with u = omega x
    (n + 1 where sin u = 0): one sine pair per element instead of n + 1 cosines (the summed form made FDA's
    training step several times slower than the other methods'). Same shape as ``x``.
    """
    n1 = tf.minimum(tf.floor(tf.cast(terms, x.dtype)), float(max_terms)) + 1.0
    u = omega * x
    s = tf.sin(u)
    at_zero = tf.abs(s) < 1e-6
    ratio = tf.sin(2.0 * n1 * u) / (2.0 * tf.where(at_zero, tf.ones_like(s), s))
    series = tf.where(at_zero, n1 * tf.ones_like(x), ratio)
    return tf.where(tf.abs(x) <= 1.0, (4.0 * omega / math.pi) * series, tf.zeros_like(x))


def _binary_sign(x: tf.Tensor, approx: str, alpha: float, terms=None) -> tf.Tensor:
    """larq's sign forward with the gradient selected by ``approx`` (one of ``SIGN_APPROXIMATIONS``)."""

    @tf.custom_gradient
    def _sign(x):
        def grad(dy):
            if approx == "approx":
                return dy * approx_sign_grad(x)
            if approx == "tanh":
                return dy * tanh_sign_grad(x, alpha)
            if approx == "recu":
                return dy * recu_sign_grad(x)
            if approx == "fda":
                return dy * fourier_sign_grad(x, terms)
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
        self.terms = (tf.Variable(float(FDA_TERMS[0]), trainable=False, name="fourier_terms")
                      if sign == "fda" else None)

    def call(self, inputs):
        return _binary_sign(inputs, self.sign, self.alpha, self.terms)

    def set_progress(self, progress) -> None:
        """FDA: n = 9 + floor(9 p) Fourier terms at training progress p (no-op for the other signs)."""
        if self.terms is not None:
            lo, hi = FDA_TERMS
            self.terms.assign(tf.floor(lo + (hi - lo) * tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)))

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


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class ReCUWeight(lq.quantizers.Quantizer):
    """ReCU's weight binarizer (Xu et al., ICCV 2021), weights in Keras layout (..., C_out).

    Forward, per output filter f: w1 = 2 sqrt(2) (w - mean_f) / sqrt(Var_f(w) + 1e-5) (unbiased variance);
    b = mean |w1| over the layer; Q = -b ln(2 - 2 tau) (the tau-quantile of a Laplace(0, b)); w2 =
    clip(w1, -Q, Q); output sign(w2) = sign(w - mean_f) (no scale: ReCU's learnable per-channel scale is a
    separate layer after the convolution). Backward: identity through the sign, then through the clip (zero
    outside [-Q, Q]: the "rectified clamp" that revives dead weights) and the standardization.
    tau rises as tau(p) = A e^p + B from 0.85 to 0.99 (A = (0.99 - 0.85) / (e - 1), B = 0.85 - A) at
    training progress p (``set_progress``), ReCU's exponential schedule.
    """

    precision = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tau = tf.Variable(RECU_TAU[0], trainable=False, name="recu_tau")

    def call(self, w):
        axes = list(range(w.shape.rank - 1))
        n = float(np.prod(w.shape[:-1]))
        mean = tf.reduce_mean(w, axes, keepdims=True)
        var = tf.reduce_sum(tf.square(w - mean), axes, keepdims=True) / max(n - 1.0, 1.0)
        w1 = 2.0 * math.sqrt(2.0) * (w - mean) / tf.sqrt(var + 1e-5)
        b = tf.stop_gradient(tf.reduce_mean(tf.abs(w1)))
        q = tf.stop_gradient(-b * tf.math.log(2.0 - 2.0 * self.tau))
        w2 = tf.clip_by_value(w1, -q, q)
        return w2 + tf.stop_gradient(lq.math.sign(w2) - w2)

    def set_progress(self, progress) -> None:
        lo, hi = RECU_TAU
        a = (hi - lo) / (math.e - 1.0)
        self.tau.assign(a * tf.exp(tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)) + lo - a)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class FourierScaledSign(lq.quantizers.Quantizer):
    """FDA's weight binarizer: sign(W) * mean(|W|) per output channel forward; the Fourier-series gradient
    of :func:`fourier_sign_grad` for sign(W) backward (the scale's own gradient flows as usual).
    FDA's noise-adaptation module is added by ``bidrn_tf.nn.layers.FDAConv2D`` during training."""

    precision = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.terms = tf.Variable(float(FDA_TERMS[0]), trainable=False, name="fourier_terms")

    def call(self, w):
        scale = tf.reduce_mean(tf.abs(w), list(range(w.shape.rank - 1)), keepdims=True)
        return _binary_sign(w, "fda", 0.0, self.terms) * tf.stop_gradient(scale)

    set_progress = BinarySign.set_progress


def set_progress(model, progress) -> None:
    """Set the training progress p in [0, 1] of every scheduled binarizer (ReCU's tau, FDA's terms and
    noise weight) of ``model``; the training loop calls it every step."""
    for obj in scheduled(model):
        obj.set_progress(progress)


def scheduled(model) -> list:
    """Every layer or quantizer of ``model`` with a training schedule (``set_progress``)."""
    found, seen = [], set()
    for layer in model.submodules:
        for obj in (layer, getattr(layer, "input_quantizer", None), getattr(layer, "kernel_quantizer", None)):
            if obj is not None and hasattr(obj, "set_progress") and id(obj) not in seen:
                seen.add(id(obj))
                found.append(obj)
    return found


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class DepthwiseScaledSign(lq.quantizers.Quantizer):
    """``scaled_sign`` for a depthwise kernel (kh, kw, C, m): sign(W) * mean(|W|) per channel and multiplier,
    i.e. over the two spatial axes only (larq's ``MagnitudeAwareSign`` averages over every axis but the last,
    which for a depthwise kernel would give one scale for the whole layer). Gradient: straight-through,
    zero where |W| > 1; the scale is a constant of the backward pass, as in ``MagnitudeAwareSign``."""

    precision = 1

    def call(self, w):
        scale = tf.stop_gradient(tf.reduce_mean(tf.abs(w), axis=[0, 1], keepdims=True))
        return lq.quantizers.ste_sign(w, clip_value=1.0) * scale


def make_weight_quantizer(weight_quantizer: str, *, depthwise: bool = False):
    """The weight binarizer named ``weight_quantizer`` (``depthwise``: for a depthwise kernel; ``"sign"`` and
    ``"scaled_sign"`` only).

    ``"sign"``: sign(W) (BNN), STE gradient.
    ``"scaled_sign"``: sign(W) * mean(|W|) per output channel (XNOR-Net, Bi-Real, ReActNet, BiDRN); LCE folds
    the scale into the binary convolution.
    ``"dorefa"``: DoReFa 1-bit weights, sign(W) * mean(|W|) over the whole tensor.
    ``"recu"``: ReCU, :class:`ReCUWeight`. ``"fda"``: FDA, :class:`FourierScaledSign`.
    ``"real"``: ``None``, the latent weights used as they are (still clipped to [-1, 1] by the layer): binary
    activations with real-valued weights, the first stage of two-stage BNN training (ReActNet, Real-to-Binary).
    """
    if weight_quantizer == "real":
        return None
    if depthwise and weight_quantizer not in ("sign", "scaled_sign"):
        raise ValueError(f"a depthwise kernel takes weight_quantizer 'sign' or 'scaled_sign', got {weight_quantizer!r}")
    if weight_quantizer == "sign":
        return lq.quantizers.SteSign(clip_value=1.0)
    if weight_quantizer == "scaled_sign":
        return DepthwiseScaledSign() if depthwise else lq.quantizers.MagnitudeAwareSign(clip_value=1.0)
    if weight_quantizer == "dorefa":
        return lq.quantizers.DoReFa(k_bit=1, mode="weights")
    if weight_quantizer == "recu":
        return ReCUWeight()
    if weight_quantizer == "fda":
        return FourierScaledSign()
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
