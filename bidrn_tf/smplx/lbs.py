"""SMPL-X linear blend skinning as small pure functions (seed appendix A, eqs. 2-7).

B = batch, V = vertices (10,475), J = joints (55), K = blend coefficients. All float32.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.ops.rotations import axis_angle_to_matrix


def blend_shapes(coeffs: tf.Tensor, dirs: tf.Tensor) -> tf.Tensor:
    """Shape / expression blend shapes B_S, B_E (eqs. 2, 4).

    coeffs (B, K), dirs (V, 3, K) -> displacements (B, V, 3).
    """
    return tf.einsum("bk,vck->bvc", coeffs, dirs)


def pose_blend_shapes(rot_mats: tf.Tensor, posedirs: tf.Tensor) -> tf.Tensor:
    """Pose blend shapes B_P (eq. 3): (R(theta) - R(theta*)) of every non-root joint, flattened, times P.

    rot_mats (B, J, 3, 3), posedirs (9 (J - 1), V * 3) -> displacements (B, V, 3).
    """
    batch = tf.shape(rot_mats)[0]
    identity = tf.constant([[1, 0, 0], [0, 1, 0], [0, 0, 1]], rot_mats.dtype)  # a constant, not tf.eye's MatrixDiag
    feature = tf.reshape(rot_mats[:, 1:] - identity, [batch, -1])
    return tf.reshape(tf.matmul(feature, posedirs), [batch, -1, 3])


def vertices2joints(regressor: tf.Tensor, vertices: tf.Tensor) -> tf.Tensor:
    """Joint regression J(beta) = J_reg T (eq. 6). regressor (J, V), vertices (B, V, 3) -> (B, J, 3)."""
    return tf.einsum("jv,bvc->bjc", regressor, vertices)


def rigid_transforms(rot_mats: tf.Tensor, joints: tf.Tensor, parents: list[int]):
    """Forward kinematics along the kinematic tree.

    rot_mats (B, J, 3, 3) relative rotations, joints (B, J, 3) rest joints, parents: J ints (root -1).
    Returns posed joints (B, J, 3) and the transforms (B, J, 3, 4) that move a rest-pose point attached to
    each joint to its posed place (already relative to the rest joint, ready for skinning).
    """
    rel = tf.concat([joints[:, :1], joints[:, 1:] - tf.gather(joints, parents[1:], axis=1)], axis=1)
    local = tf.concat([rot_mats, rel[..., None]], axis=-1)  # (B, J, 3, 4)
    bottom = tf.broadcast_to(tf.constant([0.0, 0.0, 0.0, 1.0]), tf.concat([tf.shape(local)[:2], [1, 4]], 0))
    local = tf.concat([local, bottom], axis=-2)  # (B, J, 4, 4)
    chain = [local[:, 0]]
    for j in range(1, len(parents)):
        chain.append(tf.matmul(chain[parents[j]], local[:, j]))
    world = tf.stack(chain, axis=1)  # (B, J, 4, 4)
    posed_joints = world[:, :, :3, 3]
    # subtract the rotated rest joint so the transform applies to rest-pose coordinates
    offset = tf.einsum("bjrc,bjc->bjr", world[:, :, :3, :3], joints)
    rel_transforms = tf.concat([world[:, :, :3, :3], (posed_joints - offset)[..., None]], axis=-1)
    return posed_joints, rel_transforms


def skin(vertices: tf.Tensor, weights: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
    """Linear blend skinning W(.) (eq. 7).

    vertices (B, V, 3) rest-pose with blend shapes, weights (V, J), transforms (B, J, 3, 4) -> (B, V, 3).
    The blend of transforms is one (V, J) x (J, B * 12) GEMM rather than B small ones (about 1.6x faster on
    the CPU at B = 64).
    """
    batch, num_joints = tf.shape(transforms)[0], transforms.shape[1]
    flat = tf.reshape(tf.transpose(tf.reshape(transforms, [batch, num_joints, 12]), [1, 0, 2]), [num_joints, -1])
    per_vertex = tf.transpose(tf.reshape(tf.matmul(weights, flat), [weights.shape[0], batch, 3, 4]), [1, 0, 2, 3])
    # multiply + sum, not a per-vertex matmul: LCE's converter unfolds a batched matmul into one
    # FULLY_CONNECTED op per vertex (10,475 of them)
    return tf.reduce_sum(per_vertex[..., :3] * vertices[:, :, None, :], -1) + per_vertex[..., 3]


def vertices2landmarks(vertices: tf.Tensor, faces: tf.Tensor, face_idx: tf.Tensor, bary: tf.Tensor) -> tf.Tensor:
    """Barycentric landmarks. vertices (B, V, 3), faces (F, 3), face_idx (L,), bary (L, 3) -> (B, L, 3)."""
    tri = tf.gather(faces, face_idx)  # (L, 3)
    corners = tf.gather(vertices, tri, axis=1)  # (B, L, 3, 3)
    return tf.einsum("blkc,lk->blc", corners, bary)


def lbs(shape_coeffs, full_pose, v_template, shapedirs, posedirs, j_template, j_shapedirs, parents, weights):
    """The whole SMPL-X map M(beta, theta, psi) (eq. 7).

    shape_coeffs (B, K) = [betas, expression], full_pose (B, J, 3) axis-angle, v_template (V, 3),
    shapedirs (V, 3, K), posedirs (9 (J - 1), V * 3), j_template (J, 3) = J_reg v_template,
    j_shapedirs (J, 3, K) = J_reg shapedirs (joint regression folded through the linear blend shapes, which
    is exact and avoids regressing from all V vertices), parents (J,), weights (V, J).
    Returns vertices (B, V, 3) and joints (B, J, 3).
    """
    v_shaped = v_template + blend_shapes(shape_coeffs, shapedirs)
    joints = j_template + blend_shapes(shape_coeffs, j_shapedirs)
    rot_mats = axis_angle_to_matrix(full_pose)
    v_posed = v_shaped + pose_blend_shapes(rot_mats, posedirs)
    posed_joints, transforms = rigid_transforms(rot_mats, joints, parents)
    return skin(v_posed, weights, transforms), posed_joints
