"""Whole-model conversion (bidrn_tf.deploy.convert / convert/lce_convert.py) checked in the LCE interpreter.

The converted models use the small test configuration with ResNet-18 body and hand backbones
(``ModelConfig.body_depth`` / ``hand_depth``): conversion time grows with the number of ops, and the
full-size ResNet-50 model takes minutes (its numbers are in the README, measured with the CLI).
"""
import json
import os

import larq as lq
import numpy as np
import pytest
import tensorflow as tf

from helpers import SMALL18, assert_matches_keras, whole_model_images

from bidrn_tf.deploy import convert, flatbuffer
from bidrn_tf.inference import prepare_model
from bidrn_tf.models.backbones import build_resnet
from bidrn_tf.models.checkpoints import CheckpointError, save_weights
from bidrn_tf.models.config import ModelConfig
from bidrn_tf.models.whole_body import build_model
from bidrn_tf.smplx import SMPLXLayer


# tests that share the module's converted BiDRN run in one pytest-xdist worker (one conversion, not two)
SHARES_CONVERSION = pytest.mark.xdist_group("bidrn_small_whole")


@pytest.fixture(scope="module")
def bidrn_converted(smplx_model_path):
    tf.keras.utils.set_random_seed(0)
    model, notes = prepare_model(method="bidrn", checkpoint=None, smplx_model=smplx_model_path,
                                 include_smplx=True, config=SMALL18)
    assert notes and "UNTRAINED" in notes[0]
    conv = convert.convert_whole_model(model, method="bidrn")
    return model, conv


@pytest.mark.slow
@SHARES_CONVERSION
def test_bidrn_census_and_binarized_mac_share(bidrn_converted):
    model, conv = bidrn_converted
    n_binary = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
    census = conv.census
    assert census["LceBconv2d"] == n_binary
    assert conv.bconv_share == pytest.approx(1.0) and conv.binarized_macs > 0
    assert not any(name.startswith("Flex") for name in census), census
    custom = {name for name in census if not name.isupper()}
    assert custom <= {"LceBconv2d", "LceQuantize", "LceDequantize"}, custom
    s = conv.summary()
    assert s["LceBconv2d"] + s["CONV_2D"] + s["other_ops"] == sum(census.values())
    assert s["with_smplx"] and s["bytes"] == len(conv.flatbuffer)


@pytest.mark.slow
@SHARES_CONVERSION
def test_bidrn_tflite_matches_keras(bidrn_converted):
    """``helpers.assert_matches_keras``: the body branch to 1e-3, the rest within 5x the control."""
    model, conv = bidrn_converted
    assert_matches_keras(convert.compare(model, conv.flatbuffer, whole_model_images()), model)


@pytest.mark.slow
@SHARES_CONVERSION
def test_with_smplx_vertices_are_the_smplx_layer_of_the_tflite_parameters(bidrn_converted, smplx_model_path):
    model, conv = bidrn_converted
    out = flatbuffer.run(conv.flatbuffer, whole_model_images())
    layer = SMPLXLayer(smplx_model_path)
    mesh = layer({"global_orient": out["root_pose"], "body_pose": out["body_pose"],
                  "left_hand_pose": out["lhand_pose"], "right_hand_pose": out["rhand_pose"],
                  "jaw_pose": out["jaw_pose"], "betas": out["betas"], "expression": out["expression"],
                  "transl": out["cam_trans"]})
    np.testing.assert_allclose(out["vertices"], mesh["vertices"].numpy(), atol=1e-4)
    np.testing.assert_allclose(out["smplx_joints"], mesh["joints"].numpy(), atol=1e-4)


@pytest.mark.slow
def test_fp_whole_model_converts_with_builtin_ops_and_matches_keras():
    model = build_model(method="fp", smplx_model=None, config=SMALL18, include_smplx=False)
    conv = convert.convert_whole_model(model, method="fp")
    assert all(name.isupper() for name in conv.census), conv.census  # builtin ops only
    assert conv.census.get("LceBconv2d", 0) == 0 and conv.binarized_macs == 0
    rows = convert.compare(model, conv.flatbuffer, whole_model_images())
    assert set(rows) == set(model.output) and "vertices" not in rows
    for k, r in rows.items():
        assert r["rel_diff"] <= 1e-4, (k, r)


