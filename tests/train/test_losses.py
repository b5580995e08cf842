"""Training losses: zero for a prediction equal to the targets, known values for known errors."""
import numpy as np
import pytest
import tensorflow as tf
from helpers import make_agora

from bidrn_tf.data import pipeline
from bidrn_tf.data.agora import load_agora
from bidrn_tf.models.config import ModelConfig
from bidrn_tf.ops import geometry
from bidrn_tf.smplx.joints import PARAM_OUTPUTS
from bidrn_tf.train.losses import hand_targets, losses


@pytest.fixture
def batch_and_perfect_outputs(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train")
    joints = pipeline.ground_truth(people, smplx_model_path)["joints"]
    ex = [pipeline.load_example(p, j) for p, j in zip(people, joints)]
    batch = {k: tf.constant(np.stack([e[k] for e in ex])) for k in ex[0]}
    cfg = ModelConfig()
    boxes = []
    for i, (hw, ext) in enumerate([(cfg.hand_hw, 2.0), (cfg.hand_hw, 2.0), (cfg.face_hw, 1.5)]):
        b = batch["boxes"][:, i]
        boxes.append(geometry.box_from_center_size((b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2],
                                                   aspect=hw[1] / hw[0], extension=ext))
    j2d = batch["joints_2d"]
    out = {k: batch[k] for k in PARAM_OUTPUTS}
    out.update(smplx_joints=tf.constant(joints + 1.0),  # any translation: 3D joints are compared root-relative
               joints_proj=j2d, body_joints=tf.concat([j2d[:, :25], tf.ones_like(j2d[:, :25, :1])], -1),
               lhand_joints=tf.pad(hand_targets(j2d, "left"), [[0, 0], [0, 0], [0, 1]]),
               rhand_joints=tf.pad(hand_targets(j2d, "right"), [[0, 0], [0, 0], [0, 1]]),
               lhand_bbox=boxes[0], rhand_bbox=boxes[1], face_bbox=boxes[2])
    return batch, out, cfg


def test_losses_vanish_for_a_perfect_prediction(batch_and_perfect_outputs):
    batch, out, cfg = batch_and_perfect_outputs
    for name, value in losses(out, batch, cfg).items():
        assert float(value) == pytest.approx(0.0, abs=1e-5), name


def test_losses_of_known_errors(batch_and_perfect_outputs):
    batch, out, cfg = batch_and_perfect_outputs
    shifted = dict(out, joints_proj=out["joints_proj"] + tf.constant([64.0, 0.0]),  # one 64-px cell in x
                   betas=out["betas"] + 0.5,
                   rhand_bbox=out["rhand_bbox"] + 128.0)  # the right hand has no box: masked
    res = losses(shifted, batch, cfg)
    assert float(res["joints_proj"]) == pytest.approx(0.5)  # mean over x and y
    assert float(res["shape"]) == pytest.approx(0.5)
    assert float(res["boxes"]) == pytest.approx(0.0, abs=1e-5)
    res = losses(dict(out, face_bbox=out["face_bbox"] + 64.0), batch, cfg)
    assert float(res["boxes"]) == pytest.approx(0.5)  # valid boxes: left hand (error 0) and face (error 1 cell)


@pytest.mark.parametrize("pose_loss", ["axis_angle", "matrix", "geodesic"])
def test_pose_loss_vanishes_for_a_perfect_prediction(batch_and_perfect_outputs, pose_loss):
    batch, out, cfg = batch_and_perfect_outputs
    assert float(losses(out, batch, cfg, pose_loss=pose_loss)["pose"]) == pytest.approx(0.0, abs=1e-5)


def test_matrix_pose_loss_is_continuous_through_a_half_turn(batch_and_perfect_outputs):
    """Roots of (pi - 0.01) about x and of (pi - 0.01) about -x are 0.02 rad apart. The axis-angle L1 sees
    2 (pi - 0.01) on one of the 3 root values; the matrix L1 sees the rotations' tiny difference (2 sin 0.01 on two
    entries). 0.1 rad about z on one body joint costs 2 |sin 0.1| + 2 |1 - cos 0.1| in the matrix L1."""
    batch, out, cfg = batch_and_perfect_outputs
    n = int(batch["root_pose"].shape[0])
    a = np.pi - 0.01
    batch = dict(batch, root_pose=tf.constant([[a, 0.0, 0.0]] * n), param_valid=tf.ones((n,)))
    flipped = dict(out, root_pose=tf.constant([[-a, 0.0, 0.0]] * n))
    part = batch["part_valid"].numpy()  # root and body always count; hands and jaw where fitted
    counted = 3 + 63 + 45 * part[:, 0] + 45 * part[:, 1] + 3 * part[:, 2]
    axis_angle = float(losses(flipped, batch, cfg)["pose"])
    assert axis_angle == pytest.approx(n * 2 * a / counted.sum(), rel=1e-4)
    matrix = float(losses(flipped, batch, cfg, pose_loss="matrix")["pose"])
    assert matrix == pytest.approx(n * 4 * np.sin(a) / (3 * counted).sum(), rel=1e-2)  # 2 entries of 2 sin(a)
    assert matrix < 0.01 * axis_angle
    body = out["body_pose"].numpy().copy()
    body[:, :3] = 0.0
    turned = body.copy()
    turned[:, 2] = 0.1
    exact = dict(out, root_pose=batch["root_pose"], body_pose=tf.constant(body))
    batch = dict(batch, body_pose=tf.constant(body))
    err = float(losses(dict(exact, body_pose=tf.constant(turned)), batch, cfg, pose_loss="matrix")["pose"])
    assert err == pytest.approx(n * 2 * (np.sin(0.1) + 1 - np.cos(0.1)) / (3 * counted).sum(), rel=1e-3)
    with pytest.raises(ValueError, match="pose_loss must be one of"):
        losses(out, batch, cfg, pose_loss="quaternion")


def test_geodesic_pose_loss_is_the_angle_and_has_no_minimum_before_a_half_turn(batch_and_perfect_outputs):
    """A turn t about z of one body joint costs t / (counted joints) in the geodesic loss. Along t the matrix
    L1 of that joint, 2 (1 - cos t) + 2 |sin t|, peaks at 3 pi / 4 and falls to a half turn (a local minimum
    at pi, where twisted limbs stay); the geodesic loss keeps rising."""
    batch, out, cfg = batch_and_perfect_outputs
    n = int(batch["root_pose"].shape[0])
    body = out["body_pose"].numpy().copy()
    body[:, :3] = 0.0
    batch = dict(batch, body_pose=tf.constant(body))
    part = batch["part_valid"].numpy()
    joints = (1 + 21 + 15 * part[:, 0] + 15 * part[:, 1] + part[:, 2]).sum()
    turns = [0.1, 2.0, 3 * np.pi / 4, 2.8, 3.1]
    geodesic, matrix = [], []
    for t in turns:
        turned = body.copy()
        turned[:, 2] = t
        pred = dict(out, body_pose=tf.constant(turned))
        geodesic.append(float(losses(pred, batch, cfg, pose_loss="geodesic")["pose"]))
        matrix.append(float(losses(pred, batch, cfg, pose_loss="matrix")["pose"]))
    np.testing.assert_allclose(geodesic, n * np.array(turns) / joints, rtol=1e-3)  # float32
    assert np.all(np.diff(geodesic) > 0)
    assert matrix[2] > matrix[3] > matrix[4]  # the matrix L1 falls after 3 pi / 4


@pytest.mark.parametrize("pose_loss", ["axis_angle", "matrix", "geodesic"])
def test_root_pose_term_is_the_weighted_root_distance(batch_and_perfect_outputs, pose_loss):
    """``root_pose_weight`` w > 0 adds ``root_pose`` = w x the mean root distance of the persons with
    parameters; 0 adds no term; the ``pose`` term is the same either way."""
    batch, out, cfg = batch_and_perfect_outputs
    n = int(batch["root_pose"].shape[0])
    valid = np.zeros(n, np.float32)
    valid[0] = 1.0
    batch = dict(batch, root_pose=tf.zeros((n, 3)), param_valid=tf.constant(valid))
    pred = dict(out, root_pose=tf.constant([[0.0, 0.0, 0.2]] + [[0.0, 0.0, 1.0]] * (n - 1)))
    per_value = {"axis_angle": 0.2 / 3, "matrix": 2 * (np.sin(0.2) + 1 - np.cos(0.2)) / 9, "geodesic": 0.2}
    without = losses(pred, batch, cfg, pose_loss=pose_loss)
    with_root = losses(pred, batch, cfg, pose_loss=pose_loss, root_pose_weight=2.5)
    assert "root_pose" not in without
    assert float(with_root["root_pose"]) == pytest.approx(2.5 * per_value[pose_loss], rel=1e-4)
    assert float(with_root["pose"]) == pytest.approx(float(without["pose"]))
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="root_pose_weight must be a finite number >= 0"):
            losses(pred, batch, cfg, root_pose_weight=bad)
