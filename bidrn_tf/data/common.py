"""What every dataset loader shares: the per-person record, path and value checks, one error type."""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be read: missing directory or file, malformed or truncated annotation, a path
    that escapes the data directory, non-finite ground truth."""


@dataclasses.dataclass
class Person:
    """One annotated person. Boxes are in pixels of the image file ``image_path`` points to.

    bbox: (4,) x, y, w, h of the person. lhand_bbox / rhand_bbox / face_bbox: (4,) x1, y1, x2, y2, or
    ``None`` when not annotated. params: {name: float32 array} (``bidrn_tf.smplx.joints.PARAM_SIZES``), ``transl`` in camera space
    (metres). focal / princpt: camera intrinsics in the image's pixels. gt_vertices: path of a ground-truth
    mesh (EHF), else ``None`` (the mesh comes from ``params``).
    """

    key: str
    image_path: str
    bbox: np.ndarray
    lhand_bbox: np.ndarray | None
    rhand_bbox: np.ndarray | None
    face_bbox: np.ndarray | None
    params: dict | None
    focal: np.ndarray | None
    princpt: np.ndarray | None
    gt_vertices: str | None = None


def safe_join(root: str, rel: str, what: str) -> str:
    """``root/rel`` after checking that ``rel`` stays inside ``root`` (no absolute path, no ``..`` escape)."""
    if not isinstance(rel, str) or not rel:
        raise DatasetError(f"{what}: expected a relative path, got {rel!r}")
    root_abs = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root_abs, rel))
    if os.path.isabs(rel) or os.path.commonpath([root_abs, path]) != root_abs:
        raise DatasetError(f"{what}: path {rel!r} escapes the data directory {root!r}")
    return path


def require_dir(path: str, what: str = "data directory") -> str:
    if not os.path.isdir(path):
        raise DatasetError(f"{what} not found: {path!r}")
    return path


def read_json(path: str, what: str):
    if not os.path.isfile(path):
        raise DatasetError(f"{what} not found: {path!r}")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{what} {path!r} is truncated or not valid JSON: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{what} {path!r} cannot be read: {err}") from err


def finite_array(value, shape_or_size, what: str) -> np.ndarray:
    """``value`` as float32 of the given size (flattened when an int) or shape, checked finite."""
    try:
        arr = np.asarray(value, np.float32)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"{what}: not numeric ({err})") from err
    if isinstance(shape_or_size, int):
        arr = arr.reshape(-1)
        if arr.size < shape_or_size:
            raise DatasetError(f"{what}: expected at least {shape_or_size} values, got {arr.size}")
        arr = arr[:shape_or_size]
    elif arr.shape != tuple(shape_or_size):
        raise DatasetError(f"{what}: expected shape {tuple(shape_or_size)}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DatasetError(f"{what}: contains NaN or inf")
    return arr


def coco_records(ann_path: str, what: str):
    """(images by id, [(index, where, annotation dict)]) of a COCO-style annotation file, checked."""
    db = read_json(ann_path, what)
    if not isinstance(db, dict) or not isinstance(db.get("images"), list) or not isinstance(db.get("annotations"), list):
        raise DatasetError(f"{what} {ann_path!r}: expected 'images' and 'annotations' lists")
    if not all(isinstance(img, dict) and "id" in img for img in db["images"]):
        raise DatasetError(f"{what} {ann_path!r}: an image entry has no 'id'")
    records = []
    for i, ann in enumerate(db["annotations"]):
        where = f"{ann_path} annotation {i}"
        if not isinstance(ann, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        records.append((i, where, ann))
    return {img["id"]: img for img in db["images"]}, records
