"""Benchmark (not a test): memorise a few generated people and evaluate on them - see
``bidrn_tf.apps.overfit`` (``make overfit``)."""
import sys

from bidrn_tf.apps.overfit import main

if __name__ == "__main__":
    sys.exit(main())
