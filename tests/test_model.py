import json
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.backbones import METHODS
from bidrn_tf.inference import ImageError, input_transform, load_image, predict
from bidrn_tf.model import ModelConfig, build_model
from bidrn_tf.profile import profile

SMALL = ModelConfig(image_hw=(128, 96), body_hw=(128, 96), hand_hw=(64, 64), face_hw=(64, 64))


@pytest.mark.parametrize("method", METHODS)
def test_outputs_and_gradients_for_every_method(method, smplx_model_path):
    model = build_model(method=method, smplx_model=smplx_model_path, config=SMALL)
    x = tf.random.uniform((2, 128, 96, 3), seed=1)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = sum(tf.reduce_mean(tf.abs(v)) for v in out.values())
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes["vertices"] == (2, 10475, 3) and shapes["smplx_joints"] == (2, 55, 3)
    assert shapes["body_pose"] == (2, 63) and shapes["lhand_pose"] == (2, 45) and shapes["rhand_pose"] == (2, 45)
    assert shapes["jaw_pose"] == (2, 3) and shapes["expression"] == (2, 10) and shapes["betas"] == (2, 10)
    assert shapes["cam_trans"] == (2, 3) and shapes["lhand_bbox"] == (2, 4) and shapes["face_bbox"] == (2, 4)
    assert shapes["body_joints"] == (2, 25, 3) and shapes["rhand_joints"] == (2, 20, 3)
    assert shapes["joints_proj"] == (2, 55, 2)
    assert all(np.isfinite(v.numpy()).all() for v in out.values())
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.name for v, g in zip(model.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient reaches {missing[:5]}"
    dead = [v.name for v, g in zip(model.trainable_variables, grads) if not np.any(tf.convert_to_tensor(g).numpy())]
    assert len(dead) <= len(grads) // 50, f"zero gradient for {dead[:10]}"


def test_fp_is_hand4whole_sized(smplx_model_path):
    model = build_model(method="fp", smplx_model=smplx_model_path)
    assert profile(model).total_params == 77_842_256


def test_build_model_rejects_unknown_method(smplx_model_path):
    with pytest.raises(ValueError, match="method"):
        build_model(method="ternary", smplx_model=smplx_model_path, config=SMALL)


def test_missing_smplx_file():
    from bidrn_tf.smplx import ModelFileError

    with pytest.raises(ModelFileError, match="not found"):
        build_model(method="fp", smplx_model="/no/such/SMPLX_NEUTRAL.npz", config=SMALL)


class _CornerModel:
    """Stub network: 'projects' the four corners and the centre of the network input."""

    def __call__(self, x, training=False):
        h, w = x.shape[1:3]
        pts = np.array([[[0, 0], [w, 0], [0, h], [w, h], [w / 2, h / 2]]], np.float32)
        return {"joints_proj": pts, "face_bbox": np.array([[0, 0, w, h]], np.float32)}


def test_predict_maps_a_known_box_back_to_original_pixels():
    image = np.zeros((300, 500, 3), np.uint8)
    out = predict(_CornerModel(), image, bbox=(100, 40, 150, 200), input_hw=(512, 384))
    # a 150x200 box already has the 3:4 aspect: the network input covers exactly that box
    np.testing.assert_allclose(out["joints_proj"], [[100, 40], [250, 40], [100, 240], [250, 240], [175, 140]],
                               atol=1e-3)
    np.testing.assert_allclose(out["face_bbox"], [100, 40, 250, 240], atol=1e-3)


def test_predict_widens_box_to_network_aspect():
    m = input_transform((0, 0, 400, 100), (300, 500), (512, 384))  # wide box -> taller crop, same centre
    centre = m @ np.array([200, 50, 1.0])
    np.testing.assert_allclose(centre, [192, 256])
    assert m[0, 0] == pytest.approx(384 / 400)


def test_image_inputs(tmp_path):
    gray = np.full((40, 30), 128, np.uint8)
    assert load_image(gray).shape == (40, 30, 3)
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    assert load_image(rgba)[0, 0].tolist() == [255, 0, 0]
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), np.dstack([np.zeros((40, 30)), np.zeros((40, 30)), np.full((40, 30), 255)]).astype(np.uint8))
    assert load_image(str(path))[0, 0].tolist() == [255, 0, 0]  # BGR on disk -> RGB


@pytest.mark.parametrize("make,match", [
    (lambda p: str(p / "missing.jpg"), "not found"),
    (lambda p: (p / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg") and str(p / "corrupt.jpg"),
     "not a readable image"),
    (lambda p: (p / "notes.txt").write_text("hello") and str(p / "notes.txt"), "not a readable image"),
    (lambda p: np.zeros((1, 1, 3), np.uint8), "between"),
    (lambda p: np.zeros((20000, 20, 3), np.uint8), "between"),
    (lambda p: np.zeros((40, 30, 2), np.uint8), "expected an"),
    (lambda p: np.full((40, 30, 3), np.nan, np.float32), "NaN"),
])
def test_bad_images_get_one_clear_error(tmp_path, make, match):
    with pytest.raises(ImageError, match=match):
        load_image(make(tmp_path))


def test_box_outside_image():
    with pytest.raises(ValueError, match="outside"):
        predict(_CornerModel(), np.zeros((100, 100, 3), np.uint8), bbox=(200, 200, 50, 50))


def test_demo_writes_obj_png_json(tmp_path, smplx_model_path, capsys):
    from bidrn_tf import demo

    image = tmp_path / "photo.png"
    from skimage import data

    cv2.imwrite(str(image), cv2.cvtColor(cv2.resize(data.astronaut(), (96, 128)), cv2.COLOR_RGB2BGR))
    paths = demo.run(str(image), str(tmp_path / "out"), smplx_model=smplx_model_path, method="fp", config=SMALL)
    assert "UNTRAINED" in capsys.readouterr().out
    import trimesh

    mesh = trimesh.load(paths["obj"], process=False)
    assert mesh.vertices.shape == (10475, 3)
    assert cv2.imread(paths["overlay"]).shape == (128, 96, 3)
    params = json.load(open(paths["params"]))
    assert len(params["body_pose"]) == 63 and params["method"] == "fp"
    assert sorted(os.listdir(tmp_path / "out")) == ["mesh.obj", "overlay.png", "params.json"]


def test_demo_cli_reports_missing_files(tmp_path, capsys):
    from bidrn_tf import demo

    assert demo.main(["--image", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
