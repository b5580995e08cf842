"""The distinctive parts of ReCU, FDA and BBCU checked against their papers' equations at sample points."""
import math

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from helpers import value_and_grad

from bidrn_tf.models.backbones import BASELINES, _baseline_unit, baseline_spec
from bidrn_tf.nn.layers import FDAConv2D, LearnableScale
from bidrn_tf.nn.quantizers import BinarySign, FourierScaledSign, ReCUWeight, scheduled, set_progress

X = np.array([-1.5, -0.9, -0.5, -0.1, 0.0, 0.2, 0.6, 0.95, 1.3], np.float32)


# ---- ReCU ---------------------------------------------------------------------------------------
def _recu_reference(w, tau):
    """ReCU eqs. at sample weights (Keras layout (..., C_out)): standardize per filter, clamp at the
    tau-quantile Q = -b ln(2 - 2 tau) of Laplace(0, b), b = mean |w1|."""
    flat = w.reshape(-1, w.shape[-1])
    mean, var = flat.mean(0), flat.var(0, ddof=1)
    w1 = 2 * math.sqrt(2) * (flat - mean) / np.sqrt(var + 1e-5)
    q = -np.abs(w1).mean() * math.log(2 - 2 * tau)
    return w1, q


def test_recu_weights_are_the_sign_of_the_centred_filter_and_the_clamp_kills_outer_gradients():
    rng = np.random.default_rng(1)
    w = rng.laplace(0.02, 0.1, size=(3, 3, 8, 4)).astype(np.float32)
    quant = ReCUWeight()
    y, g = value_and_grad(quant, w)
    flat = w.reshape(-1, 4)
    np.testing.assert_array_equal(y.reshape(-1, 4), np.where(flat - flat.mean(0) >= 0, 1.0, -1.0))
    w1, q = _recu_reference(w, 0.85)
    clamped = np.abs(w1) > q
    assert 0.05 < clamped.mean() < 0.3  # tau = 0.85: the outer ~15 % of a Laplace(0, b)
    # the standardization mixes the filter's weights in the backward pass, so the clamp's mask (zero
    # gradient outside [-Q, Q]) is checked on the standardized weights directly
    w2 = tf.Variable(w1.reshape(w.shape).astype(np.float32))
    with tf.GradientTape() as tape:
        out = tf.clip_by_value(w2, -q, q)
    mask = tape.gradient(out, w2).numpy().reshape(-1, 4)
    np.testing.assert_array_equal(mask == 0, clamped)
    assert np.abs(g).max() > 0


def test_recu_tau_schedule_is_exponential_from_085_to_099():
    quant = ReCUWeight()
    a = 0.14 / (math.e - 1)
    for p in (0.0, 0.5, 1.0):
        quant.set_progress(p)
        assert float(quant.tau.numpy()) == pytest.approx(a * math.exp(p) + 0.85 - a, abs=1e-6)
    assert float(quant.tau.numpy()) == pytest.approx(0.99, abs=1e-6)


def test_recu_activation_gradient_is_approxsign_of_the_standardized_input():
    x = np.random.default_rng(2).normal(0, 3.0, size=(2, 4, 4, 3)).astype(np.float32)
    y, g = value_and_grad(BinarySign("recu"), x)
    np.testing.assert_array_equal(y, np.where(x >= 0, 1.0, -1.0))
    s = np.sqrt(x.reshape(2, -1).var(1) + 1e-5)[:, None, None, None]
    z = x / s
    np.testing.assert_allclose(g, np.where(np.abs(z) < 1, 2 - 2 * np.abs(z), 0.0) / s, rtol=1e-4, atol=1e-6)


def test_recu_unit_scales_each_output_channel():
    x = tf.random.normal((1, 5, 5, 4), seed=3)
    scale = LearnableScale()
    y = scale(x).numpy()
    assert scale.scale.shape == (4,) and (0 <= scale.scale.numpy()).all() and (scale.scale.numpy() < 1).all()
    np.testing.assert_allclose(y, x.numpy() * scale.scale.numpy(), rtol=1e-6)


# ---- FDA ----------------------------------------------------------------------------------------
def _fourier(t, n, omega=0.1):
    return (4 * omega / math.pi) * sum(np.cos((2 * i + 1) * omega * t) for i in range(n + 1))


