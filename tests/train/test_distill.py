"""Feature distillation from a trained whole-body model (``train.distill``, ``TrainConfig.teacher``)."""
import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.data.synthetic import generate
from bidrn_tf.models.config import PRESETS
from bidrn_tf.train import distill


def test_standardize_per_channel_centres_and_scales_each_channel(rng):
    x = rng.normal(size=(4, 2, 3, 5)) * np.array([1.0, 3.0, 0.5, 10.0, 2.0]) + np.array([0.0, -4.0, 7.0, 1.0, 3.0])
    z = distill.standardize_per_channel(tf.constant(x, tf.float32), epsilon=1e-3).numpy()
    var = x.reshape(-1, 5).var(0)
    np.testing.assert_allclose(z.reshape(-1, 5).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.reshape(-1, 5).var(0), var / (var + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(z, (x - x.reshape(-1, 5).mean(0)) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)


def test_hint_loss_is_the_error_to_the_standardized_teacher_and_leaves_the_teacher_alone(rng):
    teacher = tf.constant(rng.normal(size=(3, 2, 2, 4)) * 5 + 2, tf.float32)
    target = distill.standardize_per_channel(teacher)
    assert float(distill.hint_loss(target, teacher)) == pytest.approx(0.0, abs=1e-10)
    hinted = tf.constant(rng.normal(size=(3, 2, 2, 4)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([hinted, teacher])
        loss = distill.hint_loss(hinted, teacher)
    assert float(loss) == pytest.approx(float(np.mean((hinted.numpy() - target.numpy()) ** 2)), rel=1e-5)
    assert tape.gradient(loss, teacher) is None
    np.testing.assert_allclose(tape.gradient(loss, hinted), 2 * (hinted - target) / hinted.numpy().size, rtol=1e-4)


def test_distillation_moves_the_students_body_backbone_toward_the_teacher(smplx_model_path):
    """The distillation term alone, on one batch: its gradient reaches the student's body backbone (not the
    heads), and a few Adam steps on it bring the hinted features much closer to the teacher's."""
    from bidrn_tf.models.whole_body import build_model

    cfg = PRESETS["tiny"]
    tf.keras.utils.set_random_seed(0)
    student = build_model(method="bnn", smplx_model=None, config=cfg, include_smplx=False, include_features=True)
    teacher = build_model(method="fp", smplx_model=None, config=cfg, include_smplx=False)
    images = tf.random.uniform((4, *cfg.image_hw, 3), seed=1)
    target = teacher.get_layer("whole_body").body_features(images, training=False)
    hint = distill.hint_layer(target.shape[-1])
    body = student.get_layer("whole_body").body_backbone.trainable_variables
    heads = student.get_layer("whole_body").face_regressor.trainable_variables
    optimizer = tf.keras.optimizers.Adam(1e-2)

    def step():
        with tf.GradientTape() as tape:
            loss = distill.hint_loss(hint(student(images, training=True)[distill.FEATURES]), target)
        variables = body + hint.trainable_variables
        grads = tape.gradient(loss, variables + heads)
        optimizer.apply_gradients(zip(grads[:len(variables)], variables))
        return float(loss), grads

    first, grads = step()
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads[:len(body)])  # reaches the backbone
    assert all(g is None for g in grads[-len(heads):])  # and nothing else
    for _ in range(30):
        last, _ = step()
    assert last < 0.5 * first, (first, last)


# The tests that read the trained teacher run on one xdist worker, so it is trained once per suite, not once per worker.
SHARES_TEACHER = pytest.mark.xdist_group("distill_teacher")


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, smplx_model_path):
    from bidrn_tf.train.loop import TrainConfig, train

    root = tmp_path_factory.mktemp("distill")
    data = generate(str(root / "syn"), smplx_model=smplx_model_path, num_train=4, num_val=2, seed=1, progress=False)
    out = str(root / "teacher")
    train(TrainConfig(method="fp", dataset="synthetic", data_dir=data, smplx_model=smplx_model_path, out=out,
                      preset="tiny", steps=1, batch_size=2, progress=False))
    return data, os.path.join(out, "final", "weights")


@SHARES_TEACHER
def test_a_distilled_run_trains_resumes_and_exports_a_plain_model(teacher_run, smplx_model_path, tmp_path):
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.train.loop import TrainConfig, TrainingError, train

    data, teacher = teacher_run
    out = str(tmp_path / "student")
    cfg = TrainConfig(method="bnn", dataset="synthetic", data_dir=data, smplx_model=smplx_model_path, out=out,
                      preset="tiny", steps=2, batch_size=2, checkpoint_every=1, log_every=1, progress=False,
                      teacher=teacher, distill_weight=2.0)
    summary = train(cfg)
    assert summary["last_losses"]["distill"] > 0
    run = json.load(open(os.path.join(out, "run.json")))
    assert run["teacher"] == os.path.abspath(teacher) and run["distill_weight"] == 2.0
    names = [n for n, _ in tf.train.list_variables(tf.train.latest_checkpoint(os.path.join(out, "checkpoints")))]
    assert any(n.startswith("distill_hint/") for n in names)
    model = load_trained(os.path.join(out, "final", "weights"))  # strict: the hint is not exported
    assert "body_features" not in model.output

    with pytest.raises(TrainingError, match="distill_weight 2.0, not 0.0"):
        train(dataclasses.replace(cfg, teacher=None, distill_weight=0.0, resume=True))
    moved = tmp_path / "other_teacher"
    shutil.copytree(os.path.dirname(teacher), moved)
    with pytest.raises(TrainingError, match="was trained with teacher"):
        train(dataclasses.replace(cfg, teacher=str(moved / "weights"), resume=True))
    resumed = train(dataclasses.replace(cfg, steps=3, resume=True))  # the hint is restored with the model
    assert resumed["steps"] == 3 and resumed["last_losses"]["distill"] > 0


@SHARES_TEACHER
@pytest.mark.parametrize("change, message", [
    ({"distill_weight": 0.0}, "needs both a teacher and distill_weight > 0"),
    ({"teacher": None}, "needs both a teacher and distill_weight > 0"),
    ({"distill_weight": -1.0}, "distill_weight must be a finite number >= 0"),
    ({"model_config": dataclasses.replace(PRESETS["tiny"], body_hw=(96, 64))}, "distillation needs feature maps"),
    ({"teacher": "/nowhere/weights"}, "not found or incomplete"),
])
def test_distillation_settings_are_checked_before_any_work(teacher_run, smplx_model_path, tmp_path, change, message):
    from bidrn_tf.train.loop import TrainConfig, train

    data, teacher = teacher_run
    cfg = TrainConfig(method="bnn", dataset="synthetic", data_dir=data, smplx_model=smplx_model_path,
                      out=str(tmp_path / "run"), preset="tiny", steps=1, batch_size=2, progress=False,
                      teacher=teacher, distill_weight=1.0)
    with pytest.raises(ValueError, match=message):
        train(dataclasses.replace(cfg, **change))
    assert not (tmp_path / "run").exists()


@SHARES_TEACHER
def test_the_command_line_passes_the_teacher_with_a_default_weight_of_one(teacher_run, smplx_model_path, tmp_path,
                                                                          monkeypatch):
    import bidrn_tf.train.loop as loop

    data, teacher = teacher_run
    seen = []
    monkeypatch.setattr(loop, "train", lambda cfg: seen.append(cfg) or {})
    common = ["--dataset", "synthetic", "--data-dir", data, "--smplx-model", smplx_model_path, "--method", "bnn",
              "--preset", "tiny"]
    assert loop.main([*common, "--out", str(tmp_path / "a"), "--teacher", os.path.relpath(teacher)]) == 0
    assert loop.main([*common, "--out", str(tmp_path / "b"), "--teacher", teacher, "--distill-weight", "0.5"]) == 0
    assert loop.main([*common, "--out", str(tmp_path / "c")]) == 0
    assert [(c.teacher, c.distill_weight) for c in seen] == [(os.path.abspath(teacher), 1.0), (teacher, 0.5),
                                                             (None, 0.0)]
