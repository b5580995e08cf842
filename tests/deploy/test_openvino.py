"""OpenVINO IR conversion (bidrn_tf.deploy.openvino_ir, ``--format openvino``) checked in OpenVINO's CPU plugin.

The runtime graph of the *compiled* model is the independent witness: it names the kernel each node ran as.
"""
import json
import os

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from helpers import SMALL18, assert_matches_keras, whole_model_images

from bidrn_tf.deploy import convert, latency, openvino_ir
from bidrn_tf.inference import prepare_model
from bidrn_tf.models.backbones import METHODS
from bidrn_tf.models.whole_body import build_model

SHARES_CONVERSION = pytest.mark.xdist_group("bidrn_small_whole_openvino")


@pytest.mark.parametrize("kernel,strides,padding", [(3, 1, "same"), (3, 2, "same"), (1, 1, "valid"), (1, 2, "same")])
def test_binary_convolution_equals_the_keras_layer(rng, kernel, strides, padding):
    """A float conv with ReLU (exact zeros: larq's sign(0) = +1), then one larq binary conv + BatchNorm
    (negative gammas too) -> FakeQuantize + BinaryConvolution + Multiply; the padded border reads +1."""
    x = inp = tf.keras.Input((9, 9, 16))
    x = tf.keras.layers.Conv2D(64, 1, activation="relu", bias_initializer=tf.keras.initializers.Constant(-0.3))(x)
    x = lq.layers.QuantConv2D(48, kernel, strides=strides, padding=padding, pad_values=1.0,
                              input_quantizer="ste_sign", kernel_quantizer="magnitude_aware_sign", use_bias=False)(x)
    bn = tf.keras.layers.BatchNormalization()
    model = tf.keras.Model(inp, bn(x))
    bn.set_weights([rng.normal(size=48), rng.normal(size=48), rng.normal(size=48), rng.uniform(0.5, 2, size=48)])
    ov_model, names = openvino_ir.convert_keras(model, batch=2)
    assert len(names) == 1
    runner = openvino_ir.Runner(ov_model)
    census = openvino_ir.runtime_census(runner.compiled)
    assert census["BinaryConvolution"] == 1 and census["Convolution"] == 1  # the float 1x1 conv
    xs = rng.normal(size=(2, 9, 9, 16)).astype(np.float32)
    want = model(xs, training=False).numpy()
    assert (model.layers[1](xs).numpy() == 0).mean() > 0.2  # the binary conv's input holds exact zeros
    got = next(iter(runner.predict(xs).values()))
    np.testing.assert_allclose(got, want, atol=1e-4 * (1 + np.abs(want).max()))


def test_zero_padded_binary_conv_stays_float(rng):
    """pad_values=0 pads the sign's +-1 with zeros, which 1-bit data cannot hold: no BinaryConvolution."""
    x = inp = tf.keras.Input((8, 8, 32))
    x = tf.keras.layers.Conv2D(32, 1)(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              use_bias=False)(x)
    model = tf.keras.Model(inp, x)
    ov_model, names = openvino_ir.convert_keras(model)
    assert names == []
    xs = rng.normal(size=(1, 8, 8, 32)).astype(np.float32)
    got = next(iter(openvino_ir.Runner(ov_model).predict(xs).values()))
    np.testing.assert_allclose(got, model(xs).numpy(), atol=1e-4)


def test_a_binary_conv_the_cpu_plugin_cannot_pack_stays_float_and_correct(rng, capsys):
    """A binary conv straight on the model input: OpenVINO 2026.4 would not pack its input into bits (and
    crash at inference), so it stays a float Convolution, with a warning, and still matches Keras."""
    x = inp = tf.keras.Input((8, 8, 64))
    x = lq.layers.QuantConv2D(64, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="magnitude_aware_sign", use_bias=False)(x)
    model = tf.keras.Model(inp, x)
    ov_model, names = openvino_ir.convert_keras(model)
    assert names == [] and "stay float in OpenVINO" in capsys.readouterr().err
    runner = openvino_ir.Runner(ov_model)
    assert openvino_ir.runtime_census(runner.compiled)["BinaryConvolution"] == 0
    xs = rng.normal(size=(1, 8, 8, 64)).astype(np.float32)
    np.testing.assert_allclose(next(iter(runner.predict(xs).values())), model(xs).numpy(), atol=1e-4)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "fp"])
def test_every_sign_method_has_one_binary_convolution_per_binary_keras_conv(backbone, method):
    model = backbone(method, 18)
    binary = [m for m in model.submodules if isinstance(m, lq.layers.QuantConv2D)]
    lce_binary = [m for m in binary if not convert.lce_blockers(m)]
    ov_model, names = openvino_ir.convert_keras(model)
    census = openvino_ir.runtime_census(openvino_ir.Runner(ov_model).compiled)
    assert len(names) == len(lce_binary) == census.get("BinaryConvolution", 0)
    if method == "dorefa":  # {0, 1} activations are not a sign: every conv stays float, as in the .tflite
        assert binary and not lce_binary and census["Convolution"] >= len(binary)


@pytest.fixture(scope="module")
def bidrn_openvino(smplx_model_path):
    tf.keras.utils.set_random_seed(0)
    model, _ = prepare_model(method="bidrn", checkpoint=None, smplx_model=smplx_model_path,
                             include_smplx=True, config=SMALL18)
    return model, convert.convert_whole_model(model, method="bidrn", format="openvino")


