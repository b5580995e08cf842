"""A procedural body model written in the SMPL-X file format - **not SMPL-X**.

The real SMPL-X files are licensed (https://smpl-x.is.tue.mpg.de) and cannot be shipped or downloaded
here. ``write_synthetic_model`` writes a stand-in with the real keys and array shapes so every code path
(our layer, the reference ``smplx`` package, the demo, training) runs without the licensed file:

* 10,475 vertices made of ellipsoids along the bones of the SMPL-X skeleton (torso, head, jaw, eyes,
  limbs, feet, palms and five three-segment fingers per hand), in a T-pose, metres, y up, facing +z;
* 55 joints with the SMPL-X kinematic tree and joint order; a sparse non-negative ``J_regressor`` whose
  rows sum to one and reproduce the designed joint positions;
* skinning weights (sum to one) blending each part with its parent and children near the joints;
* 300 shape directions (smooth fields: height, girth, then random low-frequency ones of decreasing size),
  100 expression directions confined to the face, 486 pose-corrective directions localised at each joint;
* hand PCA (orthonormal 45x45 bases and means), 51 static face landmarks and 79x17 dynamic contour ones.

The face count is 2V - 4K for the K closed parts, not the real file's 20,908. Real use needs the licensed
``SMPLX_NEUTRAL.npz``; numbers measured with this model say nothing about accuracy on real data.
"""
from __future__ import annotations

import os

import numpy as np

from bidrn_tf.smplx.joints import NUM_JOINTS, PARENTS
from bidrn_tf.smplx.model_file import save_npz_atomic

NUM_VERTICES = 10475


def rest_joints() -> np.ndarray:
    """(55, 3) designed joint positions of the T-pose (metres; +x is the body's left, y up, +z forward)."""
    j = np.zeros((NUM_JOINTS, 3))
    half = {  # left side joints; the right side mirrors x
        1: (0.09, -0.09, 0.0), 4: (0.10, -0.48, 0.0), 7: (0.10, -0.88, -0.03), 10: (0.11, -0.94, 0.09),
        13: (0.07, 0.42, 0.0), 16: (0.18, 0.44, -0.01), 18: (0.43, 0.43, -0.02), 20: (0.68, 0.43, -0.01),
        23: (0.032, 0.67, 0.085)}
    for left, p in half.items():
        right = left + 1
        j[left] = p
        j[right] = (-p[0], p[1], p[2])
    j[0] = (0.0, 0.0, 0.0)
    j[3] = (0.0, 0.11, -0.01)
    j[6] = (0.0, 0.24, 0.0)
    j[9] = (0.0, 0.30, 0.01)
    j[12] = (0.0, 0.50, -0.02)
    j[15] = (0.0, 0.58, 0.0)
    j[22] = (0.0, 0.60, 0.02)
    # fingers: index, middle, pinky, ring (along x, spread in z), thumb (forward-diagonal)
    fingers = {0: 0.030, 1: 0.010, 2: -0.032, 3: -0.011}
    for side, base, wrist in ((1.0, 25, 20), (-1.0, 40, 21)):
        w = j[wrist]
        for f, z in fingers.items():
            length = 0.028 if f != 2 else 0.022
            for k in range(3):
                j[base + 3 * f + k] = w + (side * (0.085 + k * length), 0.0, z)
        thumb = np.array([side * 0.025, -0.01, 0.035])
        for k in range(3):
            j[base + 12 + k] = w + thumb + k * np.array([side * 0.022, -0.004, 0.018])
    return j


def _children(j: int) -> list[int]:
    return [c for c, p in enumerate(PARENTS) if p == j]


