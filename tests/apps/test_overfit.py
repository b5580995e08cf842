"""The overfit check: per-part pose angles, the constant's mean rotations, and the command end to end."""
import json
import os

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bidrn_tf.apps.overfit import PARTS, mean_rotations, pose_angles


def _poses(rotvecs_per_part):
    return {k: np.asarray(v, np.float32).reshape(len(v), -1) for k, v in rotvecs_per_part.items()}


def test_pose_angles_are_the_mean_relative_angle_in_degrees_per_part():
    rng = np.random.default_rng(0)
    sizes = {"root_pose": 1, "body_pose": 21, "lhand_pose": 15, "rhand_pose": 15, "jaw_pose": 1}
    truth = _poses({k: rng.normal(size=(4, n, 3)) for k, n in sizes.items()})
    pred = _poses({k: rng.normal(size=(4, n, 3)) for k, n in sizes.items()})
    got = pose_angles(pred, truth)
    for k in PARTS:
        a, b = Rotation.from_rotvec(pred[k].reshape(-1, 3)), Rotation.from_rotvec(truth[k].reshape(-1, 3))
        assert got[k] == pytest.approx(np.degrees((a.inv() * b).magnitude().mean()), abs=1e-3), k
    assert pose_angles(truth, truth)["body_pose"] < 1e-3


def test_mean_rotations_of_a_symmetric_pair_and_of_equal_rotations():
    """Turns of +-0.4 rad about z average to the identity; equal rotations to themselves - also near a half
    turn, where averaging the axis-angle vectors of (pi - e) n and -(pi - e) n would give the identity."""
    pair = {"root_pose": np.array([[0.0, 0.0, 0.4], [0.0, 0.0, -0.4]], np.float32)}
    np.testing.assert_allclose(mean_rotations(pair)["root_pose"], [[0.0, 0.0, 0.0]], atol=1e-6)
    a = np.pi - 0.05
    near_half = {"root_pose": np.array([[a, 0.0, 0.0], [-a, 0.0, 0.0]], np.float32)}
    mean = Rotation.from_rotvec(mean_rotations(near_half)["root_pose"][0])
    assert mean.magnitude() == pytest.approx(np.pi, abs=1e-4)  # the half turn about x, not the identity
    body = {"body_pose": np.tile(np.linspace(-1, 1, 63, dtype=np.float32), (3, 1))}
    np.testing.assert_allclose(mean_rotations(body)["body_pose"], body["body_pose"][:1], atol=1e-5)


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
