"""train.py / evaluate.py end to end on a tiny generated dataset: kill and resume, bad inputs."""
import json
import os
import signal
import subprocess
import sys
import time

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

import bidrn_tf
from bidrn_tf.data.synthetic import generate

from helpers import REPO as ROOT  # noqa: E402

TRAIN = os.path.join(ROOT, "training", "train.py")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, smplx_model_path):
    return generate(str(tmp_path_factory.mktemp("syn")), smplx_model=smplx_model_path, num_train=4, num_val=2,
                    seed=1, progress=False)


def _train_cmd(data, smplx, out, *extra):
    return [sys.executable, TRAIN, "--dataset", "synthetic", "--data-dir", data, "--smplx-model", smplx, "--out", out,
            "--method", "fp", "--preset", "tiny", "--steps", "6", "--batch-size", "2", "--checkpoint-every", "2",
            "--log-every", "1", *extra]


def test_synthetic_generation_is_cached(tiny_data, smplx_model_path):
    ann = os.path.join(tiny_data, "AGORA_train_SMPLX.json")
    before = os.path.getmtime(ann)
    generate(tiny_data, smplx_model=smplx_model_path, num_train=4, num_val=2, seed=1, progress=False)
    assert os.path.getmtime(ann) == before
    db = json.load(open(ann))
    assert len(db["annotations"]) == 4 and all(a["lhand_bbox"][2] > 0 for a in db["annotations"])


