"""Reading SMPL-X model files (``.npz``, and ``.pkl`` only on explicit opt-in) with clear errors.

The keys and shapes are those the reference ``smplx`` package reads (SPEC section 3). A ``.pkl`` is read
by a restricted unpickler that can only rebuild numpy arrays and scipy sparse matrices, never call
arbitrary code; even so it is refused unless the caller passes ``allow_pickle=True``.
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass

import numpy as np

from bidrn_tf.fileio import write_atomic
from bidrn_tf.smplx.joints import NUM_JOINTS

REQUIRED = ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")
HANDS = ("hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr")
LANDMARKS = ("lmk_faces_idx", "lmk_bary_coords")


class ModelFileError(ValueError):
    """A model file that is missing, unreadable, or not in the SMPL-X format."""


@dataclass(frozen=True)
class SMPLXArrays:
    """The arrays of an SMPL-X model file, validated. V vertices, F faces, J = 55 joints."""

    v_template: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3) int
    shapedirs: np.ndarray  # (V, 3, S + E): S shape then E expression directions
    posedirs: np.ndarray  # (V, 3, 9 (J - 1))
    j_regressor: np.ndarray  # (J, V)
    weights: np.ndarray  # (V, J)
    parents: tuple  # J ints, root -1
    hands_components: tuple | None  # (left (45, 45), right (45, 45))
    hands_mean: tuple | None  # (left (45,), right (45,))
    lmk_faces_idx: np.ndarray | None  # (L,)
    lmk_bary_coords: np.ndarray | None  # (L, 3)
    num_shape_dirs: int  # S: 300 in SMPL-X 1.1 files, 10 in the smallest ones
    num_expression_dirs: int  # E

    @property
    def num_vertices(self) -> int:
        return self.v_template.shape[0]


class _SafeUnpickler(pickle.Unpickler):
    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("scipy.sparse._csc", "csc_matrix"), ("scipy.sparse.csc", "csc_matrix"),
        ("scipy.sparse._csr", "csr_matrix"), ("scipy.sparse.csr", "csr_matrix"),
        ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
        ("__builtin__", "object"), ("builtins", "object"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise ModelFileError(f"refusing to unpickle {module}.{name}: only numpy / scipy arrays are allowed")
        if module == "copy_reg":
            module = "copyreg"
        if module == "__builtin__":
            module = "builtins"
        return super().find_class(module, name)


def _to_dense(x):
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x)


def read_raw(path: str, *, allow_pickle: bool = False) -> dict:
    """The raw key -> array dict of an ``.npz`` or (opt-in) ``.pkl`` SMPL-X file."""
    if not os.path.isfile(path):
        raise ModelFileError(f"SMPL-X model file not found: {path!r} (pass the path to SMPLX_NEUTRAL.npz)")
    if path.endswith(".pkl"):
        if not allow_pickle:
            raise ModelFileError(
                f"{path!r} is a pickle; pickles can run code, so they are read only with allow_pickle=True "
                "(and then only numpy/scipy arrays are accepted). Prefer the .npz release of SMPL-X.")
        try:
            with open(path, "rb") as f:
                return {k: _to_dense(v) for k, v in _SafeUnpickler(f, encoding="latin1").load().items()}
        except ModelFileError:
            raise
        except Exception as err:
            raise ModelFileError(f"cannot read SMPL-X pickle {path!r}: {err}") from err
    if not zipfile.is_zipfile(path):  # np.load would return a bare array for an .npy under an .npz name
        with open(path, "rb") as f:
            head = f.read(6)
        what = "a single .npy array" if head == b"\x93NUMPY" else "not a .npz (zip) archive"
        raise ModelFileError(f"cannot read SMPL-X model file {path!r}: it is {what}; expected the .npz release "
                             f"of SMPL-X")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ModelFileError(f"cannot read SMPL-X model file {path!r} as .npz: {err}") from err


def _expect(name, arr, shape):
    if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
        want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ModelFileError(f"SMPL-X array {name!r} has shape {arr.shape}, expected {want}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ModelFileError(f"SMPL-X array {name!r} contains NaN or infinite values")


def parse(raw: dict, *, source: str = "model file") -> SMPLXArrays:
    """Validate the raw arrays and return an :class:`SMPLXArrays`."""
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ModelFileError(f"{source} lacks the SMPL-X key(s) {missing}")
    v = np.asarray(raw["v_template"], np.float64)
    _expect("v_template", v, (None, 3))
    n = v.shape[0]
    if n < 1:
        raise ModelFileError("SMPL-X v_template has no vertices")
    raw_faces = np.asarray(raw["f"])
    if raw_faces.dtype.kind not in "iu":
        raise ModelFileError(f"SMPL-X faces 'f' must be integer vertex indices, got {raw_faces.dtype}")
    faces = raw_faces.astype(np.int64)
    _expect("f", faces, (None, 3))
    if faces.shape[0] == 0:
        raise ModelFileError("SMPL-X faces 'f' is empty (0 triangles)")
    if faces.min() < 0 or faces.max() >= n:
        raise ModelFileError(f"SMPL-X faces index vertices outside [0, {n})")
    shapedirs = np.asarray(raw["shapedirs"], np.float64)
    if shapedirs.ndim == 2:
        shapedirs = shapedirs[:, :, None]
    _expect("shapedirs", shapedirs, (n, 3, None))
    posedirs = np.asarray(raw["posedirs"], np.float64)
    _expect("posedirs", posedirs, (n, 3, 9 * (NUM_JOINTS - 1)))
    j_reg = _to_dense(raw["J_regressor"]).astype(np.float64)
    _expect("J_regressor", j_reg, (NUM_JOINTS, n))
    weights = np.asarray(raw["weights"], np.float64)
    _expect("weights", weights, (n, NUM_JOINTS))
    sums = weights.sum(1)
    if weights.min() < -1e-6 or not np.allclose(sums, 1.0, atol=1e-3):
        bad = int(np.sum(~np.isclose(sums, 1.0, atol=1e-3)))
        raise ModelFileError(f"SMPL-X skinning weights must be non-negative and sum to 1 per vertex; {bad} of {n} "
                             f"vertices do not (sums from {sums.min():.3g} to {sums.max():.3g})")
    kintree = np.asarray(raw["kintree_table"]).astype(np.int64)
    _expect("kintree_table", kintree, (2, NUM_JOINTS))
    parents = [-1] + [int(p) for p in kintree[0, 1:]]
    if any(not 0 <= p < j for j, p in enumerate(parents) if j):
        raise ModelFileError("SMPL-X kintree_table is not a tree ordered parent-before-child")
    total = shapedirs.shape[-1]
    num_shape, num_expr = (300, total - 300) if total > 300 else (min(10, total), max(total - 10, 0))
    hands = None
    if all(k in raw for k in HANDS):
        hl, hr = np.asarray(raw["hands_componentsl"], np.float64), np.asarray(raw["hands_componentsr"], np.float64)
        ml, mr = np.asarray(raw["hands_meanl"], np.float64), np.asarray(raw["hands_meanr"], np.float64)
        for name, a, shape in (("hands_componentsl", hl, (None, 45)), ("hands_componentsr", hr, (None, 45)),
                               ("hands_meanl", ml, (45,)), ("hands_meanr", mr, (45,))):
            _expect(name, a, shape)
        hands = ((hl, hr), (ml, mr))
    lmk_idx = lmk_bary = None
    if all(k in raw for k in LANDMARKS):
        lmk_idx = np.asarray(raw["lmk_faces_idx"]).astype(np.int64).reshape(-1)
        lmk_bary = np.asarray(raw["lmk_bary_coords"], np.float64)
        _expect("lmk_bary_coords", lmk_bary, (lmk_idx.shape[0], 3))
        if lmk_idx.size and (lmk_idx.min() < 0 or lmk_idx.max() >= faces.shape[0]):
            raise ModelFileError("SMPL-X lmk_faces_idx indexes faces that do not exist")
    return SMPLXArrays(
        v_template=v, faces=faces, shapedirs=shapedirs, posedirs=posedirs, j_regressor=j_reg, weights=weights,
        parents=tuple(parents), hands_components=hands[0] if hands else None,
        hands_mean=hands[1] if hands else None, lmk_faces_idx=lmk_idx, lmk_bary_coords=lmk_bary,
        num_shape_dirs=num_shape, num_expression_dirs=num_expr)


def load(path: str, *, allow_pickle: bool = False) -> SMPLXArrays:
    """Read and validate an SMPL-X model file (see module docstring)."""
    return parse(read_raw(path, allow_pickle=allow_pickle), source=repr(path))


def save_npz_atomic(path: str, arrays: dict) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` through a temporary file and an atomic rename."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())
