"""Human3.6M / MSCOCO / MPII loaders (Hand4Whole's formats), Hand4Whole's mixing, part masks, the mix generator."""
import json
import math
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from helpers import write_image, write_json
from scipy.spatial.transform import Rotation

from bidrn_tf.data import load_people, parse_dataset, pipeline
from bidrn_tf.data.common import DatasetError
from bidrn_tf.data.human36m import load_human36m
from bidrn_tf.data.mixing import epoch_length, epoch_order, source
from bidrn_tf.data.mpii import load_mpii
from bidrn_tf.data.mscoco import load_mscoco
from bidrn_tf.data.synthetic_mix import generate_mix
from bidrn_tf.smplx import SMPLXLayer
from bidrn_tf.smplx.joints import GROUP_ROOT


@pytest.fixture(scope="module")
def mix(tmp_path_factory, smplx_model_path):
    return generate_mix(str(tmp_path_factory.mktemp("mix")), smplx_model=smplx_model_path, num_per_set=3, progress=False)


# --- Human3.6M: world-coordinate fits and cameras --------------------------------------------------------------

R_CAM = Rotation.from_euler("xyz", [0.3, -1.1, 0.2]).as_matrix()
T_CAM_MM = np.array([120.0, -300.0, 4500.0])
WORLD_FIT = {"root_pose": [1.2, 0.1, -0.3], "body_pose": (np.linspace(-0.4, 0.4, 63)).tolist(),
             "shape": np.linspace(-1, 1, 10).tolist(), "trans": [0.2, -0.1, 0.9]}


def make_h36m(root, fit=WORLD_FIT, cam=None):
    """Subjects 1, 5, 6, 7, 8 (one frame each at frame 10: every 5th is kept) and a skipped frame 12."""
    cam = cam or {"R": R_CAM.tolist(), "t": T_CAM_MM.tolist(), "f": [1145.0, 1143.0], "c": [512.0, 515.0]}
    for s in (1, 5, 6, 7, 8):
        ann = os.path.join(root, "annotations", f"Human36M_subject{s}")
        images, anns = [], []
        for k, frame in enumerate((10, 12)):
            name = f"s_{s:02d}_act_02_subact_01_ca_03/s_{s:02d}_act_02_subact_01_ca_03_{frame + 1:06d}.jpg"
            write_image(os.path.join(root, "images", name), (100, 100))
            images.append({"id": k, "file_name": name, "width": 1000, "height": 1000, "subject": s, "action_idx": 2,
                           "subaction_idx": 1, "frame_idx": frame, "cam_idx": 3})
            anns.append({"id": k, "image_id": k, "bbox": [300.0, 200.0, 350.0, 700.0]})
        write_json(ann + "_data.json", {"images": images, "annotations": anns})
        write_json(ann + "_camera.json", {"3": cam})
        write_json(ann + "_SMPLX_NeuralAnnot.json", {"2": {"1": {"10": fit, "12": fit}}})
    return root


def test_h36m_world_fit_is_moved_into_the_camera(tmp_path, smplx_model_path):
    people = load_human36m(make_h36m(str(tmp_path)), "train")
    assert len(people) == 5 and [p.key.split("/")[2] for p in people] == ["1", "5", "6", "7", "8"]
    p = people[0]
    assert p.part_valid.tolist() == [0, 0, 0] and p.lhand_bbox is None and p.face_bbox is None
    np.testing.assert_allclose(p.focal, [1145, 1143]) and np.testing.assert_allclose(p.princpt, [512, 515])
    # independent: the world mesh through SMPL-X, then Human3.6M's world2cam X_c = R X_w + t (t in mm)
    layer = SMPLXLayer(smplx_model_path)
    world = layer({"global_orient": tf.constant([WORLD_FIT["root_pose"]]), "body_pose": tf.constant([WORLD_FIT["body_pose"]]),
                   "betas": tf.constant([WORLD_FIT["shape"]]), "transl": tf.constant([WORLD_FIT["trans"]])})
    expected = world["vertices"].numpy()[0] @ R_CAM.T + T_CAM_MM / 1000
    truth = pipeline.ground_truth([p], smplx_model_path, vertices=True)
    np.testing.assert_allclose(truth["vertices"][0], expected, atol=2e-5)
    np.testing.assert_allclose(truth["joints"][0], world["joints"].numpy()[0] @ R_CAM.T + T_CAM_MM / 1000, atol=2e-5)
    # the root-pose target is the camera's: with it, SMPL-X's root-relative joints are the 3D joint targets
    ex = pipeline.load_example(p, truth["joints"][0], input_hw=(64, 48))
    cam = layer({"global_orient": tf.constant([ex["root_pose"]]), "body_pose": tf.constant([ex["body_pose"]]),
                 "betas": tf.constant([ex["betas"]])})["joints"].numpy()[0]
    np.testing.assert_allclose(cam - cam[GROUP_ROOT], ex["joints_3d"], atol=2e-5)
    assert ex["part_valid"].tolist() == [0, 0, 0] and ex["joint_valid"][25:].sum() == 0 and ex["joint_valid"][:25].all()
    assert not ex["lhand_pose"].any() and not ex["expression"].any()


