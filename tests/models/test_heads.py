"""Hand4Whole's Pose2Pose heads (``bidrn_tf.models.heads``) at sample points with known answers."""
import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy.convert import lce_blockers
from bidrn_tf.models.heads import BodyRotationNet, BoxNet, FaceRegressor, HandRotationNet, PositionNet

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


@pytest.mark.parametrize("binary", [False, True])
def test_box_net_shapes_and_layers(binary):
    net = BoxNet(binary=binary)
    centers, sizes = net(tf.random.normal((2, 8, 6, 64)), tf.random.normal((2, 8, 6, 16)), training=False)
    assert centers.shape == (2, 3, 2) and sizes.shape == (2, 3, 2)
    assert (sizes.numpy() > 0).all()  # softplus
    # centres are expectations over the 64x48 upsampled map (8x the feature map)
    assert (centers.numpy() >= 0).all() and (centers.numpy()[..., 0] <= 47).all() and (centers.numpy()[..., 1] <= 63).all()
    quant = [m for m in net.submodules if isinstance(m, lq.layers.QuantConv2D)]
    deconv = [m for m in net.submodules if isinstance(m, tf.keras.layers.Conv2DTranspose)]
    if binary:  # upsample + binary 3x3 conv, each convertible to LceBconv2d
        assert len(quant) == 3 and not deconv and all(not lce_blockers(q) for q in quant)
    else:  # Hand4Whole: 3 transposed convs 4x4/2, 256 channels
        assert not quant and len(deconv) == 3
        assert all(d.kernel.shape[:3] == (4, 4, 256) and d.strides == (2, 2) for d in deconv)


def test_box_net_fp_parameter_count_is_hand4whole():
    """Analytic: 3 deconvs (no bias) + BN gamma/beta, a 1x1 centre conv, three 256-256-2 MLPs."""
    net = BoxNet(binary=False)
    net(tf.zeros((1, 8, 6, 2048)), tf.zeros((1, 8, 6, 200)))
    expected = ((2048 + 200) * 256 * 16 + 2 * 256 * 256 * 16 + 3 * 2 * 256
                + 256 * 3 + 3 + 3 * (256 * 256 + 256 + 256 * 2 + 2))
    counted = sum(int(np.prod(w.shape)) for w in net.weights if "moving" not in w.name)
    assert counted == expected


def test_body_rotation_net_uses_hand_mcp_features():
    net = BodyRotationNet()
    feat = tf.random.normal((2, 8, 6, 32), seed=1)
    body = tf.random.uniform((2, 25, 3), maxval=5.0, seed=2)
    lmcp = tf.Variable(tf.random.uniform((2, 4, 3), maxval=5.0, seed=3))
    rmcp = tf.random.uniform((2, 4, 3), maxval=5.0, seed=4)
    with tf.GradientTape() as tape:
        root, pose, betas, cam = net(feat, body, lmcp, rmcp, training=False)
        loss = tf.reduce_sum(pose)
    assert root.shape == (2, 3) and pose.shape == (2, 63) and betas.shape == (2, 10) and cam.shape == (2, 3)
    assert np.abs(tape.gradient(loss, lmcp).numpy()).max() > 0  # the left-hand MCP samples reach the pose


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


@pytest.mark.parametrize("make", [lambda: PositionNet(num_joints=5, depth=4), lambda: BoxNet(binary=True, sign="tanh"),
                                  lambda: FaceRegressor(num_expression=7), lambda: BodyRotationNet(num_betas=11)])
def test_get_config_round_trip(make):
    layer = make()
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