@pytest.mark.slow
def test_killed_run_resumes_at_the_same_step(tiny_data, smplx_model_path, tmp_path, capsys):
    out = str(tmp_path / "run")
    env = dict(os.environ)  # the package is installed (editable): no PYTHONPATH needed
    proc = subprocess.Popen(_train_cmd(tiny_data, smplx_model_path, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt_dir = os.path.join(out, "checkpoints")
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        # kill once a checkpoint is committed (named in the index file), mid-way through the run
        if os.path.isdir(ckpt_dir) and tf.train.latest_checkpoint(ckpt_dir):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(os.path.join(out, "final"))
    # the command-line checks run in this process (a killed run needs a real process; these do not)
    from bidrn_tf.evaluate.loop import main as evaluate_main
    from bidrn_tf.train.loop import main as train_main

    assert train_main(_train_cmd(tiny_data, smplx_model_path, out)[2:]) == 2
    assert "pass --resume" in capsys.readouterr().err
    done = subprocess.run(_train_cmd(tiny_data, smplx_model_path, out, "--resume"), env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "resumed from" in done.stdout
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["steps"] == 6
    assert summary["bidrn_tf_version"] == bidrn_tf.__version__
    assert json.load(open(os.path.join(out, "run.json")))["bidrn_tf_version"] == bidrn_tf.__version__
    latest = tf.train.latest_checkpoint(ckpt_dir)
    assert latest.endswith("ckpt-6")
    reader = tf.train.load_checkpoint(latest)  # complete and readable
    assert int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 6
    assert any(f.startswith("events") for f in os.listdir(os.path.join(out, "tensorboard")))
    meta = json.load(open(os.path.join(out, "final", "weights.meta.json")))
    assert meta["method"] == "fp" and meta["model_config"]["image_hw"] == [128, 96]
    # evaluate the final weights; a checkpoint of another method is refused
    code = evaluate_main(["--dataset", "synthetic", "--data-dir", tiny_data, "--checkpoint",
                          os.path.join(out, "final", "weights")])
    assert code == 0, capsys.readouterr().err[-2000:]
    result = json.load(open(os.path.join(out, "final", "eval_synthetic_validation.json")))
    assert result["count"] == 2 and all(np.isfinite(v) and v > 0 for v in result["mean"].values())
    code = evaluate_main(["--dataset", "synthetic", "--data-dir", tiny_data, "--checkpoint",
                          os.path.join(out, "final", "weights"), "--method", "bidrn"])
    assert code == 2 and "trained with method 'fp', not 'bidrn'" in capsys.readouterr().err


def test_resume_with_another_method_and_missing_data_are_refused(tiny_data, smplx_model_path, tmp_path, capsys):
    from bidrn_tf.train.loop import main as train_main

    out = str(tmp_path / "run")
    os.makedirs(out)
    with open(os.path.join(out, "run.json"), "w") as f:
        json.dump({"method": "bidrn", "preset": "tiny"}, f)
    assert train_main(_train_cmd(tiny_data, smplx_model_path, out, "--resume")[2:]) == 2
    assert "was trained with method 'bidrn', not 'fp'" in capsys.readouterr().err
    assert train_main(_train_cmd(str(tmp_path / "nodata"), smplx_model_path, str(tmp_path / "r2"))[2:]) == 2
    assert "AGORA data directory not found" in capsys.readouterr().err


def test_optimizer_clips_latent_binary_weights():
    x = tf.keras.Input((8, 8, 32))
    layer = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign", kernel_constraint="weight_clip")
    model = tf.keras.Model(x, layer(x))
    opt = tf.keras.optimizers.Adam(10.0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(tf.random.normal((2, 8, 8, 32))))
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    w = layer.kernel.latent_variable.numpy() if hasattr(layer.kernel, "latent_variable") else layer.kernel.numpy()
    assert np.abs(w).max() <= 1.0 and np.isclose(np.abs(w).max(), 1.0)


def _run_folder(tmp_path, method="fp", preset="tiny", index=None):
    out = tmp_path / "run"
    os.makedirs(out / "checkpoints")
    (out / "run.json").write_text(json.dumps({"method": method, "preset": preset}))
    if index is not None:
        (out / "checkpoints" / "checkpoint").write_text(index)
    return str(out)


def test_a_run_that_stopped_before_its_first_checkpoint_does_not_block_a_retry(tmp_path, capsys):
    from bidrn_tf.train.loop import TrainConfig, _check_run

    out = _run_folder(tmp_path)
    cfg = TrainConfig(method="fp", dataset="synthetic", data_dir="d", smplx_model="m", out=out, preset="tiny")
    _check_run(cfg, os.path.join(out, "run.json"))  # no error: started again
    assert "stopped before its first checkpoint" in capsys.readouterr().out


@pytest.mark.parametrize("index,message", [
    ('model_checkpoint_path: "ckpt-', "is unreadable (truncated or corrupt)"),
    ('model_checkpoint_path: "ckpt-4"\nall_model_checkpoint_paths: "ckpt-4"\n', "whose files are missing")])
def test_a_broken_checkpoint_index_stops_a_resume(tmp_path, capsys, smplx_model_path, index, message):
    from bidrn_tf.train.loop import main as train_main

    out = _run_folder(tmp_path, index=index)
    assert train_main(_train_cmd(str(tmp_path / "data"), smplx_model_path, out, "--resume")[2:]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_run_folder_is_locked(tmp_path, capsys, smplx_model_path):
    from bidrn_tf.train.loop import _RunLock
    from bidrn_tf.train.loop import main as train_main

    out = str(tmp_path / "run")
    with _RunLock(out):  # another process, as far as flock is concerned (a second open file description)
        assert train_main(_train_cmd(str(tmp_path / "data"), smplx_model_path, out)[2:]) == 2
        assert "another training process is using" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == [".lock"]


@pytest.mark.parametrize("flag,value", [("--steps", "0"), ("--batch-size", "0"), ("--checkpoint-every", "-1")])
def test_training_numbers_are_checked_before_any_work(tmp_path, capsys, smplx_model_path, flag, value):
    from bidrn_tf.train.loop import main as train_main

    args = _train_cmd(str(tmp_path / "data"), smplx_model_path, str(tmp_path / "run"))[2:]
    args[args.index(flag) + 1] = value
    with pytest.raises(SystemExit) as exit_:
        train_main(args)
    assert exit_.value.code == 2 and f"{flag}: must be at least 1" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_appearance_reaches_the_generated_default_set_and_is_refused_elsewhere(tmp_path, capsys, monkeypatch,
                                                                           smplx_model_path):
    """``--appearance front`` trains on the default set's front-coloured copy (its own folder, cache key
    "front"); with a dataset folder of the user's, or another dataset, it is refused before any work."""
    from bidrn_tf.train import loop

    seen = []
    monkeypatch.setattr(loop, "train", lambda cfg: seen.append(cfg) or {})
    monkeypatch.chdir(tmp_path)
    args = ["--dataset", "synthetic", "--smplx-model", smplx_model_path, "--out", "run", "--synthetic-size", "1", "1",
            "--appearance", "front"]
    assert loop.main(args) == 0
    assert seen[0].data_dir == os.path.join("out", "data", "synthetic_1_1_seed0_front")
    assert json.load(open(os.path.join(seen[0].data_dir, "synthetic.json")))["appearance"] == "front"
    for extra in (["--data-dir", "mine"], ["--dataset", "agora"]):
        with pytest.raises(SystemExit) as exit_:
            loop.main(args + extra)
        assert exit_.value.code == 2 and "--appearance applies to the generated default set only" in \
            capsys.readouterr().err
    assert len(seen) == 1


@pytest.mark.slow
def test_ctrl_c_stops_after_the_step_in_progress_with_a_usable_checkpoint(tiny_data, smplx_model_path, tmp_path):
    out = str(tmp_path / "run")
    cmd = _train_cmd(tiny_data, smplx_model_path, out)
    cmd[cmd.index("--steps") + 1] = "100000"  # would run for hours
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ckpt_dir = os.path.join(out, "checkpoints")
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not (
            os.path.isdir(ckpt_dir) and tf.train.latest_checkpoint(ckpt_dir)):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr[-2000:]
    assert "stopping after this step" in stdout
    assert "stopped: interrupted at step" in stderr and "continue with --resume" in stderr
    stopped_at = int(stderr.split("interrupted at step ")[1].split(";")[0])
    latest = tf.train.latest_checkpoint(ckpt_dir)
    saved = int(tf.train.load_checkpoint(latest).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))  # readable
    assert saved <= stopped_at < saved + 2 * 2  # within the checkpoint interval (2) of the last checkpoint
    assert not os.path.exists(os.path.join(out, "final"))


def test_resume_with_another_model_configuration_is_refused(tmp_path):
    """``TrainConfig.model_config`` overrides the preset; run.json records it (and the pose loss) and a resumed
    run must match both. A run.json written before a field existed reads as that field's default."""
    import dataclasses

    from bidrn_tf.models.config import PRESETS, to_dict
    from bidrn_tf.train.loop import TrainConfig, TrainingError, _check_run

    out = _run_folder(tmp_path)
    recorded = to_dict(PRESETS["tiny"])
    recorded.pop("feature_bn")
    (tmp_path / "run" / "run.json").write_text(json.dumps({"method": "fp", "preset": "tiny",
                                                           "model_config": recorded}))
    cfg = TrainConfig(method="fp", dataset="synthetic", data_dir="d", smplx_model="m", out=out, preset="tiny",
                      resume=True)
    _check_run(cfg, os.path.join(out, "run.json"))
    other = dataclasses.replace(cfg, model_config=dataclasses.replace(PRESETS["tiny"], feature_bn=True))
    with pytest.raises(TrainingError, match="another model configuration"):
        _check_run(other, os.path.join(out, "run.json"))
    with pytest.raises(TrainingError, match="pose_loss 'axis_angle', not 'matrix'"):  # unrecorded: Hand4Whole's
        _check_run(dataclasses.replace(cfg, pose_loss="matrix"), os.path.join(out, "run.json"))
    with pytest.raises(TrainingError, match="root_pose_weight 0.0, not 1.0"):
        _check_run(dataclasses.replace(cfg, root_pose_weight=1.0), os.path.join(out, "run.json"))
    with pytest.raises(TrainingError, match="augment True, not False"):
        _check_run(dataclasses.replace(cfg, augment=False), os.path.join(out, "run.json"))


def test_cli_switches_reach_the_train_config(tiny_data, smplx_model_path, tmp_path, monkeypatch):
    import bidrn_tf.train.loop as loop

    seen = []
    monkeypatch.setattr(loop, "train", lambda cfg: seen.append(cfg) or {})
    out = str(tmp_path / "run")
    assert loop.main(_train_cmd(tiny_data, smplx_model_path, out, "--feature-bn", "--rotation-init", "rest",
                                "--pose-loss", "matrix", "--fp-init", "he", "--body-hw", "128", "96",
                                "--root-pose-weight", "0.5")[2:]) == 0
    assert loop.main(_train_cmd(tiny_data, smplx_model_path, out)[2:]) == 0
    switched, default = seen
    assert (switched.pose_loss, switched.model_config.feature_bn, switched.model_config.rotation_init,
            switched.model_config.fp_init, switched.model_config.body_hw) == ("matrix", True, "rest", "he", (128, 96))
    assert switched.model_config.image_hw == (128, 96)  # on top of the preset
    assert switched.root_pose_weight == 0.5
    assert (default.pose_loss, default.root_pose_weight, default.model_config) == ("axis_angle", 0.0,
                                                                                    loop.PRESETS["tiny"])
    assert loop.main(_train_cmd(tiny_data, smplx_model_path, out, "--method", "xnor", "--xnor-activation-scale")[2:]) == 0
    assert seen[-1].method == "xnor" and seen[-1].model_config.xnor_activation_scale


def test_cli_refuses_the_xnor_activation_scale_for_another_method(tiny_data, smplx_model_path, tmp_path, capsys):
    import bidrn_tf.train.loop as loop

    with pytest.raises(SystemExit):
        loop.main(_train_cmd(tiny_data, smplx_model_path, str(tmp_path / "run"), "--xnor-activation-scale")[2:])
    assert "--method xnor only" in capsys.readouterr().err


@pytest.mark.parametrize("weight", ["-1", "nan", "x"])
def test_cli_refuses_a_bad_root_pose_weight(tiny_data, smplx_model_path, tmp_path, capsys, weight):
    import bidrn_tf.train.loop as loop

    with pytest.raises(SystemExit):
        loop.main(_train_cmd(tiny_data, smplx_model_path, str(tmp_path / "run"), "--root-pose-weight", weight)[2:])
    assert "--root-pose-weight" in capsys.readouterr().err


@pytest.mark.parametrize("field,value,message", [("root_pose_weight", -0.5, "root_pose_weight must be"),
                                                 ("pose_loss", "quaternion", "pose_loss must be one of")])
def test_train_config_checks_the_pose_loss_fields(tmp_path, smplx_model_path, field, value, message):
    from bidrn_tf.train.loop import TrainConfig, train

    cfg = TrainConfig(method="fp", dataset="synthetic", data_dir=str(tmp_path), smplx_model=smplx_model_path,
                      out=str(tmp_path / "run"), preset="tiny", **{field: value})
    with pytest.raises(ValueError, match=message):
        train(cfg)
    assert not os.path.exists(tmp_path / "run")


def test_the_seed_sets_the_initial_weights(tiny_data, smplx_model_path, tmp_path, monkeypatch):
    """Two runs with the same seed start from the same weights, another seed from others (the model is
    caught as it is built, and the run stopped there)."""
    import bidrn_tf.models.whole_body as whole_body
    from bidrn_tf.train.loop import TrainConfig, train

    built, build = [], whole_body.build_model

    class Built(Exception):
        """Raised as soon as the model is built: the run stops there."""

    def catch(**kw):
        built.append([w.copy() for w in build(**kw).get_weights()])
        raise Built

    monkeypatch.setattr(whole_body, "build_model", catch)
    for i, seed in enumerate((0, 0, 1)):
        with pytest.raises(Built):
            train(TrainConfig(method="bnn", dataset="synthetic", data_dir=tiny_data, smplx_model=smplx_model_path,
                              out=str(tmp_path / f"r{i}"), preset="tiny", steps=1, batch_size=2, seed=seed,
                              progress=False))
    first, again, other = built
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_step_decay_is_lr_then_a_tenth_after_each_fraction():
    from bidrn_tf.train.loop import step_decay

    rate = step_decay(1e-3, 100)
    got = [float(rate(s)) for s in (0, 70, 71, 90, 91, 99)]
    assert got == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])
    assert float(step_decay(2e-3, 10, decay_at=(0.5,))(6)) == pytest.approx(2e-4)


def test_resume_on_other_data_is_refused_and_a_moved_run_resumes(tmp_path):
    """run.json records the data set and folder; a resume on another folder name (e.g. a comparison's
    ``data_front`` beside ``data``) is refused naming both, the same folder name elsewhere (a moved run) resumes,
    and a run.json from before the fields were checked (no data_dir) resumes as before."""
    import dataclasses

    from bidrn_tf.train.loop import TrainConfig, TrainingError, _check_run

    out = _run_folder(tmp_path)
    run_json = os.path.join(out, "run.json")
    cfg = TrainConfig(method="fp", dataset="synthetic", data_dir="/here/cmp/data", smplx_model="m", out=out,
                      preset="tiny", resume=True)
    (tmp_path / "run" / "run.json").write_text(json.dumps({"method": "fp", "preset": "tiny"}))
    _check_run(cfg, run_json)
    (tmp_path / "run" / "run.json").write_text(json.dumps({"method": "fp", "preset": "tiny", "dataset": "synthetic",
                                                           "data_dir": "/elsewhere/cmp/data"}))
    _check_run(cfg, run_json)  # the same set, in a folder since moved
    with pytest.raises(TrainingError, match="was trained on '/elsewhere/cmp/data', not on '/here/cmp/data_front'"):
        _check_run(dataclasses.replace(cfg, data_dir="/here/cmp/data_front"), run_json)
    with pytest.raises(TrainingError, match="trained on dataset 'synthetic', not 'agora'"):
        _check_run(dataclasses.replace(cfg, dataset="agora"), run_json)
