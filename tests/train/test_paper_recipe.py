"""The paper's EHF recipe end to end on generated stand-ins: train on h36m+mscoco+mpii, evaluate on EHF."""
import json
import os

import numpy as np
import pytest

from bidrn_tf.data.synthetic_mix import generate_mix
from bidrn_tf.evaluate.loop import main as evaluate_main
from bidrn_tf.train.loop import main as train_main


@pytest.mark.slow
def test_train_on_the_mix_and_evaluate_on_ehf(tmp_path, smplx_model_path, capsys):
    data = generate_mix(str(tmp_path / "data"), smplx_model=smplx_model_path, num_per_set=2, progress=False)
    out = str(tmp_path / "run")
    assert train_main(["--dataset", "h36m+mscoco+mpii", "--data-dir", data, "--smplx-model", smplx_model_path,
                       "--out", out, "--method", "bidrn", "--preset", "tiny", "--steps", "3", "--batch-size", "2",
                       "--checkpoint-every", "3", "--log-every", "1"]) == 0
    run = json.load(open(os.path.join(out, "run.json")))
    assert run["dataset"] == "h36m+mscoco+mpii" and run["num_train"] == 5 + 2 + 2
    report = str(tmp_path / "ehf.json")
    assert evaluate_main(["--dataset", "ehf", "--data-dir", os.path.join(data, "EHF"), "--checkpoint",
                          os.path.join(out, "final", "weights"), "--out", report]) == 0
    result = json.load(open(report))
    assert result["count"] == 2 and result["dataset"] == "ehf" and "bidrn_tf_version" in result
    assert all(np.isfinite(v) and v > 0 for v in result["mean"].values())
    assert "MPVPE" in open(report[:-5] + ".md").read()
    # a training mix with EHF in it, or an unknown set, is refused while parsing the arguments
    for bad, message in (("h36m+ehf", "not ehf"), ("h36m+kinetics", "'kinetics' (in 'h36m+kinetics') is not one of")):
        with pytest.raises(SystemExit):
            train_main(["--dataset", bad, "--out", str(tmp_path / "x")])
        assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "x")
