"""Rotation conversions the heads and the SMPL-X layer need (tensorflow-graphics where it has them).

Shapes: ``(..., 3)`` axis-angle (direction = axis, norm = angle in radians), ``(..., 3, 3)`` rotation matrices,
``(..., 6)`` the continuous 6D representation of Zhou et al. (CVPR 2019): the first two *columns* of the
matrix, laid out as Hand4Whole does (reshape to (3, 2)).
"""
from __future__ import annotations

import tensorflow as tf
from tensorflow_graphics.geometry.transformation import axis_angle as tfg_axis_angle
from tensorflow_graphics.geometry.transformation import rotation_matrix_3d

import bidrn_tf  # noqa: F401

_EPS = 1e-8


def axis_angle_to_matrix(aa: tf.Tensor) -> tf.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrix (Rodrigues, via tensorflow-graphics).

    A zero vector maps to the identity: like ``smplx.lbs.batch_rodrigues`` the angle is the norm of
    ``aa + 1e-8``, so the axis is well defined everywhere and gradients stay finite.
    """
    angle = tf.norm(aa + _EPS, axis=-1, keepdims=True)
    axis = aa / angle
    return rotation_matrix_3d.from_axis_angle(axis, angle)


def matrix_to_quaternion(rot: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 4) unit quaternion (x, y, z, w), tensorflow-graphics' layout.

    Shepperd's method: of the four candidate formulas the one with the largest pivot (w, x, y or z) is
    used, so no division by a small number. tensorflow-graphics' ``quaternion.from_rotation_matrix``
    computes the same but through ``tf.linalg.trace`` (MatrixDiagPartV3, not a TF Lite builtin op); this
    one uses element-wise ops only, so the whole model converts to builtin TF Lite / LCE ops.
    """
    r = [tf.unstack(row, axis=-1) for row in tf.unstack(rot, axis=-2)]
    m00, m11, m22 = r[0][0], r[1][1], r[2][2]
    candidates = [  # each: pivot 4 * q_i^2 and the unnormalised (x, y, z, w) = 4 q_i q
        (1 + m00 + m11 + m22, [r[2][1] - r[1][2], r[0][2] - r[2][0], r[1][0] - r[0][1], 1 + m00 + m11 + m22]),
        (1 + m00 - m11 - m22, [1 + m00 - m11 - m22, r[0][1] + r[1][0], r[0][2] + r[2][0], r[2][1] - r[1][2]]),
        (1 - m00 + m11 - m22, [r[0][1] + r[1][0], 1 - m00 + m11 - m22, r[1][2] + r[2][1], r[0][2] - r[2][0]]),
        (1 - m00 - m11 + m22, [r[0][2] + r[2][0], r[1][2] + r[2][1], 1 - m00 - m11 + m22, r[1][0] - r[0][1]]),
    ]
    pivots = tf.stack([c[0] for c in candidates], -1)  # (..., 4)
    best = tf.argmax(pivots, axis=-1)
    quats = tf.stack([tf.stack(c[1], -1) for c in candidates], -2)  # (..., 4 candidates, 4)
    q = tf.reduce_sum(quats * tf.expand_dims(tf.one_hot(best, 4, dtype=rot.dtype), -1), -2)
    pivot = tf.reduce_max(pivots, -1, keepdims=True)
    return q / (2.0 * tf.sqrt(tf.maximum(pivot, _EPS)))


def matrix_to_axis_angle(rot: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 3) axis-angle with angle in [0, pi].

    Via :func:`matrix_to_quaternion` and tensorflow-graphics' ``axis_angle.from_quaternion``.
    """
    axis, angle = tfg_axis_angle.from_quaternion(matrix_to_quaternion(rot))
    return axis * angle


def _cross(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """(..., 3) x (..., 3) -> (..., 3), written out (``tf.linalg.cross`` is not a TF Lite builtin op)."""
    ax, ay, az = tf.unstack(a, axis=-1)
    bx, by, bz = tf.unstack(b, axis=-1)
    return tf.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], -1)


def rot6d_to_matrix(x: tf.Tensor) -> tf.Tensor:
    """(..., 6) -> (..., 3, 3): Gram-Schmidt on the two 3-vectors, third column = cross product."""
    m = tf.reshape(x, tf.concat([tf.shape(x)[:-1], [3, 2]], 0))
    a1, a2 = m[..., 0], m[..., 1]
    b1 = tf.math.l2_normalize(a1, axis=-1, epsilon=1e-12)
    b2 = tf.math.l2_normalize(a2 - tf.reduce_sum(b1 * a2, -1, keepdims=True) * b1, axis=-1, epsilon=1e-12)
    b3 = _cross(b1, b2)
    return tf.stack([b1, b2, b3], axis=-1)


def rot6d_to_axis_angle(x: tf.Tensor) -> tf.Tensor:
    """(..., 6) -> (..., 3) axis-angle."""
    return matrix_to_axis_angle(rot6d_to_matrix(x))


def matrix_to_rot6d(rot: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, (3, 2) flattened row-major (inverse of the above)."""
    return tf.reshape(rot[..., :, :2], tf.concat([tf.shape(rot)[:-2], [6]], 0))


def relative_angle(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """(..., 3, 3), (..., 3, 3) -> (...,): the angle in [0, pi] of the rotation taking ``a`` to ``b`` (the
    geodesic distance on SO(3)).

    With ``r = a^T b``: cos = (trace(r) - 1) / 2 and sin = |vee(r - r^T)| / 2, and the angle is their
    ``atan2`` - accurate near 0 and near pi, where ``acos`` of the trace loses digits and has an infinite
    derivative at 0. The norm is ``sqrt(|vee|^2 + 1e-12)``, so the gradient is finite (and 0) when ``a == b``
    and the angle there is 5e-7 rad.
    """
    r = tf.linalg.matmul(a, b, transpose_a=True)
    cos = (r[..., 0, 0] + r[..., 1, 1] + r[..., 2, 2] - 1.0) / 2.0
    vee = tf.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0], r[..., 1, 0] - r[..., 0, 1]], -1)
    sin = tf.sqrt(tf.reduce_sum(tf.square(vee), -1) + 1e-12) / 2.0
    return tf.atan2(sin, cos)
