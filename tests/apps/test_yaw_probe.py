"""The yaw probe on a few generated people: crops and yaws as the pipeline makes them, the constant, the report."""
import json
import re

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


def _report(path, method, seed, finals, *, std=34.8, lr=1e-4, constant=30.0):
    """A yaw probe report as ``main`` writes it, with test errors ``finals`` at steps 500, 1000, ..."""
    args = {"appearance": "plain", "out": "out/x", "num_train": 2048, "num_test": 512, "data_seed": 0,
            "method": method, "input_hw": [128, 96], "epochs": 12, "steps": 500 * len(finals), "eval_every": 500,
            "batch_size": 16, "lr": lr, "seed": seed, "stage1_steps": 0, "fp_init": "he"}
    curve = [{"step": 500 * (i + 1), "test_mae": v, "test_corr": 0.5, "train_mae": v - 1, "fit_mae": v,
              "weights": "binary"} for i, v in enumerate(finals)]
    path.write_text(json.dumps({"constant_mae": constant, "test_yaw_std": std, "train_examples": 24576,
                                "curve": curve, "args": args}))
    return str(path)


def test_summary_puts_probes_of_one_setting_side_by_side_and_refuses_mixed_ones(tmp_path, capsys):
    """Analytic values: FP ends at 21 and 23 (mean 22, sample std sqrt(2)), BNN at 31, BiDRN at 28 and 27.5
    (mean 27.75): BiDRN closes (31 - 27.75) / (31 - 22) = 36 % of the gap; Bi-Real at 32 is above BNN (no
    share). Reports of another rate, of other test people, a method and seed twice, or a file that is not a
    report are each refused naming the file, with nothing written."""
    r = lambda name, *a, **k: _report(tmp_path / f"{name}.json", *a, **k)  # noqa: E731
    good = [r("fp0", "fp", 0, [30.0, 21.0]), r("fp1", "fp", 1, [30.0, 23.0]), r("bnn0", "bnn", 0, [30.5, 31.0]),
            r("bidrn0", "bidrn", 0, [33.0, 28.0]), r("bidrn1", "bidrn", 1, [34.0, 27.5], constant=30.002),
            r("bireal0", "bireal", 0, [31.0, 32.0])]
    older = json.loads(open(good[-1]).read())
    del older["args"]["stage1_steps"]  # written before --stage1-steps: one stage, as the others
    open(good[-1], "w").write(json.dumps(older))
    summary = yaw_probe.summarize(yaw_probe.read_reports(good))
    assert list(summary["methods"]) == ["fp", "bidrn", "bnn", "bireal"]  # by mean final error
    assert summary["methods"]["fp"]["mean"] == pytest.approx(22.0)
    assert summary["methods"]["fp"]["std"] == pytest.approx(2 ** 0.5)
    assert summary["methods"]["bidrn"]["final"] == [28.0, 27.5]
    assert summary["constant_mae"] == pytest.approx(30.0 + 0.002 / 6)
    table = yaw_probe.format_summary(summary)
    assert "| bidrn | 2 | 28.0 (s0), 27.5 (s1) | **27.8** +- 0.4 |" in table and "| 36 % |" in table
    assert "| bireal | 1 | 32.0 (s0) | **32.0** |" in table and "none (above BNN)" in table
    assert "BiDRN closes 36 % of the FP-BNN gap" in table and "NOT AGORA / EHF" in table and "one stage" in table
    out = tmp_path / "summary"
    assert yaw_probe.summary_main([*good, "--out", str(out)]) == 0
    assert (tmp_path / "summary.md").read_text() == table
    assert json.loads((tmp_path / "summary.json").read_text())["methods"]["bnn"]["mean"] == 31.0
    png = (tmp_path / "summary.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    not_json = tmp_path / "notes.json"
    not_json.write_text("{")
    for extra, message in ((r("bnn_lr", "bnn", 1, [30.0, 31.0], lr=1e-3),
                            r"another setting \(lr 0.0001 in .*, 0.001 here\)"),
                           (r("bnn_people", "bnn", 1, [30.0, 31.0], std=30.0), "scored on other test people"),
                           (r("fp0_again", "fp", 0, [30.0, 21.0]), "method fp seed 0 again"),
                           (str(not_json), "not a readable yaw probe report")):
        with pytest.raises(SystemExit) as refused:
            yaw_probe.summary_main([*good, extra, "--out", str(tmp_path / "mixed")])
        err = capsys.readouterr().err
        assert refused.value.code == 2 and re.search(message, err) and extra in err
    assert not list(tmp_path.glob("mixed*"))
    kept = open(good[0]).read()
    with pytest.raises(SystemExit) as refused:  # the output prefix of one of the reports it reads
        yaw_probe.summary_main([*good, "--out", good[0][:-len(".json")]])
    assert refused.value.code == 2 and "would write over the report" in capsys.readouterr().err
    assert open(good[0]).read() == kept
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"args": {}}))
    with pytest.raises(ValueError,
                       match="other.json: not a yaw probe report \\(no curve, constant_mae, test_yaw_std\\)"):
        yaw_probe.read_reports([str(other)])


