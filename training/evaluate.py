"""Evaluate a checkpoint: python training/evaluate.py --dataset {agora,ehf,synthetic} --data-dir D --checkpoint CKPT

CKPT is the weights path written by training (``RUN/final/weights``); its metadata gives the method, the
model configuration and the SMPL-X model. The loop is in ``bidrn_tf/evaluate/loop.py``; also installed as
the console script ``bidrn-evaluate``.
"""
import sys

from bidrn_tf.evaluate.loop import main

if __name__ == "__main__":
    sys.exit(main())
