"""Human3.6M as Hand4Whole reads it (``data/Human36M``), with NeuralAnnot SMPL-X fits.

Layout under ``data_dir`` (each key as Hand4Whole's ``data/Human36M/Human36M.py`` reads it)::

    annotations/Human36M_subject<S>_data.json      COCO style. images: id, file_name, width, height, subject,
                                                    action_idx, subaction_idx, frame_idx, cam_idx;
                                                    annotations: id, image_id, bbox (x, y, w, h pixels)
    annotations/Human36M_subject<S>_camera.json    {"<cam_idx>": {"R": 3x3, "t": 3 (mm), "f": 2, "c": 2}}
    annotations/Human36M_subject<S>_SMPLX_NeuralAnnot.json
                                                    {"<action>": {"<subaction>": {"<frame>": {"root_pose",
                                                    "body_pose", "shape", "trans"}}}}   world coordinates
    images/<file_name>

Splits (Hand4Whole's): ``train`` subjects 1, 5, 6, 7, 8, every 5th frame, every camera; ``test`` (also
accepted as ``validation``) subjects 9 and 11, every 64th frame, camera 4 only. The fits are in world
coordinates: each :class:`Person` keeps them with ``world_to_cam = [R | t / 1000]`` (the pipeline moves mesh
and root pose into the camera). The fits have no hands and no face (``part_valid`` 0 0 0) and there are no
hand or face boxes. ``Human36M_subject<S>_joint_3d.json`` (17 motion-capture joints) is not read: as in
Hand4Whole's SMPL-X supervision, the fit's joints are the targets. Persons whose box is degenerate are skipped
(Hand4Whole's ``process_bbox``).
"""
from __future__ import annotations

import os

import numpy as np

from bidrn_tf.data.common import (DatasetError, Person, coco_box_or_none, finite_array, image_size, neuralannot_params,
                                  read_json, require_dir, safe_join)

SUBJECTS = {"train": (1, 5, 6, 7, 8), "test": (9, 11)}
FRAME_STEP = {"train": 5, "test": 64}
TEST_CAMERA = 4
_INT_KEYS = ("subject", "action_idx", "subaction_idx", "frame_idx", "cam_idx")


def _camera(raw, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world_to_cam (3, 4) metres, focal, princpt) of one camera entry, checked (R a rotation, f > 0)."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{what}: expected a JSON object")
    for key in ("R", "t", "f", "c"):
        if key not in raw:
            raise DatasetError(f"{what}: missing key {key!r}")
    r = finite_array(raw["R"], (3, 3), f"{what} R")
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-3) or np.linalg.det(r) < 0:
        raise DatasetError(f"{what} R: not a rotation matrix")
    t = finite_array(raw["t"], 3, f"{what} t", limit=1e6)
    focal = finite_array(raw["f"], 2, f"{what} f")
    princpt = finite_array(raw["c"], 2, f"{what} c")
    if (focal <= 0).any():
        raise DatasetError(f"{what} f: focal lengths must be > 0, got {focal.tolist()}")
    return np.concatenate([r, t[:, None] / 1000.0], 1).astype(np.float32), focal, princpt


def load_human36m(data_dir: str, split: str = "train") -> list:
    """The persons of ``split`` (see module docstring) as a list of :class:`Person`."""
    require_dir(data_dir, "Human3.6M data directory")
    split = {"validation": "test"}.get(split, split)
    if split not in SUBJECTS:
        raise ValueError(f"split must be train or test (validation), got {split!r}")
    ann_dir = os.path.join(data_dir, "annotations")
    people, skipped = [], 0
    for subject in SUBJECTS[split]:
        stem = os.path.join(ann_dir, f"Human36M_subject{subject}")
        db = read_json(stem + "_data.json", f"Human3.6M subject {subject} annotation file")
        cams = read_json(stem + "_camera.json", f"Human3.6M subject {subject} camera file")
        fits = read_json(stem + "_SMPLX_NeuralAnnot.json", f"Human3.6M subject {subject} SMPL-X fit file")
        if not isinstance(db, dict) or not isinstance(db.get("images"), list) or not isinstance(db.get("annotations"), list):
            raise DatasetError(f"{stem}_data.json: expected 'images' and 'annotations' lists")
        for what, obj in (("camera", cams), ("SMPL-X fit", fits)):
            if not isinstance(obj, dict):
                raise DatasetError(f"Human3.6M subject {subject} {what} file: expected a JSON object")
        images = {img.get("id"): img for img in db["images"] if isinstance(img, dict)}
        for i, ann in enumerate(db["annotations"]):
            where = f"{stem}_data.json annotation {i}"
            if not isinstance(ann, dict):
                raise DatasetError(f"{where}: expected a JSON object")
            try:
                img = images[ann["image_id"]]
                idx = {k: img[k] for k in _INT_KEYS}
                name = img["file_name"]
                bbox_raw = ann["bbox"]
            except KeyError as err:
                raise DatasetError(f"{where}: missing key {err}") from err
            for k, v in idx.items():
                if isinstance(v, bool) or not isinstance(v, int):
                    raise DatasetError(f"{where}: image {k} must be a whole number, got {v!r}")
            if idx["frame_idx"] % FRAME_STEP[split] or (split == "test" and idx["cam_idx"] != TEST_CAMERA):
                continue
            bbox = coco_box_or_none(bbox_raw, f"{where} bbox", image_size(img, where))
            if bbox is None:
                skipped += 1
                continue
            cam = cams.get(str(idx["cam_idx"]))
            if cam is None:
                raise DatasetError(f"{stem}_camera.json: no camera {idx['cam_idx']} (needed by {where})")
            world_to_cam, focal, princpt = _camera(cam, f"{stem}_camera.json camera {idx['cam_idx']}")
            try:
                fit = fits[str(idx["action_idx"])][str(idx["subaction_idx"])][str(idx["frame_idx"])]
            except (KeyError, TypeError):
                raise DatasetError(f"{stem}_SMPLX_NeuralAnnot.json: no fit for action {idx['action_idx']} subaction "
                                   f"{idx['subaction_idx']} frame {idx['frame_idx']} (needed by {where})") from None
            params, part_valid = neuralannot_params(fit, f"{stem}_SMPLX_NeuralAnnot.json {idx['action_idx']}/"
                                                         f"{idx['subaction_idx']}/{idx['frame_idx']}")
            image_path = safe_join(os.path.join(data_dir, "images"), name, f"{where} file_name")
            if not os.path.isfile(image_path):
                raise DatasetError(f"{where}: image not found: {image_path!r}")
            people.append(Person(key=f"h36m/{split}/{subject}/{ann.get('id', i)}", image_path=image_path, bbox=bbox,
                                 lhand_bbox=None, rhand_bbox=None, face_bbox=None, params=params, focal=focal,
                                 princpt=princpt, part_valid=part_valid, world_to_cam=world_to_cam))
    if not people:
        raise DatasetError(f"Human3.6M {split} in {data_dir!r} has no usable person ({skipped} degenerate boxes)")
    return people
