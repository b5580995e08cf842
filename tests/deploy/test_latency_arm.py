"""convert/benchmark.py (x86 timing harness) and convert/arm (lce_benchmark_model commands and parser)."""
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy import arm, flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.deploy import latency as benchmark

from helpers import FIXTURES, REPO as ROOT  # noqa: E402

DATA = os.path.join(FIXTURES, "lce_benchmark_model")


def _read(name):
    with open(os.path.join(DATA, name)) as f:
        return f.read()


def test_parse_profiled_output():
    r = arm.parse_output(_read("profiled.txt"))
    # the measured runs' line (the last count=... line), not the warm-up's
    assert r["count"] == 50 and r["avg_us"] == 240195 and r["std_us"] == 3104
    assert (r["min_us"], r["max_us"], r["first_us"]) == (235921, 251880, 240193)
    assert r["init_us"] == 112504 and r["warmup_avg_us"] == 245300
    types = {o["type"]: o for o in r["op_types"]}  # the regular runs' table, not the initialisation's
    assert "ModifyGraphWithDelegate" not in types and len(types) == 7
    assert types["LceBconv2d"] == {"type": "LceBconv2d", "count": 292, "avg_ms": 121.4, "percent": 50.543}
    assert sum(o["percent"] for o in r["op_types"]) == pytest.approx(100.0, abs=0.01)


def test_parse_plain_output_of_older_builds():
    r = arm.parse_output(_read("plain.txt"))
    assert r["count"] == 20 and r["avg_us"] == 999870 and r["min_us"] == 990127
    assert r["op_types"] == [] and r["init_us"] is None


@pytest.mark.parametrize("text, match", [("truncated.txt", "truncated .*avg"), ("", "no timing line"),
                                         ("Error: could not open model", "no timing line")])
def test_parse_rejects_incomplete_output(text, match):
    with pytest.raises(arm.BenchmarkOutputError, match=match):
        arm.parse_output(_read(text) if text.endswith(".txt") else text)


def test_results_table_ratios():
    table = arm.results_table({"bidrn": arm.parse_output(_read("profiled.txt")),
                               "fp": arm.parse_output(_read("plain.txt"))})
    assert "| bidrn | 240.2 | 235.9 | 251.9 | 3.1 | 50 | 1.000 |" in table
    assert f"| {999870 / 240195:.3f} |" in table and "| LceBconv2d | 292 | 121.400 | 50.5 |" in table


def test_adb_and_ssh_commands():
    setup, runs = arm.adb_commands("bin/lce_benchmark_model", ["out/a b.tflite", "fp.tflite"], serial="X1",
                                   threads=1, num_runs=30, op_profiling=True)
    assert setup[0] == ["adb", "-s", "X1", "shell", "mkdir", "-p", "/data/local/tmp/bidrn"]
    assert ["adb", "-s", "X1", "push", "out/a b.tflite", "/data/local/tmp/bidrn/a b.tflite"] in setup
    remote = shlex.split(runs[0][-1])  # one shell string, quoted for the device shell
    assert remote == ["/data/local/tmp/bidrn/lce_benchmark_model", "--graph=/data/local/tmp/bidrn/a b.tflite",
                      "--num_threads=1", "--num_runs=30", "--warmup_runs=5", "--enable_op_profiling=true"]
    setup, runs = arm.ssh_commands("lce_benchmark_model", ["m.tflite"], host="pi@board", threads=4)
    assert setup[1] == ["scp", "--", "lce_benchmark_model", "m.tflite", "pi@board:/tmp/bidrn/"]
    assert runs[0][:3] == ["ssh", "--", "pi@board"] and "--num_threads=4" in runs[0][3]


@pytest.mark.parametrize("host", ["-oProxyCommand=touch /tmp/pwned", "pi@-x", "a b", "", "host;rm", "u@h@x"])
def test_ssh_hosts_that_are_options_or_garbage_are_refused(host, capsys):
    with pytest.raises(ValueError, match="not an ssh host"):
        arm.ssh_commands("lce_benchmark_model", ["m.tflite"], host=host)
    with pytest.raises(SystemExit) as exit_:
        arm.main(["--binary", "b", f"--ssh={host}", "--dry-run", "m.tflite"])
    assert exit_.value.code == 2 and "not an ssh host" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [(["--num-runs", "-5"], "--num-runs: must be at least 1"),
                                          (["--threads", "0"], "--threads: must be at least 1"),
                                          (["--warmup-runs", "x"], "expected a whole number")])
