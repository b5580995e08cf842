import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from helpers import keras_vs_lce, wrap

from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.counts import profile
from bidrn_tf.models.backbones import (BASELINES, METHODS, BiDRNConfig, _baseline_block, baseline_spec,
                                       build_resnet)

BINARY = [m for m in METHODS if m != "fp"]


@pytest.mark.parametrize("method", ["fp", "bnn", "bidrn"])
def test_include_top_is_a_classifier(method):
    model = build_resnet(depth=18, method=method, input_shape=(32, 32, 1), include_top=True, num_classes=10)
    y = model(tf.random.normal((3, 32, 32, 1))).numpy()
    assert y.shape == (3, 10)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)


def test_exact_parameter_counts_of_full_precision_resnets(backbone):
    assert profile(backbone("fp", 50)).total_params == 23_508_032
    assert profile(backbone("fp", 18)).total_params == 11_176_512


@pytest.mark.parametrize("method", BINARY)
def test_binarized_methods_binarize_every_conv_but_the_stem(method, backbone):
    model = backbone(method, 18)
    p = profile(model)
    stem = 7 * 7 * 3 * 64
    extra_fp = 64 * 128 + 128 * 256 + 256 * 512 if method == "bidrn" else 0  # BiDRN's FP BR shortcuts
    assert p.binary_params + stem + extra_fp == sum(
        int(np.prod(w.shape)) for m in model.submodules if isinstance(m, tf.keras.layers.Conv2D)
        for w in [m.kernel])


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        build_resnet(depth=18, method="xnor++")
    with pytest.raises(ValueError, match="depth"):
        build_resnet(depth=34, method="fp")
    with pytest.raises(ValueError, match="num_classes"):
        build_resnet(depth=18, method="fp", include_top=True)
    with pytest.raises(ValueError, match="bidrn_config"):
        build_resnet(depth=18, method="fp", bidrn_config=BiDRNConfig())
    with pytest.raises(ValueError, match="fp_init"):
        build_resnet(depth=18, method="fp", fp_init="glorot")
    with pytest.raises(ValueError, match="xnor_activation_scale"):
        build_resnet(depth=18, method="bnn", xnor_activation_scale=True)
    for method in ("fp", "fda"):
        with pytest.raises(ValueError, match="binary_weights"):
            build_resnet(depth=18, method=method, binary_weights=False)


@pytest.mark.parametrize("method", ["fp", "bnn", "bidrn"])
def test_fp_init_sets_every_full_precision_conv_of_the_backbone(method):
    """"hand4whole": std 1e-3; "he": sqrt(2 / fan_out) with fan_out = k * k * C_out (torchvision's ResNet init).
    Binary convolutions keep their glorot-normal latent weights either way."""
    def fp_convs(model):
        return [m for m in model.submodules if type(m) is tf.keras.layers.Conv2D]

    h4w = build_resnet(depth=18, method=method, input_shape=(32, 32, 3))
    he = build_resnet(depth=18, method=method, input_shape=(32, 32, 3), fp_init="he")
    assert len(fp_convs(he)) == len(fp_convs(h4w)) >= 1 + (3 if method == "bidrn" else 0)
    for conv in fp_convs(h4w):
        assert np.std(conv.kernel.numpy()) == pytest.approx(1e-3, rel=0.1), conv.name
    for conv in fp_convs(he):
        k, _, _, c_out = conv.kernel.shape
        assert np.std(conv.kernel.numpy()) == pytest.approx(np.sqrt(2.0 / (k * k * c_out)), rel=0.1), conv.name
    binary = [(a.kernel.numpy(), b.kernel.numpy()) for a, b in zip(h4w.submodules, he.submodules)
              if isinstance(a, lq.layers.QuantConv2D)]
    assert all(np.std(a) == pytest.approx(np.std(b), rel=0.1) for a, b in binary)


def test_bidrn_research_switches_change_the_model(backbone):
    base = backbone("bidrn", 18)
    leaky = build_resnet(depth=18, method="bidrn", input_shape=(32, 32, 3),
                         bidrn_config=BiDRNConfig(redistribution="leakyrelu", sign="tanh"))
    # LeakyReLU keeps RPReLU's two shifts and drops only its learnable slope: one vector per redistribution
    slopes = sum(int(w.shape[0]) for w in base.trainable_weights if w.name.endswith("redistribution/beta:0"))
    assert slopes > 0 and profile(base).fp_params - profile(leaky).fp_params == slopes
    signs = {m.input_quantizer.sign for m in leaky.submodules if isinstance(m, lq.layers.QuantConv2D)}
    assert signs == {"tanh"}