@pytest.mark.slow
@SHARES_CONVERSION
def test_bidrn_whole_model_runs_every_binary_conv_as_binary_convolution(bidrn_openvino):
    model, conv = bidrn_openvino
    n_binary = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
    assert conv.census["BinaryConvolution"] == n_binary == len(convert.check_binarizable(model))
    assert conv.binary_share == pytest.approx(1.0) and conv.binarized_macs > 0
    assert sum(conv.binary_kernels.values()) == n_binary
    s = conv.summary()
    assert s["format"] == "openvino" and s["with_smplx"]
    # each BinaryConvolution reads packed bits from a 2-level FakeQuantize (the input's sign): in BiDRN every
    # binary conv's input is a full-precision tensor (its LCR residual), so no sign fuses into a BinaryConvolution
    for op in conv.runner.compiled.get_runtime_model().get_ordered_ops():
        if op.get_rt_info()["layerType"].astype(str) == "BinaryConvolution":
            src = op.input_value(0).get_node().get_rt_info()
            assert src["layerType"].astype(str) == "FakeQuantize" and src["outputPrecisions"].astype(str) == "u1"
    assert openvino_ir.unpacked_binary_convs(conv.runner.compiled) == []


@pytest.mark.slow
@SHARES_CONVERSION
def test_bidrn_openvino_matches_keras(bidrn_openvino):
    """The .tflite rule (``helpers.assert_matches_keras``)."""
    model, conv = bidrn_openvino
    assert_matches_keras(convert.compare(model, conv.runner, whole_model_images()), model)


@pytest.mark.slow
def test_fp_whole_model_in_openvino_matches_keras():
    model = build_model(method="fp", smplx_model=None, config=SMALL18, include_smplx=False)
    conv = convert.convert_whole_model(model, method="fp", format="openvino")
    assert conv.census.get("BinaryConvolution", 0) == 0 and conv.census["Convolution"] > 0
    rows = convert.compare(model, conv.runner, whole_model_images())
    for k, r in rows.items():
        assert r["rel_diff"] <= 1e-4, (k, r)


def _cli(capsys, *args):
    code = convert.main(list(args))
    return code, capsys.readouterr()


def test_cli_writes_the_ir_and_its_report_as_one_set(tmp_path, capsys):
    out = tmp_path / "m.xml"
    code, io = _cli(capsys, "--method", "bnn", "--preset", "tiny", "--format", "openvino", "--output", str(out))
    assert code == 0, io.err
    assert sorted(os.listdir(tmp_path)) == ["m.bin", "m.json", "m.xml"]
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["format"] == "openvino" and report["binary_share"] == pytest.approx(1.0)
    assert report["BinaryConvolution"] == report["census"]["BinaryConvolution"] > 0
    assert report["bytes"] == os.path.getsize(out) + os.path.getsize(tmp_path / "m.bin")
    runner = openvino_ir.Runner(str(out))  # what was written reads back and runs
    assert openvino_ir.runtime_census(runner.compiled)["BinaryConvolution"] == report["BinaryConvolution"]


@pytest.mark.parametrize("args,message", [
    (["--method", "bnn", "--output", "m.tflite"], "an OpenVINO model is an .xml file"),
    (["--method", "dorefa", "--output", "m.xml"], "cannot become LceBconv2d"),
])
def test_cli_refuses_with_one_message_and_writes_nothing(tmp_path, capsys, args, message):
    args = [a if not a.startswith("m.") else str(tmp_path / a) for a in args]
    code, io = _cli(capsys, *args, "--preset", "tiny", "--format", "openvino")
    assert code == 2 and message in io.err and io.err.count("\n") == 1
    assert not os.listdir(tmp_path)


def test_unreadable_ir_files_get_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="OpenVINO model file not found"):
        openvino_ir.read(str(tmp_path / "none.xml"))
    (tmp_path / "bad.xml").write_text("<net><layers>")
    (tmp_path / "bad.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="is not a readable OpenVINO IR model"):
        openvino_ir.read(str(tmp_path / "bad.xml"))


def test_benchmark_times_tflite_and_openvino_side_by_side(tmp_path, capsys):
    """LCE with and without XNNPACK for its float ops, and the OpenVINO model, in one alternating run."""
    x = inp = tf.keras.Input((16, 16, 32), batch_size=1)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", use_bias=False)(x)
    model = tf.keras.Model(inp, tf.keras.layers.BatchNormalization()(x))
    (tmp_path / "b.tflite").write_bytes(convert.convert(model))
    ov_model, _ = openvino_ir.convert_keras(model)
    from bidrn_tf.fileio import write_set

    write_set(openvino_ir.serialize(ov_model, str(tmp_path / "b.xml")))
    out = str(tmp_path / "bench")
    assert latency.main([str(tmp_path / "b.tflite"), str(tmp_path / "b.xml"), "--repeats", "2", "--out", out]) == 0
    report = json.loads(open(out + ".json").read())
    names = [r["variant"] for r in report["rows"]]
    assert names == ["b.tflite [lce+xnnpack/indirect, 1 thr]", "b.tflite [lce/indirect, 1 thr]",
                     "b.xml [openvino, 1 thr]"], names
    assert {v["runtime"] for v in report["variants"]} == {"lce", "openvino"}
    assert [v["xnnpack"] for v in report["variants"] if v["runtime"] == "lce"] == [True, False]


def test_layer_profile_times_the_executed_kernels(rng):
    """The CPU plugin's per-node timing, summed by layer type: the binary conv is there, as one node."""
    x = inp = tf.keras.Input((8, 8, 32), batch_size=1)
    x = tf.keras.layers.Conv2D(32, 1)(x)
    x = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", use_bias=False)(x)
    ov_model, names = openvino_ir.convert_keras(tf.keras.Model(inp, x))
    prof = openvino_ir.layer_profile(ov_model, runs=2, warmup=1)
    assert len(names) == 1 and prof["BinaryConvolution"][1] == 1 and prof["BinaryConvolution"][0] >= 0
    assert prof["Convolution"][1] == 1
