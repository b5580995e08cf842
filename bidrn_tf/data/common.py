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

    part_valid: (3,) whether the left-hand, right-hand and face parameters are fitted (NeuralAnnot fits of
    Human3.6M have neither hands nor face; COCO-WholeBody's per-part flags); ``None``: all three are.
    world_to_cam: (3, 4) ``[R | t]`` (metres) when ``params`` are in world coordinates (Human3.6M): the
    camera-space mesh is ``R X + t`` and the camera-space root pose is ``R`` composed with ``global_orient``
    (``bidrn_tf.data.pipeline`` applies both); ``None`` when ``params`` are already in camera space.
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
    part_valid: np.ndarray | None = None
    world_to_cam: np.ndarray | None = None


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


#: largest magnitude a value of each SMPL-X parameter may have: beyond it a file holds no pose or shape a fit
#: produces (an axis-angle component past 4 pi, a shape coefficient past 100 standard deviations, a
#: translation past 1 km); a 1e30 fails here instead of as a NaN loss minutes into training
PARAM_LIMITS = {"global_orient": 4 * np.pi, "body_pose": 4 * np.pi, "left_hand_pose": 4 * np.pi,
                "right_hand_pose": 4 * np.pi, "jaw_pose": 4 * np.pi, "betas": 100.0, "expression": 100.0,
                "transl": 1000.0}
#: parameters a file may hold more values of than the model uses (AGORA's betas: 11, the first 10 used)
MAY_BE_LONGER = ("betas", "expression")


def _json_numbers(value, what: str) -> None:
    """Refuse what ``np.asarray`` would silently turn into numbers: booleans, strings, None, objects."""
    if isinstance(value, (list, tuple)):
        for v in value:
            _json_numbers(v, what)
    elif isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise DatasetError(f"{what}: expected numbers, got {type(value).__name__} {value!r}")


def finite_array(value, shape_or_size, what: str, *, longer_ok: bool = False, limit: float | None = None
                 ) -> np.ndarray:
    """``value`` (JSON numbers) as float32 of the given size (flattened, when an int) or shape, checked finite
    and, with ``limit``, within +-limit. Exactly ``size`` values unless ``longer_ok`` (then the first ``size``)."""
    _json_numbers(value, what)
    try:
        arr = np.asarray(value, np.float32)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"{what}: not numeric ({err})") from err
    if isinstance(shape_or_size, int):
        arr = arr.reshape(-1)
        if arr.size < shape_or_size or (arr.size > shape_or_size and not longer_ok):
            raise DatasetError(f"{what}: expected {shape_or_size} values, got {arr.size}")
        arr = arr[:shape_or_size]
    elif arr.shape != tuple(shape_or_size):
        raise DatasetError(f"{what}: expected shape {tuple(shape_or_size)}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DatasetError(f"{what}: contains NaN or inf")
    if limit is not None and np.abs(arr).max(initial=0.0) > limit:
        raise DatasetError(f"{what}: a value of {float(np.abs(arr).max()):.3g} is outside +-{limit:.3g}")
    return arr


def smplx_params(raw, what: str) -> dict:
    """SMPL-X parameters of a JSON object (AGORA names), each checked for type, size and range."""
    from bidrn_tf.smplx.joints import PARAM_SIZES

    if not isinstance(raw, dict):
        raise DatasetError(f"{what}: expected a JSON object")
    params = {}
    for name, size in PARAM_SIZES.items():
        if name not in raw:
            raise DatasetError(f"{what}: missing key {name!r}")
        params[name] = finite_array(raw[name], size, f"{what} {name}", longer_ok=name in MAY_BE_LONGER,
                                    limit=PARAM_LIMITS[name])
    return params


def camera(raw, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(focal, princpt) of a camera JSON object: two numbers each, focal lengths > 0."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{what}: expected a JSON object")
    focal = finite_array(raw.get("focal"), 2, f"{what} focal")
    princpt = finite_array(raw.get("princpt"), 2, f"{what} princpt")
    if (focal <= 0).any():
        raise DatasetError(f"{what} focal: focal lengths must be > 0, got {focal.tolist()}")
    return focal, princpt


def box_xywh(value, what: str, image_wh, *, outside_is_absent: bool = False) -> np.ndarray | None:
    """An x, y, w, h box: exactly four numbers, w and h > 0, overlapping the ``image_wh`` image.
    ``outside_is_absent``: a well-formed box that lies entirely outside the image gives None (a hand or face out
    of the frame, as its part is not visible) instead of the error."""
    box = finite_array(value, 4, what)
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise DatasetError(f"{what}: width and height must be > 0, got {box.tolist()}")
    if x >= image_wh[0] or y >= image_wh[1] or x + w <= 0 or y + h <= 0:
        if outside_is_absent:
            return None
        raise DatasetError(f"{what}: box {box.tolist()} lies outside the {image_wh[0]}x{image_wh[1]} image")
    return box


def flag(value, what: str) -> bool:
    """A JSON boolean (or 0 / 1); the string "false" is not one."""
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    raise DatasetError(f"{what}: expected true or false, got {value!r}")


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


#: NeuralAnnot's SMPL-X parameter names (Hand4Whole's ``*_SMPLX_NeuralAnnot.json``) -> ours (``PARAM_SIZES``)
NEURALANNOT_NAMES = {"root_pose": "global_orient", "body_pose": "body_pose", "lhand_pose": "left_hand_pose",
                     "rhand_pose": "right_hand_pose", "jaw_pose": "jaw_pose", "shape": "betas", "expr": "expression",
                     "trans": "transl"}
#: the parts a NeuralAnnot fit may leave out, with their parameters and validity flag (Hand4Whole's
#: ``process_human_model_output``: a part counts only when its parameters are present and its flag is true)
NEURALANNOT_PARTS = (("lhand_valid", ("lhand_pose",)), ("rhand_valid", ("rhand_pose",)),
                     ("face_valid", ("jaw_pose", "expr")))


def neuralannot_params(raw, what: str) -> tuple[dict, np.ndarray]:
    """(params in our names, part_valid (3,)) of one NeuralAnnot SMPL-X fit ``{"root_pose", "body_pose",
    "shape", "trans", ["lhand_pose", "rhand_pose", "jaw_pose", "expr", "lhand_valid", "rhand_valid",
    "face_valid"]}``. A part whose parameters are missing or whose flag is false gets zeros and
    ``part_valid`` 0 (its losses are masked); a part present without a flag is valid. Every present value is
    checked for type, size and range like the AGORA files."""
    from bidrn_tf.smplx.joints import PARAM_SIZES

    if not isinstance(raw, dict):
        raise DatasetError(f"{what}: expected a JSON object")
    for key in ("root_pose", "body_pose", "shape", "trans"):
        if key not in raw:
            raise DatasetError(f"{what}: missing key {key!r}")
    valid = []
    for flag_key, keys in NEURALANNOT_PARTS:
        present = all(raw.get(k) is not None for k in keys)
        valid.append(present and flag(raw.get(flag_key, True), f"{what} {flag_key}"))
    params = {}
    for theirs, ours in NEURALANNOT_NAMES.items():
        if raw.get(theirs) is None:
            params[ours] = np.zeros(PARAM_SIZES[ours], np.float32)
        else:
            params[ours] = finite_array(raw[theirs], PARAM_SIZES[ours], f"{what} {theirs}",
                                        longer_ok=ours in MAY_BE_LONGER, limit=PARAM_LIMITS[ours])
    for ok, (_, keys) in zip(valid, NEURALANNOT_PARTS):
        if not ok:
            for k in keys:
                params[NEURALANNOT_NAMES[k]] = np.zeros(PARAM_SIZES[NEURALANNOT_NAMES[k]], np.float32)
    return params, np.array(valid, np.float32)


def coco_box_or_none(value, what: str, image_wh) -> np.ndarray | None:
    """An x, y, w, h COCO box clipped to the image, or ``None`` when it is degenerate (w or h < 1 pixel after
    clipping) - Hand4Whole's ``process_bbox`` skips such persons. Non-numbers are still errors."""
    box = finite_array(value, 4, what)
    x1, y1 = max(float(box[0]), 0.0), max(float(box[1]), 0.0)
    x2 = min(float(box[0] + box[2]), image_wh[0] - 1.0)
    y2 = min(float(box[1] + box[3]), image_wh[1] - 1.0)
    if x2 - x1 < 1.0 or y2 - y1 < 1.0:
        return None
    return np.array([x1, y1, x2 - x1, y2 - y1], np.float32)


def image_size(img: dict, where: str) -> tuple[int, int]:
    """(width, height) of a COCO image entry, checked positive."""
    try:
        w, h = img["width"], img["height"]
    except KeyError as err:
        raise DatasetError(f"{where}: image {img.get('id')!r} has no {err}") from err
    if isinstance(w, bool) or isinstance(h, bool) or not isinstance(w, int) or not isinstance(h, int) \
            or w <= 0 or h <= 0:
        raise DatasetError(f"{where}: image width and height must be whole numbers > 0, got {w!r}, {h!r}")
    return w, h
