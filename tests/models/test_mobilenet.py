"""MobileNetV1 in the method switch (seed Table 6): layout against keras.applications, counts against the
analytic MobileNetV1 sums, BiDRN's modules, the depthwise binarizer, and the keypoint model's pixel mapping."""
import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy.counts import profile
from bidrn_tf.models.config import BiDRNConfig
from bidrn_tf.models.mobilenet import BLOCKS, MOBILENET_METHODS, build_mobilenet_v1
from bidrn_tf.nn import blocks
from bidrn_tf.nn.quantizers import DepthwiseScaledSign


def _analytic(h: int, w: int) -> dict:
    """Kernel parameters and MACs of MobileNetV1 (width 1) convolutions at an h x w input ("same" padding)."""
    h, w = -(-h // 2), -(-w // 2)
    stem = 3 * 3 * 3 * 32
    macs = {"stem": stem * h * w, "rest": 0}
    params = {"stem": stem, "rest": 0}
    c = 32
    for filters, stride in BLOCKS:
        h, w = -(-h // stride), -(-w // stride)
        params["rest"] += 9 * c + c * filters
        macs["rest"] += (9 * c + c * filters) * h * w
        c = filters
    return {"params": params, "macs": macs, "out_hw": (h, w)}


@pytest.fixture(scope="module")
def mobilenets():
    built = {}

    def get(method):
        if method not in built:
            tf.keras.utils.set_random_seed(0)
            built[method] = build_mobilenet_v1(method=method, input_shape=(224, 224, 3))
        return built[method]

    return get


def test_fp_layout_is_keras_applications_mobilenet(mobilenets):
    """Same trainable parameters as keras.applications.MobileNet (alpha 1, no top), layer by layer."""
    ours = mobilenets("fp")
    ref = tf.keras.applications.MobileNet(input_shape=(224, 224, 3), include_top=False, weights=None, alpha=1.0)
    assert ours.output_shape == ref.output_shape == (None, 7, 7, 1024)
    ours_shapes = [tuple(v.shape) for v in ours.trainable_weights]
    ref_shapes = [tuple(v.shape) for v in ref.trainable_weights]
    assert ours_shapes == ref_shapes
    assert profile(ours).total_params == sum(int(np.prod(s)) for s in ref_shapes) == 3_206_976


@pytest.mark.parametrize("method", MOBILENET_METHODS)
def test_counts_are_the_analytic_mobilenet_sums(mobilenets, method):
    a = _analytic(224, 224)
    p = profile(mobilenets(method))
    if method == "fp":
        assert p.binary_params == 0 and p.binary_macs == 0
        assert p.fp_macs == a["macs"]["stem"] + a["macs"]["rest"]
    else:  # everything but the stem binary, depthwise convolutions included
        assert p.binary_params == a["params"]["rest"]
        assert p.binary_macs == a["macs"]["rest"]
        assert p.fp_macs == a["macs"]["stem"]  # the parameter-free BR adds no MACs
    assert mobilenets(method).output_shape == (None, *a["out_hw"], 1024)


def test_bidrn_has_the_modules_of_the_mapping(mobilenets):
    model = mobilenets("bidrn")
    kinds = {name: sum(isinstance(m, cls) for m in model.layers)
             for name, cls in (("dscr", blocks.GDScR), ("fur", blocks.GFUR), ("lcr", blocks.BaseLCR),
                               ("br", blocks.BlockResidual))}
    strided = sum(s == 2 for _, s in BLOCKS)
    widening = 5  # 32->64, 64->128, 128->256, 256->512, 512->1024
    assert kinds == {"dscr": strided, "fur": widening,
                     "lcr": (len(BLOCKS) - strided) + (len(BLOCKS) - widening), "br": len(BLOCKS)}
    depthwise = [m for m in model.submodules if isinstance(m, lq.layers.QuantDepthwiseConv2D)]
    assert len(depthwise) == len(BLOCKS)
    assert all(isinstance(m.depthwise_quantizer, DepthwiseScaledSign) for m in depthwise)


def test_fp_block_residual_is_a_switch():
    model = build_mobilenet_v1(method="bidrn", input_shape=(64, 64, 3), bidrn_config=BiDRNConfig(block_residual="fp"))
    p = profile(model)
    extra = sum(c * f for (c, f) in zip([32] + [b[0] for b in BLOCKS], [b[0] for b in BLOCKS]) if c != f)
    base = profile(build_mobilenet_v1(method="bidrn", input_shape=(64, 64, 3)))
    assert p.fp_params - base.fp_params == extra + sum(2 * f for c, f in zip([32] + [b[0] for b in BLOCKS],
                                                                             [b[0] for b in BLOCKS]) if c != f)


def test_depthwise_scaled_sign_scales_per_channel():
    w = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 4, 1)), tf.float32)
    out = DepthwiseScaledSign()(w).numpy()
    scale = np.abs(w.numpy()).mean(axis=(0, 1), keepdims=True)
    np.testing.assert_allclose(out, np.sign(w.numpy()) * scale, rtol=1e-6)
    assert len(np.unique(np.round(np.abs(out), 6))) == 4  # one magnitude per channel, not one per layer