def test_run_arm_numbers_are_checked(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        arm.main(["--adb", "--binary", "b", "--dry-run", *args, "m.tflite"])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_run_arm_script_parse_mode(tmp_path):
    out = str(tmp_path / "arm")
    script = os.path.join(ROOT, "convert", "arm", "run_arm.py")
    done = subprocess.run([sys.executable, script, "--parse", os.path.join(DATA, "profiled.txt"),
                           os.path.join(DATA, "plain.txt"), "--out", out], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.load(open(out + ".json"))["profiled"]["avg_us"] == 240195
    bad = subprocess.run([sys.executable, script, "--parse", os.path.join(DATA, "truncated.txt"), "--out", out],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error: timing line is truncated")
    dry = subprocess.run([sys.executable, script, "--adb", "--binary", "lce_benchmark_model", "--dry-run", "m.tflite"],
                         capture_output=True, text=True)
    assert dry.returncode == 0 and "$ adb shell" in dry.stdout


def _tiny_tflite(path, binary):
    import larq as lq

    x = tf.keras.Input((8, 8, 32), batch_size=2 if binary else None)  # batch 2, like the hand backbone
    if binary:
        y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign")(x)
    else:
        y = tf.keras.layers.Conv2D(32, 3, padding="same")(x)
    with open(path, "wb") as f:
        f.write(convert(tf.keras.Model(x, y), binary=binary))
    return path


def test_benchmark_cli_alternates_and_writes_reports(tmp_path, capsys):
    b = _tiny_tflite(str(tmp_path / "bin.tflite"), True)
    f = _tiny_tflite(str(tmp_path / "flt.tflite"), False)
    out = str(tmp_path / "bench")
    assert benchmark.main([b, f, "--kernels", "indirect", "reference", "--threads", "1", "--repeats", "3",
                           "--warmup", "1", "--out", out]) == 0
    report = json.load(open(out + ".json"))
    names = [r["variant"] for r in report["rows"]]
    # by default the LCE interpreter runs with XNNPACK for its float ops (fair) and without (its own default)
    assert names == ["bin [lce+xnnpack/indirect, 1 thr]", "bin [lce+xnnpack/reference, 1 thr]",
                     "bin [lce/indirect, 1 thr]", "bin [lce/reference, 1 thr]", "flt [tflite+xnnpack, 1 thr]"]
    assert [v["xnnpack"] for v in report["variants"]] == [True, True, False, False, True]
    assert all(len(v) == 3 for v in report["raw_ms"].values())
    first = report["rows"][0]
    assert first["ratio_to_first"] == 1.0
    r = report["rows"][4]
    assert r["ratio_to_first"] == pytest.approx(r["median_ms"] / first["median_ms"])
    assert r["median_ms"] == pytest.approx(float(np.median(report["raw_ms"][r["variant"]])))
    assert "| bin [lce/indirect, 1 thr] |" in open(out + ".md").read()
    assert benchmark.main([b, "--lce-xnnpack", "on", "--repeats", "1", "--out", out]) == 0
    assert [r["variant"] for r in json.load(open(out + ".json"))["rows"]] == ["bin [lce+xnnpack/indirect, 1 thr]"]


def test_benchmark_rejects_corrupt_and_missing_files(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    assert benchmark.main([str(bad), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "bad.tflite" in err and "not a TF Lite flatbuffer" in err and err.count("\n") == 1
    assert benchmark.main([str(tmp_path / "none.tflite"), "--out", str(tmp_path / "b")]) == 2
    assert "model file not found" in capsys.readouterr().err
    assert not os.path.exists(str(tmp_path / "b.json"))


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_flatbuffers_are_refused_before_any_interpreter(tmp_path, capsys, keep):
    """A .tflite cut short passes the header check; the interpreter would crash (exit 139) on it."""
    whole = open(_tiny_tflite(str(tmp_path / "whole.tflite"), True), "rb").read()
    deploy_ok = flatbuffer.verify(whole)  # the complete file passes
    assert deploy_ok is None
    cut = tmp_path / "cut.tflite"
    cut.write_bytes(whole[:int(len(whole) * keep)])
    assert benchmark.main([str(cut), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "cut.tflite" in err and "truncated or corrupt TF Lite flatbuffer" in err and err.count("\n") == 1
    with pytest.raises(flatbuffer.FlatbufferError, match="truncated or corrupt"):
        flatbuffer.Runner(whole[:int(len(whole) * keep)])
    assert not os.path.exists(str(tmp_path / "b.json"))


@pytest.mark.parametrize("args,message", [(["--repeats", "0"], "--repeats: must be at least 1"),
                                          (["--threads", "0"], "--threads: must be at least 1"),
                                          (["--warmup", "-1"], "--warmup: must be at least 0")])
def test_benchmark_numbers_are_checked(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        benchmark.main([str(tmp_path / "m.tflite"), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_benchmark_labels_models_with_the_same_name_apart(tmp_path, capsys):
    os.makedirs(tmp_path / "a")
    os.makedirs(tmp_path / "b")
    a = _tiny_tflite(str(tmp_path / "a" / "model.tflite"), False)
    b = _tiny_tflite(str(tmp_path / "b" / "model.tflite"), False)
    out = str(tmp_path / "bench")
    assert benchmark.main([a, b, "--repeats", "1", "--warmup", "0", "--out", out]) == 0
    assert [r["variant"] for r in json.load(open(out + ".json"))["rows"]] == [
        "a/model [tflite+xnnpack, 1 thr]", "b/model [tflite+xnnpack, 1 thr]"]
    assert benchmark.main([a, a, "--out", out + "2"]) == 2
    assert "more than once" in capsys.readouterr().err
