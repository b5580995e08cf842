"""MSCOCO (COCO-WholeBody) as Hand4Whole reads it (``data/MSCOCO``), with NeuralAnnot SMPL-X fits; and
:func:`load_fitted_coco`, the COCO-style + NeuralAnnot reader that ``bidrn_tf.data.mpii`` shares.

Layout under ``data_dir`` (each key as Hand4Whole's ``data/MSCOCO/MSCOCO.py`` reads it)::

    annotations/coco_wholebody_train_v1.0.json   COCO-WholeBody. images: id, file_name, width, height;
                                                  annotations: id, image_id, bbox, iscrowd, num_keypoints,
                                                  lefthand_box / righthand_box / face_box (x, y, w, h) with
                                                  lefthand_valid / righthand_valid / face_valid
    annotations/MSCOCO_train_SMPLX_all_NeuralAnnot.json
                                                  {"<annotation id>": {"smplx_param": {"root_pose",
                                                  "body_pose", "lhand_pose", "rhand_pose", "jaw_pose",
                                                  "shape", "expr", "trans", "lhand_valid", "rhand_valid",
                                                  "face_valid"}, "cam_param": {"focal", "princpt"}}}
    images/train2017/<file_name>

The fits are in camera space (the ``cam_param`` intrinsics). Skipped, as Hand4Whole skips them: crowd
annotations, persons without keypoints, degenerate boxes; and annotations without a fit. The 2D keypoints
are not read: the fit's joints, projected with its camera, are the 2D targets (a documented simplification).
COCO-WholeBody has no SMPL-X fits for its validation split: ``train`` is the only split.
"""
from __future__ import annotations

import os

import numpy as np

from bidrn_tf.data.common import (DatasetError, Person, camera, coco_box_or_none, coco_records, flag, image_size,
                                  neuralannot_params, read_json, require_dir, safe_join)

ANNOTATION_FILE = "annotations/coco_wholebody_train_v1.0.json"
FIT_FILE = "annotations/MSCOCO_train_SMPLX_all_NeuralAnnot.json"
IMAGE_DIR = "images/train2017"
#: COCO-WholeBody part boxes and their flags -> Person fields
PART_BOXES = (("lefthand_box", "lefthand_valid", "lhand_bbox"), ("righthand_box", "righthand_valid", "rhand_bbox"),
              ("face_box", "face_valid", "face_bbox"))


def load_fitted_coco(ann_path: str, fit_path: str, image_root: str, *, name: str, skip_unlabelled: bool,
                     part_boxes: bool) -> list:
    """Persons of a COCO-style annotation file with NeuralAnnot fits ``{str(annotation id): {"smplx_param",
    "cam_param"}}``; images under ``image_root``. ``skip_unlabelled``: skip ``iscrowd`` and
    ``num_keypoints == 0`` annotations; ``part_boxes``: read the COCO-WholeBody hand and face boxes."""
    images, records = coco_records(ann_path, f"{name} annotation file")
    fits = read_json(fit_path, f"{name} SMPL-X fit file")
    if not isinstance(fits, dict):
        raise DatasetError(f"{name} SMPL-X fit file {fit_path!r}: expected a JSON object")
    people, skipped = [], {"crowd or no keypoints": 0, "degenerate box": 0, "no fit": 0}
    for i, where, ann in records:
        try:
            img = images[ann["image_id"]]
            aid = ann["id"]
            bbox_raw = ann["bbox"]
            file_name = img["file_name"]
        except KeyError as err:
            raise DatasetError(f"{where}: missing key {err}") from err
        if skip_unlabelled and (flag(ann.get("iscrowd", 0), f"{where} iscrowd") or ann.get("num_keypoints") == 0):
            skipped["crowd or no keypoints"] += 1
            continue
        wh = image_size(img, where)
        bbox = coco_box_or_none(bbox_raw, f"{where} bbox", wh)
        if bbox is None:
            skipped["degenerate box"] += 1
            continue
        fit = fits.get(str(aid))
        if fit is None:
            skipped["no fit"] += 1
            continue
        fwhere = f"{fit_path} [{aid!r}]"
        if not isinstance(fit, dict) or "smplx_param" not in fit or "cam_param" not in fit:
            raise DatasetError(f"{fwhere}: expected an object with 'smplx_param' and 'cam_param'")
        params, part_valid = neuralannot_params(fit["smplx_param"], f"{fwhere} smplx_param")
        focal, princpt = camera(fit["cam_param"], f"{fwhere} cam_param")
        boxes = {"lhand_bbox": None, "rhand_bbox": None, "face_bbox": None}
        if part_boxes:
            for box_key, valid_key, ours in PART_BOXES:
                if ann.get(box_key) is not None and flag(ann.get(valid_key, False), f"{where} {valid_key}"):
                    b = coco_box_or_none(ann[box_key], f"{where} {box_key}", wh)
                    if b is not None:
                        boxes[ours] = np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)
        image_path = safe_join(image_root, file_name, f"{where} file_name")
        if not os.path.isfile(image_path):
            raise DatasetError(f"{where}: image not found: {image_path!r}")
        people.append(Person(key=f"{name.lower()}/{aid}", image_path=image_path, bbox=bbox, params=params, focal=focal,
                             princpt=princpt, part_valid=part_valid, **boxes))
    if not people:
        raise DatasetError(f"{name} annotation file {ann_path!r} has no usable person (skipped: {skipped})")
    return people


def load_mscoco(data_dir: str, split: str = "train") -> list:
    """The persons of MSCOCO ``train`` (see module docstring) as a list of :class:`Person`."""
    require_dir(data_dir, "MSCOCO data directory")
    if split != "train":
        raise ValueError(f"MSCOCO has SMPL-X fits for its train split only, got split {split!r}")
    return load_fitted_coco(os.path.join(data_dir, ANNOTATION_FILE), os.path.join(data_dir, FIT_FILE),
                            os.path.join(data_dir, IMAGE_DIR), name="MSCOCO", skip_unlabelled=True, part_boxes=True)
