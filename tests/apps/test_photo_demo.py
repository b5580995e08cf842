"""The photo demo (``bidrn-demo``): one photo to mesh, overlay and parameters."""
import json
import os

import cv2

import bidrn_tf

from bidrn_tf.models.config import ModelConfig

SMALL = ModelConfig(image_hw=(128, 96), body_hw=(128, 96), hand_hw=(64, 64), face_hw=(64, 64))


def test_demo_writes_obj_png_json(tmp_path, smplx_model_path, capsys):
    from bidrn_tf.apps import photo_demo as demo

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
    assert params["bidrn_tf_version"] == bidrn_tf.__version__
    assert sorted(os.listdir(tmp_path / "out")) == ["mesh.obj", "overlay.png", "params.json"]


def test_demo_cli_reports_missing_files(tmp_path, capsys):
    from bidrn_tf.apps import photo_demo as demo

    assert demo.main(["--image", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
