"""Benchmark (not a test): seed Table 5 as an experiment - see ``bidrn_tf.apps.classification``."""
import sys

from bidrn_tf.apps.classification import main

if __name__ == "__main__":
    sys.exit(main())
