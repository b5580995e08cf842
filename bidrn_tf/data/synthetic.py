"""The embedded default dataset: people made with an SMPL-X-format model, rendered over random backgrounds.

``generate(out_dir, smplx_model=..., num_train=..., num_val=..., seed=...)`` writes a dataset *in the AGORA
format* (720p layout, see ``bidrn_tf.data.agora``), so the same loader, pipeline and metrics serve both and
the synthetic set exercises the real-format code end to end:

    AGORA_train_SMPLX.json, AGORA_validation_SMPLX.json
    images_1280x720/<split>/syn_<i>.png       one person, Lambert-shaded, over a random background
    smplx_params/<split>/<i>.json, cams/<split>/<i>.json
    synthetic.json                            what was generated (the cache key)

Sampling (all from ``numpy.random.default_rng(seed)``): upright person facing the camera with a yaw in
+-60 deg and small tilts; body joints N(0, 0.25) rad per axis-angle component, hands N(0, 0.3), jaw N(0, 0.1);
betas and expression N(0, 1); distance 4-7 m, placed so the whole body is in view; focal 1000-1400 px
(720p), principal point at the image centre (within 20 px). Backgrounds: a colour gradient with random
rectangles, circles and noise. Generating again with the same arguments reuses the files on disk.

``appearance`` (``APPEARANCES``; a choice of this package, the paper's data are photographs):

* ``"plain"`` (the default, and every result under ``docs/`` up to 2026-12-05): the mesh in one colour. The
  stand-in model is a mannequin without a face or clothes, whose front and back differ only in shape (the
  feet, the shading), so which way it is turned is a subtle cue; it is there all the same (a ResNet-18
  trained on nothing but the yaw learns it: ``apps.yaw_probe``, ``docs/EXPERIMENTS.md``, section 10).
* ``"front"``: the body's front (the faces whose outward normal in the rest pose is within 60 degrees of the
  direction the body faces) in a second, contrasting colour, as a face and a shirt front mark it on a
  photographed person: the turn made explicit. Same people, cameras and backgrounds as ``"plain"`` for the
  same seed; only the colours differ.

Images are written atomically; the annotation files last, so an interrupted run leaves no usable-looking
half dataset (it is regenerated).
"""
from __future__ import annotations

import hashlib
import json
import os

import cv2
import numpy as np

from bidrn_tf.fileio import write_atomic
from bidrn_tf.smplx.joints import PARAM_SIZES

VERSION = 1
APPEARANCES = ("plain", "front")
IMAGE_HW = (720, 1280)
_SCALE_4K = 3.0  # AGORA annotations are in 3840x2160 pixels


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _background(rng, hw) -> np.ndarray:
    h, w = hw
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, h)[:, None, None] if rng.uniform() < 0.5 else np.linspace(0, 1, w)[None, :, None]
    img = np.broadcast_to(c0 * (1 - t) + c1 * t, (h, w, 3)).astype(np.float32).copy()
    for _ in range(rng.integers(3, 9)):
        color = tuple(float(c) for c in rng.uniform(0, 255, 3))
        if rng.uniform() < 0.5:
            p = rng.integers([0, 0], [w, h])
            q = p + rng.integers(20, 400, 2)
            cv2.rectangle(img, tuple(int(v) for v in p), tuple(int(v) for v in q), color, -1)
        else:
            cv2.circle(img, tuple(int(v) for v in rng.integers([0, 0], [w, h])), int(rng.integers(10, 150)), color, -1)
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _sample_params(rng, n: int) -> dict:
    from scipy.spatial.transform import Rotation

    yaw = rng.uniform(-np.pi / 3, np.pi / 3, n)
    tilt = rng.normal(0, 0.1, (n, 2))
    # model space is y up, facing +z; camera space is y down, looking along +z: turn by pi about x
    root = (Rotation.from_euler("x", np.pi) * Rotation.from_euler("yxz", np.stack([yaw, tilt[:, 0], tilt[:, 1]], -1)))
    return {
        "global_orient": root.as_rotvec().astype(np.float32),
        "body_pose": rng.normal(0, 0.25, (n, PARAM_SIZES["body_pose"])).astype(np.float32),
        "left_hand_pose": rng.normal(0, 0.3, (n, PARAM_SIZES["left_hand_pose"])).astype(np.float32),
        "right_hand_pose": rng.normal(0, 0.3, (n, PARAM_SIZES["right_hand_pose"])).astype(np.float32),
        "jaw_pose": (rng.normal(0, 0.1, (n, PARAM_SIZES["jaw_pose"])) * [1, 0.2, 0.2]).astype(np.float32),
        "betas": rng.normal(0, 1, (n, PARAM_SIZES["betas"])).astype(np.float32),
        "expression": rng.normal(0, 1, (n, PARAM_SIZES["expression"])).astype(np.float32),
    }


