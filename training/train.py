"""Train a whole-body model: python training/train.py --dataset {agora,synthetic} --data-dir D --method M --out RUN

With ``--dataset synthetic`` and no ``--data-dir``, the embedded default dataset is generated (seeded,
cached) under ``out/data``; without ``--smplx-model`` the generated SMPL-X-format model is used (NOT
SMPL-X: say so wherever the results go). The recipe is in ``bidrn_tf/train/loop.py``; also installed as the
console script ``bidrn-train``.
"""
import sys

from bidrn_tf.train.loop import main

if __name__ == "__main__":
    sys.exit(main())
