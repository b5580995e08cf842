"""The order in which an epoch visits the persons of one set or of a mix, as Hand4Whole samples its sets.

Hand4Whole trains on ``MultipleDatasets([3D sets], make_same_len=False)`` and ``MultipleDatasets([2D sets],
make_same_len=False)`` joined with ``make_same_len=True``: within a group the sets are concatenated; the two
groups are made equally long, the shorter one repeating random persons, so half of every epoch comes from
the sets with 3D ground truth (Human3.6M; AGORA and the synthetic set) and half from the in-the-wild sets
with pseudo ground truth (MSCOCO, MPII). A single set, or a mix of one group only, is simply shuffled.

The order is a function of ``(seed, epoch)`` (``numpy.random.default_rng``), so an epoch is reproducible
and resumed training sees the batches it would have seen.
"""
from __future__ import annotations

import numpy as np

#: sets whose ground truth is 3D (motion capture or synthetic); the others are in-the-wild 2D sets
THREE_D_SETS = ("h36m", "agora", "synthetic", "ehf")


def source(person) -> str:
    """The set a person comes from: the first part of its key (``"h36m/train/1/7"`` -> ``"h36m"``)."""
    return person.key.split("/", 1)[0]


def epoch_order(people, seed: int, epoch: int) -> np.ndarray:
    """Indices into ``people`` of one training epoch (see module docstring)."""
    rng = np.random.default_rng((seed, epoch))
    three = np.array([i for i, p in enumerate(people) if source(p) in THREE_D_SETS], np.int64)
    two = np.array([i for i, p in enumerate(people) if source(p) not in THREE_D_SETS], np.int64)
    if len(three) == 0 or len(two) == 0:
        return rng.permutation(len(people))
    length = max(len(three), len(two))

    def fill(group):
        return np.concatenate([group, rng.choice(group, length - len(group))]) if len(group) < length else group

    return rng.permutation(np.concatenate([fill(three), fill(two)]))


def epoch_length(people) -> int:
    """Number of persons one epoch visits (the same for every epoch)."""
    return len(epoch_order(people, 0, 0))
