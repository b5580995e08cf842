"""Convert the whole-body model to .tflite (LCE for binarized methods). See bidrn_tf/convert.py, or --help.

Also installed as the console script ``bidrn-convert``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bidrn_tf.convert import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