def test_binary_block_residual_follows_the_sign_and_weight_switches():
    cfg = BiDRNConfig(sign="tanh", weight_quantizer="sign", block_residual="binary")
    model = build_resnet(depth=18, method="bidrn", input_shape=(32, 32, 3), bidrn_config=cfg)
    convs = [m for m in model.submodules if isinstance(m, lq.layers.QuantConv2D)]
    assert sum(m.name == "shortcut_binconv" for m in convs) == 3  # stages 2-4 change shape
    assert {m.input_quantizer.sign for m in convs} == {"tanh"}
    assert all(isinstance(m.kernel_quantizer, lq.quantizers.SteSign) for m in convs)


@pytest.mark.parametrize("method", sorted(BASELINES))
@pytest.mark.parametrize("kind,stride", [("basic", 1), ("basic", 2), ("bottleneck", 2)])
def test_baseline_blocks_match_keras_after_conversion(method, kind, stride, rng):
    """One residual block: no cascade of near-zero sign flips, so LCE must equal Keras to rounding."""
    width = 32 if kind == "basic" else 16
    model = wrap(lambda i: _baseline_block(i, BASELINES[method], kind, width * stride, stride, "b"), (16, 16, 32))
    census, ref, out = keras_vs_lce(model, rng)
    np.testing.assert_allclose(out, ref, atol=1e-5 * (1 + np.abs(ref).max()))
    if BASELINES[method].lce_binary:
        assert census["LceBconv2d"] == sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)


@pytest.mark.parametrize("kind,stride", [("basic", 2), ("bottleneck", 2)])
def test_xnor_blocks_with_activation_scale_match_keras_after_conversion(kind, stride, rng):
    """XNOR-Net's K is float arithmetic around the binary convs: they stay LceBconv2d."""
    width = 32 if kind == "basic" else 16
    spec = baseline_spec("xnor", xnor_activation_scale=True)
    model = wrap(lambda i: _baseline_block(i, spec, kind, width * stride, stride, "b"), (16, 16, 32))
    census, ref, out = keras_vs_lce(model, rng)
    np.testing.assert_allclose(out, ref, atol=1e-5 * (1 + np.abs(ref).max()))
    assert census["LceBconv2d"] == sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules) == (
        3 if kind == "basic" else 4)


def test_census_rejects_non_flatbuffers():
    with pytest.raises(flatbuffer.FlatbufferError, match="TF Lite"):
        flatbuffer.op_census(b"this is not a model")


def test_breakdown_rows_swap_each_derived_module_for_a_plain_binary_unit():
    """Seed Fig. 6: Base LCR only, then +DScR, +FUR, +FDR, +DSaR; a switched-off module is a PlainBinaryUnit
    with the same output shape; BR off drops every Block Residual projection."""
    from bidrn_tf.models.config import BREAKDOWN
    from bidrn_tf.nn import blocks

    kinds = {"dscr": blocks.GDScR, "fur": blocks.GFUR, "fdr": blocks.GFDR, "dsar": blocks.GDSaR}
    counts = {}
    for row, cfg in BREAKDOWN.items():
        for depth in (18, 50):
            model = build_resnet(depth=depth, method="bidrn", input_shape=(64, 64, 3), bidrn_config=cfg)
            subs = model.submodules
            on = {k for k, cls in kinds.items() if any(isinstance(m, cls) for m in subs)}
            expected_on = {k for k in cfg.derived_modules if (k == "dsar") == (depth == 18)}
            assert on == expected_on, (row, depth)
            plain = sum(isinstance(m, blocks.PlainBinaryUnit) for m in subs)
            counts[row, depth] = plain
            assert model.output_shape == (None, 2, 2, 512 if depth == 18 else 2048)
            brs = [m for m in subs if isinstance(m, blocks.BlockResidual)]
            assert all(m.mode == cfg.block_residual for m in brs)
            if cfg.block_residual == "none":
                assert not any(m.weights for m in brs)
    # ResNet-50: 3 strided 3x3 (DScR), 16 expanding 1x1 (FUR), 15 reducing 1x1 (FDR); ResNet-18: 3 DSaR
    assert [counts[r, 50] for r in ("base_lcr", "+dscr", "+fur", "+fdr", "+dsar")] == [34, 31, 15, 0, 0]
    assert [counts[r, 18] for r in ("base_lcr", "+dscr", "+fur", "+fdr", "+dsar")] == [3, 3, 3, 3, 0]


