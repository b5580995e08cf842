"""The generated data set's appearances: which faces are the front, what "front" changes and what it keeps."""
import json
import os

import cv2
import numpy as np
import pytest
import trimesh

from bidrn_tf.data import synthetic
from bidrn_tf.render import render_mesh


def test_front_faces_of_a_sphere_are_those_facing_plus_z_whatever_the_winding():
    """On a sphere the outward normal is the direction of the face's centre, so the front (normal within 60
    degrees of +z) is the faces whose centre has z above half the radius - for either winding. (A flat face's
    normal is within a degree of its centre's direction: faces that close to the 60-degree edge are left out.)"""
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=2.0)
    centres = sphere.vertices[sphere.faces].mean(1)
    cos = centres[:, 2] / np.linalg.norm(centres, axis=1)
    clear = np.abs(cos - 0.5) > 0.02
    expected = cos > 0.5
    assert 0.2 < expected.mean() < 0.3 and clear.mean() > 0.9  # a cap of 60 degrees: (1 - cos 60) / 2 of the sphere
    for faces in (sphere.faces, sphere.faces[:, ::-1]):
        np.testing.assert_array_equal(synthetic.front_faces(sphere.vertices, faces)[clear], expected[clear])


def _person_pixels(smplx_model_path, *, turn: float, front: bool):
    """(N, 3) the pixels of one rest-pose person turned by ``turn`` radians about the vertical, 4 m in front of
    the camera, its front pure red and the rest pure blue (``front``) or everything blue."""
    from scipy.spatial.transform import Rotation

    from bidrn_tf.smplx.model_file import load

    arrays = load(smplx_model_path)
    # model axes (y up, facing +z) -> camera axes (y down, z forward): half a turn about x, then the turn
    rot = Rotation.from_euler("x", np.pi) * Rotation.from_euler("y", turn)
    verts = rot.apply(arrays.v_template) + [0.0, 0.0, 4.0]
    colors = np.where(synthetic.front_faces(arrays.v_template, arrays.faces)[:, None] & front, [1.0, 0, 0],
                      [0, 0, 1.0])
    image = render_mesh(np.zeros((240, 320, 3), np.uint8), verts, arrays.faces, (300.0, 300.0), (160.0, 120.0),
                        face_colors=colors, alpha=1.0)
    return image[image.any(-1)].astype(int)


def test_front_colour_covers_a_person_facing_the_camera_and_not_one_facing_away(smplx_model_path):
    """The behaviour "front" exists for: facing the camera the person is mostly front colour, turned away
    hardly at all, and without a front every pixel has the one colour."""
    facing = _person_pixels(smplx_model_path, turn=0.0, front=True)
    away = _person_pixels(smplx_model_path, turn=np.pi, front=True)
    plain = _person_pixels(smplx_model_path, turn=0.0, front=False)
    red = lambda px: np.mean(px[:, 0] > px[:, 2])  # noqa: E731
    assert len(facing) > 500 and red(facing) > 0.6
    assert red(away) < 0.1
    assert red(plain) == 0.0


def test_render_mesh_face_colors_equal_to_color_give_the_same_image(smplx_model_path):
    from bidrn_tf.smplx.model_file import load

    arrays = load(smplx_model_path)
    verts = arrays.v_template * [1, -1, -1] + [0.0, 0.0, 4.0]
    image = np.full((120, 160, 3), 40, np.uint8)
    one = render_mesh(image, verts, arrays.faces, (150.0, 150.0), (80.0, 60.0), color=(0.2, 0.5, 0.8))
    each = render_mesh(image, verts, arrays.faces, (150.0, 150.0), (80.0, 60.0),
                       face_colors=np.tile([0.2, 0.5, 0.8], (len(arrays.faces), 1)))
    np.testing.assert_array_equal(one, each)
    with pytest.raises(ValueError, match="face_colors: shape"):
        render_mesh(image, verts, arrays.faces, (150.0, 150.0), (80.0, 60.0), face_colors=np.ones((3, 3)))


def test_front_appearance_keeps_the_people_cameras_and_backgrounds_of_plain(tmp_path, smplx_model_path):
    """The same seed in both appearances: the same parameters, cameras and boxes, and the same image wherever
    the person is not; the plain set's cache key is the first version's (no "appearance" entry), so existing
    plain sets are reused."""
    plain = synthetic.generate(str(tmp_path / "plain"), smplx_model=smplx_model_path, num_train=2, num_val=1,
                               seed=4, progress=False)
    front = synthetic.generate(str(tmp_path / "front"), smplx_model=smplx_model_path, num_train=2, num_val=1,
                               seed=4, progress=False, appearance="front")
    read = lambda root, name: open(os.path.join(root, name)).read()  # noqa: E731
    for name in ("AGORA_train_SMPLX.json", "AGORA_validation_SMPLX.json", "smplx_params/train/00001.json",
                 "cams/validation/00000.json"):
        assert read(plain, name) == read(front, name)
    assert "appearance" not in json.loads(read(plain, "synthetic.json"))
    assert json.loads(read(front, "synthetic.json"))["appearance"] == "front"
    changed_pixels = []
    for split, i in (("train", 0), ("train", 1), ("validation", 0)):
        name = f"images_1280x720/{split}/syn_{i:05d}.png"
        a, b = cv2.imread(os.path.join(plain, name)), cv2.imread(os.path.join(front, name))
        ann = json.loads(read(plain, f"AGORA_{'train' if split == 'train' else 'validation'}_SMPLX.json"))
        x, y, w, h = (v / 3.0 for v in ann["annotations"][i]["bbox"])  # 4K units -> 720p
        outside = np.ones(a.shape[:2], bool)
        outside[max(int(y) - 2, 0):int(y + h) + 3, max(int(x) - 2, 0):int(x + w) + 3] = False
        np.testing.assert_array_equal(a[outside], b[outside])
        changed_pixels.append(int((a != b).any(-1).sum()))
    assert min(changed_pixels) > 100  # the person's front is coloured in every image
    with pytest.raises(ValueError, match="appearance='shirt': expected one of plain, front"):
        synthetic.generate(str(tmp_path / "bad"), smplx_model=smplx_model_path, appearance="shirt")
    assert not (tmp_path / "bad").exists()


def test_default_dataset_keeps_each_appearance_in_its_own_folder(tmp_path, smplx_model_path):
    """The embedded default set (``train.py --dataset synthetic`` without ``--data-dir``): "front" goes to a
    folder of its own, so asking for it never regenerates over the plain people; a bad name writes nothing."""
    root = str(tmp_path / "data")
    plain, _ = synthetic.default_dataset(smplx_model_path, 1, 1, seed=3, root=root)
    front, model = synthetic.default_dataset(smplx_model_path, 1, 1, seed=3, root=root, appearance="front")
    assert model == smplx_model_path
    assert os.path.basename(plain) == "synthetic_1_1_seed3" and os.path.basename(front) == "synthetic_1_1_seed3_front"
    assert "appearance" not in json.load(open(os.path.join(plain, "synthetic.json")))
    assert json.load(open(os.path.join(front, "synthetic.json")))["appearance"] == "front"
    with pytest.raises(ValueError, match="appearance='shirt': expected one of plain, front"):
        synthetic.default_dataset(smplx_model_path, 1, 1, seed=3, root=str(tmp_path / "bad"), appearance="shirt")
    assert not (tmp_path / "bad").exists()
