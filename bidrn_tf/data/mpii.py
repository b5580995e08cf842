"""MPII as Hand4Whole reads it (``data/MPII/data``), with NeuralAnnot SMPL-X fits.

Layout under ``data_dir`` (Hand4Whole's ``data/MPII/data``; keys as its ``data/MPII/MPII.py`` reads them)::

    annotations/train.json                        COCO style. images: id, file_name, width, height;
                                                  annotations: id, image_id, bbox (x, y, w, h), keypoints
    annotations/MPII_train_SMPLX_NeuralAnnot.json {"<annotation id>": {"smplx_param": {...},
                                                  "cam_param": {"focal", "princpt"}}}  (as MSCOCO's)
    images/<file_name>

MPII has no hand or face boxes. Degenerate boxes and annotations without a fit are skipped; ``train`` is
the only split with fits. The reader is ``bidrn_tf.data.mscoco.load_fitted_coco``.
"""
from __future__ import annotations

import os

from bidrn_tf.data.common import require_dir
from bidrn_tf.data.mscoco import load_fitted_coco

ANNOTATION_FILE = "annotations/train.json"
FIT_FILE = "annotations/MPII_train_SMPLX_NeuralAnnot.json"
IMAGE_DIR = "images"


def load_mpii(data_dir: str, split: str = "train") -> list:
    """The persons of MPII ``train`` (see module docstring) as a list of :class:`Person`."""
    require_dir(data_dir, "MPII data directory")
    if split != "train":
        raise ValueError(f"MPII has SMPL-X fits for its train split only, got split {split!r}")
    return load_fitted_coco(os.path.join(data_dir, ANNOTATION_FILE), os.path.join(data_dir, FIT_FILE),
                            os.path.join(data_dir, IMAGE_DIR), name="MPII", skip_unlabelled=False, part_boxes=False)