def test_duplicate_block_residual_is_pooled_and_repeated():
    x = tf.random.normal((2, 4, 6, 3), seed=1)
    body = tf.random.normal((2, 2, 3, 6), seed=2)
    out = blocks.BlockResidual(filters=6, strides=2, mode="duplicate")([x, body]).numpy()
    pooled = tf.keras.layers.AveragePooling2D(2, 2, padding="same")(x).numpy()
    np.testing.assert_allclose(out, body.numpy() + np.concatenate([pooled, pooled], -1), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        blocks.BlockResidual(filters=5, strides=1, mode="duplicate")([x, tf.zeros((2, 4, 6, 5))])


@pytest.mark.parametrize("method", ["bnn", "bidrn"])
def test_every_binary_kernel_gets_a_gradient(method):
    model = build_mobilenet_v1(method=method, input_shape=(32, 32, 3), include_top=True, num_classes=3)
    x = tf.random.uniform((4, 32, 32, 3), seed=3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True) * tf.constant([1.0, -2.0, 0.5]))
    kernels = [v for v in model.trainable_variables if "kernel" in v.name and "fc" not in v.name]
    grads = tape.gradient(loss, kernels)
    assert len(kernels) == 1 + 2 * len(BLOCKS) + (5 if method == "bidrn" else 0)  # G-FUR: two 1x1 branches
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