def test_fda_sign_gradient_is_the_fourier_series_derivative_with_growing_terms():
    q = BinarySign("fda")
    y, g = value_and_grad(q, X)
    np.testing.assert_array_equal(y, np.where(X >= 0, 1.0, -1.0))
    np.testing.assert_allclose(g, np.where(np.abs(X) <= 1, _fourier(X, 9), 0.0), rtol=1e-4, atol=1e-4)
    q.set_progress(0.5)  # n = floor(9 + 9 p)
    _, g = value_and_grad(q, X)
    np.testing.assert_allclose(g, np.where(np.abs(X) <= 1, _fourier(X, 13), 0.0), rtol=1e-4, atol=1e-4)
    q.set_progress(1.0)  # n doubles over training: 9 -> 18
    _, g = value_and_grad(q, X)
    np.testing.assert_allclose(g, np.where(np.abs(X) <= 1, _fourier(X, 18), 0.0), rtol=1e-4, atol=1e-4)
    # the truncated series integrates back to sign: sum of sin((2i+1) w t)/(2i+1) * 4/pi -> sign
    t = 0.7
    assert (4 / math.pi) * sum(math.sin((2 * i + 1) * 0.1 * t) / (2 * i + 1) for i in range(2000)) == pytest.approx(
        1, abs=0.01)


def test_fda_gradient_never_reverses_on_the_clip_range_at_the_start():
    """w = 0.1: with 9 terms the derivative is positive on all of [-1, 1] (first zero at pi / (2 * 10 * 0.1));
    w = 1 would reverse it on a third of N(0, 1) inputs (first zero at 0.157)."""
    t = np.linspace(-1, 1, 401).astype(np.float32)
    _, g = value_and_grad(BinarySign("fda"), t)
    assert g.min() > 0.5 and g.max() == pytest.approx(_fourier(0.0, 9), rel=1e-4)
    assert _fourier(0.157, 9, omega=1.0) == pytest.approx(0.0, abs=0.05) and _fourier(0.23, 9, omega=1.0) < -2


def test_fda_weights_are_scaled_signs():
    w = np.random.default_rng(4).normal(size=(1, 1, 6, 3)).astype(np.float32)
    y, _ = value_and_grad(FourierScaledSign(), w)
    np.testing.assert_allclose(y, np.sign(w) * np.abs(w).mean(axis=(0, 1, 2)), rtol=1e-6)


def test_fda_noise_module_is_training_only_and_vanishes_at_the_end():
    x = tf.random.normal((1, 6, 6, 8), seed=5)
    conv = FDAConv2D(4, 3)
    plain = conv(x, training=False).numpy()
    d = 3 * 3 * 8
    assert conv.noise_w1.shape == (d, d // 64) and conv.noise_w2.shape == (d // 64, d)
    noisy = conv(x, training=True).numpy()
    assert np.abs(noisy - plain).max() > 1e-3  # alpha = 0.1 at the start of training
    # the module: W + alpha * (ReLU(w_f W1) W2 + 0.1 sin(w_f)), by hand
    latent = conv.kernel.latent_variable.numpy()
    filters = latent.reshape(-1, 4).T
    noise = (np.maximum(filters @ conv.noise_w1.numpy(), 0) @ conv.noise_w2.numpy() + 0.1 * np.sin(filters)).T
    kernel = np.sign(latent) * np.abs(latent).mean(axis=(0, 1, 2)) + 0.1 * noise.reshape(latent.shape)
    signs = tf.where(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=1.0) >= 0, 1.0, -1.0)
    np.testing.assert_allclose(noisy, tf.nn.conv2d(signs, kernel, 1, "VALID").numpy(), atol=1e-4)
    set_progress(tf.keras.Sequential([conv]), 1.0)
    assert float(conv.noise_alpha.numpy()) == pytest.approx(0.0, abs=1e-7)
    np.testing.assert_allclose(conv(x, training=True).numpy(), plain, atol=1e-5)
    assert float(conv.input_quantizer.terms.numpy()) == 18


