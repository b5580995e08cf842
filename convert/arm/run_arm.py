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
"Deployment on ARM" and bidrn_tf/arm.py.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from bidrn_tf import arm  # noqa: E402  (does not import TensorFlow)
from bidrn_tf.fileio import write_atomic, write_report  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help=".tflite files (or, with --parse, recorded output files)")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--adb", action="store_true", help="Android device over adb")
    where.add_argument("--ssh", metavar="HOST", help="aarch64 Linux board over ssh / scp")
    where.add_argument("--parse", action="store_true", help="only parse recorded lce_benchmark_model output")
    ap.add_argument("--binary", help="lce_benchmark_model built for the device (aarch64)")
    ap.add_argument("--serial", default=None, help="adb device serial")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--num-runs", type=int, default=50)
    ap.add_argument("--warmup-runs", type=int, default=5)
    ap.add_argument("--op-profiling", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--out", default="out/arm_benchmark")
    args = ap.parse_args(argv)

    labels = [os.path.splitext(os.path.basename(m))[0] for m in args.models]
    missing = [m for m in args.models + ([args.binary] if args.binary else []) if not os.path.isfile(m)]
    if missing and not args.dry_run:
        print(f"error: file not found: {missing[0]!r}", file=sys.stderr)
        return 2
    outputs = {}
    if args.parse:
        for label, path in zip(labels, args.models):
            with open(path, errors="replace") as f:
                outputs[label] = f.read()
    else:
        if not args.binary:
            print("error: --binary (the lce_benchmark_model for the device) is required", file=sys.stderr)
            return 2
        opts = dict(threads=args.threads, num_runs=args.num_runs, warmup_runs=args.warmup_runs,
                    op_profiling=args.op_profiling)
        if args.adb:
            setup, runs = arm.adb_commands(args.binary, args.models, serial=args.serial, **opts)
        else:
            setup, runs = arm.ssh_commands(args.binary, args.models, host=args.ssh, **opts)
        for cmd in setup + runs:
            print("$ " + shlex.join(cmd))
        if args.dry_run:
            return 0
        for cmd in setup:
            subprocess.run(cmd, check=True)
        for label, cmd in zip(labels, runs):
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            outputs[label] = done.stdout + done.stderr
            write_atomic(f"{args.out}_{label}.log", outputs[label].encode())
    try:
        results = {label: arm.parse_output(text) for label, text in outputs.items()}
    except arm.BenchmarkOutputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = arm.results_table(results)
    print(table)
    write_report(args.out, results, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
