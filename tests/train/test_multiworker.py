"""--strategy multiworker, really run: two worker processes on 127.0.0.1 with TF_CONFIG.

The full-precision tiny model keeps this test near two minutes on 2 cores; BiDRN runs the same way, only
slower (its many BatchNorm statistics are each all-reduced when read for a save).
"""
import json
import os
import socket
import subprocess
import sys

import pytest

from bidrn_tf.data.synthetic import generate

from helpers import REPO

TRAIN = os.path.join(REPO, "training", "train.py")


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _summary(stdout: str) -> dict:
    """The JSON summary train.py prints last."""
    return json.loads(stdout[stdout.rindex("{\n \"method\""):])


@pytest.mark.slow
def test_two_workers_train_identical_replicas_and_only_the_chief_writes(tmp_path, smplx_model_path):
    data = generate(str(tmp_path / "data"), smplx_model=smplx_model_path, num_train=4, num_val=1, seed=2,
                    progress=False)
    out = str(tmp_path / "run")
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        tmp = tmp_path / f"tmp{index}"
        tmp.mkdir()
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                     "task": {"type": "worker", "index": index}}),
                   TMPDIR=str(tmp))
        procs.append(subprocess.Popen(
            [sys.executable, TRAIN, "--dataset", "synthetic", "--data-dir", data, "--smplx-model", smplx_model_path,
             "--out", out, "--method", "fp", "--preset", "tiny", "--steps", "3", "--batch-size", "4",
             "--checkpoint-every", "2", "--log-every", "1", "--strategy", "multiworker"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        assert p.returncode == 0, stderr[-3000:]
        results.append(_summary(stdout))
    chief, worker = results
    assert chief["chief"] is True and worker["chief"] is False
    assert chief["replicas"] == worker["replicas"] == 2 and chief["steps"] == worker["steps"] == 3
    assert chief["weights_sha256"] == worker["weights_sha256"]  # the replicas stayed identical
    # the chief alone wrote: its files are in out, the worker's temporary folder is gone
    assert sorted(os.listdir(out)) == ["checkpoints", "final", "run.json", "summary.json", "tensorboard"]
    assert json.load(open(os.path.join(out, "summary.json")))["weights_sha256"] == chief["weights_sha256"]
    assert sorted(f for f in os.listdir(os.path.join(out, "checkpoints")) if f.endswith(".index")) == \
        ["ckpt-2.index", "ckpt-3.index"]
    assert os.listdir(tmp_path / "tmp1") == []
    # the final weights on disk are those replicas
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.train.loop import weights_digest

    model = load_trained(os.path.join(out, "final", "weights"))
    assert weights_digest(model) == chief["weights_sha256"]
