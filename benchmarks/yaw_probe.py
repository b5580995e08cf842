"""Benchmark (not a test): can the body's yaw be learned from the generated images? See ``bidrn_tf.apps.yaw_probe``."""
import sys

from bidrn_tf.apps.yaw_probe import main

if __name__ == "__main__":
    sys.exit(main())
