"""Yaw probe reports of one setting side by side (table + PNG). See ``bidrn_tf.apps.yaw_probe.summary_main``."""
import sys

from bidrn_tf.apps.yaw_probe import summary_main

if __name__ == "__main__":
    sys.exit(summary_main())