@pytest.mark.parametrize("breakage, message", [
    ("missing_subject", "Human3.6M subject 8 camera file not found"),
    ("truncated", "is truncated or not valid JSON"),
    ("escape", "escapes the data directory"),
    ("nan", "contains NaN or inf"),
    ("not_rotation", "R: not a rotation matrix"),
    ("no_camera", "no camera 3"),
    ("no_fit", "no fit for action 2 subaction 1 frame 10"),
])
def test_h36m_bad_inputs(tmp_path, breakage, message):
    root = make_h36m(str(tmp_path))
    ann = os.path.join(root, "annotations", "Human36M_subject8")
    if breakage == "missing_subject":
        os.remove(ann + "_camera.json")
    elif breakage == "truncated":
        text = open(ann + "_SMPLX_NeuralAnnot.json").read()
        write_json(ann + "_SMPLX_NeuralAnnot.json", text[: len(text) // 2])
    elif breakage == "escape":
        db = json.load(open(ann + "_data.json"))
        db["images"][0]["file_name"] = "../../../etc/passwd"
        write_json(ann + "_data.json", db)
    elif breakage == "nan":
        write_json(ann + "_SMPLX_NeuralAnnot.json", {"2": {"1": {"10": {**WORLD_FIT, "trans": [math.nan, 0, 0]}}}})
    elif breakage == "not_rotation":
        write_json(ann + "_camera.json", {"3": {"R": (2 * R_CAM).tolist(), "t": [0, 0, 0], "f": [1, 1], "c": [0, 0]}})
    elif breakage == "no_camera":
        write_json(ann + "_camera.json", {"4": {"R": R_CAM.tolist(), "t": [0, 0, 0], "f": [1, 1], "c": [0, 0]}})
    elif breakage == "no_fit":
        write_json(ann + "_SMPLX_NeuralAnnot.json", {"2": {"1": {}}})
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        load_human36m(root, "train")
    assert "\n" not in str(err.value)


# --- MSCOCO / MPII: COCO-style annotations with camera-space fits ------------------------------------------------

def test_mscoco_part_flags_boxes_and_skipped_annotations(mix, tmp_path):
    import shutil

    root = shutil.copytree(os.path.join(mix, "MSCOCO"), str(tmp_path / "MSCOCO"))
    people = load_mscoco(root)
    assert len(people) == 3 and all(p.part_valid.tolist() == [1, 1, 1] and p.world_to_cam is None for p in people)
    db_path = os.path.join(root, "annotations", "coco_wholebody_train_v1.0.json")
    fit_path = os.path.join(root, "annotations", "MSCOCO_train_SMPLX_all_NeuralAnnot.json")
    db, fits = json.load(open(db_path)), json.load(open(fit_path))
    a0 = db["annotations"][0]
    x, y, w, h = a0["lefthand_box"]
    np.testing.assert_allclose(people[0].lhand_bbox, [x, y, x + w, y + h], rtol=1e-6)
    # a part without a fit (flag false, or its parameters missing) is masked and zeroed; its box still counts
    fits[str(a0["id"])]["smplx_param"]["rhand_valid"] = False
    del fits[str(a0["id"])]["smplx_param"]["jaw_pose"]
    db["annotations"][1]["lefthand_valid"] = False  # an unannotated hand box
    db["annotations"] += [{**a0, "id": 900, "iscrowd": 1}, {**a0, "id": 901, "num_keypoints": 0},
                          {**a0, "id": 902, "bbox": [10.0, 10.0, 0.0, 50.0]}, {**a0, "id": 903}]  # 903: no fit
    fits.update({k: fits[str(a0["id"])] for k in ("900", "901", "902")})
    write_json(db_path, db)
    write_json(fit_path, fits)
    people = load_mscoco(root)
    assert len(people) == 3
    assert people[0].part_valid.tolist() == [1, 0, 0]
    assert not people[0].params["right_hand_pose"].any() and not people[0].params["expression"].any()
    assert people[0].params["left_hand_pose"].any() and people[0].rhand_bbox is not None
    assert people[1].lhand_bbox is None and people[1].rhand_bbox is not None


@pytest.mark.parametrize("edit, message", [
    (lambda db, fits: fits["100"]["cam_param"].update(focal=[-5.0, 5.0]), "focal lengths must be > 0"),
    (lambda db, fits: fits["100"]["smplx_param"].update(shape="tall"), "expected numbers, got str"),
    (lambda db, fits: fits["100"]["smplx_param"].pop("root_pose"), "missing key 'root_pose'"),
    (lambda db, fits: fits["100"]["smplx_param"].update(lhand_valid="false"), "lhand_valid: expected true or false"),
    (lambda db, fits: db["images"][0].update(file_name="/etc/passwd"), "escapes the data directory"),
    (lambda db, fits: db["images"][0].update(width=0), "width and height must be whole numbers > 0"),
])
def test_mpii_bad_inputs(mix, tmp_path, edit, message):
    import shutil

    root = str(tmp_path / "MPII")
    shutil.copytree(os.path.join(mix, "MPII", "data"), root)
    db_path, fit_path = os.path.join(root, "annotations", "train.json"), os.path.join(root, "annotations",
                                                                                       "MPII_train_SMPLX_NeuralAnnot.json")
    db, fits = json.load(open(db_path)), json.load(open(fit_path))
    assert len(load_mpii(root)) == 3 and all(p.lhand_bbox is None for p in load_mpii(root))
    edit(db, fits)
    write_json(db_path, db)
    write_json(fit_path, fits)
    with pytest.raises(DatasetError, match=re.escape(message)) as err:
        load_mpii(root)
    assert "\n" not in str(err.value)
    shutil.rmtree(os.path.join(root, "images"))
    os.makedirs(os.path.join(root, "images"))
    with pytest.raises(DatasetError):
        load_mpii(root)


# --- mixing as Hand4Whole, the generated sets ----------------------------------------------------------------------

def test_mix_is_half_3d_half_2d_and_reproducible(mix):
    people = load_people("h36m+mscoco+mpii", mix, "train")
    groups = [source(p) for p in people]
    assert groups.count("h36m") == 5 and groups.count("mscoco") == 3 and groups.count("mpii") == 3
    order = epoch_order(people, seed=4, epoch=2)
    assert len(order) == epoch_length(people) == 12  # the longer group (2D: 6) twice
    picked = [groups[i] for i in order]
    assert picked.count("h36m") == 6 and picked.count("mscoco") + picked.count("mpii") == 6
    assert {i for i in order if groups[i] != "h36m"} == {i for i, g in enumerate(groups) if g != "h36m"}
    np.testing.assert_array_equal(order, epoch_order(people, seed=4, epoch=2))
    assert not np.array_equal(order, epoch_order(people, seed=4, epoch=3))
    single = load_people("mscoco", os.path.join(mix, "MSCOCO"), "train")
    np.testing.assert_array_equal(epoch_order(single, 0, 1), np.random.default_rng((0, 1)).permutation(3))
    for bad in ("h36m+ehf", "h36m+h36m", "h36m+coco", ""):
        with pytest.raises(ValueError):
            parse_dataset(bad)


def test_generated_sets_match_their_meshes(mix, smplx_model_path):
    """The generated MSCOCO / EHF persons: the ground truth from the loaders projects onto the annotated boxes."""
    from bidrn_tf.render import project

    for people in (load_mscoco(os.path.join(mix, "MSCOCO")), load_people("ehf", os.path.join(mix, "EHF"), "test")):
        truth = pipeline.ground_truth(people, smplx_model_path, vertices=True)
        for p, v in zip(people, truth["vertices"]):
            px = project(v, p.focal, p.princpt)
            lo, hi = px.min(0), px.max(0)
            pad = (hi - lo) * 0.05
            np.testing.assert_allclose(np.r_[lo - pad, hi - lo + 2 * pad], p.bbox, atol=0.05)


def test_masked_parts_do_not_reach_the_losses(mix, smplx_model_path):
    from bidrn_tf.models.config import ModelConfig
    from bidrn_tf.train.losses import losses

    people = load_human36m(os.path.join(mix, "Human36M"), "train")[:2]
    joints = pipeline.ground_truth(people, smplx_model_path)["joints"]
    ex = [pipeline.load_example(p, j, input_hw=(64, 48)) for p, j in zip(people, joints)]
    batch = {k: tf.constant(np.stack([e[k] for e in ex])) for k in ex[0]}
    cfg = ModelConfig(image_hw=(64, 48))
    j = tf.constant(joints)
    out = {k: batch[k] for k in ("root_pose", "body_pose", "lhand_pose", "rhand_pose", "jaw_pose", "betas", "expression")}
    out.update(smplx_joints=j, joints_proj=batch["joints_2d"], body_joints=tf.zeros((2, 25, 3)),
               lhand_joints=tf.zeros((2, 20, 3)), rhand_joints=tf.zeros((2, 20, 3)),
               lhand_bbox=tf.zeros((2, 4)), rhand_bbox=tf.zeros((2, 4)), face_bbox=tf.zeros((2, 4)))
    base = losses(out, batch, cfg)
    moved_fingers = tf.concat([j[:, :25], j[:, 25:] + 0.3], 1)
    wrong = dict(out, lhand_pose=out["lhand_pose"] + 1.0, jaw_pose=out["jaw_pose"] + 1.0,
                 expression=out["expression"] + 1.0, smplx_joints=moved_fingers,
                 lhand_joints=tf.ones((2, 20, 3)) * 50.0)
    after = losses(wrong, batch, cfg)
    for name in ("pose", "expression", "joints_3d", "hand_position"):
        assert float(after[name]) == pytest.approx(float(base[name]), abs=1e-6), name
    assert float(after["pose"]) == pytest.approx(0.0, abs=1e-6)
    body = losses(dict(out, body_pose=out["body_pose"] + 1.0), batch, cfg)
    assert float(body["pose"]) > 0.5  # the body is fitted: its pose error counts
