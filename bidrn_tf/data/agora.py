"""AGORA as prepared for Hand4Whole (SPEC section 3): COCO-style annotation JSON + per-person JSON files.

Layout under ``data_dir``::

    AGORA_train_SMPLX.json / AGORA_validation_SMPLX.json   {"images": [...], "annotations": [...]}
    <smplx_param_path>   {"global_orient", "body_pose", "betas", "left_hand_pose", "right_hand_pose",
                          "jaw_pose", "expression", "transl", ...}   (lists; betas: first 10 used)
    <cam_param_path>     {"focal": [fx, fy], "princpt": [cx, cy]}     (pixels of the 3840x2160 image)
    resolution (720, 1280):  <file_name_1280x720>                      boxes scaled by 1280/3840, 720/2160
    resolution (2160, 3840): images_3840x2160/<dir>_crop/<stem>_person_id_<pid>.png (+ .json with
                             "affine_mat" (2x3, 4K pixels -> crop pixels), "resized_height", "resized_width")

Annotation boxes (``bbox``, ``lhand_bbox``, ``rhand_bbox``, ``face_bbox``) are x, y, w, h in 4K pixels;
``is_valid: false`` persons are skipped. A missing hand / face box is allowed (``None``: its loss is masked), and so
is one that lies entirely outside the image (a hand out of the frame; also ``None``); the person's ``bbox`` must
overlap the image.
The older layout (``AGORA_train.json`` with pickled parameter files) is not read: it would mean unpickling
files, which this project never does without an explicit opt-in; convert it with Hand4Whole's tools.
"""
from __future__ import annotations

import os

import numpy as np

from bidrn_tf.data.common import (DatasetError, Person, box_xywh, camera, coco_records, finite_array, flag,
                                  read_json, require_dir, safe_join, smplx_params)

SPLIT_FILES = {"train": "AGORA_train_SMPLX.json", "validation": "AGORA_validation_SMPLX.json"}
RESOLUTIONS = ((720, 1280), (2160, 3840))
_4K = (2160, 3840)


def _xywh_to_xyxy(b):
    return np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)


def _affine_box(xyxy, m):
    """Axis-aligned box around a 2x3 affine image of an xyxy box."""
    pts = np.array([[xyxy[0], xyxy[1], 1], [xyxy[2], xyxy[1], 1], [xyxy[2], xyxy[3], 1], [xyxy[0], xyxy[3], 1]])
    out = pts @ np.asarray(m, np.float64).T
    return np.array([out[:, 0].min(), out[:, 1].min(), out[:, 0].max(), out[:, 1].max()], np.float32)


def load_agora(data_dir: str, split: str = "train", *, resolution=(720, 1280)) -> list:
    """Read the AGORA annotations of ``split`` into a list of :class:`Person` (see module docstring)."""
    require_dir(data_dir, "AGORA data directory")
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {tuple(SPLIT_FILES)}, got {split!r}")
    resolution = tuple(resolution)
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution}")
    ann_path = os.path.join(data_dir, SPLIT_FILES[split])
    images, records = coco_records(ann_path, "AGORA annotation file")
    people = []
    for i, where, ann in records:
        try:
            if not flag(ann.get("is_valid", True), f"{where} is_valid"):
                continue
            img = images[ann["image_id"]]
            pid = ann["person_id"]
            params_path = safe_join(data_dir, ann["smplx_param_path"], f"{where} smplx_param_path")
            cam_path = safe_join(data_dir, ann["cam_param_path"], f"{where} cam_param_path")
            boxes = {k: (box_xywh(ann[k], f"{where} {k}", _4K[::-1], outside_is_absent=k != "bbox")
                         if ann.get(k) is not None else None)
                     for k in ("bbox", "lhand_bbox", "rhand_bbox", "face_bbox")}
        except KeyError as err:
            raise DatasetError(f"{where}: missing key {err}") from err
        if boxes["bbox"] is None:
            raise DatasetError(f"{where}: missing key 'bbox'")
        for p, what in ((params_path, "SMPL-X parameter file"), (cam_path, "camera parameter file")):
            if not os.path.isfile(p):
                raise DatasetError(f"{where}: {what} not found: {p!r}")
        focal, princpt = camera(read_json(cam_path, "camera parameter file"), f"camera parameter file {cam_path!r}")
        params = smplx_params(read_json(params_path, "SMPL-X parameter file"), f"SMPL-X parameter file {params_path!r}")
        part = {k: (_xywh_to_xyxy(boxes[k]) if boxes[k] is not None else None)
                for k in ("lhand_bbox", "rhand_bbox", "face_bbox")}
        if resolution == (720, 1280):
            name = img.get("file_name_1280x720")
            if name is None:
                raise DatasetError(f"{where}: image {ann['image_id']} has no 'file_name_1280x720'")
            image_path = safe_join(data_dir, name, f"{where} file_name_1280x720")
            s = np.array([1280 / 3840, 720 / 2160], np.float32)
            bbox = boxes["bbox"] * np.tile(s, 2)
            part = {k: (v * np.tile(s, 2) if v is not None else None) for k, v in part.items()}
            focal, princpt = focal * s, princpt * s
        else:
            name = img.get("file_name_3840x2160")
            if name is None:
                raise DatasetError(f"{where}: image {ann['image_id']} has no 'file_name_3840x2160'")
            folder, base = name.replace("\\", "/").split("/")[-2:]
            stem = f"images_3840x2160/{folder}_crop/{os.path.splitext(base)[0]}_person_id_{pid}"
            image_path = safe_join(data_dir, stem + ".png", f"{where} 4K crop")
            crop = read_json(safe_join(data_dir, stem + ".json", f"{where} 4K crop info"), "4K crop info file")
            try:
                m = finite_array(crop["affine_mat"], (2, 3), f"{stem}.json affine_mat")
                h, w = int(crop["resized_height"]), int(crop["resized_width"])
            except (KeyError, TypeError, ValueError) as err:
                raise DatasetError(f"{stem}.json: missing key {err}") from err
            if h <= 0 or w <= 0:
                raise DatasetError(f"{stem}.json: resized_height and resized_width must be > 0, got {h}, {w}")
            bbox = np.array([0, 0, w, h], np.float32)
            part = {k: (_affine_box(v, m) if v is not None else None) for k, v in part.items()}
            # the crop is a scale + shift of the 4K image (no rotation): apply it to the camera
            focal = focal * np.array([m[0, 0], m[1, 1]], np.float32)
            princpt = princpt * np.array([m[0, 0], m[1, 1]], np.float32) + m[:, 2]
        if not os.path.isfile(image_path):
            raise DatasetError(f"{where}: image not found: {image_path!r}")
        people.append(Person(key=f"agora/{split}/{ann.get('id', i)}", image_path=image_path, bbox=bbox, params=params,
                             focal=focal, princpt=princpt, **part))
    if not people:
        raise DatasetError(f"AGORA annotation file {ann_path!r} has no valid person")
    return people
