"""Datasets as lists of persons (``common.Person``): AGORA, EHF, Human3.6M, MSCOCO, MPII, the generated
synthetic set (in the AGORA format), Hand4Whole's mixing of several sets (``mixing``), and the ``tf.data``
pipeline that turns persons into batches (``pipeline``).

:func:`load_people` is the one entry point the training and evaluation loops use.
"""
from __future__ import annotations

#: every dataset a loader reads; a training set may also be a mix such as ``"h36m+mscoco+mpii"``
DATASETS = ("agora", "synthetic", "ehf", "h36m", "mscoco", "mpii")
#: where each set lives below a mix's ``data_dir`` (Hand4Whole's ``data/`` folder layout)
FOLDERS = {"agora": "AGORA", "synthetic": "synthetic", "ehf": "EHF", "h36m": "Human36M", "mscoco": "MSCOCO",
           "mpii": "MPII/data"}
#: the mix of the paper's EHF columns (Hand4Whole: Human3.6M + MSCOCO + MPII)
PAPER_MIX = "h36m+mscoco+mpii"


def parse_dataset(name: str) -> tuple:
    """The sets of a dataset name: ``"agora"`` -> ``("agora",)``, ``"h36m+mscoco+mpii"`` -> three. A mix
    has no repeated set and no EHF (an evaluation set)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"dataset must be one of {DATASETS} or a mix such as {PAPER_MIX!r}, got {name!r}")
    parts = tuple(name.split("+"))
    for part in parts:
        if part not in DATASETS:
            raise ValueError(f"dataset {part!r} (in {name!r}) is not one of {DATASETS}")
    if len(parts) > 1 and ("ehf" in parts or len(set(parts)) != len(parts)):
        raise ValueError(f"a training mix lists each training set once and not ehf, got {name!r}")
    return parts


def load_people(dataset: str, data_dir: str, split: str, resolution=(720, 1280)) -> list:
    """The persons of ``split`` of ``dataset`` in ``data_dir``. One set: ``data_dir`` is its folder (the
    synthetic set is read as AGORA; EHF has one split). A mix (``"h36m+mscoco+mpii"``): ``data_dir`` holds
    each set in its :data:`FOLDERS` sub-folder, and the persons of all sets are returned in that order
    (``mixing.epoch_order`` samples them as Hand4Whole does)."""
    import os

    from bidrn_tf.data.agora import load_agora
    from bidrn_tf.data.ehf import load_ehf
    from bidrn_tf.data.human36m import load_human36m
    from bidrn_tf.data.mpii import load_mpii
    from bidrn_tf.data.mscoco import load_mscoco

    parts = parse_dataset(dataset)
    if len(parts) > 1:
        return [p for part in parts for p in load_people(part, os.path.join(data_dir, FOLDERS[part]), split, resolution)]
    (dataset,) = parts
    if dataset in ("agora", "synthetic"):
        return load_agora(data_dir, split, resolution=resolution)
    if dataset == "ehf":
        return load_ehf(data_dir)
    return {"h36m": load_human36m, "mscoco": load_mscoco, "mpii": load_mpii}[dataset](data_dir, split)
