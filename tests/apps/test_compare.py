"""The method comparison: table with the control, seeds, curves plot, resumption point."""
import os
import re

import cv2
import numpy as np
import pytest

from bidrn_tf.apps.compare import _committed_step, format_table, plot_curves, run_dir, seeds_needed


def point(step, v, body=1.0):
    return {"step": step, "MPVPE_all": v, "MPVPE_hands": 1.0, "MPVPE_face": 1.0, "PA_MPVPE_all": 1.0,
            "PA_MPVPE_hands": 1.0, "PA_MPVPE_face": 1.0, "PA_MPJPE_body": body, "PA_MPJPE_hands": 1.0}


def _one(*points, ips=None):
    return {"runs": {0: {"curve": list(points), "images_per_second": ips}}}


def _result():
    control = {k: v for k, v in point(0, 200.0).items() if k != "step"}
    return {"control": control, "methods": {"fp": _one(point(50, 190.0), point(100, 150.0), ips=8.0),
                                            "bidrn": _one(point(50, 210.0), point(100, 170.0), ips=6.0)}}


def test_table_has_the_control_row_and_the_last_points(tmp_path):
    table = format_table(_result(), "head\n\n")
    lines = table.splitlines()
    assert any(line.startswith("| mean-pose control | 200.0") for line in lines)
    assert any(line.startswith("| fp | 150.0") for line in lines) and any(line.startswith("| bidrn | 170.0") for line in lines)
    assert "FP is 50.0 mm below the control (25 %)" in table
    assert "BiDRN closes" not in table  # no bnn row: no gap sentence
    with_oracle = format_table({**_result(), "true_root_oracle": _result()["control"]}, "head\n\n")
    assert "| mean pose + true root (oracle) | 200.0" in with_oracle
    mesh = {k: v for k, v in point(0, 160.0).items() if k != "step"}
    with_mesh = format_table({**_result(), "median_mesh_control": mesh}, "")
    assert "| median-mesh control | 160.0" in with_mesh
    assert "FP is 50.0 mm below the control (25 %) and 10.0 mm below the median-mesh control." in with_mesh
    worse = _result()
    worse["methods"]["fp"]["runs"][0]["curve"][-1]["MPVPE_all"] = 230.0
    assert "FP is 30.0 mm above the control (15 %)" in format_table(worse, "")
    budget = [{"truth": truth, **point(0, v, body=b)} for truth, v, b in
              (([], 263.8, 118.1), (["root"], 221.9, 118.1), (["root", "body"], 19.8, 10.3))]
    assert "What the metrics charge for" not in table
    assert ("mean pose (control) 263.8 / 118.1; + true root 221.9 / 118.1; + true body 19.8 / 10.3."
            in format_table({**_result(), "error_budget": budget}, ""))


def test_curves_are_a_png(tmp_path):
    path = str(tmp_path / "curves.png")
    mesh = {k: v for k, v in point(0, 160.0).items() if k != "step"}
    plot_curves({**_result(), "median_mesh_control": mesh}, path, title="t")
    img = cv2.imread(path)
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 300


