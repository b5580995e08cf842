"""Benchmark (not a test): every method with the same budget on the generated set, learning curves and a
mean-pose control - see ``bidrn_tf.apps.compare`` (``make compare``)."""
import sys

from bidrn_tf.apps.compare import main

if __name__ == "__main__":
    sys.exit(main())
