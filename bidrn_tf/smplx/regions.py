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

from bidrn_tf.smplx.joints import BODY_PARTS, FACE_JOINTS, J14_FROM_SMPLX, LEFT_HAND_JOINTS, RIGHT_HAND_JOINTS
from bidrn_tf.smplx.model_file import ModelFileError, SMPLXArrays, _SafeUnpickler


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


def body_part_vertex_ids(model: SMPLXArrays) -> dict:
    """{part: (N_p,) vertex indices} for every part of ``joints.BODY_PARTS``: the vertices whose largest
    skinning weight is on one of the part's joints (every vertex in exactly one part)."""
    return {part: _by_dominant_joint(model, joints) for part, joints in BODY_PARTS.items()}


def j14_regressor(model: SMPLXArrays, path: str | None = None, *, allow_pickle: bool = False) -> np.ndarray:
    """(14, V) regressor of the LSP body joints used for body PA-MPJPE."""
    if path:
        reg = _read_ids(path, allow_pickle)
        reg = np.asarray(reg.toarray() if hasattr(reg, "toarray") else reg, np.float64)
        if reg.shape != (14, model.num_vertices):
            raise ModelFileError(f"J14 regressor {path!r} has shape {reg.shape}, expected (14, {model.num_vertices})")
        return reg
    return model.j_regressor[J14_FROM_SMPLX]
