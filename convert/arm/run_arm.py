"""Benchmark .tflite files on an ARM device with a user-supplied ``lce_benchmark_model`` binary.

    # Android phone / board over adb
    python convert/arm/run_arm.py --binary lce_benchmark_model --adb [--serial S] bidrn.tflite fp.tflite
    # aarch64 Linux board over ssh
    python convert/arm/run_arm.py --binary lce_benchmark_model --ssh user@board bidrn.tflite fp.tflite
    # output already recorded (e.g. run by hand on the board)
    python convert/arm/run_arm.py --parse bidrn.log fp.log

Options: --threads N, --num-runs N, --warmup-runs N, --op-profiling (time per op type), --dry-run (print the
commands only), --out PREFIX (writes PREFIX.json and PREFIX.md; default out/arm_benchmark). The table has
the same layout as convert/benchmark.py's, with each model's ratio to the first. See the README section
"Deployment on ARM" and bidrn_tf/deploy/arm.py.
"""
import sys

from bidrn_tf.deploy.arm import main  # does not import TensorFlow

if __name__ == "__main__":
    sys.exit(main())
