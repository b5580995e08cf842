"""SMPL-X layer vs the reference ``smplx`` package (PyTorch, CPU) on the generated model file."""
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.smplx import ModelFileError, SMPLXLayer, load, regions, write_synthetic_model
from bidrn_tf.smplx.joints import PARENTS
from bidrn_tf.smplx.synthetic import NUM_VERTICES, rest_joints

torch = pytest.importorskip("torch")
smplx = pytest.importorskip("smplx")

TOL = 1e-5  # metres


def _params(rng, batch, pose_scale, hand_dim=45):
    def pose(n):
        aa = rng.normal(size=(batch, n, 3))
        aa /= np.linalg.norm(aa, axis=-1, keepdims=True)
        return (aa * rng.uniform(0, pose_scale, size=(batch, n, 1))).reshape(batch, -1)

    return {
        "global_orient": pose(1), "body_pose": pose(21), "jaw_pose": pose(1), "leye_pose": pose(1),
        "reye_pose": pose(1),
        "left_hand_pose": pose(15) if hand_dim == 45 else rng.normal(size=(batch, hand_dim)),
        "right_hand_pose": pose(15) if hand_dim == 45 else rng.normal(size=(batch, hand_dim)),
        "betas": rng.normal(size=(batch, 10)) * 1.5, "expression": rng.normal(size=(batch, 10)) * 1.5,
        "transl": rng.normal(size=(batch, 3)),
    }


def _reference(path, params, **kwargs):
    model = smplx.SMPLX(path, batch_size=params["betas"].shape[0], num_betas=10, num_expression_coeffs=10,
                        use_face_contour=False, **kwargs)
    with torch.no_grad():
        out = model(**{k: torch.tensor(v, dtype=torch.float32) for k, v in params.items()})
    return out.vertices.numpy(), out.joints.numpy()


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("pose_scale", [0.5, np.pi])  # random and extreme poses (angles up to pi)
def test_parity_with_reference_smplx(smplx_model_path, rng, batch, pose_scale):
    params = _params(rng, batch, pose_scale)
    ref_v, ref_j = _reference(smplx_model_path, params, use_pca=False, flat_hand_mean=False)
    out = SMPLXLayer(smplx_model_path)({k: v.astype(np.float32) for k, v in params.items()})
    assert out["vertices"].shape == (batch, NUM_VERTICES, 3)
    assert np.abs(out["vertices"].numpy() - ref_v).max() <= TOL
    assert np.abs(out["joints"].numpy() - ref_j[:, :55]).max() <= TOL
    # smplx appends the 51 static face landmarks last
    assert np.abs(out["landmarks"].numpy() - ref_j[:, -51:]).max() <= TOL


def test_parity_with_pca_hands_and_flat_mean(smplx_model_path, rng):
    params = _params(rng, 4, 1.0, hand_dim=12)
    ref_v, ref_j = _reference(smplx_model_path, params, use_pca=True, num_pca_comps=12, flat_hand_mean=True)
    layer = SMPLXLayer(smplx_model_path, use_pca=True, num_pca_comps=12, flat_hand_mean=True)
    out = layer({k: v.astype(np.float32) for k, v in params.items()})
    assert np.abs(out["vertices"].numpy() - ref_v).max() <= TOL
    assert np.abs(out["joints"].numpy() - ref_j[:, :55]).max() <= TOL


def test_runs_in_tf_function_and_converts_to_tflite(smplx_model_path, rng):
    layer = SMPLXLayer(smplx_model_path)
    params = {k: v.astype(np.float32) for k, v in _params(rng, 1, 1.0).items()}
    eager = layer(params)["vertices"].numpy()
    graph = tf.function(layer)(params)["vertices"].numpy()
    np.testing.assert_allclose(graph, eager, atol=1e-6)

    inputs = {k: tf.keras.Input((v.shape[1],), batch_size=1, name=k) for k, v in params.items()}
    model = tf.keras.Model(inputs, SMPLXLayer(smplx_model_path, validate=False)(inputs)["vertices"])
    flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    from bidrn_tf.deploy.flatbuffer import op_census

    assert not [op for op in op_census(flatbuffer) if op.startswith(("Flex", "Lce"))]  # builtin float ops only
    interp = tf.lite.Interpreter(model_content=flatbuffer)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        name = d["name"].split(":")[0].replace("serving_default_", "")
        interp.set_tensor(d["index"], params[name])
    interp.invoke()
    tfl = interp.get_tensor(interp.get_output_details()[0]["index"])
    assert np.abs(tfl - eager).max() <= TOL


