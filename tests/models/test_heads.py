"""Hand4Whole's Pose2Pose heads (``bidrn_tf.models.heads``) at sample points with known answers."""
import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy.convert import lce_blockers
from bidrn_tf.models.heads import BOXNET_KINDS, BodyRotationNet, BoxNet, FaceRegressor, HandRotationNet, PositionNet
from bidrn_tf.nn.layers import BinaryConv2DTranspose

IDENTITY_6D = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], np.float32)  # (3, 2) row-major: columns e_x, e_y


def test_position_net_finds_a_planted_peak():
    """Identity 1x1 conv: a large logit at (y=5, x=2, bin 6) of joint 1 -> joint 1 at (2, 5, 6)."""
    joints, depth = 3, 8
    net = PositionNet(num_joints=joints, depth=depth)
    feat = np.zeros((1, 8, 6, joints * depth), np.float32)
    net(feat)
    net.conv.kernel.assign(np.eye(joints * depth, dtype=np.float32)[None, None])
    net.conv.bias.assign(np.zeros(joints * depth, np.float32))
    feat[0, 5, 2, 1 * depth + 6] = 60.0
    xyz, heatmap = net(feat)
    assert xyz.shape == (1, joints, 3) and heatmap.shape == (1, 8, 6, joints * depth)
    np.testing.assert_allclose(xyz[0, 1], [2.0, 5.0, 6.0], atol=1e-4)
    # the other joints see a flat map: the mean position of the grid
    np.testing.assert_allclose(xyz[0, 0], [2.5, 3.5, 3.5], atol=1e-4)


