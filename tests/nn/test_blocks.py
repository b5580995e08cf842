import numpy as np
import pytest
import tensorflow as tf
from helpers import keras_vs_lce, wrap

from bidrn_tf.nn import blocks
from bidrn_tf.nn.layers import Hardtanh, LearnableShift, RPReLU

H, W, C = 12, 12, 24


@pytest.mark.parametrize("tau", [1, 2, 3])
def test_g_module_output_shapes(tau):
    x = tf.zeros((2, H, W, C))
    s = 2 * tau
    down = (-(-H // s), -(-W // s))  # ceil
    assert blocks.GDScR(tau=tau)(x).shape == (2, *down, C)
    assert blocks.GFUR(tau=tau)(x).shape == (2, H, W, s * C)
    assert blocks.GFDR(tau=tau)(x).shape == (2, H, W, C // s)
    assert blocks.GDSaR(tau=tau)(x).shape == (2, *down, s * C)
    assert blocks.BaseLCR()(x).shape == (2, H, W, C)


def test_g_modules_use_2tau_distinct_binary_convs():
    x = tf.zeros((1, 8, 8, 16))
    for cls in (blocks.GFUR, blocks.GFDR, blocks.GDSaR):
        layer = cls(tau=2)
        layer(x)
        kernels = [w for w in layer.weights if "kernel" in w.name]
        assert len(kernels) == 4
        assert len({id(k) for k in kernels}) == 4


def test_fdr_rejects_indivisible_channels():
    with pytest.raises(ValueError, match="divisible"):
        blocks.GFDR(tau=2)(tf.zeros((1, 4, 4, 6)))
    with pytest.raises(ValueError, match="tau"):
        blocks.GFUR(tau=0)


def test_lcr_is_residual_around_binary_conv():
    """With the binary conv's weights at zero scale, an LCR without BN is the identity."""
    x = tf.random.normal((1, 6, 6, 8))
    lcr = blocks.BaseLCR(batch_norm=False)
    lcr(x)
    lcr.conv.kernel.assign(tf.zeros_like(lcr.conv.kernel))  # mean |W| = 0 -> binary conv outputs 0
    np.testing.assert_allclose(lcr(x).numpy(), x.numpy(), atol=1e-6)


def test_dsar_residual_is_the_pooled_input():
    x = tf.random.normal((1, 8, 8, 4))
    m = blocks.GDSaR(tau=1)
    m(x)
    for b in m.branches:
        b.conv.kernel.assign(tf.zeros_like(b.conv.kernel))
    pooled = tf.nn.avg_pool2d(x, 2, 2, "SAME")
    expected = m.bn(tf.concat([pooled, pooled], -1), training=False)
    np.testing.assert_allclose(m(x, training=False).numpy(), expected.numpy(), atol=1e-6)


def test_block_residual_modes():
    x, body = tf.random.normal((1, 8, 8, 16)), tf.random.normal((1, 8, 8, 16))
    np.testing.assert_allclose(blocks.BlockResidual(filters=16)([x, body]).numpy(), (x + body).numpy())
    body2 = tf.zeros((1, 4, 4, 32))
    for mode in blocks.BlockResidual.MODES:
        assert blocks.BlockResidual(filters=32, strides=2, mode=mode)([x, body2]).shape == (1, 4, 4, 32)
    with pytest.raises(ValueError, match="mode"):
        blocks.BlockResidual(filters=32, mode="pool")


LAYERS = [
    lambda: blocks.BaseLCR(kernel_size=3, sign="tanh", redistribution="leakyrelu"),
    lambda: blocks.GDScR(tau=2),
    lambda: blocks.GFUR(tau=1),
    lambda: blocks.GFDR(tau=2, weight_quantizer="sign"),
    lambda: blocks.GDSaR(tau=1, kernel_size=3),
    lambda: RPReLU(negative_slope=0.1),
    lambda: LearnableShift(),
    lambda: Hardtanh(),
]


@pytest.mark.parametrize("make", LAYERS)
def test_get_config_round_trip_gives_same_layer_and_outputs(make):
    x = tf.random.normal((2, 8, 8, 16))
    layer = make()
    y = layer(x, training=False)
    config = tf.keras.layers.serialize(layer)
    clone = tf.keras.layers.deserialize(config)
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, training=False).numpy(), y.numpy(), atol=1e-6)


def test_block_residual_round_trip():
    layer = blocks.BlockResidual(filters=32, strides=2, mode="avgpool")
    clone = tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))
    assert clone.get_config() == layer.get_config()


def test_model_with_blocks_saves_and_loads(tmp_path):
    model = wrap(lambda i: blocks.GFDR(tau=1)(blocks.GFUR(tau=1)(blocks.BaseLCR()(i))), (8, 8, 16))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    x = np.random.default_rng(1).normal(size=(1, 8, 8, 16)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)


MODULES = {
    "lcr": lambda i: blocks.BaseLCR(kernel_size=3)(i),
    "dscr": lambda i: blocks.GDScR(tau=1)(i),
    "fur": lambda i: blocks.GFUR(tau=2)(i),
    "fdr": lambda i: blocks.GFDR(tau=2)(i),
    "dsar": lambda i: blocks.GDSaR(tau=1)(i),
    "br": lambda i: blocks.BlockResidual(filters=64, strides=2)([i, blocks.GDSaR(tau=1)(i)]),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_converts_to_binary_ops_and_matches_keras(name, rng):
    """One module, so no cascade: LCE must agree with Keras to float rounding."""
    model = wrap(MODULES[name], (16, 16, 32))
    census, ref, out = keras_vs_lce(model, rng)
    n_quant_convs = sum(1 for m in model.submodules if m.__class__.__name__ == "QuantConv2D")
    assert census["LceBconv2d"] == n_quant_convs
    assert census["CONV_2D"] == (1 if name == "br" else 0)
    np.testing.assert_allclose(out, ref, atol=1e-5 * (1 + np.abs(ref).max()))