def test_generated_model_is_well_formed(smplx_model_path):
    m = load(smplx_model_path)
    assert m.v_template.shape == (NUM_VERTICES, 3)
    assert m.shapedirs.shape == (NUM_VERTICES, 3, 400) and (m.num_shape_dirs, m.num_expression_dirs) == (300, 100)
    assert m.posedirs.shape == (NUM_VERTICES, 3, 486)
    assert list(m.parents) == PARENTS
    np.testing.assert_allclose(m.weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(m.j_regressor.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(m.j_regressor @ m.v_template, rest_joints(), atol=1e-4)
    # a body: about 1.7 m tall, hands at the ends of the arms, head on top
    height = np.ptp(m.v_template[:, 1])
    assert 1.4 < height < 2.0
    hands = regions.hand_vertex_ids(m)
    assert m.v_template[hands["left"], 0].min() > 0.6 and m.v_template[hands["right"], 0].max() < -0.6
    face = regions.face_vertex_ids(m)
    assert m.v_template[face, 1].min() > 0.45


def test_regions_from_real_format_files(smplx_model_path, tmp_path):
    m = load(smplx_model_path)
    ids = {"left_hand": np.arange(5), "right_hand": np.arange(5, 9)}
    with open(tmp_path / "MANO_SMPLX_vertex_ids.pkl", "wb") as f:
        pickle.dump(ids, f)
    np.save(tmp_path / "SMPL-X__FLAME_vertex_ids.npy", np.arange(100, 110))
    with pytest.raises(ModelFileError, match="allow_pickle"):
        regions.hand_vertex_ids(m, str(tmp_path / "MANO_SMPLX_vertex_ids.pkl"))
    hands = regions.hand_vertex_ids(m, str(tmp_path / "MANO_SMPLX_vertex_ids.pkl"), allow_pickle=True)
    assert list(hands["right"]) == [5, 6, 7, 8]
    assert list(regions.face_vertex_ids(m, str(tmp_path / "SMPL-X__FLAME_vertex_ids.npy"))) == list(range(100, 110))
    reg = regions.j14_regressor(m)
    assert reg.shape == (14, NUM_VERTICES)
    np.testing.assert_allclose(reg @ m.v_template, rest_joints()[regions.J14_FROM_SMPLX], atol=1e-4)


# ---------------------------------------------------------------------------------------------- bad input
def test_missing_file():
    with pytest.raises(ModelFileError, match="not found"):
        SMPLXLayer("/nonexistent/SMPLX_NEUTRAL.npz")


def test_missing_keys_and_wrong_shapes(smplx_model_path, tmp_path):
    with np.load(smplx_model_path) as data:
        arrays = {k: data[k] for k in data.files}
    broken = dict(arrays)
    del broken["posedirs"]
    np.savez(tmp_path / "missing.npz", **broken)
    with pytest.raises(ModelFileError, match="posedirs"):
        load(str(tmp_path / "missing.npz"))
    bad = dict(arrays, weights=arrays["weights"][:, :50])
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(ModelFileError, match="'weights' has shape"):
        load(str(tmp_path / "shape.npz"))
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ModelFileError, match="cannot read"):
        load(str(tmp_path / "garbage.npz"))


@pytest.mark.parametrize("change,message", [
    (lambda a: dict(a, weights=np.zeros_like(a["weights"])), "skinning weights must be non-negative and sum to 1"),
    (lambda a: dict(a, f=a["f"].astype(np.float32)), "must be integer vertex indices"),
    (lambda a: dict(a, f=np.zeros((0, 3), np.int32)), "is empty"),
])
def test_model_files_that_look_right_but_are_not(smplx_model_path, tmp_path, change, message):
    with np.load(smplx_model_path) as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(tmp_path / "m.npz", **change(arrays))
    with pytest.raises(ModelFileError, match=message):
        load(str(tmp_path / "m.npz"))


def test_an_npy_under_an_npz_name_is_named(tmp_path):
    np.save(tmp_path / "m.npy", np.zeros((10475, 3)))
    os.replace(tmp_path / "m.npy", tmp_path / "SMPLX_NEUTRAL.npz")
    with pytest.raises(ModelFileError, match="it is a single .npy array"):
        load(str(tmp_path / "SMPLX_NEUTRAL.npz"))


def test_pickle_needs_opt_in_and_cannot_run_code(smplx_model_path, tmp_path):
    with np.load(smplx_model_path) as data:
        arrays = {k: data[k] for k in data.files}
    path = tmp_path / "SMPLX_NEUTRAL.pkl"
    with open(path, "wb") as f:
        pickle.dump(arrays, f)
    with pytest.raises(ModelFileError, match="allow_pickle"):
        load(str(path))
    assert load(str(path), allow_pickle=True).v_template.shape == (NUM_VERTICES, 3)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"v_template": Evil()}, f)
    with pytest.raises(ModelFileError, match="refusing to unpickle builtins.print"):
        load(str(tmp_path / "evil.pkl"), allow_pickle=True)


def test_bad_parameters(smplx_model_path):
    layer = SMPLXLayer(smplx_model_path)
    with pytest.raises(ValueError, match="'betas' must have shape"):
        layer({"betas": np.zeros((1, 11), np.float32)})
    with pytest.raises(ValueError, match="unknown SMPL-X parameter"):
        layer({"pose": np.zeros((1, 3), np.float32)})
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer({"body_pose": np.full((1, 63), np.nan, np.float32)})
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer({"transl": np.array([[0, np.inf, 0]], np.float32)})
    with pytest.raises(ValueError, match="batch size"):
        layer({"betas": np.zeros((2, 10), np.float32), "transl": np.zeros((3, 3), np.float32)})
    with pytest.raises(ValueError, match="num_betas"):
        SMPLXLayer(smplx_model_path, num_betas=301)


def test_layer_config_round_trip(smplx_model_path):
    layer = SMPLXLayer(smplx_model_path, num_betas=16, use_pca=True, num_pca_comps=6)
    clone = SMPLXLayer.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_write_is_atomic_and_readable(tmp_path):
    path = write_synthetic_model(str(tmp_path / "a" / "model.npz"), seed=3)
    assert load(path).num_vertices == NUM_VERTICES
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["model.npz"]  # no temporary left behind


def test_lce_conversion_has_no_per_vertex_ops(smplx_model_path):
    """LCE's converter unfolds batched matmuls into one FULLY_CONNECTED per batch slice; the layer must not
    contain a batched matmul over vertices (it once produced 10,588 of them)."""
    from bidrn_tf.deploy import flatbuffer
    from bidrn_tf.deploy.convert import convert

    inputs = {"body_pose": tf.keras.Input((63,), batch_size=1, name="body_pose")}
    model = tf.keras.Model(inputs, SMPLXLayer(smplx_model_path, validate=False)(inputs)["vertices"])
    census = flatbuffer.op_census(convert(model, binary=True))
    assert sum(census.values()) < 1000, flatbuffer.format_census(census)