def test_every_method_of_a_plot_has_its_own_colour():
    from bidrn_tf.apps.compare import method_colors

    for n in (1, 10, 11, 20):
        assert len(set(method_colors(n))) == n
    assert method_colors(3) == method_colors(10)[:3]  # the default cycle while it suffices
    import matplotlib

    pairs = matplotlib.colormaps["tab20"].colors  # (dark, light) of one hue at 2k, 2k + 1
    hue = [pairs.index(c) // 2 for c in method_colors(20)]
    assert sorted(hue[:10]) == list(range(10)) and hue[10:] == hue[:10]  # ten hues first, then their light partners
    with pytest.raises(ValueError, match="at most 20"):
        method_colors(21)


def test_bidrn_takes_the_first_colour_and_the_light_colours_get_squares():
    from bidrn_tf.apps.compare import curve_styles, method_colors

    methods = ["fp", "bnn", "xnor", "xnor_k", "dorefa", "bireal", "reactnet", "recu", "fda", "bbcu", "bidrn"]
    styles = curve_styles(methods)
    colors = method_colors(11)
    assert styles["bidrn"]["color"] == colors[0] and styles["fp"]["color"] == colors[1]
    assert styles["bbcu"]["color"] == colors[10] and styles["bbcu"]["marker"] == "s"
    assert {styles[m]["marker"] for m in methods if m != "bbcu"} == {"o"}
    assert styles["bidrn"]["lw"] > styles["fp"]["lw"] and styles["bidrn"]["zorder"] > styles["fp"]["zorder"]
    assert curve_styles(["fp", "bnn"])["fp"]["color"] == method_colors(2)[0]  # without BiDRN: the methods' order


def test_resumption_point_is_the_committed_checkpoint(tmp_path):
    assert _committed_step(str(tmp_path / "nothing")) == 0
    ckpt = tmp_path / "run" / "checkpoints"
    os.makedirs(ckpt)
    (ckpt / "ckpt-150.index").write_text("x")
    (ckpt / "checkpoint").write_text('model_checkpoint_path: "ckpt-150"\nall_model_checkpoint_paths: "ckpt-150"\n')
    assert _committed_step(str(tmp_path / "run")) == 150


def test_methods_are_compared_at_the_last_step_all_of_them_reached():
    from bidrn_tf.apps.compare import common_step

    result = _result()
    bidrn = result["methods"]["bidrn"]["runs"][0]
    bidrn["curve"] = bidrn["curve"][:1]  # still running: only step 50
    assert common_step(result) == 50
    table = format_table(result, "")
    assert "Every run at step 50" in table and any(line.startswith("| fp | 190.0") for line in table.splitlines())
    bidrn["curve"] = [{**bidrn["curve"][0], "step": 75}]
    with pytest.raises(ValueError, match="share no evaluated step"):
        common_step(result)


def test_cli_switches_reach_compare(tmp_path, monkeypatch):
    """`compare_methods.py` and `train.py` share one definition of the scratch switches (cli.add_scratch_switches)."""
    import bidrn_tf.apps.compare as app

    seen = []
    monkeypatch.setattr(app, "compare", lambda methods, **kw: seen.append(kw) or {"methods": {}})
    out = str(tmp_path / "cmp")
    assert app.main(["--methods", "fp", "--out", out, "--feature-bn", "--rotation-init", "rest", "--pose-loss",
                     "matrix", "--fp-init", "he", "--body-hw", "128", "96", "--root-pose-weight", "2",
                     "--diagnose", "--boxnet", "fp", "--appearance", "front"]) == 2  # no table
    assert app.main(["--methods", "fp", "--out", out, "--seeds", "1", "2", "--data-seed", "3"]) == 2
    switched, default = seen
    assert (switched["seeds"], switched["data_seed"]) == ([0], 0)
    assert (default["seeds"], default["data_seed"]) == ([1, 2], 3)
    keys = ("feature_bn", "rotation_init", "pose_loss", "fp_init", "root_pose_weight")
    assert {k: switched[k] for k in keys} == {
        "feature_bn": True, "rotation_init": "rest", "pose_loss": "matrix", "fp_init": "he", "root_pose_weight": 2.0}
    assert {k: default[k] for k in keys} == {"feature_bn": False, "rotation_init": "hand4whole",
                                             "pose_loss": "axis_angle", "fp_init": "hand4whole", "root_pose_weight": 0}
    assert (switched["body_hw"], "body_hw" in default) == ((128, 96), False)  # default: the preset's
    assert (switched["boxnet"], "boxnet" in default) == ("fp", False)  # default: the paper's per method
    assert (switched["diagnose"], default["diagnose"]) == (True, False)
    assert (switched["appearance"], default["appearance"]) == ("front", "plain")
    assert app.main(["--methods", "fp", "--out", out, "--rotations"]) == 2  # the older name of --diagnose
    assert seen[-1]["diagnose"] is True
    with pytest.raises(SystemExit):
        app.main(["--methods", "fp", "--out", out, "--fp-init", "glorot"])
    with pytest.raises(SystemExit):
        app.main(["--methods", "fp", "--out", out, "--boxnet", "binary"])
    with pytest.raises(SystemExit):  # smaller than one feature cell of the ResNet
        app.main(["--methods", "fp", "--out", out, "--body-hw", "16", "48"])


def test_seeds_give_means_spread_and_the_gap_per_seed(tmp_path):
    """Three methods x two seeds: the main rows are the means, the spread table the sample std and the values
    per seed, the gap share is computed on the means and per seed; a seed behind the others sets the step."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}
    runs = lambda a, b: {"runs": {0: {"curve": [point(100, a, body=a / 2)], "images_per_second": 4.0},  # noqa: E731
                                  1: {"curve": [point(100, b, body=b / 2)], "images_per_second": 6.0}}}
    result = {"control": control, "methods": {"fp": runs(200.0, 210.0), "bnn": runs(260.0, 250.0),
                                              "bidrn": runs(230.0, 220.0)}}
    table = format_table(result, "")
    lines = table.splitlines()
    assert "each method: the mean over its seeds" in table
    assert any(line.startswith("| fp | 205.0 |") for line in lines)
    assert any(line.startswith("| bnn | 255.0 |") for line in lines)
    # sample std of (230, 220) is 7.07; PA_MPJPE_body is half of MPVPE in this fixture
    assert "| bidrn | 0, 1 | 225.0 +- 7.1 | 230.0, 220.0 | 112.5 +- 3.5 | 115.0, 110.0 |" in lines
    assert "| fp | 5.00 |" in lines  # images/s: mean of the two runs
    assert "BiDRN closes 60 % of the FP-BNN gap" in table  # (255 - 225) / (255 - 205)
    assert "seed 0: FP < BiDRN < BNN, 50 %" in table and "seed 1: FP < BiDRN < BNN, 75 %" in table
    assert "read the share as noise" not in table  # a 50 mm gap against a 19.8 mm resolution
    result["methods"]["bidrn"]["runs"][1]["curve"] = [point(100, 255.0, body=127.5)]  # above BNN's 250 at seed 1
    assert "seed 1: FP < BNN < BiDRN, none of the gap, BiDRN above BNN" in format_table(result, "")
    result["methods"]["bidrn"]["runs"][1]["curve"] = [point(100, 220.0, body=110.0)]
    # BNN - BiDRN per seed: 260 - 230 and 250 - 220; PA_MPJPE_body is half of it
    assert "| bnn | 0, 1 | +30.0, +30.0 | +30.0 +- 0.0 | 2 of 2 | +15.0, +15.0 | +15.0 +- 0.0 | 2 of 2 |" in lines
    assert not any(line.startswith("| fp | 0, 1 | +") for line in lines)  # FP is not a binarized method
    plot_curves(result, str(tmp_path / "c.png"), title="t")
    assert cv2.imread(str(tmp_path / "c.png")) is not None
    result["methods"]["bidrn"]["runs"][1]["curve"].insert(0, point(50, 400.0))
    result["methods"]["bidrn"]["runs"][1]["curve"].pop()  # seed 1 of bidrn only reached step 50
    with pytest.raises(ValueError, match="share no evaluated step"):
        format_table(result, "")


def test_every_binarized_method_against_bidrn_on_the_seeds_they_share():
    """Differences method - BiDRN only on shared seeds, their mean and sample std, and the count of seeds at
    which BiDRN is lower; a method ahead of BiDRN at one seed shows it."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}
    by = lambda **seeds: {"runs": {int(s[1:]): {"curve": [point(100, v, body=v)], "images_per_second": None}  # noqa: E731
                                   for s, v in seeds.items()}}
    result = {"control": control, "methods": {"fp": by(s0=200.0, s1=200.0), "bidrn": by(s0=230.0, s1=220.0, s2=225.0),
                                              "reactnet": by(s0=250.0, s1=210.0, s2=245.0), "bireal": by(s2=240.0)}}
    lines = format_table(result, "").splitlines()
    # reactnet - bidrn: +20, -10, +20 -> mean +10, sample std sqrt(((10)^2 + (20)^2 + (10)^2) / 2) = 17.3
    assert "| reactnet | 0, 1, 2 | +20.0, -10.0, +20.0 | +10.0 +- 17.3 | 2 of 3 | +20.0, -10.0, +20.0 | +10.0 +- 17.3 | 2 of 3 |" in lines
    assert "| bireal | 2 | +15.0 | +15.0 +- 0.0 | 1 of 1 | +15.0 | +15.0 +- 0.0 | 1 of 1 |" in lines
    result["methods"].pop("reactnet"), result["methods"].pop("bireal")
    assert "minus BiDRN" not in format_table(result, "")


def test_the_share_of_the_gap_is_on_the_seeds_fp_bnn_and_bidrn_all_ran():
    """Means over different seeds are not comparable: the share of the gap, the methods ahead of BiDRN and the
    FP-BNN gap the seeds would need are on means over the seeds FP, BNN and BiDRN all ran, and a method that
    lacks one of them is named apart. Every method's own mean would give other answers here: a share of
    (250 - 221) / (250 - 205) = 64 %, xnor behind BiDRN (262.5 against 221) and a 45 mm gap."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}
    by = lambda **seeds: {"runs": {int(s[1:]): {"curve": [point(100, v)], "images_per_second": None}  # noqa: E731
                                   for s, v in seeds.items()}}
    result = {"control": control, "methods": {
        "fp": by(s0=200.0, s1=210.0), "bnn": by(s0=250.0), "bidrn": by(s0=230.0, s1=212.0),
        "xnor": by(s0=225.0, s1=300.0), "reactnet": by(s1=205.0)}}
    table = format_table(result, "")
    # on seed 0: (250 - 230) / (250 - 200) = 40 %; xnor's 225 is below BiDRN's 230 there
    assert ("On seed 0 (the seed FP, BNN and BiDRN all ran; every method's mean over it): BiDRN closes 40 % of the "
            "FP-BNN gap (paper, EHF MPVPE: 62.7 %). Binarized methods at or below BiDRN's error: xnor. Not in that "
            "sentence because they did not run all of those seeds (compare them with BiDRN seed by seed below): "
            "reactnet (seed 1).") in table
    assert "The FP-BNN gap here (50.0 mm on seed 0, which both ran)" in table
    result["methods"]["bnn"] = by(s2=250.0)
    table = format_table(result, "")
    assert ("No share of the FP-BNN gap: FP, BNN and BiDRN ran no seed in common (FP seeds 0, 1, BNN seed 2, "
            "BiDRN seeds 0, 1), and means over different seeds are not comparable.") in table
    assert "closes" not in table and "The FP-BNN gap here" not in table


def test_paired_differences_against_bidrn_on_the_same_people():
    """With per-person errors of the final weights, every other method minus BiDRN at each shared seed: the mean
    difference with its 95 % interval (normal, sample std / sqrt(N)) and the share of people where BiDRN is at or
    below; no row for a seed BiDRN lacks."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}

    def run(v, per_person=None):
        r = {"curve": [point(100, v)], "images_per_second": None}
        if per_person is not None:
            r["per_person"] = {"MPVPE_all": per_person, "PA_MPJPE_body": [x / 2 for x in per_person]}
        return r

    result = {"control": control, "methods": {
        "bidrn": {"runs": {0: run(220.0, [200.0, 210.0, 250.0, 220.0])}},
        "reactnet": {"runs": {0: run(230.0, [210.0, 230.0, 240.0, 240.0]), 1: run(230.0, [1.0, 2.0, 3.0, 4.0])}}}}
    lines = format_table(result, "").splitlines()
    # differences +10, +20, -10, +20: mean +10, sample std sqrt(600 / 3) = 14.14, se 7.07, z 1.96 -> +-13.86
    assert "| reactnet | 0 | +10.0 [-3.9, +23.9] | 75 % | +5.0 [-1.9, +11.9] | 75 % |" in lines
    assert not any(line.startswith("| reactnet | 1 |") and "[" in line for line in lines)
    assert any("on the same 4 validation people" in line for line in lines)
    result["methods"]["bidrn"]["runs"][0].pop("per_person")
    assert "on the same" not in format_table(result, "")


def test_paired_differences_over_the_training_seeds():
    """With paired differences at several seeds, their mean over the seeds with the seeds' sample std and at how
    many seeds BiDRN is lower; a method with one paired seed gets none, and with none the sentence is absent."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}

    def run(per_person):
        return {"curve": [point(100, float(np.mean(per_person)))], "images_per_second": None,
                "per_person": {"MPVPE_all": per_person, "PA_MPJPE_body": [x / 2 for x in per_person]}}

    base = [200.0, 210.0, 250.0, 220.0]
    shift = lambda d: [x + d + e for x, e in zip(base, (1.0, -1.0, 2.0, -2.0))]  # noqa: E731
    result = {"control": control, "methods": {
        "bidrn": {"runs": {s: run(base) for s in (0, 1, 2)}},
        "reactnet": {"runs": {0: run(shift(10.0)), 1: run(shift(-4.0)), 2: run(shift(6.0))}},
        "bireal": {"runs": {1: run(shift(3.0))}}}}
    text = format_table(result, "")
    # +10, -4, +6: mean +4, sample std sqrt((36 + 64 + 4) / 2) = 7.2; PA_MPJPE_body halves: +2.0 +- 3.6
    assert ("reactnet, seeds 0, 1, 2: MPVPE_all +4.0 +- 7.2 (BiDRN lower at 2 of 3); PA_MPJPE_body +2.0 +- 3.6 "
            "(BiDRN lower at 2 of 3).") in text
    assert "bireal, seeds" not in text and "| bireal | 1 | +3.0 [" in text
    result["methods"]["reactnet"]["runs"] = {0: run(shift(10.0))}
    assert "over the training seeds" not in format_table(result, "")


def test_share_of_the_gap_with_its_interval_over_the_people():
    """At a seed with per-person errors for FP, BNN and BiDRN: the share with Fieller's interval. Where BiDRN
    closes exactly half of every person's gap and the gap is resolved, the interval is the point 50 %; a gap
    the people do not resolve gets no interval; a seed without all three gets no entry."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}

    def run(people):
        return {"curve": [point(100, float(np.mean(people)))], "images_per_second": None,
                "per_person": {"MPVPE_all": people, "PA_MPJPE_body": people}}

    fp = [100.0, 100.0, 100.0, 100.0]
    # BNN - FP = 20, 30, 40, 50 (mean 35, 1.96 se = 12.7: resolved); BiDRN at half of each: the share is 50 %
    result = {"control": control, "methods": {
        "fp": {"runs": {0: run(fp), 1: run(fp)}},
        "bnn": {"runs": {0: run([120.0, 130.0, 140.0, 150.0]), 1: run([80.0, 130.0, 90.0, 120.0])}},
        "bidrn": {"runs": {0: run([110.0, 115.0, 120.0, 125.0]), 1: run([90.0, 115.0, 95.0, 110.0]),
                           2: run(fp)}}}}
    text = format_table(result, "")
    assert "with its 95 % interval over the same 4 validation people" in text
    assert "seed 0: 50 % [50 %, 50 %]" in text
    # BNN - FP = -20, 30, -10, 20: mean 5, sample std sqrt(1700 / 3), 1.96 se = 23.3: not resolved
    assert "seed 1: no interval, these people do not resolve the FP-BNN gap itself (BNN - FP +5.0 mm " \
           "[-18.3, +28.3])" in text
    assert "seed 2" not in text.split("validation people (Fieller")[1]
    result["methods"]["fp"]["runs"][0].pop("per_person")
    result["methods"]["fp"]["runs"][1].pop("per_person")
    assert "Fieller" not in format_table(result, "")


def test_run_dirs_keep_seed_0_where_comparisons_without_seeds_put_it(tmp_path):
    assert run_dir("o", "bidrn", 0) == os.path.join("o", "bidrn")
    assert run_dir("o", "bidrn", 2) == os.path.join("o", "bidrn-seed2")


def test_seeds_are_checked_before_anything_is_written(tmp_path):
    from bidrn_tf.apps.compare import compare

    for bad in ([], [0, 0], [-1]):
        with pytest.raises(ValueError, match="seeds must be distinct non-negative integers"):
            compare(["fp"], steps=2, eval_every=1, seeds=bad, out=str(tmp_path / "c"))
    for diagnose, people in ((False, 8), (True, 1)):
        with pytest.raises(ValueError, match="diagnose_people .* must be an integer >= 2 and needs diagnose"):
            compare(["fp"], steps=2, eval_every=1, out=str(tmp_path / "c"), diagnose=diagnose,
                    diagnose_people=people)
    assert not os.path.exists(tmp_path / "c")


def test_other_people_under_the_same_out_are_refused_not_regenerated(tmp_path):
    """Runs in ``out`` were trained on the people in ``out/data``: a comparison asking for another number of
    training or validation people, or another data seed, is refused naming what differs, and the people on disk
    are left as they were (no run folder either)."""
    from bidrn_tf.apps.compare import compare, data_dir
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    out = tmp_path / "c"
    out.mkdir()
    people = generate(data_dir(str(out), "plain"), smplx_model=model_or_stand_in(None, str(out)), num_train=2,
                      num_val=1, seed=0, progress=False)
    before = {p: p.stat().st_mtime_ns for p in sorted((tmp_path / "c" / "data").rglob("*"))}
    for asked, message in (({"num_train": 3, "num_val": 1}, "num_train 2 there, 3 asked"),
                           ({"num_train": 2, "num_val": 2}, "num_val 1 there, 2 asked"),
                           ({"num_train": 2, "num_val": 1, "data_seed": 1}, "seed 0 there, 1 asked")):
        with pytest.raises(ValueError, match=f"{re.escape(people)} holds generated people of another setting .*{message}"):
            compare(["fp"], steps=2, eval_every=1, out=str(out), **asked)
    assert {p: p.stat().st_mtime_ns for p in sorted((tmp_path / "c" / "data").rglob("*"))} == before
    assert not os.path.exists(run_dir(str(out), "fp", 0))



def test_people_of_another_generator_or_model_are_refused_not_regenerated(tmp_path):
    """The same counts and seed are not the same people when the generator's version or the SMPL-X-format model
    they were drawn with has changed since (``generate`` would draw them again): refused naming which, with the
    people on disk left as they were."""
    import json

    from bidrn_tf.apps.compare import compare, data_dir
    from bidrn_tf.data.synthetic import RECORD, VERSION, generate
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    out = tmp_path / "c"
    out.mkdir()
    model = model_or_stand_in(None, str(out))
    people = generate(data_dir(str(out), "plain"), smplx_model=model, num_train=2, num_val=1, seed=0,
                      progress=False)
    record = os.path.join(people, RECORD)
    with open(record) as f:
        kept = json.load(f)
    with open(record, "w") as f:
        json.dump({**kept, "version": VERSION - 1}, f)
    snapshot = lambda: {p: p.stat().st_mtime_ns for p in sorted((out / "data").rglob("*"))}  # noqa: E731
    before = snapshot()
    with pytest.raises(ValueError, match=f"{re.escape(people)} holds generated people of another setting "
                                         f"\\(version {VERSION - 1} there, {VERSION} asked\\)"):
        compare(["fp"], steps=2, eval_every=1, out=str(out), num_train=2, num_val=1)
    assert snapshot() == before
    with open(record, "w") as f:
        json.dump(kept, f)
    with open(model, "ab") as f:  # another model file under the stand-in's name
        f.write(b"\0")
    before = snapshot()
    digest = kept["smplx_model_sha256"]
    with pytest.raises(ValueError, match=f"\\(smplx_model_sha256 '{digest}' there, '[0-9a-f]{{16}}' asked\\)"):
        compare(["fp"], steps=2, eval_every=1, out=str(out), num_train=2, num_val=1)
    assert snapshot() == before
    assert not os.path.exists(run_dir(str(out), "fp", 0))

def test_resolution_of_the_seeds_from_the_pooled_spread():
    """Analytic values: every method's three seeds spread by sample std 5 mm, so the pooled spread is 5 mm with
    6 degrees of freedom; z_0.975 + z_0.8 = 2.8016; smallest resolved difference 2.8016 * 5 * sqrt(2 / 3) =
    11.4 mm; seeds for the FP-BNN gap of 10 mm: 2 (2.8016 * 5 / 10)^2 = 3.92 -> 4; for 4 mm: 24.5 -> 25."""
    control = {k: v for k, v in point(0, 300.0).items() if k != "step"}
    by = lambda *values: {"runs": {s: {"curve": [point(100, v)], "images_per_second": None}  # noqa: E731
                                   for s, v in enumerate(values)}}
    result = {"control": control, "methods": {"fp": by(245.0, 250.0, 255.0), "bnn": by(255.0, 260.0, 265.0),
                                              "bidrn": by(250.0, 255.0, 260.0), "xnor": by(200.0)}}
    table = format_table(result, "")
    # xnor's one seed (200 mm) is below BiDRN's mean (255) but not comparable with it: named apart
    assert ("On seeds 0, 1, 2 (the seeds FP, BNN and BiDRN all ran; every method's mean over them): BiDRN closes "
            "50 % of the FP-BNN gap") in table
    assert ("BiDRN is ahead of every other binarized method in this table. Not in that sentence because they did "
            "not run all of those seeds (compare them with BiDRN seed by seed below): xnor (seed 0).") in table
    assert "pooled over 3 methods with several seeds: 5.0 mm (6 degrees of freedom)" in table
    assert "With 3 seeds per method, a difference between two methods' means smaller than 11.4 mm" in table
    assert "The FP-BNN gap here (10.0 mm) needs 4 seeds per method; 40 % of it (4.0 mm) needs 25." in table
    # a gap narrower than what the seeds resolve: the share is flagged as noise
    assert ("xnor (seed 0). The FP-BNN gap (10.0 mm) is below the smallest difference these seeds resolve "
            "(11.4 mm, below): read the share as noise, not as a measurement.") in table
    result["methods"]["bnn"] = by(265.0, 270.0, 275.0)  # a 20 mm gap is resolved
    assert "read the share as noise" not in format_table(result, "")
    assert seeds_needed(10.0, 5.0) == 4 and seeds_needed(-4.0, 5.0) == 25 and seeds_needed(20.0, 5.0) == 1


def test_report_only_writes_both_controls_beside_a_stored_run(tmp_path):
    """`compare_methods.py --report-only` end to end on generated people: trains nothing, reads the stored
    curve, and the table, JSON and curves carry the mean-pose and the median-mesh control, each as
    ``diagnostics`` computes it on the same people."""
    import json

    from bidrn_tf.apps.compare import main
    from bidrn_tf.data import load_people
    from bidrn_tf.train.diagnostics import mean_pose_control, median_mesh_control

    out = tmp_path / "c"
    os.makedirs(out / "fp")
    (out / "fp" / "curve.json").write_text(json.dumps({"method": "fp", "seed": 0, "bn": "precise",
                                                       "points": [point(2, 123.0)], "images_per_second": 5.0}))
    args = ["--methods", "fp", "--steps", "2", "--eval-every", "1", "--preset", "tiny", "--num-train", "8",
            "--num-val", "2", "--out", str(out), "--report-only"]
    assert main(args) == 0
    assert not os.path.exists(out / "fp" / "run.json")  # nothing trained
    result = json.loads((out / "comparison.json").read_text())
    data = str(out / "data")
    train, val = load_people("synthetic", data, "train"), load_people("synthetic", data, "validation")
    smplx = str(out / "synthetic_smplx_model.npz")
    assert result["median_mesh_control"] == pytest.approx(median_mesh_control(train, val, smplx))
    assert result["control"] == pytest.approx(mean_pose_control(train, val, smplx))
    assert result["median_mesh_control"]["MPVPE_all"] != pytest.approx(result["control"]["MPVPE_all"])
    table = (out / "comparison.md").read_text()
    assert f"| median-mesh control | {result['median_mesh_control']['MPVPE_all']:.1f}" in table
    curves = json.loads((out / "curves.json").read_text())
    assert curves["median_mesh_control"] == pytest.approx(result["median_mesh_control"])


@pytest.mark.slow
def test_compare_trains_evaluates_and_diagnoses_end_to_end(tmp_path):
    """Two steps of FP on 8 generated people: a curve point at the last step, the table, and with
    ``--diagnose`` the rotation errors of the final weights (the constant's root angle is the one of the
    training people's mean root against the validation people's, from their parameter files) and the meshes
    against their own people, equal to the curve's last point."""
    import json

    from scipy.spatial.transform import Rotation

    from bidrn_tf.apps.compare import main
    from bidrn_tf.data import load_people

    out = tmp_path / "c"
    assert main(["--methods", "fp", "--steps", "2", "--eval-every", "2", "--preset", "tiny", "--num-train", "8",
                 "--num-val", "2", "--out", str(out), "--diagnose"]) == 0
    result = json.loads((out / "comparison.json").read_text())
    run = result["methods"]["fp"]["runs"]["0"]
    assert [p["step"] for p in run["curve"]] == [2]
    data = str(out / "data")
    train, val = load_people("synthetic", data, "train"), load_people("synthetic", data, "validation")
    mean = Rotation.from_rotvec(np.stack([p.params["global_orient"] for p in train])).mean()
    truth = Rotation.from_rotvec(np.stack([p.params["global_orient"] for p in val]))
    expected = np.degrees((truth * mean.inv()).magnitude().mean())
    assert run["rotations"]["constant"]["root_pose"] == pytest.approx(expected, abs=1e-2)
    assert all(np.isfinite(v) for part in ("model", "spread") for v in run["rotations"][part].values())
    assert set(run["rotations"]["root_yaw"]) == {"model", "constant"} and "root yaw: model / constant" in (
        out / "comparison.md").read_text()
    table = (out / "comparison.md").read_text()
    assert f"| fp | 0 | {run['rotations']['model']['root_pose']:.1f} / {expected:.1f} |" in table
    own, other = run["other_people"]["model"], run["other_people"]["other_people"]
    assert own == pytest.approx({k: v for k, v in run["curve"][-1].items() if k != "step"}, rel=1e-4)
    assert other["MPVPE_all"] > 0
    assert f"| fp | 0 | {own['MPVPE_all']:.1f} / {other['MPVPE_all']:.1f} |" in table
    for k in ("MPVPE_all", "PA_MPJPE_body"):  # one error per validation person, averaging to the curve's point
        assert len(run["per_person"][k]) == 2 and np.mean(run["per_person"][k]) == pytest.approx(
            run["curve"][-1][k], rel=1e-4)
    # offsets: Hand4Whole's rotation init gives each joint a random start far from the people's mean, which two
    # steps do not undo, so body joints are offset and scored again; scored with its own parameters through
    # the SMPL-X layer the run gets what its own meshes got
    assert len(run["bias"]["body_pose"]) == 21 and len(run["bias"]["root_pose"]) == 1
    reset = run["bias_reset"]
    offset = [j for j, b in enumerate(run["bias"]["body_pose"]) if b > 10.0]
    assert len(reset["joints"]) == len(offset) > 0
    assert reset["own"] == pytest.approx(own, rel=1e-4) and reset["reset"]["PA_MPJPE_body"] != pytest.approx(
        own["PA_MPJPE_body"], rel=1e-3)
    assert (f"| {', '.join(reset['joints'])} | {own['MPVPE_all']:.1f} / {reset['removed']['MPVPE_all']:.1f} / "
            f"{reset['reset']['MPVPE_all']:.1f} |" in table)
    terms = reset["loss_terms"]  # on the 8 training people (fewer than LOSS_TERM_PEOPLE), checked below
    assert terms["people"] == 8 and terms["removed"]["pose"] != pytest.approx(terms["own"]["pose"], rel=1e-3)
    assert terms["removed"]["boxes"] == pytest.approx(terms["own"]["boxes"], rel=1e-5)  # not from the parameters
    assert f"| fp | 0 | {terms['own']['pose']:.3f} / {terms['removed']['pose']:.3f} (" in table
    parts = run["parts"]
    assert set(parts) == set(result["median_mesh_parts"]) and all(np.isfinite(v) for v in parts.values())
    assert "| median-mesh control | " + " | ".join(f"{v:.1f}" for v in result["median_mesh_parts"].values()) in table

    # --diagnose-people: the same final weights measured on 3 fresh people, as the evaluation loop scores them
    from bidrn_tf.apps.compare import DIAGNOSE_SEED_OFFSET
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.evaluate.loop import evaluate
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.models.config import PRESETS

    assert main(["--methods", "fp", "--steps", "2", "--eval-every", "2", "--preset", "tiny", "--num-train", "8",
                 "--num-val", "2", "--out", str(out), "--report-only", "--diagnose", "--diagnose-people", "3"]) == 0
    again = json.loads((out / "comparison.json").read_text())
    assert again["diagnose_people"] == {"count": 3, "data_seed": DIAGNOSE_SEED_OFFSET}
    assert again["methods"]["fp"]["runs"]["0"]["curve"] == run["curve"]  # the curves keep their people
    fresh = load_people("synthetic", str(out / "data_diagnose3"), "validation")
    seen = {tuple(np.round(p.params["body_pose"], 6)) for p in train + val}
    assert len(fresh) == 3 and not {tuple(np.round(p.params["body_pose"], 6)) for p in fresh} & seen
    smplx = str(out / "synthetic_smplx_model.npz")
    model = load_trained(str(out / "fp" / "final" / "weights"), smplx_model=smplx)
    hw = PRESETS["tiny"].image_hw
    calib = make_dataset(train, ground_truth(train, smplx)["joints"], batch_size=8, training=False, input_hw=hw)
    precise_batchnorm(model, (b["image"] for b in calib.take(8)))
    from bidrn_tf.train.losses import losses

    (batch,) = list(calib)  # the run's own loss terms are the training loss of its outputs on these 8 people
    direct = losses(model(batch["image"], training=False), batch, PRESETS["tiny"])
    assert {k: float(v) for k, v in direct.items()} == pytest.approx(terms["own"], rel=1e-4, abs=1e-6)
    expected = evaluate(model, fresh, smplx_model=smplx, input_hw=hw, progress=False)["mean"]
    per_person = again["methods"]["fp"]["runs"]["0"]["per_person"]
    for k in ("MPVPE_all", "PA_MPJPE_body"):
        assert len(per_person[k]) == 3 and np.mean(per_person[k]) == pytest.approx(expected[k], rel=1e-4)
    assert "are on 3 fresh validation people (data seed 1000003)" in (out / "comparison.md").read_text()


def _setting(**change):
    from bidrn_tf.apps.compare import SETTING_ARGS

    setting = dict.fromkeys(SETTING_ARGS)
    setting.update(steps=100, batch_size=8, lr=1e-3, preset="tiny", num_train=8, num_val=2, data_seed=0,
                   eval_every=50, bn="precise", feature_bn=True, rotation_init="rest", fp_init="he",
                   pose_loss="geodesic", root_pose_weight=1.0, appearance="plain", distill_weight=0.0)
    return {**setting, **change}


def _report(tmp_path, setting):
    import json

    data = {"methods": {"fp": {"runs": {"0": {"curve": [point(50, 190.0), point(100, 150.0)],
                                              "images_per_second": 8.0},
                                        "1": {"curve": [point(100, 140.0)], "images_per_second": 7.0}}},
                        "bidrn": {"runs": {"0": {"curve": [point(100, 170.0)], "images_per_second": None}}}},
            "args": {**setting, "methods": ["fp", "bidrn"], "out": "elsewhere"}}
    path = tmp_path / "comparison.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_restored_curves_are_read_back_as_the_runs_they_were(tmp_path):
    """``--restore-curves``: every run of a stored report that has no curve in ``out`` gets its curve back in
    its own run folder (seed 1 in ``fp-seed1``), a run that has one keeps it, and ``_run_one`` reads the
    restored curves as it reads the curves of runs trained there."""
    import json

    from bidrn_tf.apps.compare import _run_one, restore_curves

    out = str(tmp_path / "out")
    os.makedirs(run_dir(out, "bidrn", 0))
    with open(os.path.join(run_dir(out, "bidrn", 0), "curve.json"), "w") as f:
        json.dump({"points": [point(100, 99.0)], "images_per_second": 1.0}, f)
    restored = restore_curves(_report(tmp_path, _setting()), out, _setting())
    assert sorted(restored) == [("fp", 0), ("fp", 1)]
    read = {(m, s): _run_one(m, s, out=out, steps=100, eval_every=50, batch_size=8, lr=1e-3, preset="tiny", cfg=None,
                             smplx=None, data=None, calib=None, val_people=None, bn="precise", pose_loss="geodesic",
                             root_pose_weight=1.0, report_only=True) for m, s in [("fp", 0), ("fp", 1), ("bidrn", 0)]}
    assert read[("fp", 0)] == {"curve": [point(50, 190.0), point(100, 150.0)], "images_per_second": 8.0}
    assert read[("fp", 1)] == {"curve": [point(100, 140.0)], "images_per_second": 7.0}
    assert read[("bidrn", 0)]["curve"] == [point(100, 99.0)]  # not overwritten
    assert restore_curves(_report(tmp_path, _setting()), out, _setting()) == []  # a second pass: nothing to do


def test_curves_of_several_reports_are_restored_together_and_must_agree(tmp_path, capsys):
    """``--restore-curves A B``: the runs of both reports come back (a run in both once); a report that gives a
    run another curve than an earlier one is refused, naming the run and both reports, before anything is
    written."""
    import json

    from bidrn_tf.apps.compare import main, restore_curves

    first = _report(tmp_path, _setting())
    data = json.loads(open(first).read())
    data["methods"]["bireal"] = {"runs": {"2": {"curve": [point(100, 160.0)], "images_per_second": 6.0}}}
    del data["methods"]["fp"]["runs"]["1"]
    (tmp_path / "second.json").write_text(json.dumps(data))  # fp seed 0 and bidrn seed 0 as in the first
    out = str(tmp_path / "out")
    restored = restore_curves([first, str(tmp_path / "second.json")], out, _setting())
    assert sorted(restored) == [("bidrn", 0), ("bireal", 2), ("fp", 0), ("fp", 1)]
    with open(os.path.join(run_dir(out, "bireal", 2), "curve.json")) as f:
        assert json.load(f)["points"] == [point(100, 160.0)]

    data["methods"]["fp"]["runs"]["0"]["curve"][-1] = point(100, 151.0)
    (tmp_path / "other.json").write_text(json.dumps(data))
    fresh = tmp_path / "fresh"
    with pytest.raises(ValueError, match=r"fp seed 0 has another curve in .*other\.json than in .*comparison\.json"):
        restore_curves([first, str(tmp_path / "other.json")], str(fresh), _setting())
    assert not fresh.exists()
    args = ["--methods", "fp", "bireal", "--steps", "100", "--eval-every", "50", "--lr", "1e-3", "--preset", "tiny",
            "--num-train", "8", "--num-val", "2", "--feature-bn", "--rotation-init", "rest", "--fp-init", "he",
            "--pose-loss", "geodesic", "--root-pose-weight", "1", "--out", str(fresh), "--report-only",
            "--restore-curves", first, str(tmp_path / "other.json")]
    assert main(args) == 2
    assert "fp seed 0 has another curve" in capsys.readouterr().err and not fresh.exists()


def test_curves_of_another_setting_are_refused_before_anything_is_written(tmp_path, capsys):
    """A report made with another setting (here the pose loss and the step count) is refused with one message
    naming each difference, and so is a malformed run entry; no curve is written."""
    import json

    from bidrn_tf.apps.compare import main

    report = _report(tmp_path, _setting(pose_loss="matrix", steps=200))
    out = tmp_path / "out"
    args = ["--methods", "fp", "--steps", "100", "--eval-every", "50", "--lr", "1e-3", "--preset", "tiny",
            "--num-train", "8", "--num-val", "2", "--feature-bn", "--rotation-init", "rest", "--fp-init", "he",
            "--pose-loss", "geodesic", "--root-pose-weight", "1", "--out", str(out), "--report-only",
            "--restore-curves", report]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "another setting" in err and "pose_loss 'matrix' there, 'geodesic' here" in err
    assert "steps 200 there, 100 here" in err and "lr" not in err.split("setting:")[1]
    assert not out.exists()
    (tmp_path / "bad.json").write_text("[1, 2]")
    assert main(args[:-1] + [str(tmp_path / "bad.json")]) == 2
    assert "not a comparison report" in capsys.readouterr().err
    from bidrn_tf.apps.compare import restore_curves

    good = json.loads(open(_report(tmp_path, _setting())).read())
    for bad in ({"runs": [1]}, {"runs": {"0": [1]}}, {"runs": {"x": {}}}, "x"):  # fp's runs are well formed
        (tmp_path / "bad.json").write_text(json.dumps({**good, "methods": {**good["methods"], "bidrn": bad}}))
        with pytest.raises(ValueError, match="method 'bidrn' has no 'runs' mapping each seed"):
            restore_curves(str(tmp_path / "bad.json"), str(out), _setting())
    assert not out.exists()


def test_reports_from_before_appearance_are_plain_and_runs_keep_their_people(tmp_path):
    """A report written before ``appearance`` was a setting restores into a plain comparison and is refused by a
    front one; each appearance has its own data folders (a run is not continued on another: ``test_loop``)."""
    import json

    from bidrn_tf.apps.compare import data_dir, restore_curves

    report = _report(tmp_path, _setting())
    data = json.loads(open(report).read())
    del data["args"]["appearance"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert sorted(restore_curves(str(tmp_path / "old.json"), str(tmp_path / "plain"), _setting())) == [
        ("bidrn", 0), ("fp", 0), ("fp", 1)]
    with pytest.raises(ValueError, match="appearance 'plain' there, 'front' here"):
        restore_curves(str(tmp_path / "old.json"), str(tmp_path / "front"), _setting(appearance="front"))
    assert not (tmp_path / "front").exists()

    out = str(tmp_path / "cmp")
    assert data_dir(out, "plain") == os.path.join(out, "data")
    assert data_dir(out, "front") == os.path.join(out, "data_front")
    assert data_dir(out, "front", 512) == os.path.join(out, "data_diagnose512_front")
    assert data_dir(out, "plain", 512) == os.path.join(out, "data_diagnose512")


def test_xnor_k_is_trained_as_xnor_with_its_activation_scale_in_its_own_run(tmp_path, monkeypatch, capsys):
    """``--methods xnor_k``: the evaluation model and the training run are XNOR-Net with K
    (``ModelConfig.xnor_activation_scale``), in the run folder ``xnor_k`` beside plain ``xnor``'s."""
    import bidrn_tf.apps.compare as app
    import bidrn_tf.models.whole_body as whole_body
    import bidrn_tf.train.loop as loop
    from bidrn_tf.models.config import PRESETS

    built, trained = [], []

    class Stop(Exception):
        """Ends the run once its configuration has been seen."""

    def fake_train(config, step_hook=None):
        trained.append(config)
        raise Stop

    monkeypatch.setattr(whole_body, "build_model", lambda **kw: built.append(kw))
    monkeypatch.setattr(loop, "train", fake_train)
    cfg = PRESETS["tiny"]
    kwargs = dict(out=str(tmp_path), steps=2, eval_every=2, batch_size=2, lr=1e-3, preset="tiny", cfg=cfg,
                  smplx="model.npz", data=str(tmp_path / "data"), calib=None, val_people=[], bn="precise",
                  pose_loss="geodesic", root_pose_weight=1.0, report_only=False)
    for entry in ("xnor_k", "xnor"):
        with pytest.raises(Stop):
            app._run_one(entry, 1, **kwargs)
    (k_build, plain_build), (k_run, plain_run) = built, trained
    assert (k_build["method"], k_build["config"].xnor_activation_scale) == ("xnor", True)
    assert (k_run.method, k_run.model_config.xnor_activation_scale) == ("xnor", True)
    assert k_run.out == run_dir(str(tmp_path), "xnor_k", 1) == str(tmp_path / "xnor_k-seed1")
    assert (plain_build["config"].xnor_activation_scale, plain_run.model_config.xnor_activation_scale) == (False,
                                                                                                         False)
    assert plain_run.out == str(tmp_path / "xnor-seed1")
    assert cfg.xnor_activation_scale is False  # the shared configuration is left as it was
    assert app.entry_model("bnn", cfg) == ("bnn", cfg)
    asked = []
    monkeypatch.setattr(app, "compare", lambda methods, **kw: asked.append(methods) or {"methods": {}})
    assert app.main(["--methods", "xnor", "xnor_k", "--out", str(tmp_path / "c")]) == 2  # no run: no table
    assert asked == [["xnor", "xnor_k"]]
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps the help at hyphens otherwise
    with pytest.raises(SystemExit):
        app.main(["--help"])
    assert "xnor_k: xnor with XNOR-Net's activation scale K" in " ".join(capsys.readouterr().out.split())


def test_a_teacher_reaches_every_run_and_is_checked_before_anything_is_written(tmp_path, monkeypatch):
    """``--teacher`` (default weight 1) is part of the setting and goes into every run's ``TrainConfig``; a weight
    without a teacher, or a teacher that does not load, stops the comparison before it writes anything."""
    import bidrn_tf.apps.compare as app
    import bidrn_tf.models.whole_body as whole_body
    import bidrn_tf.train.loop as loop
    from bidrn_tf.models.config import PRESETS

    assert {"teacher", "distill_weight"} <= set(app.SETTING_ARGS)
    trained = []

    class Stop(Exception):
        """Ends the run once its configuration has been seen."""

    def fake_train(config, step_hook=None):
        trained.append(config)
        raise Stop

    monkeypatch.setattr(whole_body, "build_model", lambda **kw: None)
    monkeypatch.setattr(loop, "train", fake_train)
    with pytest.raises(Stop):
        app._run_one("bidrn", 0, out=str(tmp_path), steps=2, eval_every=2, batch_size=2, lr=1e-3, preset="tiny",
                     cfg=PRESETS["tiny"], smplx="model.npz", data=str(tmp_path / "data"), calib=None, val_people=[],
                     bn="precise", pose_loss="geodesic", root_pose_weight=1.0, report_only=False,
                     teacher="/t/weights", distill_weight=0.5)
    assert (trained[0].teacher, trained[0].distill_weight) == ("/t/weights", 0.5)

    out = tmp_path / "c"
    for kw, message in (({"distill_weight": 1.0}, "needs both a teacher"),
                        ({"teacher": str(tmp_path / "none" / "weights"), "distill_weight": 1.0}, "not found")):
        with pytest.raises(ValueError, match=message):
            app.compare(["bidrn"], steps=2, eval_every=1, preset="tiny", out=str(out), **kw)
    assert not out.exists()
    seen = []
    monkeypatch.setattr(app, "compare", lambda methods, **kw: seen.append(kw) or {"methods": {}})
    assert app.main(["--methods", "bnn", "--out", str(out), "--teacher", "t/weights"]) == 2  # no run: no table
    assert app.main(["--methods", "bnn", "--out", str(out)]) == 2
    assert [(kw["teacher"], kw["distill_weight"]) for kw in seen] == [(os.path.abspath("t/weights"), 1.0),
                                                                       (None, 0.0)]
