"""The demo (``bidrn-demo``): people found by the detector, one mesh each, one overlay; folders, videos, no one."""
import json
import os

import cv2
import numpy as np
import pytest
from skimage import data

import bidrn_tf
from bidrn_tf.detection import body_from_face, detect_people
from bidrn_tf.models.config import ModelConfig

SMALL = ModelConfig(image_hw=(128, 96), body_hw=(128, 96), hand_hw=(64, 64), face_hw=(64, 64))


def two_people():
    """scikit-image's astronaut (Eileen Collins) and cameraman photographs side by side: 512 x 1024."""
    return np.concatenate([data.astronaut(), np.stack([data.camera()] * 3, -1)], 1)


def _save(path, rgb):
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return str(path)


def test_detector_finds_the_two_people_and_nobody_in_the_coffee_cup():
    people = detect_people(two_people())
    assert len(people) == 2
    left, right = people
    assert left.box[0] + left.box[2] / 2 < 512 < right.box[0] + right.box[2] / 2
    # each person box holds its face: the astronaut's face is at about (180-270, 70-160)
    fx, fy, fw, fh = left.face
    assert 150 < fx + fw / 2 < 260 and 60 < fy + fh / 2 < 160
    assert detect_people(data.coffee()) == [] and detect_people(data.chelsea()) == []
    # the face-to-body rule: 3.2 face widths wide, from half a face above, 7.5 faces tall, cut at the border
    assert body_from_face((100, 50, 20, 20), (1000, 1000)) == (78.0, 40.0, 64.0, 150.0)
    assert body_from_face((0, 0, 20, 20), (30, 100)) == (0.0, 0.0, 30.0, 100.0)


def test_demo_writes_a_mesh_per_person_one_overlay_and_json(tmp_path, smplx_model_path, capsys):
    from bidrn_tf.apps import photo_demo as demo

    image = _save(tmp_path / "two.png", two_people())
    out = tmp_path / "out"
    res = demo.run(image, str(out), smplx_model=smplx_model_path, method="fp", config=SMALL)
    printed = capsys.readouterr().out
    assert "2 person(s) found" in printed and "UNTRAINED" in printed
    assert sorted(os.listdir(out)) == ["overlay.png", "people.json", "person_0.obj", "person_1.obj"]
    import trimesh

    for k in range(2):
        assert trimesh.load(out / f"person_{k}.obj", process=False).vertices.shape == (10475, 3)
    overlay = cv2.imread(str(out / "overlay.png"))
    assert overlay.shape == (512, 1024, 3) and not np.array_equal(overlay[..., ::-1], two_people())
    report = json.load(open(out / "people.json"))
    assert [p["detection"]["source"] for p in report["people"]] == ["face", "face"]
    assert len(report["people"][1]["body_pose"]) == 63 and report["method"] == "fp"
    assert report["bidrn_tf_version"] == bidrn_tf.__version__
    assert sorted(res["written"]) == sorted(str(out / n) for n in os.listdir(out))


def test_a_photo_with_nobody_says_so_and_writes_nothing(tmp_path, capsys):
    from bidrn_tf.apps import photo_demo as demo

    image = _save(tmp_path / "coffee.png", data.coffee())
    out = tmp_path / "out"
    assert demo.main(["--image", image, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no person found in" in err and "--bbox" in err
    assert not out.exists()


def test_bbox_overrides_the_detector(tmp_path, smplx_model_path):
    from bidrn_tf.apps import photo_demo as demo

    image = _save(tmp_path / "coffee.png", data.coffee())  # nobody to detect, but the user knows better
    demo.run(image, str(tmp_path / "out"), smplx_model=smplx_model_path, method="fp", config=SMALL,
             bbox=(100, 50, 200, 300))
    report = json.load(open(tmp_path / "out" / "people.json"))
    assert [p["detection"]["box_xywh"] for p in report["people"]] == [[100, 50, 200, 300]]


def test_folder_and_video(tmp_path, smplx_model_path):
    from bidrn_tf.apps import photo_demo as demo

    photos = tmp_path / "photos"
    photos.mkdir()
    _save(photos / "a_two.png", two_people())
    _save(photos / "b_coffee.jpg", data.coffee())
    res = demo.run(str(photos), str(tmp_path / "folder_out"), smplx_model=smplx_model_path, method="fp", config=SMALL)
    assert res["skipped"] == ["b_coffee.jpg"]
    assert sorted(os.listdir(tmp_path / "folder_out")) == ["a_two", "summary.json"]
    assert len([n for n in os.listdir(tmp_path / "folder_out" / "a_two") if n.endswith(".obj")]) == 2

    video = str(tmp_path / "clip.mp4")
    frames = [np.roll(data.astronaut(), 8 * i, axis=1) for i in range(3)] + [cv2.resize(data.coffee(), (512, 512))]
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "video_out"
    res = demo.run(video, str(out), smplx_model=smplx_model_path, method="fp", config=SMALL, save_meshes=True)
    report = json.load(open(out / "people.json"))
    assert [len(f["people"]) for f in report["frames"]] == [1, 1, 1, 0] and res["skipped"] == [3]
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    assert sorted(os.listdir(out / "meshes")) == [f"frame_{f:05d}_person_0.obj" for f in range(3)]
    assert not [n for n in os.listdir(out) if n.startswith(".tmp")]


def test_demo_cli_reports_missing_files(tmp_path, capsys):
    from bidrn_tf.apps import photo_demo as demo

    assert demo.main(["--image", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
