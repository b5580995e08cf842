"""The overfit check end to end (its angle helpers are tested with ``train.diagnostics``)."""
import json
import os

import pytest

from bidrn_tf.smplx.joints import POSE_OUTPUTS as PARTS


@pytest.mark.slow
def test_overfit_command_writes_its_table_and_resumes_a_finished_run(tmp_path, capsys):
    from bidrn_tf.apps.overfit import main

    out = str(tmp_path / "ov")
    argv = ["--num-people", "4", "--batch-size", "4", "--steps", "2", "--out", out, "--pose-loss", "geodesic",
            "--root-pose-weight", "1", "--rotation-init", "rest"]
    assert main(argv) == 0
    result = json.load(open(os.path.join(out, "overfit.json")))
    assert result["settings"]["pose_loss"] == "geodesic" and result["settings"]["root_pose_weight"] == 1.0
    run = json.load(open(os.path.join(out, "run", "run.json")))
    assert run["augment"] is False and run["num_train"] == 4
    assert set(result["angles"]) == set(PARTS) and all(0 <= v <= 180 for v in result["angles"].values())
    table = open(os.path.join(out, "overfit.md")).read()
    assert "| fit |" in table and "| mean-pose control |" in table and "not AGORA / EHF" in table
    digest = json.load(open(os.path.join(out, "run", "summary.json")))["weights_sha256"]
    assert main(argv) == 0  # the finished run is resumed: nothing trained, the same evaluation
    assert json.load(open(os.path.join(out, "overfit.json")))["fit"] == result["fit"]
    assert json.load(open(os.path.join(out, "run", "summary.json")))["weights_sha256"] == digest
    assert main([("matrix" if a == "geodesic" else a) for a in argv]) == 2  # another loss in the same folder
    assert "pose_loss 'geodesic', not 'matrix'" in capsys.readouterr().err
    assert main(["--num-people", "2", "--batch-size", "4", "--out", out]) == 2
    assert "num_people must be a whole number >= batch_size (4)" in capsys.readouterr().err
