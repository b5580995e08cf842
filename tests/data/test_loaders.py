"""Loaders on tiny fixtures in the real AGORA / EHF formats (written here), pipeline geometry, bad inputs."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.data import pipeline
from bidrn_tf.data.agora import load_agora
from bidrn_tf.data.common import DatasetError
from bidrn_tf.data.ehf import FOCAL, load_ehf, read_mesh
from bidrn_tf.smplx import SMPLXLayer
from bidrn_tf.smplx.joints import FLIP_PERM, GROUP_ROOT, PARAM_OUTPUTS
from helpers import PARAMS, make_agora, write_image, write_json

def test_agora_720p_layout(tmp_path):
    people = load_agora(make_agora(str(tmp_path)), "train", resolution=(720, 1280))
    assert len(people) == 2  # the invalid person is skipped
    p = people[0]
    np.testing.assert_allclose(p.bbox, [100, 200, 200, 400])
    np.testing.assert_allclose(p.lhand_bbox, [110, 300, 140, 320])
    assert p.rhand_bbox is None
    np.testing.assert_allclose(p.focal, [1000, 1000]) and np.testing.assert_allclose(p.princpt, [640, 360])
    assert p.params["betas"].shape == (10,) and p.params["transl"][2] == 5.0
    assert p.image_path.endswith("images_1280x720/train/ag_0.png")


def test_agora_4k_crop_layout(tmp_path):
    people = load_agora(make_agora(str(tmp_path)), "train", resolution=(2160, 3840))
    p = people[1]
    assert p.image_path.endswith("images_3840x2160/train_crop/ag_0_person_id_1.png")
    np.testing.assert_allclose(p.bbox, [0, 0, 400, 600])
    np.testing.assert_allclose(p.lhand_bbox, [0.5 * 330 - 100, 0.5 * 900 - 200, 0.5 * 420 - 100, 0.5 * 960 - 200])
    np.testing.assert_allclose(p.focal, [1500, 1500]) and np.testing.assert_allclose(p.princpt, [860, 340])


@pytest.mark.parametrize("breakage, message", [
    ("no_dir", "AGORA data directory not found"),
    ("truncated", "truncated or not valid JSON"),
    ("missing_image", "image not found"),
    ("missing_params", "SMPL-X parameter file not found"),
    ("escape", "escapes the data directory"),
    ("absolute", "escapes the data directory"),
    ("nan", "contains NaN"),
    ("missing_key", "missing key 'cam_param_path'"),
])
def test_agora_bad_inputs(tmp_path, breakage, message):
    root = make_agora(str(tmp_path / "agora"))
    ann_path = os.path.join(root, "AGORA_train_SMPLX.json")
    db = json.load(open(ann_path))
    if breakage == "no_dir":
        root = str(tmp_path / "nowhere")
    elif breakage == "truncated":
        text = open(ann_path).read()
        write_json(ann_path, text[: len(text) // 2])
    elif breakage == "missing_image":
        os.remove(os.path.join(root, "images_1280x720/train/ag_0.png"))
    elif breakage == "missing_params":
        os.remove(os.path.join(root, "params/p1.json"))
    elif breakage == "escape":
        db["annotations"][0]["smplx_param_path"] = "../../etc/passwd"
    elif breakage == "absolute":
        db["annotations"][0]["cam_param_path"] = "/etc/hostname"
    elif breakage == "nan":
        write_json(os.path.join(root, "params/p0.json"), json.dumps({**PARAMS, "body_pose": [float("nan")] * 63}))
    elif breakage == "missing_key":
        del db["annotations"][1]["cam_param_path"]
    if breakage in ("escape", "absolute", "missing_key"):
        write_json(ann_path, db)
    with pytest.raises(DatasetError, match=message) as err:
        load_agora(root, "train")
    assert "\n" not in str(err.value)


def _edit_person(root, ann=None, params=None, cam=None):
    ann_path = os.path.join(root, "AGORA_train_SMPLX.json")
    if ann:
        db = json.load(open(ann_path))
        db["annotations"][0].update(ann)
        write_json(ann_path, db)
    if params:
        write_json(os.path.join(root, "params/p0.json"), {**PARAMS, **params})
    if cam:
        write_json(os.path.join(root, "cams/c0.json"), cam)


@pytest.mark.parametrize("edit,message", [
    (dict(params={"body_pose": [1e30] * 63}), "body_pose: a value of 1e+30 is outside"),
    (dict(params={"body_pose": [0.1] * 500}), "body_pose: expected 63 values, got 500"),
    (dict(params={"betas": True}), "betas: expected numbers, got bool True"),
    (dict(params={"jaw_pose": ["0", 0, 0]}), "jaw_pose: expected numbers, got str"),
    (dict(ann={"bbox": [-9000.0, 600.0, 600.0, 1200.0]}), "lies outside the 3840x2160 image"),
    (dict(ann={"bbox": [300.0, 600.0, 0.0, 1200.0]}), "width and height must be > 0"),
    (dict(ann={"face_bbox": [450.0, 600.0, 120.0, 150.0, 1.0]}), "face_bbox: expected 4 values, got 5"),
    (dict(ann={"is_valid": "false"}), "is_valid: expected true or false, got 'false'"),
    (dict(cam={"focal": [0, 0], "princpt": [1920.0, 1080.0]}), "focal lengths must be > 0"),
])
def test_agora_ground_truth_is_checked_for_type_size_and_range(tmp_path, edit, message):
    root = make_agora(str(tmp_path / "agora"))
    _edit_person(root, **edit)
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        load_agora(root, "train")
    assert "\n" not in str(err.value)


def test_agora_part_box_out_of_the_frame_is_an_absent_part(tmp_path):
    # a hand wholly left of the image (as the generator can write for an outstretched arm near the border): that
    # part is not visible, so it loads as None like a missing box; a box only partly outside is kept as it is
    root = make_agora(str(tmp_path / "agora"))
    _edit_person(root, ann={"rhand_bbox": [-137.1, 837.7, 75.6, 78.9], "lhand_bbox": [-40.0, 900.0, 90.0, 60.0]})
    p = load_agora(root, "train")[0]
    assert p.rhand_bbox is None
    np.testing.assert_allclose(p.lhand_bbox, np.array([-40.0, 900.0, 50.0, 960.0]) / 3, rtol=1e-6)
    _edit_person(root, ann={"face_bbox": [3840.0, 600.0, 120.0, 150.0]})
    assert load_agora(root, "train")[0].face_bbox is None
    with pytest.raises(DatasetError, match=re.escape("bbox: box [3840.0, 600.0, 600.0, 1200.0] lies outside")):
        _edit_person(root, ann={"bbox": [3840.0, 600.0, 600.0, 1200.0]})
        load_agora(root, "train")


def make_ehf(root, smplx_model_path, vertices):
    import trimesh

    write_image(os.path.join(root, "01_img.jpg"), (1200, 1600))
    trimesh.Trimesh(vertices=vertices, faces=SMPLXLayer(smplx_model_path).faces, process=False).export(
        os.path.join(root, "01_align.ply"))
    write_json(os.path.join(root, "EHF.json"), {
        "images": [{"id": 1, "file_name": "01_img.jpg", "width": 1600, "height": 1200}],
        "annotations": [{"id": 1, "image_id": 1, "body_bbox": [500, 100, 600, 1000], "lefthand_bbox": [900, 500, 80, 90],
                         "righthand_bbox": [520, 520, 70, 70], "face_bbox": [700, 120, 150, 170]}]})
    return root


def test_ehf_loader_and_mesh(tmp_path, smplx_model_path):
    layer = SMPLXLayer(smplx_model_path)
    verts = layer({"transl": tf.constant([[0.0, 0.1, 3.0]])})["vertices"].numpy()[0]
    root = make_ehf(str(tmp_path / "ehf"), smplx_model_path, verts)
    (p,) = load_ehf(root)
    np.testing.assert_allclose(p.lhand_bbox, [900, 500, 980, 590]) and np.testing.assert_allclose(p.focal, FOCAL)
    assert p.params is None
    np.testing.assert_allclose(read_mesh(p.gt_vertices, layer.num_vertices), verts, atol=1e-6)
    from bidrn_tf.smplx.model_file import load

    joints = pipeline.ground_truth([p], smplx_model_path)["joints"]  # a mesh-only person: the regressor on the mesh
    np.testing.assert_allclose(joints[0], load(smplx_model_path).j_regressor @ verts, atol=1e-5)
    body = layer({"transl": tf.constant([[0.0, 0.1, 3.0]])})["joints"].numpy()[0, :22]  # unposed body: same joints
    np.testing.assert_allclose(joints[0, :22], body, atol=1e-4)
    os.remove(os.path.join(root, "01_align.ply"))
    with pytest.raises(DatasetError, match="ground-truth mesh not found"):
        load_ehf(root)
    with open(os.path.join(root, "01_align.ply"), "w") as f:
        f.write("ply\nformat ascii 1.0\nelement vertex 3\n")
    with pytest.raises(DatasetError, match="ground-truth mesh .* cannot be read|expected 10475 vertices"):
        read_mesh(os.path.join(root, "01_align.ply"), layer.num_vertices)


def _smplx_joints(layer, ex):
    out = layer({"global_orient": ex["root_pose"][None], "body_pose": ex["body_pose"][None],
                 "left_hand_pose": ex["lhand_pose"][None], "right_hand_pose": ex["rhand_pose"][None],
                 "jaw_pose": ex["jaw_pose"][None], "betas": ex["betas"][None], "expression": ex["expression"][None]})
    j = out["joints"].numpy()[0]
    return j - j[GROUP_ROOT]


def test_example_targets_follow_the_image_transform(tmp_path, smplx_model_path):
    (p, _) = load_agora(make_agora(str(tmp_path)), "train")
    joints = pipeline.ground_truth([p], smplx_model_path)["joints"][0]
    layer = SMPLXLayer(smplx_model_path)
    plain = pipeline.load_example(p, joints, input_hw=(512, 384))
    m = pipeline.example_transform(p.bbox, (512, 384), pipeline.augmentation(None, False))
    px = joints[:, :2] / joints[:, 2:] * p.focal + p.princpt
    np.testing.assert_allclose(plain["joints_2d"], px @ m[:, :2].T + m[:, 2], atol=1e-3)
    # box (100, 200, 200x400) widened to 300x400 (the 3:4 input aspect) around its centre (200, 400): scale 1.28
    np.testing.assert_allclose(m, [[1.28, 0, 192 - 1.28 * 200], [0, 1.28, 256 - 1.28 * 400]], atol=1e-9)
    assert plain["box_valid"].tolist() == [1, 0, 1] and plain["image"].shape == (512, 384, 3)
    # rotation: the parameters' root turns with the image, so their SMPL-X joints are the rotated targets
    rot = pipeline.load_example(p, joints, aug={"scale": 1.0, "rot_deg": 25.0, "color": np.ones(3), "flip": False})
    np.testing.assert_allclose(_smplx_joints(layer, rot), rot["joints_3d"], atol=1e-5)
    a = np.deg2rad(25.0)
    np.testing.assert_allclose(rot["joints_3d"][:, :2], plain["joints_3d"][:, :2] @ np.array(
        [[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]), atol=1e-5)
    # flip: left and right swap (boxes too); flipping the parameters twice is the identity
    fl = pipeline.load_example(p, joints, aug={"scale": 1.0, "rot_deg": 0.0, "color": np.ones(3), "flip": True})
    assert fl["box_valid"].tolist() == [0, 1, 1]
    np.testing.assert_allclose(fl["joints_2d"][FLIP_PERM][:, 1], plain["joints_2d"][:, 1], atol=1e-3)
    np.testing.assert_allclose(fl["joints_2d"][FLIP_PERM][:, 0], 384 - plain["joints_2d"][:, 0], atol=1e-3)
    # the mirrored parameters pose SMPL-X as the mirrored targets, with and without a rotation (measured: 9.7 mm
    # at most, over all 55 joints; a wrong sign in flip_pose or a missing swap costs decimetres)
    np.testing.assert_allclose(_smplx_joints(layer, fl), fl["joints_3d"], atol=0.015)
    both = pipeline.load_example(p, joints, aug={"scale": 1.0, "rot_deg": 25.0, "color": np.ones(3), "flip": True})
    np.testing.assert_allclose(_smplx_joints(layer, both), both["joints_3d"], atol=0.015)
    params = {k: plain[k] for k in PARAM_OUTPUTS}
    twice = pipeline.flip_params(pipeline.flip_params(params))
    for k in params:
        np.testing.assert_array_equal(twice[k], params[k])
    assert (FLIP_PERM[FLIP_PERM] == np.arange(55)).all()


def test_make_dataset_is_reproducible_and_resumable(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train") * 3
    joints = pipeline.ground_truth(people, smplx_model_path)["joints"]
    kw = dict(batch_size=2, training=True, input_hw=(64, 48), seed=3, epoch=1)
    full = [b["joints_2d"].numpy() for b in pipeline.make_dataset(people, joints, **kw)]
    again = [b["joints_2d"].numpy() for b in pipeline.make_dataset(people, joints, **kw)]
    skipped = [b["joints_2d"].numpy() for b in pipeline.make_dataset(people, joints, skip_batches=1, **kw)]
    assert len(full) == 3 and len(skipped) == 2
    for a, b in zip(full, again):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(full[1:], skipped):
        np.testing.assert_array_equal(a, b)
    other = [b["joints_2d"].numpy() for b in pipeline.make_dataset(people, joints, **{**kw, "epoch": 2})]
    assert not all(np.array_equal(a, b) for a, b in zip(full, other))


def test_training_batches_without_augmentation_are_the_evaluation_examples_shuffled(tmp_path, smplx_model_path):
    """``augment=False`` (the overfit check): every training example - image and targets - is the evaluation
    example of one of the people; with augmentation they are not."""
    people = load_agora(make_agora(str(tmp_path)), "train") * 2
    joints = pipeline.ground_truth(people, smplx_model_path)["joints"]
    evaluation = [{k: v.numpy() for k, v in b.items()}
                  for b in pipeline.make_dataset(people, joints, batch_size=1, training=False, input_hw=(64, 48))]

    def found(example):
        return any(all(np.array_equal(example[k], e[k][0]) for k in example) for e in evaluation)

    for augment, expected in ((False, True), (True, False)):
        batches = pipeline.make_dataset(people, joints, batch_size=2, training=True, augment=augment,
                                        input_hw=(64, 48), seed=3, epoch=1)
        examples = [{k: v[i].numpy() for k, v in b.items()} for b in batches for i in range(2)]
        assert len(examples) == len(people)
        assert all(found(e) for e in examples) is expected


def test_several_epochs_in_one_dataset_are_the_epochs_one_by_one(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train") * 3  # 6 persons: 2 batches of 2 + none left over
    people = people[:5]  # 5 persons: the last of each epoch is dropped
    joints = pipeline.ground_truth(people, smplx_model_path)["joints"]
    kw = dict(batch_size=2, training=True, input_hw=(64, 48), seed=3)
    one_by_one = [b["joints_2d"].numpy() for e in (4, 5, 6) for b in pipeline.make_dataset(people, joints, epoch=e, **kw)]
    together = [b["joints_2d"].numpy() for b in pipeline.make_dataset(people, joints, epoch=4, epochs=3, **kw)]
    assert len(one_by_one) == len(together) == 6
    for a, b in zip(one_by_one, together):
        np.testing.assert_array_equal(a, b)