def place(rng, verts0: np.ndarray, focal, image_hw, depth=(4.0, 7.0)) -> np.ndarray:
    """(3,) translation putting the mesh ``verts0`` (V, 3; camera axes) at a random depth in ``depth`` metres
    and a random position where the whole body stays inside the ``image_hw`` image (30 px margin)."""
    h, w = image_hw
    pelvis = verts0.mean(0)
    extent = np.abs(verts0 - pelvis).max(0)
    z = rng.uniform(*depth)
    # keep the whole body inside the image: room left at this depth, minus the body's half extent
    room = (np.array([w, h]) / 2 - 30) * z / np.asarray(focal) - extent[:2]
    xy = rng.uniform(-1, 1, 2) * np.maximum(room, 0.0)
    return (np.array([xy[0], xy[1], z]) - pelvis).astype(np.float32)


def front_faces(v_template: np.ndarray, faces: np.ndarray, *, cos_limit: float = 0.5) -> np.ndarray:
    """(F,) bool: the faces on the body's front, those whose outward normal in the rest pose ``v_template``
    (V, 3; model axes, facing +z) has a z component above ``cos_limit`` (0.5: within 60 degrees of +z).
    Outward whatever the file's winding: the normals are turned so that the mesh's signed volume is
    positive (the stand-in model winds its faces inward, the real SMPL-X outward)."""
    tri = np.asarray(v_template, np.float64)[np.asarray(faces)]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    volume = float(np.einsum("fi,fi->", tri[:, 0], cross)) / 6.0
    normals = cross * np.sign(volume or 1.0)
    return normals[:, 2] > cos_limit * np.linalg.norm(normals, axis=1)


def _contrasting(rng, color, *, min_difference: float = 0.3) -> np.ndarray:
    """A random colour in [0.3, 0.95]^3 that differs from ``color`` by at least ``min_difference`` in one channel."""
    while True:
        other = rng.uniform(0.3, 0.95, 3)
        if np.abs(other - np.asarray(color)).max() >= min_difference:
            return other


def draw(rng, verts: np.ndarray, faces: np.ndarray, focal, princpt, image_hw, *, front=None,
         front_rng=None) -> np.ndarray:
    """(H, W, 3) uint8: the mesh in one random colour, Lambert-shaded, over a random background; with ``front``
    ((F,) bool, :func:`front_faces`) those faces in a second, contrasting colour drawn from ``front_rng`` (a
    generator of its own, so that ``rng`` makes the same images' cameras and backgrounds either way)."""
    from bidrn_tf.render import render_mesh

    image = _background(rng, image_hw)
    color = tuple(rng.uniform(0.3, 0.95, 3))
    if front is None:
        return render_mesh(image, verts, faces, focal, princpt, color=color, alpha=1.0)
    if front_rng is None:
        raise ValueError("draw: front needs front_rng, the generator of the second colours")
    colors = np.where(np.asarray(front)[:, None], _contrasting(front_rng, color)[None], np.asarray(color)[None])
    return render_mesh(image, verts, faces, focal, princpt, face_colors=colors, alpha=1.0)