def test_xnor_is_bnn_when_batchnorm_follows_every_binary_conv():
    """XNOR-Net's weight scale mean(|W|) per output channel is a per-channel factor in front of a BatchNorm,
    which divides it out (up to BN's epsilon), and its gradient is a constant of the backward pass: with the
    same latent weights, XNOR and BNN (without XNOR's activation scale K, left out here) compute the same
    training-mode features and the same kernel gradients, while the raw binary conv outputs differ by exactly
    that scale. Checked on the first stage (deeper, rare sign flips of near-zero inputs amplify the epsilon)."""
    x = tf.random.stateless_normal((4, 64, 48, 3), seed=(1, 2))
    nets, feats, grads = {}, {}, {}
    for method in ("bnn", "xnor"):
        full = build_resnet(depth=18, method=method, input_shape=(64, 48, 3))
        names = ["stage1_block1_unit1_binconv", "stage1_block2_unit2_hardtanh"]
        nets[method] = tf.keras.Model(full.input, [full.get_layer(n).output for n in names])
    nets["xnor"].set_weights(nets["bnn"].get_weights())
    for method, net in nets.items():
        with tf.GradientTape() as tape:
            conv, out = net(x, training=True)
            loss = tf.reduce_sum(out * tf.random.stateless_normal(out.shape, seed=(3, 4)))
        kernels = [v for v in net.trainable_variables if "binconv" in v.name]
        feats[method] = conv.numpy(), out.numpy()
        grads[method] = [g.numpy() for g in tape.gradient(loss, kernels)]
    assert len(grads["bnn"]) == 4
    kernel = nets["bnn"].get_layer("stage1_block1_unit1_binconv").kernel.numpy()
    scale = np.abs(kernel).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(feats["xnor"][0], feats["bnn"][0] * scale, rtol=1e-4, atol=1e-5)
    assert not np.allclose(feats["xnor"][0], feats["bnn"][0], atol=1e-2)
    np.testing.assert_allclose(feats["xnor"][1], feats["bnn"][1], atol=2e-3)
    for g_bnn, g_xnor in zip(grads["bnn"], grads["xnor"]):
        np.testing.assert_allclose(g_xnor, g_bnn, atol=2e-3 * np.abs(g_bnn).max())


@pytest.mark.parametrize("method", ["bnn", "reactnet", "bidrn"])
def test_real_weights_stage_keeps_binary_activations_and_hands_its_weights_to_the_binary_model(method):
    """binary_weights=False (two-stage training's first stage): every binary conv keeps its activation sign and
    drops its weight binarizer, and the variables load into the binary model as they are. Independent check: on
    kernels that are their own binarization (+-1 for BNN's sign; +-c with one power of two c per output channel,
    per channel of a depthwise kernel, for the scaled sign: exact in float32) the two models compute the same
    function; on the glorot latent kernels they do not."""
    shape = (64, 64, 3)
    real = build_resnet(depth=18, method=method, input_shape=shape, binary_weights=False)
    binary = build_resnet(depth=18, method=method, input_shape=shape)
    convs = [m for m in real.submodules if isinstance(m, (lq.layers.QuantConv2D, lq.layers.QuantDepthwiseConv2D))]
    assert convs and all(getattr(m, "kernel_quantizer", getattr(m, "depthwise_quantizer", None)) is None
                         and m.input_quantizer is not None for m in convs)
    binary.set_weights(real.get_weights())
    x = tf.random.stateless_uniform((2, *shape), seed=(1, 2), minval=-1.0, maxval=1.0)
    assert not np.allclose(real(x, training=False).numpy(), binary(x, training=False).numpy(), atol=1e-3)

    rng = np.random.default_rng(0)
    for m in convs:
        depthwise = isinstance(m, lq.layers.QuantDepthwiseConv2D)
        var = m.depthwise_kernel if depthwise else m.kernel
        k = var.shape
        channels = (1, 1, k[2], 1) if depthwise else (1, 1, 1, k[3])
        scale = 1.0 if method == "bnn" else 2.0 ** rng.integers(-4, 0, size=channels)
        var.assign((rng.choice([-1.0, 1.0], size=k) * scale).astype(np.float32))
    binary.set_weights(real.get_weights())
    np.testing.assert_allclose(real(x, training=False).numpy(), binary(x, training=False).numpy(),
                               rtol=1e-5, atol=1e-5)