def test_a_saved_regressor_teaches_and_distillation_pulls_the_features_toward_it(tmp_path, capsys):
    """``--save-weights`` keeps the regressor, which loads back with the same pooled features (compared with the
    in-memory model's); ``--teacher`` trains a student whose distillation error (standardized teacher features)
    falls under a large distillation weight; a teacher of another crop size, a file that is not a regressor, and a weight without a
    teacher are each refused by name before anything is generated."""
    import tensorflow as tf

    from bidrn_tf.models.checkpoints import save_weights

    model = yaw_probe.build_regressor(method="fp", input_hw=(64, 48))
    images = np.random.default_rng(0).integers(0, 256, (5, 64, 48, 3), dtype=np.uint8)
    expected = tf.keras.Model(model.input, model.get_layer("features").output)(images.astype(np.float32) / 255.0)
    path = yaw_probe.save_regressor(model, str(tmp_path / "kept"), method="fp", input_hw=(64, 48), fp_init="he")
    np.testing.assert_allclose(yaw_probe.teacher_features(path, images), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "kept.tmp").exists()

    out = tmp_path / "probe"
    common = ["--out", str(out), "--num-train", "6", "--num-test", "3", "--input-hw", "64", "48", "--epochs", "2",
              "--batch-size", "4"]
    for bad, message in ((["--teacher", path, "--input-hw", "64", "64"], "reads 64x48 crops, this probe 64x64"),
                         (["--distill-weight", "1"], "needs both a teacher and distill_weight > 0"),
                         (["--teacher", path, "--distill-weight", "-1"], "must be a finite number >= 0")):
        with pytest.raises(SystemExit) as refused:
            yaw_probe.main([*common, *bad])
        assert refused.value.code == 2 and message in capsys.readouterr().err and not out.exists()
    other = tmp_path / "other" / "weights"
    other.parent.mkdir()
    save_weights(model, str(other), method="fp")  # a checkpoint, but not a yaw probe regressor
    with pytest.raises(SystemExit) as refused:
        yaw_probe.main([*common, "--teacher", str(other)])
    assert refused.value.code == 2 and "is not a yaw probe regressor" in capsys.readouterr().err

    assert yaw_probe.main([*common, "--steps", "2", "--eval-every", "2", "--save-weights", "--method", "fp"]) == 0
    teacher = out / "yaw_probe_fp_plain_64x48_6people_2epochs_2steps.regressor" / "weights"
    assert yaw_probe.check_teacher(str(teacher), input_hw=(64, 48))["method"] == "fp"
    args = [*common, "--steps", "16", "--eval-every", "2", "--method", "fp", "--seed", "1", "--lr", "3e-3",
            "--teacher", str(teacher), "--distill-weight", "50"]
    assert yaw_probe.main(args) == 0
    name = "yaw_probe_fp_plain_64x48_6people_2epochs_lr0.003_16steps_distill50_seed1"
    report = json.loads((out / f"{name}.json").read_text())
    mse = [p["distill_mse"] for p in report["curve"]]
    assert mse[-1] < 0.7 * mse[0], mse
    assert "feature distillation at weight 50" in (out / f"{name}.md").read_text()
    assert report["args"]["teacher"] == str(teacher)


def test_summary_gives_distilled_runs_their_own_rows(tmp_path):
    """A run distilled from a teacher is its own row (``bidrn+distill1``) beside the same method and seed
    without one, and its share is against the undistilled FP and BNN rows: (31 - 25) / (31 - 22) = 67 %; with BNN
    distilled too (at 30), the closing sentence adds the share between like runs, (30 - 25) / (30 - 22) = 62 %."""
    paths = [_report(tmp_path / f"{m}.json", m, 0, [f]) for m, f in (("fp", 22.0), ("bnn", 31.0), ("bidrn", 28.0))]
    kd = json.loads(open(_report(tmp_path / "kd.json", "bidrn", 0, [25.0])).read())
    kd["args"].update(teacher="/x/yaw_probe_fp.regressor/weights", distill_weight=1.0, save_weights=True)
    (tmp_path / "kd.json").write_text(json.dumps(kd))
    summary = yaw_probe.summarize(yaw_probe.read_reports([*paths, str(tmp_path / "kd.json")]))
    assert list(summary["methods"]) == ["fp", "bidrn+distill1", "bidrn", "bnn"]
    assert "| bidrn+distill1 | 1 | 25.0 (s0) | **25.0** |" in yaw_probe.format_summary(summary)
    table = yaw_probe.format_summary(summary)
    assert "| 67 % |" in table and "BiDRN closes 33 % of the FP-BNN gap." in table and "alike" not in table
    bnn_kd = json.loads(open(_report(tmp_path / "bnn_kd.json", "bnn", 0, [30.0])).read())
    bnn_kd["args"].update(teacher="/x/yaw_probe_fp.regressor/weights", distill_weight=1.0)
    (tmp_path / "bnn_kd.json").write_text(json.dumps(bnn_kd))
    reports = yaw_probe.read_reports([*paths, str(tmp_path / "kd.json"), str(tmp_path / "bnn_kd.json")])
    table = yaw_probe.format_summary(yaw_probe.summarize(reports))
    assert "Both distilled (+distill1): BiDRN closes 62 % of the gap between FP and BNN distilled alike." in table


def test_standardize_centres_and_scales_each_feature():
    """Analytic: columns [1, 3] -> [-1, 1], [0, 10] -> [-1, 1], a constant column -> 0."""
    out = yaw_probe.standardize(np.array([[1.0, 0.0, 5.0], [3.0, 10.0, 5.0]]))
    np.testing.assert_allclose(out, [[-1.0, -1.0, 0.0], [1.0, 1.0, 0.0]])
    assert out.dtype == np.float32
