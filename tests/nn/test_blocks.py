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


@pytest.mark.parametrize("kwargs", [dict(mode="avgpool"), dict(mode="binary", sign="tanh", weight_quantizer="sign")])
def test_block_residual_round_trip(kwargs):
    layer = blocks.BlockResidual(filters=32, strides=2, **kwargs)
    clone = tf.keras.layers.deserialize(tf.keras.layers.serialize(layer))
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("weight_quantizer", ["sign", "scaled_sign"])
def test_binary_block_residual_uses_its_binarizers(weight_quantizer):
    """mode="binary": body + BN(BinConv1x1_stride(sign(x))) with the weight binarizer it was given."""
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 8, 8, 16)), tf.float32)
    body = tf.constant(np.random.default_rng(4).normal(size=(2, 4, 4, 32)), tf.float32)
    br = blocks.BlockResidual(filters=32, strides=2, mode="binary", sign="ste", weight_quantizer=weight_quantizer)
    out = br([x, body], training=False).numpy()
    latent = br.conv.kernel.numpy()[0, 0]  # (16, 32)
    w = np.sign(latent) * (np.abs(latent).mean(axis=0) if weight_quantizer == "scaled_sign" else 1.0)
    conv = np.einsum("bhwc,co->bhwo", np.sign(x.numpy()[:, ::2, ::2, :]), w)
    np.testing.assert_allclose(out, body.numpy() + conv / np.sqrt(1.0 + br.bn.epsilon), rtol=1e-5, atol=1e-5)
    assert br.conv.input_quantizer.sign == "ste"
    with pytest.raises(ValueError, match="weight_quantizer"):
        blocks.BlockResidual(filters=32, mode="binary", weight_quantizer="ternary")


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


# ----------------------------------------------------------------------------------------------------
# switches of BiDRNConfig at the block level
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_quantizer", ["scaled_sign", "real"])
def test_binary_transposed_conv_is_a_4x4_stride2_transposed_conv_of_the_signs(weight_quantizer):
    """Against tf.nn.conv2d_transpose with the layer's own 4x4 kernel, on sign(x) extended by +1 (the
    package's binary padding); inside the border it equals the zero-padded transposed convolution. With
    ``"real"`` weights the 4x4 kernel is the latent one re-indexed, with the scaled sign it is binary per filter."""
    from bidrn_tf.nn.layers import BinaryConv2DTranspose

    x = tf.random.normal((2, 5, 4, 3), seed=0)
    layer = BinaryConv2DTranspose(6, sign="ste", weight_quantizer=weight_quantizer)
    y = layer(x).numpy()
    kernel = layer.to_transposed_kernel()
    assert y.shape == (2, 10, 8, 6) and kernel.shape == (4, 4, 6, 3)
    magnitudes = np.unique(np.round(np.abs(kernel.numpy()), 6))
    assert len(magnitudes) == (6 * 4 if weight_quantizer == "scaled_sign" else 16 * 3 * 6)
    signs = tf.where(x >= 0, 1.0, -1.0)
    extended = tf.pad(signs, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=1.0)
    reference = tf.nn.conv2d_transpose(extended, kernel, (2, 14, 12, 6), 2, padding="SAME")[:, 2:-2, 2:-2]
    np.testing.assert_allclose(y, reference.numpy(), atol=1e-5)
    zero_padded = tf.nn.conv2d_transpose(signs, kernel, (2, 10, 8, 6), 2, padding="SAME").numpy()
    np.testing.assert_allclose(y[:, 1:-1, 1:-1], zero_padded[:, 1:-1, 1:-1], atol=1e-5)
    assert np.abs(y - zero_padded).max() > 0.1  # the border differs
    # 16 C F binary weights, as the 4x4 transposed kernel
    assert int(np.prod(layer.kernel.shape)) == 16 * 3 * 6
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("branch_bn", [False, True])
def test_fdr_branch_batchnorm_reweights_the_branches_before_the_sum(branch_bn):
    """branch_bn=True: sum_k BN_k(LCR_k(g_k)); False: BN(sum_k LCR_k(g_k)); compared at sample points
    after giving the BNs different affine parameters."""
    x = tf.random.normal((2, 4, 4, 8), seed=4)
    fdr = blocks.GFDR(tau=1, branch_bn=branch_bn)
    fdr(x)
    bns = [b.bn for b in fdr.branches] if branch_bn else [fdr.bn]
    for k, bn in enumerate(bns):
        bn.gamma.assign(tf.fill(bn.gamma.shape, 2.0 + k))
        bn.beta.assign(tf.fill(bn.beta.shape, 0.5 * k))
    groups = tf.split(x, 2, axis=-1)
    if branch_bn:
        assert fdr.bn is None and all(b.bn is not None for b in fdr.branches)
        expected = sum(b(g, training=False) for b, g in zip(fdr.branches, groups))
    else:
        assert all(b.bn is None for b in fdr.branches)
        expected = fdr.bn(sum(b(g, training=False) for b, g in zip(fdr.branches, groups)), training=False)
    np.testing.assert_allclose(fdr(x, training=False).numpy(), expected.numpy(), atol=1e-5)
    bn_vars = [w for w in fdr.weights if "bn/gamma" in w.name]
    assert len(bn_vars) == (2 if branch_bn else 1)


def test_rsign_shift_moves_the_threshold_and_not_the_shortcut():
    lcr = blocks.BaseLCR(kernel_size=1, rsign_shift=True, batch_norm=False)
    x = tf.random.normal((1, 3, 3, 4), seed=9)
    lcr(x)
    lcr.shift.shift.assign(tf.fill((4,), 100.0))  # every binary input is now +1
    ones = tf.ones_like(x)
    np.testing.assert_allclose(lcr(x).numpy(), (lcr.act(lcr.conv(ones)) + x).numpy(), atol=1e-5)


def test_leakyrelu_redistribution_keeps_the_shifts_and_fixes_the_slope():
    from bidrn_tf.nn.layers import redistribution

    layer = redistribution("leakyrelu")
    x = tf.constant([[-2.0, 3.0]])
    layer(x)
    assert sorted(w.name.split("/")[-1] for w in layer.trainable_weights) == ["gamma:0", "zeta:0"]
    layer.gamma.assign([1.0, 1.0])
    layer.zeta.assign([0.5, 0.5])
    np.testing.assert_allclose(layer(x).numpy(), [[0.1 * (-3.0) + 0.5, 2.0 + 0.5]], atol=1e-6)


def test_plain_binary_unit_and_block_residual_off():
    x = tf.random.normal((2, 8, 8, 16), seed=2)
    unit = blocks.PlainBinaryUnit(filters=32, strides=2, kernel_size=3)
    assert unit(x).shape == (2, 4, 4, 32)
    np.testing.assert_allclose(unit(x, training=False).numpy(),
                               unit.bn(unit.act(unit.conv(x)), training=False).numpy(), atol=1e-5)
    body = tf.random.normal((2, 4, 4, 32), seed=3)
    br = blocks.BlockResidual(filters=32, strides=2, mode="none")
    np.testing.assert_array_equal(br([x, body]).numpy(), body.numpy())
    assert not br.weights