def box(points: np.ndarray, margin: float = 0.0) -> np.ndarray:
    lo, hi = points.min(0), points.max(0)
    pad = (hi - lo) * margin
    return np.concatenate([lo - pad, hi + pad]).astype(np.float32)  # x1, y1, x2, y2


def _check_appearance(appearance: str) -> None:
    if appearance not in APPEARANCES:
        raise ValueError(f"appearance={appearance!r}: expected one of {', '.join(APPEARANCES)}")


RECORD = "synthetic.json"  # in a generated folder: the settings it was generated with (``generated_with``)


def appearance_folder(folder: str, appearance: str) -> str:
    """Where the people of ``appearance`` go instead of ``folder``: ``folder`` itself for ``"plain"`` (the first
    version's), ``folder_<appearance>`` otherwise, so that another appearance never regenerates over the people
    runs were trained on."""
    _check_appearance(appearance)
    return folder if appearance == "plain" else f"{folder}_{appearance}"


def generated_with(out_dir: str) -> dict | None:
    """The settings the people in ``out_dir`` were generated with (``version``, ``seed``, ``num_train``,
    ``num_val``, ``smplx_model_sha256``, and ``appearance`` unless plain), or None when there are none or their
    record is unreadable (:func:`generate` then generates them again)."""
    meta_path = os.path.join(out_dir, RECORD)
    if not os.path.isfile(meta_path):
        return None
    with open(meta_path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError:
            return None


def check_same_people(out_dir: str, *, seed: int, num_train: int, num_val: int | None = None,
                      smplx_model: str | None = None) -> dict:
    """The record of the people already in ``out_dir`` (``generated_with``; ``{}`` when there are none), after
    checking that they are the ones asked for: this generator's ``VERSION``, ``seed``, ``num_train``, and, unless
    None, ``num_val`` and the digest of the ``smplx_model`` file (skipped when the file does not exist yet: a
    stand-in about to be written).

    :func:`generate` regenerates a folder whose record differs; where runs were trained on the people in it
    (a comparison's or the yaw probe's ``--out``) that would continue them on other people, so callers that
    keep runs beside their people call this first. Raises ``ValueError`` naming the folder, what it holds and
    what was asked, before anything is written."""
    found = generated_with(out_dir) or {}
    if not found:
        return found
    asked = {"version": VERSION, "seed": seed, "num_train": num_train}
    if num_val is not None:
        asked["num_val"] = num_val
    if smplx_model is not None and os.path.isfile(smplx_model):
        asked["smplx_model_sha256"] = _file_digest(smplx_model)
    differ = [f"{key} {found.get(key)!r} there, {value!r} asked" for key, value in asked.items()
              if found.get(key) != value]
    if differ:
        raise ValueError(f"{out_dir} holds generated people of another setting ({'; '.join(differ)}); runs may "
                         "have been trained on them: choose another folder (--out) rather than regenerating them")
    return found


def generate(out_dir: str, *, smplx_model: str, num_train: int = 64, num_val: int = 16, seed: int = 0,
             progress: bool = True, appearance: str = "plain") -> str:
    """Write (or reuse) the synthetic dataset in ``out_dir``; returns ``out_dir``. See module docstring."""
    _check_appearance(appearance)
    from bidrn_tf.render import project
    from bidrn_tf.smplx import SMPLXLayer
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import face_vertex_ids, hand_vertex_ids

    key = {"version": VERSION, "seed": seed, "num_train": num_train, "num_val": num_val,
           "smplx_model_sha256": _file_digest(smplx_model)}
    if appearance != "plain":
        key["appearance"] = appearance  # "plain" sets keep the key of the first version, so their caches stay valid
    if generated_with(out_dir) == key:
        if progress:
            print(f"synthetic dataset: reusing {out_dir}")
        return out_dir
    rng = np.random.default_rng(seed)
    layer = SMPLXLayer(smplx_model)
    arrays = load(smplx_model)
    hands = hand_vertex_ids(arrays)
    face = face_vertex_ids(arrays)
    front = front_faces(arrays.v_template, layer.faces) if appearance == "front" else None
    front_rng = np.random.default_rng([seed, 1])  # the second colours only: rng's draws are those of "plain"
    splits = {"train": num_train, "validation": num_val}
    iterator = [(s, i) for s, n in splits.items() for i in range(n)]
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="rendering synthetic people", unit="img")
    params = {s: _sample_params(rng, n) for s, n in splits.items()}
    annotations = {s: {"images": [], "annotations": []} for s in splits}
    meshes = {}
    for split, n in splits.items():
        if n == 0:
            continue
        out = layer({k: v for k, v in params[split].items()})
        meshes[split] = out["vertices"].numpy()
    for split, i in iterator:
        h, w = IMAGE_HW
        focal = np.full(2, rng.uniform(1000, 1400), np.float32)
        princpt = (np.array([w / 2, h / 2]) + rng.uniform(-20, 20, 2)).astype(np.float32)
        transl = place(rng, meshes[split][i], focal, IMAGE_HW)
        verts = meshes[split][i] + transl
        image = draw(rng, verts, layer.faces, focal, princpt, IMAGE_HW, front=front, front_rng=front_rng)
        px = project(verts, focal, princpt)
        name = f"images_1280x720/{split}/syn_{i:05d}.png"
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_atomic(os.path.join(out_dir, name), png.tobytes())
        ppath, cpath = f"smplx_params/{split}/{i:05d}.json", f"cams/{split}/{i:05d}.json"
        p = {k: v[i].tolist() for k, v in params[split].items()}
        p.update(transl=transl.tolist(), leye_pose=[0.0] * 3, reye_pose=[0.0] * 3)
        write_atomic(os.path.join(out_dir, ppath), json.dumps(p).encode())
        write_atomic(os.path.join(out_dir, cpath),
                     json.dumps({"focal": (focal * _SCALE_4K).tolist(), "princpt": (princpt * _SCALE_4K).tolist()}).encode())

        def xywh_4k(b):
            return [float(b[0] * _SCALE_4K), float(b[1] * _SCALE_4K), float((b[2] - b[0]) * _SCALE_4K),
                    float((b[3] - b[1]) * _SCALE_4K)]

        annotations[split]["images"].append({"id": i, "file_name_1280x720": name,
                                             "file_name_3840x2160": f"{split}/syn_{i:05d}.png",
                                             "width": w, "height": h})
        annotations[split]["annotations"].append({
            "id": i, "image_id": i, "person_id": 0, "is_valid": True, "smplx_param_path": ppath,
            "cam_param_path": cpath, "bbox": xywh_4k(box(px, 0.05)), "lhand_bbox": xywh_4k(box(px[hands["left"]])),
            "rhand_bbox": xywh_4k(box(px[hands["right"]])), "face_bbox": xywh_4k(box(px[face])),
            "gender": "neutral", "kid": False, "occlusion": 0.0})
    from bidrn_tf.data.agora import SPLIT_FILES

    for split in splits:
        write_atomic(os.path.join(out_dir, SPLIT_FILES[split]), json.dumps(annotations[split]).encode())
    write_atomic(os.path.join(out_dir, RECORD), json.dumps(key).encode())
    return out_dir


def default_dataset(smplx_model: str | None = None, num_train: int = 64, num_val: int = 16, seed: int = 0,
                    root: str = "out/data", appearance: str = "plain") -> tuple[str, str]:
    """``(data_dir, smplx_model)`` of the embedded default dataset under ``root`` (generated once, cached),
    made with ``smplx_model`` or, when that is ``None``, the generated stand-in model. Each ``appearance`` has
    its own folder (:func:`appearance_folder`)."""
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    data_dir = appearance_folder(os.path.join(root, f"synthetic_{num_train}_{num_val}_seed{seed}"), appearance)
    os.makedirs(root, exist_ok=True)
    smplx_model = model_or_stand_in(smplx_model, root)
    return generate(data_dir, smplx_model=smplx_model, num_train=num_train, num_val=num_val, seed=seed,
                    appearance=appearance), smplx_model
