"""Datasets as lists of persons (``common.Person``): AGORA, EHF, the generated synthetic set (in the AGORA
format), and the ``tf.data`` pipeline that turns persons into batches (``pipeline``).

:func:`load_people` is the one entry point the training and evaluation loops use.
"""
from __future__ import annotations

DATASETS = ("agora", "synthetic", "ehf")


def load_people(dataset: str, data_dir: str, split: str, resolution=(720, 1280)) -> list:
    """The persons of ``split`` of ``dataset`` in ``data_dir`` (the synthetic set is read as AGORA; EHF has
    one split)."""
    from bidrn_tf.data.agora import load_agora
    from bidrn_tf.data.ehf import load_ehf

    if dataset in ("agora", "synthetic"):
        return load_agora(data_dir, split, resolution=resolution)
    if dataset == "ehf":
        return load_ehf(data_dir)
    raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
