"""Saving and loading model weights with the method recorded beside them.

A checkpoint is a TF weights file (``model.save_weights``) plus ``<path>.meta.json`` naming the method and
the model configuration, written after the weights (the meta file is the commit marker: a checkpoint
without it is incomplete). Loading is strict: every weight of the model must come from the checkpoint
and every value of the checkpoint must find its weight, and the metadata carries a digest of what
describes the architecture, so an edited metadata file (another method, another ``image_hw``) is an
error instead of a model that loads partly or runs at a size it was not trained at.
"""
from __future__ import annotations

import hashlib
import json
import os

from bidrn_tf.fileio import write_atomic


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete, corrupt or made for another method."""


def _digest(meta: dict) -> str:
    """sha256 of what describes the architecture: the method and the model configuration."""
    described = {"method": meta.get("method"), "model_config": meta.get("model_config")}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def save_weights(model, path: str, *, method: str, **meta) -> None:
    model.save_weights(path)
    meta = {"method": method, **meta}
    write_atomic(path + ".meta.json", json.dumps({**meta, "architecture_sha256": _digest(meta)}).encode())


def read_meta(path: str, *, method: str | None = None) -> dict:
    """The checkpoint's metadata, checked to exist, parse and (unless ``method`` is None) name ``method``.

    Cheap: no model is needed, so scripts call it before building one.
    """
    meta_path = path + ".meta.json"
    if not os.path.exists(meta_path):
        raise CheckpointError(f"checkpoint {path!r} not found or incomplete (no {os.path.basename(meta_path)})")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint metadata {meta_path!r} is corrupt: {err}") from err
    if not isinstance(meta, dict) or "method" not in meta:
        raise CheckpointError(f"checkpoint metadata {meta_path!r} is corrupt: no method recorded")
    if "architecture_sha256" in meta and meta.pop("architecture_sha256") != _digest(meta):
        raise CheckpointError(f"checkpoint metadata {meta_path!r} was changed after the weights were saved: its "
                              f"method or model configuration is not the one the weights belong to")
    if method is not None and meta["method"] != method:
        found = meta["method"]
        raise CheckpointError(f"checkpoint {path!r} was trained with method {found!r}, not {method!r}; "
                              f"pass --method {found}")
    return meta


def load_weights(model, path: str, *, method: str) -> dict:
    """Load every weight of ``model`` from ``path`` or raise :class:`CheckpointError` naming the mismatch."""
    meta = read_meta(path, method=method)
    try:
        status = model.load_weights(path)
    except Exception as err:
        raise CheckpointError(f"cannot load checkpoint {path!r}: {err}") from err
    try:
        if status is not None:  # None for .h5 files, whose loader checks shapes itself
            status.assert_consumed()  # every checkpoint value used, every model weight restored
    except AssertionError as err:
        first = str(err).strip().splitlines()[0][:300]
        raise CheckpointError(f"checkpoint {path!r} does not match the {method} model it is loaded into "
                              f"(not every weight loads): {first}") from None
    return meta


def load_trained(path: str, *, method: str | None = None, smplx_model: str | None = None,
                 include_smplx: bool = True, config=None):
    """The whole-body model a checkpoint was trained as, with its weights: the one way every command
    (evaluate, convert, demo, benchmarks) builds a model from a checkpoint.

    The metadata written by training gives the method (``method``, when given, must match), the model
    configuration (``config`` overrides it; a checkpoint without one needs it) and the SMPL-X model file
    (``smplx_model`` overrides it; needed only with ``include_smplx``). Everything is checked before the
    slow build. Returns the ``tf.keras.Model``; its ``whole_body`` layer holds ``method``, ``cfg`` and
    ``smplx_model``.
    """
    from bidrn_tf.models.config import from_dict
    from bidrn_tf.models.whole_body import build_model

    meta = read_meta(path, method=method)
    if config is None:
        if "model_config" not in meta:
            raise CheckpointError(f"checkpoint {path!r} has no model configuration in its metadata")
        try:
            config = from_dict(meta["model_config"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"checkpoint {path!r}: its model configuration is unreadable: {err}") from err
    if include_smplx:
        smplx_model = smplx_model or meta.get("smplx_model")
        if not smplx_model or not os.path.isfile(smplx_model):
            raise FileNotFoundError(f"SMPL-X model file not found: {smplx_model!r} (pass --smplx-model)")
    model = build_model(method=meta["method"], smplx_model=smplx_model, config=config, include_smplx=include_smplx)
    load_weights(model, path, method=meta["method"])
    return model