def test_position_net_heatmap_is_the_softmax_over_each_joints_volume():
    """Hand4Whole's PositionNet hands BoxNet the soft-maxed heatmap: per joint it sums to 1 over H x W x D."""
    joints, depth = 3, 4
    net = PositionNet(num_joints=joints, depth=depth)
    _, heatmap = net(tf.random.normal((2, 5, 4, 16), seed=3) * 10.0)
    hm = heatmap.numpy().reshape(2, 5, 4, joints, depth)
    assert (hm > 0).all()
    np.testing.assert_allclose(hm.sum(axis=(1, 2, 4)), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", BOXNET_KINDS)
def test_box_net_shapes_and_layers(kind):
    net = BoxNet(kind=kind)
    centers, sizes = net(tf.random.normal((2, 8, 6, 64)), tf.random.normal((2, 8, 6, 16)), training=False)
    assert centers.shape == (2, 3, 2) and sizes.shape == (2, 3, 2)
    # centres are expectations over the 64x48 upsampled map (8x the feature map)
    assert (centers.numpy() >= 0).all() and (centers.numpy()[..., 0] <= 47).all() and (centers.numpy()[..., 1] <= 63).all()
    quant = [m for m in net.submodules if isinstance(m, lq.layers.QuantConv2D)]
    deconv = [m for m in net.submodules if isinstance(m, tf.keras.layers.Conv2DTranspose)]
    if kind == "fp":  # Hand4Whole: 3 transposed convs 4x4/2, 256 channels
        assert not quant and len(deconv) == 3
        assert all(d.kernel.shape[:3] == (4, 4, 256) and d.strides == (2, 2) for d in deconv)
    else:  # binary 4x4/2 transposed convs or upsample + binary 3x3 conv, each convertible to LceBconv2d
        assert len(quant) == 3 and not deconv and all(not lce_blockers(q) for q in quant)
        assert all(isinstance(q, BinaryConv2DTranspose) == (kind == "binary_deconv") for q in quant)


def test_box_net_size_head_is_linear_as_hand4whole():
    """Linear 256 -> ReLU -> Linear 2 with no output activation: the size follows the last bias exactly."""
    net = BoxNet(kind="fp")
    feat, hm = tf.random.normal((1, 8, 6, 64), seed=5), tf.random.normal((1, 8, 6, 16), seed=6)
    net(feat, hm)
    for fc1, fc2 in net.size_mlps:
        fc2.kernel.assign(tf.zeros_like(fc2.kernel))
        fc2.bias.assign([-3.0, 2.0])
    _, sizes = net(feat, hm)
    np.testing.assert_allclose(sizes.numpy(), [[[-3.0, 2.0]] * 3], atol=1e-6)


@pytest.mark.parametrize("kind", ["fp", "binary_deconv"])
def test_box_net_size_features_are_sampled_at_gradient_stopped_centres(kind):
    """As Hand4Whole: the size loss reaches the size MLPs and the up-sampling blocks, not the centre conv."""
    net = BoxNet(kind=kind)
    feat, hm = tf.random.normal((2, 8, 6, 64), seed=5), tf.random.normal((2, 8, 6, 16), seed=6)
    with tf.GradientTape() as tape:
        _, sizes = net(feat, hm, training=True)
        loss = tf.reduce_sum(sizes)
    grads = dict(zip([v.name for v in net.trainable_variables], tape.gradient(loss, net.trainable_variables)))
    assert all(g is None for n, g in grads.items() if "bbox_center" in n)
    assert any(g is not None for n, g in grads.items() if "size_fc1" in n)


def test_box_net_fp_parameter_count_is_hand4whole():
    """Analytic: 3 deconvs (no bias) + BN gamma/beta, a 1x1 centre conv, three 256-256-2 MLPs."""
    net = BoxNet(kind="fp")
    net(tf.zeros((1, 8, 6, 2048)), tf.zeros((1, 8, 6, 200)))
    expected = ((2048 + 200) * 256 * 16 + 2 * 256 * 256 * 16 + 3 * 2 * 256
                + 256 * 3 + 3 + 3 * (256 * 256 + 256 + 256 * 2 + 2))
    counted = sum(int(np.prod(w.shape)) for w in net.weights if "moving" not in w.name)
    assert counted == expected


def test_body_rotation_net_samples_each_hands_own_features_at_its_mcps():
    """The left-hand token comes from the left-hand feature map at the left MCPs (Hand4Whole's RotationNet)."""
    net = BodyRotationNet()
    body_feat = tf.random.normal((2, 8, 6, 32), seed=1)
    lfeat = tf.Variable(tf.random.normal((2, 8, 8, 16), seed=7))
    rfeat = tf.Variable(tf.random.normal((2, 8, 8, 16), seed=8))
    body = tf.random.uniform((2, 25, 3), maxval=5.0, seed=2)
    lmcp = tf.Variable(tf.random.uniform((2, 4, 3), maxval=7.0, seed=3))
    rmcp = tf.random.uniform((2, 4, 3), maxval=7.0, seed=4)
    with tf.GradientTape(persistent=True) as tape:
        root, pose, betas, cam = net(body_feat, body, lfeat, lmcp, rfeat, rmcp, training=False)
        loss = tf.reduce_sum(pose)
    assert root.shape == (2, 3) and pose.shape == (2, 63) and betas.shape == (2, 10) and cam.shape == (2, 3)
    assert np.abs(tape.gradient(loss, lmcp).numpy()).max() > 0  # the left-hand MCP positions reach the pose
    for feat in (lfeat, rfeat):
        g = tape.gradient(loss, feat).numpy()
        assert np.abs(g).max() > 0  # each hand's own features reach the pose ...
    # ... only at the pixels around its MCPs (bilinear sampling touches at most 4 x 4 pixels per image)
    touched = (np.abs(tape.gradient(loss, lfeat).numpy()).sum(-1) > 0).sum(axis=(1, 2))
    assert (touched <= 16).all()
    with pytest.raises((ValueError, TypeError)):
        net(body_feat, body, lmcp, rmcp, training=False)  # the old 4-argument wiring is gone


def test_hand_rotation_net_shape():
    pose = HandRotationNet()(tf.random.normal((4, 8, 8, 32)), tf.random.uniform((4, 20, 3), maxval=7.0),
                             training=False)
    assert pose.shape == (4, 45) and np.isfinite(pose.numpy()).all()


def test_face_regressor_identity_jaw():
    net = FaceRegressor()
    feat = tf.random.normal((2, 6, 6, 16))
    net(feat)
    net.jaw_out.kernel.assign(tf.zeros_like(net.jaw_out.kernel))
    net.jaw_out.bias.assign(IDENTITY_6D)
    expression, jaw = net(feat)
    assert expression.shape == (2, 10)
    np.testing.assert_allclose(jaw.numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: PositionNet(num_joints=5, depth=4), lambda: BoxNet(kind="binary_deconv", sign="tanh"),
                                  lambda: FaceRegressor(num_expression=7), lambda: BodyRotationNet(num_betas=11)])
def test_get_config_round_trip(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
