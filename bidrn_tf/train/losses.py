"""Training losses of the whole-body model (SPEC section 2): all L1, weight 1, summed.

``losses(outputs, targets, config, pose_loss=...)`` takes the model's output dict and a batch from
``bidrn_tf.data.pipeline.make_dataset`` and returns ``{name: scalar}``:

=================  ========================================================================================
``pose``           SMPL-X poses (root, body, hands, jaw) - only for persons with parameters: L1 on the
                   axis-angle vectors (``pose_loss="axis_angle"``, Hand4Whole's) or on the rotation matrices
                   (``"matrix"``; see :func:`losses`)
``shape``          betas;  ``expression``: expression coefficients
``joints_3d``      SMPL-X joints of the prediction, each relative to its group root (body: pelvis, hands:
                   wrists, face: neck), against the same of the ground truth (metres)
``joints_proj``    projected SMPL-X joints against the ground-truth 2D joints
``body_position``  PositionNet body joints (x, y) against the 2D joints 0..24 (22 body + jaw + eyes)
``hand_position``  hand PositionNet joints (x, y) against the 20 hand targets (``pipeline.hand_joints_2d``)
``boxes``          hand and face boxes (x1 y1 x2 y2, after the model's widening, applied to the ground truth
                   boxes alike), masked where a box is not annotated
=================  ========================================================================================

2D terms are measured in body-heatmap cells (input height / 8 = 64 px at 512x384), as Hand4Whole computes
them on its 8x6 output grid. The depth (z) of the PositionNet joints is not supervised (it needs
per-joint depth targets in heatmap bins; a documented simplification).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.ops import geometry
from bidrn_tf.ops.rotations import axis_angle_to_matrix
from bidrn_tf.smplx.joints import BODY_POSITION_JOINTS, GROUP_ROOT, HAND_CHAINS, POSE_OUTPUTS


def _l1(a, b, weight=None):
    d = tf.abs(a - b)
    if weight is None:
        return tf.reduce_mean(d)
    w = tf.reshape(weight, [-1] + [1] * (len(d.shape) - 1)) * tf.ones_like(d)
    return tf.reduce_sum(d * w) / tf.maximum(tf.reduce_sum(w), 1.0)


def hand_targets(joints_2d: tf.Tensor, side: str) -> tf.Tensor:
    """(B, 55, 2) -> (B, 20, 2): per finger 3 SMPL-X joints and a tip extrapolated from the last two."""
    chains = np.array(HAND_CHAINS[side])  # (5, 3)
    j = tf.gather(joints_2d, chains.reshape(-1), axis=1)
    j = tf.reshape(j, [-1, 5, 3, 2])
    tip = j[:, :, 2] + (j[:, :, 2] - j[:, :, 1])
    return tf.reshape(tf.concat([j, tip[:, :, None]], 2), [-1, 20, 2])


def _model_boxes(boxes: tf.Tensor, config) -> tf.Tensor:
    """Ground-truth (B, 3, 4) boxes widened as the model widens its own (aspect and extension)."""
    out = []
    for i, (hw, ext) in enumerate([(config.hand_hw, config.hand_box_extension),
                                   (config.hand_hw, config.hand_box_extension),
                                   (config.face_hw, config.face_box_extension)]):
        b = boxes[:, i]
        center, size = (b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]
        out.append(geometry.box_from_center_size(center, size, aspect=hw[1] / hw[0], extension=ext))
    return tf.stack(out, 1)


def _masked_l1(a, b, weight):
    """Mean |a - b| over the elements whose ``weight`` (broadcast to ``a``) is 1."""
    w = tf.ones_like(a) * weight
    return tf.reduce_sum(tf.abs(a - b) * w) / tf.maximum(tf.reduce_sum(w), 1.0)


POSE_LOSSES = ("axis_angle", "matrix")


def _as_pose_loss_values(pose: tf.Tensor, pose_loss: str) -> tf.Tensor:
    """(B, 3K) axis-angle -> what the pose loss compares: the same, or the K rotation matrices (B, 9K)."""
    if pose_loss == "axis_angle":
        return pose
    return tf.reshape(axis_angle_to_matrix(tf.reshape(pose, [-1, pose.shape[-1] // 3, 3])), [-1, 3 * pose.shape[-1]])


def losses(outputs: dict, targets: dict, config, pose_loss: str = "axis_angle") -> dict:
    """{name: scalar L1 loss}; see module docstring. ``config`` is the model's ``ModelConfig``.

    ``pose_loss``: ``"axis_angle"`` (Hand4Whole) compares axis-angle vectors. Near a half turn two vectors of
    almost the same rotation differ by up to 2 pi (``(pi - e) n`` and ``-(pi - e) n``), and a person upright
    in camera space (y down) has a root rotation of about pi about x: the root targets are then bimodal and
    the L1-optimal root lies between the modes. ``"matrix"`` compares rotation matrices, continuous in the
    rotation (README "Comparison settings").

    Parts a fit leaves out (``part_valid``: Human3.6M's hands and face, COCO-WholeBody's unfitted parts) are
    masked as in Hand4Whole: a hand's pose, finger joints and hand PositionNet targets; the face's jaw pose
    and expression."""
    unit = config.image_hw[0] / 8.0
    valid = targets["param_valid"]
    part = targets["part_valid"] * valid[:, None]  # (B, 3) left hand, right hand, face
    pose_weight = {"root_pose": valid[:, None], "body_pose": valid[:, None], "lhand_pose": part[:, 0:1],
                   "rhand_pose": part[:, 1:2], "jaw_pose": part[:, 2:3]}
    if pose_loss not in POSE_LOSSES:
        raise ValueError(f"pose_loss must be one of {POSE_LOSSES}, got {pose_loss!r}")
    values = {k: (_as_pose_loss_values(outputs[k], pose_loss), _as_pose_loss_values(targets[k], pose_loss))
              for k in POSE_OUTPUTS}
    out = {
        "pose": _masked_l1(tf.concat([values[k][0] for k in POSE_OUTPUTS], -1),
                           tf.concat([values[k][1] for k in POSE_OUTPUTS], -1),
                           tf.concat([pose_weight[k] * tf.ones_like(values[k][1]) for k in POSE_OUTPUTS], -1)),
        "shape": _l1(outputs["betas"], targets["betas"], valid),
        "expression": _l1(outputs["expression"], targets["expression"], part[:, 2]),
    }
    j = outputs["smplx_joints"]
    joint_w = targets["joint_valid"][..., None]
    out["joints_3d"] = _masked_l1(j - tf.gather(j, GROUP_ROOT, axis=1), targets["joints_3d"], joint_w)
    j2d = targets["joints_2d"]
    out["joints_proj"] = _masked_l1(outputs["joints_proj"] / unit, j2d / unit, joint_w)
    out["body_position"] = _l1(outputs["body_joints"][..., :2] / unit,
                               tf.gather(j2d, BODY_POSITION_JOINTS, axis=1) / unit)
    out["hand_position"] = (_l1(outputs["lhand_joints"][..., :2] / unit, hand_targets(j2d, "left") / unit,
                                targets["part_valid"][:, 0])
                            + _l1(outputs["rhand_joints"][..., :2] / unit, hand_targets(j2d, "right") / unit,
                                  targets["part_valid"][:, 1])) / 2
    pred_boxes = tf.stack([outputs["lhand_bbox"], outputs["rhand_bbox"], outputs["face_bbox"]], 1)
    box_w = targets["box_valid"]
    d = tf.abs(pred_boxes - _model_boxes(targets["boxes"], config)) / unit
    out["boxes"] = tf.reduce_sum(d * box_w[..., None]) / tf.maximum(4.0 * tf.reduce_sum(box_w), 1.0)
    return out