def _ellipsoid(rings: int, segs: int):
    """Unit sphere mesh: rings >= 3 latitude lines incl. the poles. Returns (V, 3) points, (F, 3) faces."""
    theta = np.linspace(0, np.pi, rings)[1:-1]
    phi = np.linspace(0, 2 * np.pi, segs, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    body = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    verts = np.concatenate([[[0, 0, 1.0]], body, [[0, 0, -1.0]]])
    faces = []
    last = len(verts) - 1
    for s in range(segs):
        s2 = (s + 1) % segs
        faces.append((0, 1 + s2, 1 + s))
        for r in range(rings - 3):
            a, b = 1 + r * segs + s, 1 + r * segs + s2
            c, d = a + segs, b + segs
            faces += [(a, b, d), (a, d, c)]
        base = 1 + (rings - 3) * segs
        faces.append((base + s, base + s2, last))
    return verts, np.asarray(faces)


def _frame(direction: np.ndarray) -> np.ndarray:
    """Rotation whose third column is ``direction`` (unit)."""
    z = direction / np.linalg.norm(direction)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=1)


def _parts(j: np.ndarray):
    """(owner joint, centre, rotation, radii (a, b, c), rings, segs) of every body part."""
    parts = []

    def bone(owner, a, b, r, rings, segs, flat=1.0, extend=0.0):
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        half = np.linalg.norm(d) / 2 + extend
        parts.append((owner, (a + b) / 2, _frame(d), (r, r * flat, half), rings, segs))

    def blob(owner, c, radii, rings, segs):
        parts.append((owner, np.asarray(c, float), np.eye(3), radii, rings, segs))

    blob(0, (0, -0.04, 0.0), (0.17, 0.12, 0.11), 22, 36)              # pelvis
    blob(3, (0, 0.13, -0.005), (0.15, 0.09, 0.10), 20, 40)            # abdomen
    blob(6, (0, 0.30, 0.0), (0.18, 0.15, 0.11), 24, 40)               # chest
    bone(12, j[12], j[15], 0.055, 12, 24, extend=0.03)                # neck
    for side in (0, 1):
        hip, knee, ankle, foot = (1 + side, 4 + side, 7 + side, 10 + side)
        bone(hip, j[hip], j[knee], 0.085, 20, 24, extend=0.03)       # thigh
        bone(knee, j[knee], j[ankle], 0.06, 20, 24, extend=0.02)     # shin
        bone(ankle, j[ankle], j[foot], 0.045, 14, 20, flat=0.6, extend=0.03)
        bone(foot, j[foot], j[foot] + (0, 0, 0.06), 0.04, 10, 16, flat=0.5, extend=0.01)
        collar, shoulder, elbow, wrist = 13 + side, 16 + side, 18 + side, 20 + side
        bone(collar, j[collar], j[shoulder], 0.06, 12, 20, extend=0.02)
        bone(shoulder, j[shoulder], j[elbow], 0.055, 18, 20, extend=0.03)
        bone(elbow, j[elbow], j[wrist], 0.045, 18, 20, extend=0.02)
        base = 25 + 15 * side
        knuckles = j[[base, base + 3, base + 6, base + 9]].mean(0)
        bone(wrist, j[wrist], knuckles, 0.045, 14, 22, flat=0.45, extend=0.01)  # palm
        for f in range(5):
            chain = [base + 3 * f + k for k in range(3)]
            tip = j[chain[2]] + (j[chain[2]] - j[chain[1]]) * 0.9
            for k, jj in enumerate(chain):
                end = j[chain[k + 1]] if k < 2 else tip
                bone(jj, j[jj], end, 0.0085 if f != 4 else 0.0095, 7, 8, extend=0.004)
    blob(22, (0, 0.585, 0.05), (0.05, 0.03, 0.045), 10, 20)            # jaw / chin
    for eye in (23, 24):
        blob(eye, j[eye], (0.012, 0.012, 0.012), 8, 10)
    return parts


def _head_resolution(budget: int):
    for segs in range(48, 23, -1):
        if (budget - 2) % segs == 0 and 12 <= (budget - 2) // segs + 2 <= 80:
            return (budget - 2) // segs + 2, segs
    return None


