"""Generated stand-ins for the paper's EHF recipe: people made with an SMPL-X-format model and rendered, written
in the formats of Hand4Whole's ``data/Human36M``, ``data/MSCOCO``, ``data/MPII`` and ``data/EHF`` (the loaders
``bidrn_tf.data.human36m``, ``mscoco``, ``mpii``, ``ehf``), so ``--dataset h36m+mscoco+mpii`` training and EHF
evaluation run end to end without the real sets (which cannot be downloaded here). NOT real data.

``generate_mix(out_dir, smplx_model=..., num_per_set=..., seed=...)`` writes::

    Human36M/annotations/Human36M_subject<S>_{data,camera,SMPLX_NeuralAnnot}.json, Human36M/images/...
        train subjects 1, 5, 6, 7, 8 and test subjects 9, 11; four cameras per subject with R, t (mm), f, c;
        fits in WORLD coordinates (root pose R^T-rotated, translation moved with the camera) without hands
        or face, as NeuralAnnot's Human3.6M fits; frames at multiples of 320 (every 5th and every 64th)
    MSCOCO/annotations/coco_wholebody_train_v1.0.json, MSCOCO_train_SMPLX_all_NeuralAnnot.json,
        MSCOCO/images/train2017/...   hand and face boxes with their *_valid flags; camera-space fits
    MPII/data/annotations/train.json, MPII_train_SMPLX_NeuralAnnot.json, MPII/data/images/...
    EHF/EHF.json, EHF/<NN>_img.jpg, EHF/<NN>_align.ply      EHF's camera, ground-truth meshes
    mix.json                                                what was generated (the cache key)

Poses, shapes and placement are sampled as in ``bidrn_tf.data.synthetic``. The 2D keypoints written for
MSCOCO / MPII are the projected SMPL-X joints nearest to each keypoint's meaning, or 0 (invisible) where the
55-joint set has none; the loaders do not read them. Generating again with the same arguments reuses the files.
"""
from __future__ import annotations

import json
import os

import cv2
import numpy as np

from bidrn_tf.data.synthetic import _file_digest, _sample_params, box, draw, place
from bidrn_tf.fileio import write_atomic

VERSION = 1
H36M_HW, COCO_HW, MPII_HW = (1000, 1000), (480, 640), (720, 1280)
#: COCO's 17 keypoints as SMPL-X joint names (None: no such joint in the 55-joint set)
COCO_KEYPOINTS = (None, "left_eye_smplhf", "right_eye_smplhf", None, None, "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")
#: MPII's 16 keypoints as SMPL-X joint names
MPII_KEYPOINTS = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "spine3",
                  "neck", "head", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
                  "left_wrist")
_NEURALANNOT = {"global_orient": "root_pose", "body_pose": "body_pose", "left_hand_pose": "lhand_pose",
                "right_hand_pose": "rhand_pose", "jaw_pose": "jaw_pose", "betas": "shape", "expression": "expr"}


def _jpg(path: str, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    write_atomic(path, data.tobytes())


def _xywh(b) -> list:
    return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]


def _keypoints(px_joints: np.ndarray, names) -> tuple[list, int]:
    from bidrn_tf.smplx.joints import JOINT_NAMES

    out = []
    for n in names:
        out += [0.0, 0.0, 0] if n is None else [*px_joints[JOINT_NAMES.index(n)].astype(float).tolist(), 2]
    return out, sum(n is not None for n in names)


def _camera(rng, hw) -> dict:
    """A Human3.6M-like camera: 3-5 m from the origin at chest height, looking at it; R, t (mm), f, c."""
    from scipy.spatial.transform import Rotation

    yaw = rng.uniform(-np.pi, np.pi)
    # world: z up; camera: x right, y down, looking along +z
    look = Rotation.from_euler("x", -np.pi / 2) * Rotation.from_euler("z", -yaw)
    r = look.as_matrix()
    centre = np.array([np.sin(yaw), -np.cos(yaw), 0.0]) * -rng.uniform(3.0, 5.0) + [0.0, 0.0, 1.0]
    t = -r @ centre
    f = rng.uniform(1100, 1200)
    return {"R": r.tolist(), "t": (t * 1000).tolist(), "f": [f, f],
            "c": [hw[1] / 2 + rng.uniform(-10, 10), hw[0] / 2 + rng.uniform(-10, 10)]}


def _world_fit(layer, params_i: dict, transl_cam: np.ndarray, cam: dict) -> dict:
    """NeuralAnnot-style world fit of a camera-space person: root pose R^T * root, translation such that
    ``R X_world + t`` is the camera-space mesh (the rotation turns about the rest pelvis J0)."""
    import tensorflow as tf
    from scipy.spatial.transform import Rotation

    r = np.asarray(cam["R"], np.float64)
    t = np.asarray(cam["t"], np.float64) / 1000.0
    j0 = layer({"betas": tf.constant(params_i["betas"][None])})["joints"].numpy()[0, 0].astype(np.float64)
    root = (Rotation.from_matrix(r.T) * Rotation.from_rotvec(params_i["global_orient"])).as_rotvec()
    trans = r.T @ (j0 + transl_cam - t) - j0
    return {"root_pose": root.tolist(), "body_pose": params_i["body_pose"].tolist(), "shape": params_i["betas"].tolist(),
            "trans": trans.tolist()}


