"""Vertex and joint subsets the metrics need: hands, face, and the 14 body joints of PA-MPJPE.

For the real SMPL-X model, the official subsets ship with the licensed download and are read when given:
``MANO_SMPLX_vertex_ids.pkl`` (keys ``left_hand``, ``right_hand``; a pickle, so only with
``allow_pickle=True``, through the restricted unpickler) and ``SMPL-X__FLAME_vertex_ids.npy``; the 14-joint
regressor ``SMPLX_to_J14`` (ExPose) as ``.npy`` (or ``.pkl`` with opt-in). Without them - and always for
the generated model - the subsets are derived from the model itself: a vertex belongs to a hand / the face
when the joint with its largest skinning weight is a hand / head joint, and the 14 joints are the SMPL-X
joint-regressor rows in LSP order.
"""
from __future__ import annotations

import numpy as np

from bidrn_tf.smplx.model_file import ModelFileError, SMPLXArrays, _SafeUnpickler

LEFT_HAND_JOINTS = [20] + list(range(25, 40))
RIGHT_HAND_JOINTS = [21] + list(range(40, 55))
FACE_JOINTS = [15, 22, 23, 24]
# LSP order: R ankle, R knee, R hip, L hip, L knee, L ankle, R wrist, R elbow, R shoulder, L shoulder,
# L elbow, L wrist, neck, head
J14_FROM_SMPLX = [8, 5, 2, 1, 4, 7, 21, 19, 17, 16, 18, 20, 12, 15]
PELVIS = 0  # body root: whole-body alignment (SPEC section 3)
HAND_ROOTS = {"left": 20, "right": 21}
FACE_ROOT = 12  # face vertices are aligned at the neck (SPEC section 3)


def _read_ids(path: str, allow_pickle: bool):
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if not allow_pickle:
        raise ModelFileError(f"{path!r} is a pickle; pass allow_pickle=True to read it")
    with open(path, "rb") as f:
        return _SafeUnpickler(f, encoding="latin1").load()


def _by_dominant_joint(model: SMPLXArrays, joints) -> np.ndarray:
    return np.where(np.isin(model.weights.argmax(-1), joints))[0]


def hand_vertex_ids(model: SMPLXArrays, ids_path: str | None = None, *, allow_pickle: bool = False) -> dict:
    """{'left': (N_l,), 'right': (N_r,)} vertex indices of the hands."""
    if ids_path:
        data = _read_ids(ids_path, allow_pickle)
        return {"left": np.asarray(data["left_hand"], np.int64), "right": np.asarray(data["right_hand"], np.int64)}
    return {"left": _by_dominant_joint(model, LEFT_HAND_JOINTS),
            "right": _by_dominant_joint(model, RIGHT_HAND_JOINTS)}


def face_vertex_ids(model: SMPLXArrays, ids_path: str | None = None) -> np.ndarray:
    """(N_f,) vertex indices of the face / head region."""
    if ids_path:
        return np.asarray(np.load(ids_path, allow_pickle=False), np.int64)
    return _by_dominant_joint(model, FACE_JOINTS)


def j14_regressor(model: SMPLXArrays, path: str | None = None, *, allow_pickle: bool = False) -> np.ndarray:
    """(14, V) regressor of the LSP body joints used for body PA-MPJPE."""
    if path:
        reg = _read_ids(path, allow_pickle)
        reg = np.asarray(reg.toarray() if hasattr(reg, "toarray") else reg, np.float64)
        if reg.shape != (14, model.num_vertices):
            raise ModelFileError(f"J14 regressor {path!r} has shape {reg.shape}, expected (14, {model.num_vertices})")
        return reg
    return model.j_regressor[J14_FROM_SMPLX]
