"""EHF (SMPL-X paper's evaluation set), as Hand4Whole reads it: ``EHF.json`` + images + ``<id>_align.ply``.

Layout under ``data_dir``: ``EHF.json`` (COCO style: ``images`` with ``id`` and ``file_name`` such as
``01_img.jpg``; ``annotations`` with ``image_id``, ``body_bbox``, ``lefthand_bbox``, ``righthand_bbox``,
``face_bbox``, all x, y, w, h in image pixels), the images, and the ground-truth meshes
``<id>_align.ply`` (SMPL-X topology, camera space, metres), where ``<id>`` is the file name up to its first
``_``. EHF has one camera for every frame (:data:`FOCAL`, :data:`PRINCPT`). Evaluation only: no parameters.
"""
from __future__ import annotations

import os

import numpy as np

from bidrn_tf.data.common import DatasetError, Person, box_xywh, coco_records, require_dir, safe_join

IMAGE_WH = (1600, 1200)  # every EHF frame
FOCAL = np.array([1498.22426237, 1498.22426237], np.float32)
PRINCPT = np.array([790.263706, 578.90334], np.float32)


def load_ehf(data_dir: str) -> list:
    require_dir(data_dir, "EHF data directory")
    ann_path = os.path.join(data_dir, "EHF.json")
    images, records = coco_records(ann_path, "EHF annotation file")
    people = []
    for i, where, ann in records:
        try:
            img = images[ann["image_id"]]
            name = img["file_name"]
            bbox = box_xywh(ann["body_bbox"], f"{where} body_bbox", IMAGE_WH)
        except (KeyError, TypeError) as err:
            raise DatasetError(f"{where}: missing key {err}") from err
        image_path = safe_join(data_dir, name, f"{where} file_name")
        mesh_path = safe_join(data_dir, os.path.basename(name).split("_")[0] + "_align.ply", f"{where} mesh")
        part = {}
        for key, ours in (("lefthand_bbox", "lhand_bbox"), ("righthand_bbox", "rhand_bbox"), ("face_bbox", "face_bbox")):
            b = ann.get(key)
            if b is None:
                part[ours] = None
            else:
                b = box_xywh(b, f"{where} {key}", IMAGE_WH)
                part[ours] = np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]], np.float32)
        for p, what in ((image_path, "image"), (mesh_path, "ground-truth mesh")):
            if not os.path.isfile(p):
                raise DatasetError(f"{where}: {what} not found: {p!r}")
        people.append(Person(key=f"ehf/{ann.get('id', i)}", image_path=image_path, bbox=bbox, params=None,
                             focal=FOCAL.copy(), princpt=PRINCPT.copy(), gt_vertices=mesh_path, **part))
    if not people:
        raise DatasetError(f"EHF annotation file {ann_path!r} has no annotation")
    return people


def read_mesh(path: str, num_vertices: int | None = None) -> np.ndarray:
    """(V, 3) float32 vertices of a ``.ply`` ground-truth mesh (trimesh), checked finite and sized."""
    import trimesh

    if not os.path.isfile(path):
        raise DatasetError(f"ground-truth mesh not found: {path!r}")
    try:
        mesh = trimesh.load(path, process=False, force="mesh")
        verts = np.asarray(mesh.vertices, np.float32)
    except Exception as err:  # trimesh raises many types on bad files
        raise DatasetError(f"ground-truth mesh {path!r} cannot be read: {err}") from err
    if num_vertices is not None and verts.shape != (num_vertices, 3):
        raise DatasetError(f"ground-truth mesh {path!r}: expected {num_vertices} vertices, got {verts.shape[0]}")
    if not np.isfinite(verts).all():
        raise DatasetError(f"ground-truth mesh {path!r}: contains NaN or inf")
    return verts
