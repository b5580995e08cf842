import numpy as np
import pytest
import tensorflow as tf
from helpers import value_and_grad

from bidrn_tf.nn.layers import RPReLU, redistribution
from bidrn_tf.nn.quantizers import BinarySign, make_sign, make_weight_quantizer, quantizer_bits

POINTS = np.array([-1.5, -1.0, -0.75, -0.5, -0.25, -1e-3, 0.0, 1e-3, 0.25, 0.5, 0.99, 1.0, 2.0], np.float32)


def test_sign_forward_is_plus_minus_one_with_zero_positive():
    y, _ = value_and_grad(BinarySign("approx"), POINTS)
    np.testing.assert_array_equal(y, np.where(POINTS >= 0, 1.0, -1.0))


def test_approx_sign_gradient_matches_closed_form():
    # Bi-Real's 2nd-order ApproxSign: 2 + 2x on [-1, 0), 2 - 2x on [0, 1), 0 elsewhere
    expected = [2 + 2 * x if -1 <= x < 0 else (2 - 2 * x if 0 <= x < 1 else 0.0) for x in POINTS]
    _, g = value_and_grad(BinarySign("approx"), POINTS)
    np.testing.assert_allclose(g, expected, atol=1e-6)


def test_approx_sign_gradient_equals_larq_approx_sign():
    import larq as lq

    _, ours = value_and_grad(BinarySign("approx"), POINTS)
    _, theirs = value_and_grad(lq.quantizers.ApproxSign(), POINTS)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_tanh_and_ste_gradients():
    _, g = value_and_grad(BinarySign("tanh", alpha=2.0), POINTS)
    expected = np.where(np.abs(POINTS) <= 1, 2.0 * (1 - np.tanh(2.0 * POINTS) ** 2), 0.0)
    np.testing.assert_allclose(g, expected, atol=1e-6)
    _, g = value_and_grad(BinarySign("ste"), POINTS)
    np.testing.assert_array_equal(g, (np.abs(POINTS) <= 1).astype(np.float32))


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match="approx"):
        BinarySign("cubic")
    with pytest.raises(ValueError, match="weight_quantizer"):
        make_weight_quantizer("ternary")
    with pytest.raises(ValueError, match="redistribution"):
        redistribution("gelu")


def test_binary_sign_config_round_trip():
    q = BinarySign("tanh", alpha=3.0)
    q2 = BinarySign.from_config(q.get_config())
    assert (q2.sign, q2.alpha) == ("tanh", 3.0)


def test_scaled_sign_weights_have_per_output_channel_scale(rng):
    w = rng.normal(size=(3, 3, 4, 5)).astype(np.float32)
    q = make_weight_quantizer("scaled_sign")(tf.constant(w)).numpy()
    scale = np.abs(w).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(q, np.where(w >= 0, 1, -1) * scale, rtol=1e-6)


def test_quantizer_bits():
    assert quantizer_bits(None) == 32
    assert quantizer_bits(make_sign("approx")) == 1
    assert quantizer_bits(make_sign("dorefa")) == 1
    assert quantizer_bits(make_weight_quantizer("scaled_sign")) == 1


def test_rprelu_matches_formula(rng):
    x = rng.normal(size=(2, 3, 3, 4)).astype(np.float32)
    layer = RPReLU()
    layer.build(x.shape)
    gamma, beta, zeta = (rng.normal(size=4).astype(np.float32) for _ in range(3))
    layer.set_weights([gamma, beta, zeta])
    z = x - gamma
    np.testing.assert_allclose(layer(x).numpy(), np.where(z > 0, z, beta * z) + zeta, rtol=1e-6)


def test_rprelu_slope_trainability_switch():
    layer = RPReLU(learnable_slope=False)
    layer.build((1, 4))
    assert [w.name.split("/")[-1].split(":")[0] for w in layer.trainable_weights] == ["gamma", "zeta"]
    assert RPReLU.from_config(layer.get_config()).learnable_slope is False
