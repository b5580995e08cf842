"""Training losses of the whole-body model (SPEC section 2): all L1, weight 1, summed.

``losses(outputs, targets, config, pose_loss=...)`` takes the model's output dict and a batch from
``bidrn_tf.data.pipeline.make_dataset`` and returns ``{name: scalar}``:

=================  ========================================================================================
``pose``           SMPL-X poses (root, body, hands, jaw) - only for persons with parameters: L1 on the
                   axis-angle vectors (``pose_loss="axis_angle"``, Hand4Whole's), on the rotation matrices
                   (``"matrix"``) or the rotation angle between them (``"geodesic"``; see :func:`losses`)
``root_pose``      only with ``root_pose_weight`` > 0: the root rotation alone, same distance, that weight
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
from bidrn_tf.ops.rotations import axis_angle_to_matrix, relative_angle
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


def _masked_mean(d, weight):
    """Mean of ``d`` over the elements whose ``weight`` (broadcast to ``d``) is 1."""
    w = tf.ones_like(d) * weight
    return tf.reduce_sum(d * w) / tf.maximum(tf.reduce_sum(w), 1.0)


def _masked_l1(a, b, weight):
    """Mean |a - b| over the elements whose ``weight`` (broadcast to ``a``) is 1."""
    return _masked_mean(tf.abs(a - b), weight)


POSE_LOSSES = ("axis_angle", "matrix", "geodesic")


def check_pose_loss(pose_loss: str, root_pose_weight: float) -> None:
    """ValueError unless ``pose_loss`` is one of :data:`POSE_LOSSES` and ``root_pose_weight`` a finite number
    >= 0 (the rule :func:`losses` and ``TrainConfig`` share)."""
    if pose_loss not in POSE_LOSSES:
        raise ValueError(f"pose_loss must be one of {POSE_LOSSES}, got {pose_loss!r}")
    w = root_pose_weight
    if isinstance(w, bool) or not (isinstance(w, (int, float)) and np.isfinite(w) and w >= 0):
        raise ValueError(f"root_pose_weight must be a finite number >= 0, got {w!r}")


def pose_distance(pred: tf.Tensor, target: tf.Tensor, pose_loss: str) -> tf.Tensor:
    """(B, 3K), (B, 3K) axis-angle -> the per-value distances the pose loss averages:

    - ``"axis_angle"``: (B, 3K) ``|pred - target|`` on the axis-angle vectors (Hand4Whole);
    - ``"matrix"``: (B, 9K) ``|R_pred - R_target|`` on the rotation matrices' entries;
    - ``"geodesic"``: (B, K) the angle of ``R_pred^T R_target`` in radians (``ops.rotations.relative_angle``).
    """
    if pose_loss == "axis_angle":
        return tf.abs(pred - target)
    k = pred.shape[-1] // 3
    a = axis_angle_to_matrix(tf.reshape(pred, [-1, k, 3]))
    b = axis_angle_to_matrix(tf.reshape(target, [-1, k, 3]))
    if pose_loss == "matrix":
        return tf.reshape(tf.abs(a - b), [-1, 9 * k])
    return relative_angle(a, b)


def losses(outputs: dict, targets: dict, config, pose_loss: str = "axis_angle", root_pose_weight: float = 0.0) -> dict:
    """{name: scalar L1 loss}; see module docstring. ``config`` is the model's ``ModelConfig``.

    ``pose_loss`` (:func:`pose_distance`): ``"axis_angle"`` (Hand4Whole) compares axis-angle vectors. Near a
    half turn two vectors of almost the same rotation differ by up to 2 pi (``(pi - e) n`` and
    ``-(pi - e) n``), and a person upright in camera space (y down) has a root rotation of about pi about x:
    the root targets are then bimodal and the L1-optimal root lies between the modes. ``"matrix"`` compares
    rotation matrices, continuous in the rotation; but for a turn t about a coordinate axis its L1 is
    2 (1 - cos t) + 2 |sin t|, which falls again after 3 pi / 4 (4.83) to 4 at a half turn: a local minimum
    where twisted limbs stay (README "Overfit check"). ``"geodesic"`` is the rotation angle between
    prediction and target, continuous and increasing up to a half turn.

    ``root_pose_weight`` > 0 adds the term ``root_pose``: that weight times the same distance averaged over
    the root rotation alone. In ``pose`` the root is 1 of 55 joints and is left to the joint losses, which
    the hips and spine can satisfy with a wrong root.

    Parts a fit leaves out (``part_valid``: Human3.6M's hands and face, COCO-WholeBody's unfitted parts) are
    masked as in Hand4Whole: a hand's pose, finger joints and hand PositionNet targets; the face's jaw pose
    and expression."""
    unit = config.image_hw[0] / 8.0
    valid = targets["param_valid"]
    part = targets["part_valid"] * valid[:, None]  # (B, 3) left hand, right hand, face
    pose_weight = {"root_pose": valid[:, None], "body_pose": valid[:, None], "lhand_pose": part[:, 0:1],
                   "rhand_pose": part[:, 1:2], "jaw_pose": part[:, 2:3]}
    check_pose_loss(pose_loss, root_pose_weight)
    dist = {k: pose_distance(outputs[k], targets[k], pose_loss) for k in POSE_OUTPUTS}
    out = {
        "pose": _masked_mean(tf.concat([dist[k] for k in POSE_OUTPUTS], -1),
                             tf.concat([pose_weight[k] * tf.ones_like(dist[k]) for k in POSE_OUTPUTS], -1)),
        "shape": _l1(outputs["betas"], targets["betas"], valid),
        "expression": _l1(outputs["expression"], targets["expression"], part[:, 2]),
    }
    if root_pose_weight:
        out["root_pose"] = root_pose_weight * _masked_mean(dist["root_pose"], valid[:, None])
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
