"""Convert the whole-body model to .tflite (LCE for binarized methods): ``bidrn_tf.deploy.convert``, or --help.

Also installed as the console script ``bidrn-convert``.
"""
import sys

from bidrn_tf.deploy.convert import main

if __name__ == "__main__":
    sys.exit(main())
