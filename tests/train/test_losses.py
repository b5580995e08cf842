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
