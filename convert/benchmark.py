"""Time .tflite models alternately on this machine. See bidrn_tf/benchmark.py, or --help.

Also installed as the console script ``bidrn-benchmark``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bidrn_tf.benchmark import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
