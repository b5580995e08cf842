"""Rotation conversions the heads and the SMPL-X layer need (tensorflow-graphics where it has them).

Shapes: ``(..., 3)`` axis-angle (direction = axis, norm = angle in radians), ``(..., 3, 3)`` rotation matrices,
``(..., 6)`` the continuous 6D representation of Zhou et al. (CVPR 2019): the first two *columns* of the
matrix, laid out as Hand4Whole does (reshape to (3, 2)).
"""
from __future__ import annotations

import bidrn_tf  # noqa: F401
import tensorflow as tf
from tensorflow_graphics.geometry.transformation import axis_angle as tfg_axis_angle
from tensorflow_graphics.geometry.transformation import rotation_matrix_3d

_EPS = 1e-8


def axis_angle_to_matrix(aa: tf.Tensor) -> tf.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrix (Rodrigues, via tensorflow-graphics).

    A zero vector maps to the identity: like ``smplx.lbs.batch_rodrigues`` the angle is the norm of
    ``aa + 1e-8``, so the axis is well defined everywhere and gradients stay finite.
    """
    angle = tf.norm(aa + _EPS, axis=-1, keepdims=True)
    axis = aa / angle
    return rotation_matrix_3d.from_axis_angle(axis, angle)


def matrix_to_axis_angle(rot: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 3) axis-angle with angle in [0, pi] (tensorflow-graphics)."""
    axis, angle = tfg_axis_angle.from_rotation_matrix(rot)
    return axis * angle


def rot6d_to_matrix(x: tf.Tensor) -> tf.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt on the two 3-vectors, third column = cross product."""
    m = tf.reshape(x, tf.concat([tf.shape(x)[:-1], [3, 2]], 0))
    a1, a2 = m[..., 0], m[..., 1]
    b1 = tf.math.l2_normalize(a1, axis=-1, epsilon=1e-12)
    b2 = tf.math.l2_normalize(a2 - tf.reduce_sum(b1 * a2, -1, keepdims=True) * b1, axis=-1, epsilon=1e-12)
    b3 = tf.linalg.cross(b1, b2)
    return tf.stack([b1, b2, b3], axis=-1)


def rot6d_to_axis_angle(x: tf.Tensor) -> tf.Tensor:
    """(..., 6) -> (..., 3) axis-angle."""
    return matrix_to_axis_angle(rot6d_to_matrix(x))


def matrix_to_rot6d(rot: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, (3, 2) flattened row-major (inverse of the above)."""
    return tf.reshape(rot[..., :, :2], tf.concat([tf.shape(rot)[:-2], [6]], 0))
