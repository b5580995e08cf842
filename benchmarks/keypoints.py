"""Benchmark (not a test): seed Table 6 as an experiment - see ``bidrn_tf.apps.keypoints``."""
import sys

from bidrn_tf.apps.keypoints import main

if __name__ == "__main__":
    sys.exit(main())
