"""The method comparison: table with the control, curves plot, resumption point."""
import os

import cv2
import pytest

from bidrn_tf.apps.compare import _committed_step, format_table, plot_curves


def _result():
    point = lambda step, v: {"step": step, "MPVPE_all": v, "MPVPE_hands": 1.0, "MPVPE_face": 1.0,  # noqa: E731
                             "PA_MPVPE_all": 1.0, "PA_MPVPE_hands": 1.0, "PA_MPVPE_face": 1.0, "PA_MPJPE_body": 1.0,
                             "PA_MPJPE_hands": 1.0}
    control = {k: v for k, v in point(0, 200.0).items() if k != "step"}
    return {"control": control, "methods": {
        "fp": {"curve": [point(50, 190.0), point(100, 150.0)], "images_per_second": 8.0},
        "bidrn": {"curve": [point(50, 210.0), point(100, 170.0)], "images_per_second": 6.0}}}


def test_table_has_the_control_row_and_the_last_points(tmp_path):
    table = format_table(_result(), "head\n\n")
    lines = table.splitlines()
    assert any(line.startswith("| mean-pose control | 200.0") for line in lines)
    assert any(line.startswith("| fp | 150.0") for line in lines) and any(line.startswith("| bidrn | 170.0") for line in lines)
    assert "FP is 50.0 mm below the control (25 %)" in table
    assert "BiDRN closes" not in table  # no bnn row: no gap sentence
    with_oracle = format_table({**_result(), "true_root_oracle": _result()["control"]}, "head\n\n")
    assert "| mean pose + true root (oracle) | 200.0" in with_oracle
    worse = _result()
    worse["methods"]["fp"]["curve"][-1]["MPVPE_all"] = 230.0
    assert "FP is 30.0 mm above the control (15 %)" in format_table(worse, "")


def test_curves_are_a_png(tmp_path):
    path = str(tmp_path / "curves.png")
    plot_curves(_result(), path, title="t")
    img = cv2.imread(path)
    assert img is not None and img.shape[0] > 200 and img.shape[1] > 300


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
    result["methods"]["bidrn"]["curve"] = result["methods"]["bidrn"]["curve"][:1]  # still running: only step 50
    assert common_step(result) == 50
    table = format_table(result, "")
    assert "Every method at step 50" in table and any(line.startswith("| fp | 190.0") for line in table.splitlines())
    result["methods"]["bidrn"]["curve"] = [{**result["methods"]["bidrn"]["curve"][0], "step": 75}]
    with pytest.raises(ValueError, match="share no evaluated step"):
        common_step(result)


def test_cli_switches_reach_compare(tmp_path, monkeypatch):
    """`compare_methods.py` and `train.py` share one definition of the scratch switches (cli.add_scratch_switches)."""
    import bidrn_tf.apps.compare as app

    seen = []
    monkeypatch.setattr(app, "compare", lambda methods, **kw: seen.append(kw) or {"methods": {}})
    out = str(tmp_path / "cmp")
    assert app.main(["--methods", "fp", "--out", out, "--feature-bn", "--rotation-init", "rest", "--pose-loss",
                     "matrix", "--fp-init", "he"]) == 2  # nothing trained: no table
    assert app.main(["--methods", "fp", "--out", out]) == 2
    switched, default = seen
    assert {k: switched[k] for k in ("feature_bn", "rotation_init", "pose_loss", "fp_init")} == {
        "feature_bn": True, "rotation_init": "rest", "pose_loss": "matrix", "fp_init": "he"}
    assert {k: default[k] for k in ("feature_bn", "rotation_init", "pose_loss", "fp_init")} == {
        "feature_bn": False, "rotation_init": "hand4whole", "pose_loss": "axis_angle", "fp_init": "hand4whole"}
    with pytest.raises(SystemExit):
        app.main(["--methods", "fp", "--out", out, "--fp-init", "glorot"])