def test_bconv_macs_analytic():
    x = tf.keras.Input((16, 16, 40))
    y = lq.layers.QuantConv2D(70, 3, strides=2, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                              kernel_quantizer="ste_sign", use_bias=False)(x)
    fb = convert.convert(tf.keras.Model(x, y))
    assert flatbuffer.bconv_macs(fb) == 8 * 8 * 70 * 3 * 3 * 40


def _two_output_model(binary: bool):
    x = tf.keras.Input((12, 10, 8), batch_size=2, name="image")
    y = tf.keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
    y = tf.keras.layers.BatchNormalization(beta_initializer="random_normal", moving_variance_initializer="ones")(y)
    if binary:
        y = lq.layers.QuantConv2D(16, 3, padding="same", pad_values=1.0, input_quantizer="ste_sign",
                                  kernel_quantizer="ste_sign", use_bias=False)(y)
    y = tf.keras.layers.PReLU(name="map")(y)
    pooled = tf.keras.layers.GlobalAveragePooling2D()(y)
    # output layers named like their keys, as in the whole-body model (Keras's own export names a signature's
    # outputs after the layers, ``convert`` after the keys)
    return tf.keras.Model(x, {"scores": tf.keras.layers.Dense(5, name="scores")(pooled), "map": y})


@pytest.mark.parametrize("binary", [True, False], ids=["lce", "tflite"])
def test_convert_gives_what_the_converters_own_keras_export_gives(binary, rng):
    """``convert`` exports only the inference function; the converters' own Keras path
    (``lce.convert_keras_model`` / ``TFLiteConverter.from_keras_model``) is the reference: same ops, same
    signature (input name, output names in order), same outputs."""
    import larq_compute_engine as lce

    tf.keras.utils.set_random_seed(0)
    model = _two_output_model(binary)
    ours = convert.convert(model, binary=binary)
    theirs = (lce.convert_keras_model(model) if binary
              else tf.lite.TFLiteConverter.from_keras_model(model).convert())
    assert flatbuffer.op_census(ours) == flatbuffer.op_census(theirs)
    assert flatbuffer.op_census(ours).get("LceBconv2d", 0) == int(binary)
    assert flatbuffer.signature_output_names(ours) == flatbuffer.signature_output_names(theirs)
    assert set(flatbuffer.signature_output_names(ours)) == {"scores", "map"}
    assert [d["name"] for d in tf.lite.Interpreter(model_content=ours).get_signature_runner().get_input_details()
            .values()] == ["serving_default_image:0"]
    x = rng.normal(size=(4, 12, 10, 8)).astype(np.float32)
    got, ref = flatbuffer.run(ours, x), flatbuffer.run(theirs, x)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k])
    keras = model.predict(x, batch_size=2, verbose=0)
    np.testing.assert_allclose(got["scores"], keras["scores"], atol=1e-4)


class _SignGate(tf.keras.layers.Layer):
    """Python control flow on a tensor: only traceable with AutoGraph."""

    def call(self, x):
        if tf.reduce_sum(x) > 0:
            return x
        return -x


def test_a_model_that_needs_autograph_still_converts(rng):
    x = tf.keras.Input((4,), batch_size=1)
    model = tf.keras.Model(x, _SignGate()(tf.keras.layers.Dense(3)(x)))
    fb = convert.convert(model, binary=False)
    v = rng.normal(size=(6, 4)).astype(np.float32)
    np.testing.assert_allclose(flatbuffer.run(fb, v)[model.output_names[0]], model.predict(v, batch_size=1, verbose=0),
                               atol=1e-5)