def _build_mesh(j: np.ndarray):
    parts = _parts(j)
    used = sum((r - 2) * s + 2 for *_, r, s in parts)
    head = _head_resolution(NUM_VERTICES - used)
    for _ in range(40):  # give the chest one more ring until the head can take the rest exactly
        if head is not None:
            break
        owner, c, rot, radii, r, s = parts[2]
        parts[2] = (owner, c, rot, radii, r + 1, s)
        used += s
        head = _head_resolution(NUM_VERTICES - used)
    if head is None:
        raise RuntimeError(f"synthetic body parts use {used} vertices; no head resolution fills {NUM_VERTICES}")
    parts.append((15, j[15] + (0, 0.1, 0.01), np.eye(3), (0.085, 0.11, 0.095), *head))
    verts, faces, owners = [], [], []
    for owner, centre, rot, radii, rings, segs in parts:
        v, f = _ellipsoid(rings, segs)
        faces.append(f + sum(len(x) for x in verts))
        verts.append(centre + (v * radii) @ rot.T)
        owners.append(np.full(len(v), owner))
    verts, faces, owners = np.concatenate(verts), np.concatenate(faces), np.concatenate(owners)
    assert verts.shape[0] == NUM_VERTICES
    return verts, faces, owners


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    t = np.clip(((p - a) @ d) / max(d @ d, 1e-12), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * d), axis=-1)


def _skinning_weights(verts, owners, j):
    n = len(verts)
    weights = np.zeros((n, NUM_JOINTS))
    ends = {}
    for k in range(NUM_JOINTS):
        kids = _children(k)
        ends[k] = j[kids].mean(0) if kids else j[k]
    for owner in np.unique(owners):
        idx = np.where(owners == owner)[0]
        cands = [owner] + ([PARENTS[owner]] if PARENTS[owner] >= 0 else []) + _children(owner)
        dist = np.stack([_segment_distance(verts[idx], j[c], ends[c]) for c in cands], -1)
        scale = np.median(dist[:, 0]) + 1e-3
        logits = -((dist / scale) ** 2) * 2.0
        logits[:, 0] += 1.0  # a part belongs mostly to its owner
        w = np.exp(logits - logits.max(-1, keepdims=True))
        w[w < 1e-3 * w.max(-1, keepdims=True)] = 0.0
        weights[idx[:, None], cands] = w / w.sum(-1, keepdims=True)
    return weights


def _joint_regressor(verts, j):
    from scipy.optimize import nnls

    reg = np.zeros((NUM_JOINTS, len(verts)))
    for k in range(NUM_JOINTS):
        near = np.argsort(np.linalg.norm(verts - j[k], axis=-1))[:200]
        a = np.concatenate([verts[near].T, 10.0 * np.ones((1, len(near)))])
        w, _ = nnls(a, np.concatenate([j[k], [10.0]]))
        if w.sum() <= 0:  # pragma: no cover - designed joints lie inside their parts
            w = np.ones(len(near))
        reg[k, near] = w / w.sum()
    return reg


def _smooth_fields(verts, rng, count, scale, mask=None):
    """(V, 3, count) smooth displacement fields from random combinations of low-order features."""
    c = verts - verts.mean(0)
    x, y, z = c.T
    feats = np.stack([x, y, z, x * y, y * z, x * z, x * x, y * y, z * z,
                      np.sin(4 * x), np.sin(4 * y), np.sin(4 * z), np.cos(6 * y), np.sin(6 * x) * np.cos(3 * y)], -1)
    feats /= np.abs(feats).max(0) + 1e-9
    coef = rng.normal(size=(feats.shape[1], 3, count))
    fields = np.einsum("vf,fck->vck", feats, coef) / np.sqrt(feats.shape[1])
    fields *= scale
    if mask is not None:
        fields *= mask[:, None, None]
    return fields


