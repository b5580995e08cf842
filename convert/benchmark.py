"""Time .tflite models alternately on this machine: ``bidrn_tf.deploy.latency``, or --help.

Also installed as the console script ``bidrn-benchmark``.
"""
import sys

from bidrn_tf.deploy.latency import main

if __name__ == "__main__":
    sys.exit(main())