def _fit(params_i: dict, transl: np.ndarray) -> dict:
    fit = {theirs: params_i[ours].tolist() for ours, theirs in _NEURALANNOT.items()}
    return {**fit, "trans": transl.tolist(), "lhand_valid": True, "rhand_valid": True, "face_valid": True}


def generate_mix(out_dir: str, *, smplx_model: str, num_per_set: int = 8, seed: int = 0, progress: bool = True) -> str:
    """Write (or reuse) the four generated sets under ``out_dir``; returns ``out_dir``. See module docstring."""
    from bidrn_tf.data.ehf import FOCAL, IMAGE_WH, PRINCPT
    from bidrn_tf.data.human36m import SUBJECTS
    from bidrn_tf.render import project
    from bidrn_tf.smplx import SMPLXLayer
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import face_vertex_ids, hand_vertex_ids

    if isinstance(num_per_set, bool) or not isinstance(num_per_set, int) or num_per_set < 1:
        raise ValueError(f"num_per_set must be a whole number >= 1, got {num_per_set!r}")
    key = {"version": VERSION, "seed": seed, "num_per_set": num_per_set,
           "smplx_model_sha256": _file_digest(smplx_model)}
    meta_path = os.path.join(out_dir, "mix.json")
    if os.path.isfile(meta_path):
        try:
            with open(meta_path) as f:
                if json.load(f) == key:
                    return out_dir
        except json.JSONDecodeError:
            pass  # unreadable cache record: generate again
    rng = np.random.default_rng(seed)
    layer = SMPLXLayer(smplx_model)
    arrays = load(smplx_model)
    hands, face = hand_vertex_ids(arrays), face_vertex_ids(arrays)
    h36m_subjects = [(s, split) for split in ("train", "test") for s in SUBJECTS[split]]
    counts = {"h36m": max(num_per_set, len(h36m_subjects)), "mscoco": num_per_set, "mpii": num_per_set,
              "ehf": num_per_set}
    jobs = [(name, i) for name, n in counts.items() for i in range(n)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="rendering generated H36M / MSCOCO / MPII / EHF", unit="img")
    cams = {s: {str(c): _camera(rng, H36M_HW) for c in (1, 2, 3, 4)} for s, _ in h36m_subjects}
    h36m = {s: {"images": [], "annotations": []} for s, _ in h36m_subjects}
    h36m_fits = {s: {} for s, _ in h36m_subjects}
    coco = {"images": [], "annotations": []}
    mpii = {"images": [], "annotations": []}
    coco_fits, mpii_fits = {}, {}
    ehf = {"images": [], "annotations": []}
    files = []  # (path, bytes-or-callable) written before the annotation files
    for name, i in jobs:
        params = {k: v[0] for k, v in _sample_params(rng, 1).items()}
        verts0 = layer({k: v[None] for k, v in params.items()})["vertices"].numpy()[0]
        joints0 = layer({k: v[None] for k, v in params.items()})["joints"].numpy()[0]
        if name == "h36m":
            subject, split = h36m_subjects[i % len(h36m_subjects)]
            cam_idx = 4 if split == "test" else int(rng.integers(1, 5))
            cam = cams[subject][str(cam_idx)]
            focal, princpt, hw = np.array(cam["f"], np.float32), np.array(cam["c"], np.float32), H36M_HW
        elif name == "ehf":
            focal, princpt, hw = FOCAL, PRINCPT, IMAGE_WH[::-1]
        else:
            hw = COCO_HW if name == "mscoco" else MPII_HW
            focal = np.full(2, rng.uniform(500, 700) * hw[1] / 640, np.float32)
            princpt = np.array([hw[1] / 2, hw[0] / 2], np.float32)
        transl = place(rng, verts0, focal, hw, depth=(3.0, 5.0))
        verts = verts0 + transl
        image = draw(rng, verts, layer.faces, focal, princpt, hw)
        px, pj = project(verts, focal, princpt), project(joints0 + transl, focal, princpt)
        bbox, lhand, rhand, fbox = box(px, 0.05), box(px[hands["left"]]), box(px[hands["right"]]), box(px[face])
        if name == "h36m":
            action, sub, frame = int(rng.integers(2, 17)), int(rng.integers(1, 3)), 320 * (i // len(h36m_subjects))
            folder = f"s_{subject:02d}_act_{action:02d}_subact_{sub:02d}_ca_{cam_idx:02d}"
            file_name = f"{folder}/{folder}_{frame + 1:06d}.jpg"
            _jpg(os.path.join(out_dir, "Human36M/images", file_name), image)
            image_id = len(h36m[subject]["images"]) + 1000 * subject
            h36m[subject]["images"].append({"id": image_id, "file_name": file_name, "width": hw[1], "height": hw[0],
                                            "subject": subject, "action_idx": action, "subaction_idx": sub,
                                            "frame_idx": frame, "cam_idx": cam_idx})
            h36m[subject]["annotations"].append({"id": image_id, "image_id": image_id, "bbox": _xywh(bbox)})
            fit = _world_fit(layer, params, transl, cam)
            h36m_fits[subject].setdefault(str(action), {}).setdefault(str(sub), {})[str(frame)] = fit
        elif name == "ehf":
            stem = f"{i + 1:02d}"
            _jpg(os.path.join(out_dir, "EHF", f"{stem}_img.jpg"), image)
            import trimesh

            ply = trimesh.Trimesh(vertices=verts, faces=layer.faces, process=False).export(file_type="ply")
            write_atomic(os.path.join(out_dir, "EHF", f"{stem}_align.ply"), ply)
            ehf["images"].append({"id": i, "file_name": f"{stem}_img.jpg", "width": hw[1], "height": hw[0]})
            ehf["annotations"].append({"id": i, "image_id": i, "body_bbox": _xywh(bbox), "lefthand_bbox": _xywh(lhand),
                                       "righthand_bbox": _xywh(rhand), "face_bbox": _xywh(fbox)})
        else:
            db, fits = (coco, coco_fits) if name == "mscoco" else (mpii, mpii_fits)
            file_name = f"{i:012d}.jpg"
            folder = "MSCOCO/images/train2017" if name == "mscoco" else "MPII/data/images"
            _jpg(os.path.join(out_dir, folder, file_name), image)
            kps, nkp = _keypoints(pj, COCO_KEYPOINTS if name == "mscoco" else MPII_KEYPOINTS)
            ann = {"id": 100 + i, "image_id": i, "bbox": _xywh(bbox), "keypoints": kps, "num_keypoints": nkp,
                   "iscrowd": 0, "area": float((bbox[2] - bbox[0]) * (bbox[3] - bbox[1])), "category_id": 1}
            if name == "mscoco":
                ann.update(lefthand_box=_xywh(lhand), lefthand_valid=True, righthand_box=_xywh(rhand),
                           righthand_valid=True, face_box=_xywh(fbox), face_valid=True)
            db["images"].append({"id": i, "file_name": file_name, "width": hw[1], "height": hw[0]})
            db["annotations"].append(ann)
            fits[str(100 + i)] = {"smplx_param": _fit(params, transl),
                                  "cam_param": {"focal": focal.tolist(), "princpt": princpt.tolist()}}
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    for s, _ in h36m_subjects:  # annotation files last: an interrupted run leaves no usable-looking set
        stem = os.path.join(out_dir, "Human36M/annotations", f"Human36M_subject{s}")
        write_atomic(stem + "_camera.json", json.dumps(cams[s]).encode())
        write_atomic(stem + "_SMPLX_NeuralAnnot.json", json.dumps(h36m_fits[s]).encode())
        write_atomic(stem + "_data.json", json.dumps(h36m[s]).encode())
    write_atomic(os.path.join(out_dir, "MSCOCO/annotations/MSCOCO_train_SMPLX_all_NeuralAnnot.json"),
                 json.dumps(coco_fits).encode())
    write_atomic(os.path.join(out_dir, "MSCOCO/annotations/coco_wholebody_train_v1.0.json"), json.dumps(coco).encode())
    write_atomic(os.path.join(out_dir, "MPII/data/annotations/MPII_train_SMPLX_NeuralAnnot.json"),
                 json.dumps(mpii_fits).encode())
    write_atomic(os.path.join(out_dir, "MPII/data/annotations/train.json"), json.dumps(mpii).encode())
    write_atomic(os.path.join(out_dir, "EHF/EHF.json"), json.dumps(ehf).encode())
    write_atomic(meta_path, json.dumps(key).encode())
    return out_dir


def main(argv=None) -> int:
    """``python -m bidrn_tf.data.synthetic_mix --out DIR``: write the generated sets (see module docstring)."""
    import argparse

    from bidrn_tf.cli import positive_int
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    ap = argparse.ArgumentParser(description="Write generated Human3.6M / MSCOCO / MPII / EHF stand-ins in "
                                             "Hand4Whole's formats (NOT real data)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--smplx-model", default=None, help="default: the generated SMPL-X-format stand-in")
    ap.add_argument("--num-per-set", type=positive_int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    smplx_model = model_or_stand_in(args.smplx_model, args.out)
    generate_mix(args.out, smplx_model=smplx_model, num_per_set=args.num_per_set, seed=args.seed)
    print(f"wrote {args.out} (SMPL-X model: {smplx_model})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