def test_layer_lce_cannot_binarize_is_named():
    x = tf.keras.Input((8, 8, 32))
    y = lq.layers.QuantConv2D(32, 3, padding="same", pad_values=1.0, input_quantizer=None,
                              kernel_quantizer="ste_sign", name="float_input_conv")(x)
    y = lq.layers.QuantConv2D(32, 3, padding="same", input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              name="zero_padded_conv")(y)
    with pytest.raises(convert.NotBinarizableError, match="2 layer") as err:
        convert.convert_whole_model(tf.keras.Model(x, y), method="bidrn")
    assert "float_input_conv: input quantizer None is not a sign" in str(err.value)
    assert "zero_padded_conv: padding='same' with pad_values=0" in str(err.value)
    with pytest.raises(convert.NotBinarizableError, match="DoReFa"):
        convert.check_binarizable(build_resnet(depth=18, method="dorefa", input_shape=(32, 32, 3)))
    assert len(convert.check_binarizable(build_resnet(depth=18, method="bidrn", input_shape=(32, 32, 3)))) > 0


def _cli(capsys, *args):
    code = convert.main(list(args))
    return code, capsys.readouterr()


def test_cli_checkpoint_errors(tmp_path, capsys, smplx_model_path):
    out = str(tmp_path / "m.tflite")
    code, io = _cli(capsys, "--method", "bidrn", "--checkpoint", str(tmp_path / "nope"), "--output", out)
    assert code == 2 and "not found" in io.err and io.err.count("\n") == 1
    ckpt = str(tmp_path / "fp_ckpt")
    with open(ckpt + ".meta.json", "w") as f:
        json.dump({"method": "fp"}, f)
    code, io = _cli(capsys, "--method", "bidrn", "--checkpoint", ckpt, "--output", out)
    assert code == 2 and "trained with method 'fp'" in io.err
    with open(ckpt + ".meta.json", "w") as f:
        f.write('{"method": ')
    code, io = _cli(capsys, "--method", "fp", "--checkpoint", ckpt, "--output", out)
    assert code == 2 and "corrupt" in io.err
    assert not os.path.exists(out)


@pytest.mark.parametrize("output,message", [("model.json", "is the same file as output"),
                                            ("a_dir", "is a directory"), ("a_file/m.tflite", "is a file, not a folder")])
def test_cli_checks_outputs_before_any_work(tmp_path, capsys, output, message):
    """A report that would replace the model, a folder, a path under a file: refused at once, nothing written."""
    os.makedirs(tmp_path / "a_dir")
    (tmp_path / "a_file").write_text("x")
    before = sorted(os.listdir(tmp_path))
    code, io = _cli(capsys, "--method", "bnn", "--preset", "tiny", "--output", str(tmp_path / output))
    assert code == 2 and message in io.err and io.err.count("\n") == 1 and "converting" not in io.out
    assert sorted(os.listdir(tmp_path)) == before and not os.listdir(tmp_path / "a_dir")


def test_cli_refuses_a_negative_verify_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        convert.main(["--method", "bnn", "--output", str(tmp_path / "m.tflite"), "--verify", "-1"])
    assert exit_.value.code == 2 and "--verify: must be at least 0" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_corrupt_checkpoint_weights(tmp_path, smplx_model_path):
    cfg = ModelConfig(image_hw=(64, 48), body_hw=(64, 48), hand_hw=(32, 32), face_hw=(32, 32), body_depth=18,
                      hand_depth=18)
    model = build_model(method="fp", smplx_model=None, config=cfg, include_smplx=False)
    ckpt = str(tmp_path / "ckpt")
    save_weights(model, ckpt, method="fp")
    for path in [p for p in os.listdir(tmp_path) if p.startswith("ckpt") and not p.endswith("meta.json")]:
        with open(tmp_path / path, "r+b") as f:
            f.truncate(16)
    with pytest.raises(CheckpointError, match="cannot load checkpoint"):
        prepare_model(method="fp", checkpoint=ckpt, smplx_model=None, include_smplx=False, config=cfg)