# ---- BBCU ---------------------------------------------------------------------------------------
def test_bbcu_unit_puts_the_activation_before_the_residual_add():
    """BBCU: y = RPReLU(BN(BinConv(sign(x + b)))) + x; ReActNet: y = RPReLU(BN(BinConv(sign(x + b))) + x)."""
    inp = tf.keras.Input((6, 6, 8))
    models = {m: tf.keras.Model(inp, _baseline_unit(inp, BASELINES[m], 8, 3, 1, inp, f"u_{m}"))
              for m in ("bbcu", "reactnet")}
    x = tf.random.normal((2, 6, 6, 8), seed=6)
    for method, model in models.items():
        shift = model.get_layer(f"u_{method}_rsign_shift")
        conv, bn = model.get_layer(f"u_{method}_binconv"), model.get_layer(f"u_{method}_bn")
        act = model.get_layer(f"u_{method}_rprelu")
        act.gamma.assign(tf.fill((8,), 0.3))
        core = bn(conv(shift(x)), training=False)
        expected = act(core) + x if method == "bbcu" else act(core + x)
        np.testing.assert_allclose(model(x, training=False).numpy(), expected.numpy(), atol=1e-5)


def test_every_scheduled_part_is_found_in_a_model():
    from bidrn_tf.models.backbones import build_resnet

    model = build_resnet(depth=18, method="recu", input_shape=(32, 32, 3))
    parts = scheduled(model)
    n_convs = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
    assert sum(isinstance(p, ReCUWeight) for p in parts) == n_convs
    set_progress(model, 1.0)
    assert all(float(p.tau.numpy()) == pytest.approx(0.99, abs=1e-6) for p in parts if isinstance(p, ReCUWeight))


# ---- XNOR-Net's activation scale K ----------------------------------------------------------------
def _box_reference(x, k, stride):
    """K of XNOR-Net (sec. 3.2) by loops: A = mean_c |x|, then the mean of A over each k x k window inside the
    image, windows placed as TF's "same" padding places them (pad_total = max((out - 1) s + k - n, 0), the
    smaller half before)."""
    a = np.abs(x).mean(-1)
    b, h, w = a.shape
    out = np.zeros((b, -(-h // stride), -(-w // stride)))
    top = max((out.shape[1] - 1) * stride + k - h, 0) // 2
    left = max((out.shape[2] - 1) * stride + k - w, 0) // 2
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            r0, c0 = i * stride - top, j * stride - left
            window = a[:, max(r0, 0):min(r0 + k, h), max(c0, 0):min(c0 + k, w)]
            out[:, i, j] = window.mean(axis=(1, 2))
    return out[..., None]


@pytest.mark.parametrize("k,stride", [(3, 1), (3, 2), (1, 2)])
def test_xnor_activation_scale_is_the_box_averaged_channel_mean_of_the_input(k, stride):
    from bidrn_tf.nn.layers import ActivationScale

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 6, 5)).astype(np.float32) * rng.uniform(0.1, 3.0, size=(1, 7, 6, 1)).astype(np.float32)
    h_out, w_out = -(-7 // stride), -(-6 // stride)
    y = rng.normal(size=(2, h_out, w_out, 4)).astype(np.float32)
    xt, yt = tf.constant(x), tf.constant(y)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([xt, yt])
        out = ActivationScale(k, stride)([xt, yt])
    reference = _box_reference(x, k, stride)
    np.testing.assert_allclose(out.numpy(), y * reference, rtol=1e-5, atol=1e-6)
    # K is a constant of the backward pass: nothing flows back into x through it, y's gradient is K
    assert tape.gradient(out, xt) is None
    np.testing.assert_allclose(tape.gradient(out, yt).numpy(), np.broadcast_to(reference, y.shape), rtol=1e-5)


def test_xnor_with_k_is_not_bnn_behind_batchnorm():
    """K varies with position, so the BatchNorm after the conv does not divide it out (the per-channel weight
    scale alone it does: ``tests/models/test_backbones.py``)."""
    x = tf.random.stateless_normal((4, 8, 8, 32), seed=(5, 6)) * tf.random.stateless_uniform((4, 8, 8, 1), (7, 8), 0.2, 2)
    models = {}
    for name, activation_scale in (("xnor", False), ("xnor+K", True)):
        inp = tf.keras.Input((8, 8, 32))
        spec = baseline_spec("xnor", xnor_activation_scale=activation_scale)
        models[name] = tf.keras.Model(inp, _baseline_unit(inp, spec, 32, 3, 1, None, "u"))
    models["xnor+K"].set_weights(models["xnor"].get_weights())
    outs = {name: model(x, training=True).numpy() for name, model in models.items()}
    assert np.abs(outs["xnor+K"] - outs["xnor"]).mean() > 0.05