@pytest.mark.parametrize("kwargs,match", [
    (dict(method="xnor"), "MobileNetV1 method"),
    (dict(method="fp", input_shape=(16, 16, 3)), "input_shape"),
    (dict(method="fp", include_top=True), "num_classes"),
    (dict(method="bnn", bidrn_config=BiDRNConfig()), "bidrn_config"),
    (dict(method="fp", fp_init="glorot"), "fp_init"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_mobilenet_v1(**kwargs)


@pytest.mark.parametrize("method", MOBILENET_METHODS)
def test_fp_init_sets_every_full_precision_conv(method):
    """"hand4whole": std 1e-3; "he": sqrt(2 / fan_out), fan_out = k * k * C_out for a convolution and k * k for
    a depthwise (k, k, C, 1) kernel. Binary convolutions keep their latent initialisation either way."""
    def fp_kernels(model):
        return [(m.name, m.kernel if type(m) is tf.keras.layers.Conv2D else m.depthwise_kernel) for m in model.submodules
                if type(m) in (tf.keras.layers.Conv2D, tf.keras.layers.DepthwiseConv2D)]

    h4w = build_mobilenet_v1(method=method, input_shape=(64, 64, 3))
    he = build_mobilenet_v1(method=method, input_shape=(64, 64, 3), fp_init="he")
    assert len(fp_kernels(he)) == len(fp_kernels(h4w)) == (27 if method == "fp" else 1)  # stem + 13 x (dw, pw)
    for name, kernel in fp_kernels(h4w):
        assert np.std(kernel.numpy()) == pytest.approx(1e-3, rel=0.15), name
    for name, kernel in fp_kernels(he):
        k, _, _, c_out = kernel.shape
        assert np.std(kernel.numpy()) == pytest.approx(np.sqrt(2.0 / (k * k * c_out)), rel=0.15), name
    binary = [(a.kernel.numpy(), b.kernel.numpy()) for a, b in zip(h4w.submodules, he.submodules)
              if isinstance(a, lq.layers.QuantConv2D)]
    assert (len(binary) == 0) == (method == "fp")
    assert all(np.std(a) == pytest.approx(np.std(b), rel=0.15) for a, b in binary)


def test_keypoint_model_maps_a_flat_heatmap_to_the_crop_centre():
    """A uniform heatmap (zero 1x1 conv) puts soft-argmax at the centre of the 8x6 grid, i.e. pixel
    ((192 - 1) / 2, (256 - 1) / 2): the cell-centre mapping 32 x + 15.5 is right."""
    from bidrn_tf.apps.keypoints import JOINTS, keypoint_model

    model = keypoint_model("fp", input_hw=(256, 192), head_bn=False)
    layer = model.get_layer("heatmaps")
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    xy = model(tf.random.uniform((1, 256, 192, 3), seed=4), training=False).numpy()
    assert xy.shape == (1, len(JOINTS), 2)
    np.testing.assert_allclose(xy[0], np.tile([[95.5, 127.5]], (len(JOINTS), 1)), atol=1e-4)


def test_keypoint_metric_and_control_are_analytic():
    from bidrn_tf.apps.keypoints import in_crop, mean_joint_control, mpjpe_px

    joints = np.array([[[10.0, 10.0], [300.0, 5.0]], [[20.0, 30.0], [50.0, 60.0]]])
    valid = np.array([[1.0, 1.0], [1.0, 0.0]])
    mask = in_crop(joints, valid, (256, 192))
    assert mask.tolist() == [[True, False], [True, False]]  # (300, 5) is outside 192 columns; one invalid
    assert mpjpe_px(joints + [3.0, 4.0], joints, mask) == pytest.approx(5.0)
    data = {"train": (None, np.array([[[0.0, 0.0]], [[10.0, 20.0]]]), np.ones((2, 1))),
            "val": (None, np.array([[[5.0, 10.0]], [[8.0, 14.0]]]), np.ones((2, 1)))}
    assert mean_joint_control(data) == pytest.approx((0.0 + 5.0) / 2)  # mean (5, 10): distances 0 and 5
    with pytest.raises(ValueError, match="no joint"):
        mpjpe_px(joints, joints, np.zeros_like(mask))


def test_keypoint_cli_passes_fp_init_and_keys_runs_by_it(monkeypatch, tmp_path):
    """`benchmarks/keypoints.py --fp-init he` reaches the run; a He run never reuses a saved N(0, 1e-3) run."""
    import bidrn_tf.apps.keypoints as app

    seen = []
    monkeypatch.setattr(app, "run", lambda methods, seeds, **kw: seen.append(kw) or {})
    monkeypatch.setattr(app, "format_table", lambda rows, **kw: seen.append(kw) or "")
    monkeypatch.setattr("bidrn_tf.fileio.write_report", lambda *a, **k: None)
    assert app.main(["--methods", "fp", "--fp-init", "he", "--out", str(tmp_path)]) == 0
    assert seen[0]["fp_init"] == "he" and seen[1]["fp_init"] == "he"
    args = ("bidrn", 0, 24, 1e-3, 384, (128, 96), True)
    assert app._key(*args) == "bidrn/0/24/0.001/384/128x96/head_bn"  # the key of runs saved before fp_init
    assert app._key(*args, "he") != app._key(*args)
    with pytest.raises(SystemExit):
        app.main(["--fp-init", "glorot"])
