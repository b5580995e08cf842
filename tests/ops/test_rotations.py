import numpy as np
import tensorflow as tf
from scipy.spatial.transform import Rotation

from bidrn_tf.ops import rotations


def test_axis_angle_to_matrix_matches_scipy(rng):
    aa = rng.normal(size=(64, 3)) * rng.uniform(0, np.pi, size=(64, 1)) / 2
    aa[0] = 0.0
    aa[1] = [np.pi, 0, 0]
    ours = rotations.axis_angle_to_matrix(tf.constant(aa, tf.float32)).numpy()
    np.testing.assert_allclose(ours, Rotation.from_rotvec(aa).as_matrix(), atol=2e-6)


def test_matrix_to_axis_angle_round_trip(rng):
    aa = Rotation.random(64, random_state=1).as_rotvec()
    aa = aa[np.linalg.norm(aa, axis=-1) < np.pi - 1e-2]
    back = rotations.matrix_to_axis_angle(tf.constant(Rotation.from_rotvec(aa).as_matrix(), tf.float32)).numpy()
    np.testing.assert_allclose(back, aa, atol=1e-4)


def _gram_schmidt_numpy(x):
    m = x.reshape(-1, 3, 2)
    a1, a2 = m[..., 0], m[..., 1]
    b1 = a1 / np.linalg.norm(a1, axis=-1, keepdims=True)
    b2 = a2 - (b1 * a2).sum(-1, keepdims=True) * b1
    b2 /= np.linalg.norm(b2, axis=-1, keepdims=True)
    return np.stack([b1, b2, np.cross(b1, b2)], -1)


def test_rot6d_to_matrix_and_axis_angle(rng):
    x = rng.normal(size=(32, 6))
    mats = rotations.rot6d_to_matrix(tf.constant(x, tf.float32)).numpy()
    expected = _gram_schmidt_numpy(x)
    np.testing.assert_allclose(mats, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.det(mats), 1.0, atol=1e-5)
    aa = rotations.rot6d_to_axis_angle(tf.constant(x, tf.float32)).numpy()
    np.testing.assert_allclose(Rotation.from_rotvec(aa).as_matrix(), expected, atol=1e-4)


def test_rot6d_inverse(rng):
    mats = Rotation.random(8, random_state=2).as_matrix().astype(np.float32)
    six = rotations.matrix_to_rot6d(tf.constant(mats))
    np.testing.assert_allclose(rotations.rot6d_to_matrix(six).numpy(), mats, atol=1e-5)


def test_matrix_to_quaternion_matches_tensorflow_graphics_near_every_pivot(rng):
    from tensorflow_graphics.geometry.transformation import quaternion as tfg_quaternion

    aa = rng.normal(size=(400, 3))
    aa[:100] *= (np.pi - 1e-3) / np.linalg.norm(aa[:100], axis=-1, keepdims=True)  # angle near pi: x/y/z pivots
    aa[100:150] *= 1e-5  # near identity: w pivot
    mats = tf.constant(Rotation.from_rotvec(aa).as_matrix(), tf.float32)
    ours = rotations.matrix_to_quaternion(mats).numpy()
    ref = tfg_quaternion.from_rotation_matrix(mats).numpy()
    sign = np.sign(np.sum(ours * ref, -1, keepdims=True))  # q and -q are the same rotation
    np.testing.assert_allclose(ours, sign * ref, atol=1e-5)
    back = rotations.axis_angle_to_matrix(rotations.matrix_to_axis_angle(mats)).numpy()
    np.testing.assert_allclose(back, mats.numpy(), atol=1e-5)


def test_rotation_heads_convert_to_builtin_tflite_ops():
    from bidrn_tf.deploy import flatbuffer
    from bidrn_tf.deploy.convert import convert

    x = tf.keras.Input((4, 6))
    model = tf.keras.Model(x, tf.keras.layers.Lambda(rotations.rot6d_to_axis_angle)(x))
    census = flatbuffer.op_census(convert(model, binary=False))
    assert "FlexCross" not in census and not any(name.startswith("Flex") for name in census), census
    sample = np.random.default_rng(0).normal(size=(1, 4, 6)).astype(np.float32)
    tfl = next(iter(flatbuffer.run(convert(model, binary=False), sample).values()))
    np.testing.assert_allclose(tfl, model(sample).numpy(), atol=1e-5)


def test_relative_angle_is_the_angle_of_the_relative_rotation(rng):
    """Against scipy's magnitude of a^-1 b on random pairs, and at the points where acos of the trace is
    imprecise: tiny angles and almost a half turn."""
    from scipy.spatial.transform import Rotation

    from bidrn_tf.ops.rotations import relative_angle

    a, b = Rotation.random(64, random_state=1), Rotation.random(64, random_state=2)
    want = (a.inv() * b).magnitude()
    got = relative_angle(tf.constant(a.as_matrix()), tf.constant(b.as_matrix())).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    for t in (1e-4, 0.3, 3.0, np.pi - 1e-4):
        turned = Rotation.from_rotvec([0.0, 0.0, t]) * a[:1]
        got = relative_angle(tf.constant(a[:1].as_matrix()), tf.constant(turned.as_matrix())).numpy()
        np.testing.assert_allclose(got, [t], rtol=1e-6, atol=1e-8)  # 1e-12 under the root: 1.3e-9 at 1e-4


def test_relative_angle_has_a_finite_zero_gradient_at_equal_rotations():
    from bidrn_tf.ops.rotations import relative_angle, rot6d_to_matrix

    x = tf.Variable([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])  # the identity in 6D
    with tf.GradientTape() as tape:
        angle = relative_angle(rot6d_to_matrix(x), tf.eye(3)[None])
    grad = tape.gradient(angle, x).numpy()
    assert float(angle[0]) < 1e-6
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() < 1e-6