def build_synthetic_arrays(seed: int = 0) -> dict:
    """The arrays of the procedural model (see module docstring), keyed as in an SMPL-X ``.npz``."""
    rng = np.random.default_rng(seed)
    j = rest_joints()
    verts, faces, owners = _build_mesh(j)
    weights = _skinning_weights(verts, owners, j)
    # shape space: height, girth, then smooth random fields of decreasing size
    shape = _smooth_fields(verts, rng, 300, 0.01 / (1 + np.arange(300) / 8.0))
    shape[:, :, 0] = 0.0
    shape[:, 1, 0] = 0.06 * (verts[:, 1] - verts[:, 1].min()) / np.ptp(verts[:, 1])  # taller
    ends = np.stack([j[_children(o)].mean(0) if _children(o) else j[o] for o in range(NUM_JOINTS)])
    axis_pt = j[owners]
    radial = verts - axis_pt
    radial -= (radial * (ends[owners] - axis_pt)).sum(-1, keepdims=True) * (ends[owners] - axis_pt) / (
        np.square(ends[owners] - axis_pt).sum(-1, keepdims=True) + 1e-9)
    shape[:, :, 1] = 0.15 * radial  # girth
    face_mask = weights[:, [15, 22]].sum(-1) * (verts[:, 2] > j[15, 2])
    expression = _smooth_fields(verts, rng, 100, 0.004, mask=face_mask)
    pose = np.zeros((NUM_VERTICES, 3, 9 * (NUM_JOINTS - 1)))
    dirs = rng.normal(size=(NUM_JOINTS - 1, 9, 3)) * 0.004
    for k in range(1, NUM_JOINTS):
        pose[:, :, 9 * (k - 1):9 * k] = weights[:, k][:, None, None] * dirs[k - 1].T[None]
    comps = [np.linalg.qr(rng.normal(size=(45, 45)))[0].T for _ in range(2)]
    means = [np.tile([0.0, 0.0, 0.25], 15) * s + rng.normal(scale=0.05, size=45) for s in (1.0, -1.0)]
    head_faces = np.where(np.isin(owners[faces[:, 0]], [15, 22]) & (verts[faces[:, 0], 2] > j[15, 2] + 0.03))[0]
    lmk = rng.choice(head_faces, size=51, replace=False)
    bary = rng.dirichlet(np.ones(3), size=51)
    dyn = rng.choice(head_faces, size=(79, 17))
    dyn_bary = rng.dirichlet(np.ones(3), size=(79, 17))
    kintree = np.stack([np.array(PARENTS, np.int64) % (2 ** 32), np.arange(NUM_JOINTS)])
    return {
        "v_template": verts, "f": faces.astype(np.int32), "shapedirs": np.concatenate([shape, expression], -1),
        "posedirs": pose, "J_regressor": _joint_regressor(verts, j), "weights": weights,
        "kintree_table": kintree.astype(np.int64),
        "hands_componentsl": comps[0], "hands_componentsr": comps[1],
        "hands_meanl": means[0], "hands_meanr": means[1],
        "lmk_faces_idx": lmk.astype(np.int64), "lmk_bary_coords": bary,
        "dynamic_lmk_faces_idx": dyn.astype(np.int64), "dynamic_lmk_bary_coords": dyn_bary,
        "part_owner": owners.astype(np.int64),
    }


def write_synthetic_model(path: str, *, seed: int = 0) -> str:
    """Write the procedural SMPL-X-format model (float32 arrays) to ``path`` atomically; returns ``path``.

    NOT SMPL-X: see the module docstring. Real use needs the licensed ``SMPLX_NEUTRAL.npz``.
    """
    arrays = build_synthetic_arrays(seed)
    arrays = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in arrays.items()}
    save_npz_atomic(path, arrays)
    return path


STAND_IN_NAME = "synthetic_smplx_model.npz"
STAND_IN_NOTICE = "generated SMPL-X-format model, NOT SMPL-X"


def model_or_stand_in(smplx_model: str | None, folder: str, *, announce: bool = True) -> str:
    """``smplx_model`` checked to exist, or, when it is ``None``, the generated stand-in in ``folder``
    (written once, reused after). Every command that runs without a user's SMPL-X file goes through here.

    Raises ``FileNotFoundError`` for a given path that is not a file.
    """
    if smplx_model is not None:
        if not os.path.isfile(smplx_model):
            raise FileNotFoundError(f"SMPL-X model file not found: {smplx_model!r}")
        return smplx_model
    path = os.path.join(folder, STAND_IN_NAME)
    if not os.path.exists(path):
        write_synthetic_model(path)
    if announce:
        print(f"NOTE: no --smplx-model: using the {STAND_IN_NOTICE} ({path}).")
    return path
