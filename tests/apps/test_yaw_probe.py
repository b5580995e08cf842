"""The yaw probe on a few generated people: crops and yaws as the pipeline makes them, the constant, the report."""
import json

import numpy as np
import pytest

from bidrn_tf.apps import yaw_probe


def test_probe_trains_scores_against_the_median_and_writes_its_report(tmp_path, capsys):
    """End to end through ``main`` on 6 + 3 generated people: the test yaws are the generator's sampled turns
    (read back from its parameter files, up to its small tilts), the constant is the median training yaw's
    error on them, every evaluation is a point, and a bad size is refused before anything is generated."""
    from scipy.spatial.transform import Rotation

    from bidrn_tf.apps.compare import data_dir

    out = tmp_path / "probe"
    with pytest.raises(SystemExit) as refused:
        yaw_probe.main(["--out", str(out), "--input-hw", "16", "48"])
    assert refused.value.code == 2 and "--input-hw" in capsys.readouterr().err and not out.exists()
    for bad in (["--method", "fp", "--stage1-steps", "2"], ["--steps", "4", "--stage1-steps", "5"]):
        with pytest.raises(SystemExit) as refused:
            yaw_probe.main(["--out", str(out), *bad])
        assert refused.value.code == 2 and "stage1_steps" in capsys.readouterr().err and not out.exists()
    args = ["--out", str(out), "--num-train", "6", "--num-test", "3", "--input-hw", "64", "48", "--epochs", "2",
            "--steps", "6", "--eval-every", "2", "--batch-size", "4", "--appearance", "front", "--method", "bnn",
            "--stage1-steps", "3"]
    assert yaw_probe.main(args) == 0
    report = json.loads((out / "yaw_probe_bnn_front_64x48_6people_2epochs_6steps_stage1-3.json").read_text())
    assert [(p["step"], p["weights"]) for p in report["curve"]] == [(2, "real"), (3, "real"), (5, "binary"),
                                                                    (6, "binary")]
    assert report["train_examples"] == 12
    assert all(np.isfinite(p[k]) for p in report["curve"] for k in ("test_mae", "test_corr", "train_mae", "fit_mae"))
    text = (out / "yaw_probe_bnn_front_64x48_6people_2epochs_6steps_stage1-3.md").read_text()
    assert "the best constant scores" in text and "two stages: 3 steps with real weights" in text
    people = sorted(p.name for p in (out / "data_front").rglob("*"))
    with pytest.raises(SystemExit) as refused:  # other training people in a folder that has some: not regenerated
        yaw_probe.main([*args, "--num-train", "7"])
    assert refused.value.code == 2 and "num_train 6 there, 7 asked" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "data_front").rglob("*")) == people

    from bidrn_tf.data import load_people

    test_people = load_people("synthetic", data_dir(str(out), "front", 3), "validation")
    train_people = load_people("synthetic", data_dir(str(out), "front"), "train")
    _, yaws = yaw_probe.crops(test_people, str(out / "synthetic_smplx_model.npz"), input_hw=(64, 48))
    flip = Rotation.from_euler("x", np.pi)
    sampled = np.degrees([(flip.inv() * Rotation.from_rotvec(p.params["global_orient"].reshape(3))).as_euler("yxz")[0]
                          for p in test_people])
    np.testing.assert_allclose(yaws, sampled, atol=3.0)  # tilts N(0, 0.1 rad) move the forward axis a little
    _, train_yaws = yaw_probe.crops(train_people, str(out / "synthetic_smplx_model.npz"), input_hw=(64, 48),
                                    epochs=2, training=True)
    assert report["constant_mae"] == pytest.approx(np.mean(np.abs(yaws - np.median(train_yaws))), abs=1e-4)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        yaw_probe.probe(train_people, test_people, str(out / "synthetic_smplx_model.npz"), steps=0)


def test_points_name_the_weights_they_were_measured_with():
    """FP's points are not labelled binary; a two-stage run's are real up to its switch and binary after it."""
    assert yaw_probe.point_weights("fp", 500, 0) == "full precision"
    assert [yaw_probe.point_weights("bidrn", s, 1500) for s in (500, 1500, 2000)] == ["real", "real", "binary"]
    assert yaw_probe.point_weights("bnn", 500, 0) == "binary"


def test_report_names_carry_the_settings_that_differ_from_the_defaults():
    """Probes of one method with another rate, budget or seed get their own report instead of overwriting the
    default's."""
    assert yaw_probe.report_name("bidrn", "plain", (128, 96)) == "yaw_probe_bidrn_plain_128x96"
    assert yaw_probe.report_name("bidrn", "plain", (128, 96), lr=1e-4) == "yaw_probe_bidrn_plain_128x96_lr0.0001"
    assert (yaw_probe.report_name("bnn", "front", (64, 48), lr=yaw_probe.LR, steps=6000)
            == "yaw_probe_bnn_front_64x48_6000steps")
    assert (yaw_probe.report_name("bidrn", "plain", (128, 96), stage1_steps=1500)
            == "yaw_probe_bidrn_plain_128x96_stage1-1500")
    assert (yaw_probe.report_name("bnn", "plain", (128, 96), num_train=2048, epochs=6, lr=1e-4)
            == "yaw_probe_bnn_plain_128x96_2048people_6epochs_lr0.0001")
    assert (yaw_probe.report_name("bidrn", "plain", (128, 96), num_train=2048, epochs=6, lr=1e-4, seed=1)
            == "yaw_probe_bidrn_plain_128x96_2048people_6epochs_lr0.0001_seed1")
