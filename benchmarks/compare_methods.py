"""Benchmark (not a test): the same training budget for several methods on the synthetic set, then evaluation.

    python benchmarks/compare_methods.py [--methods fp bnn bireal reactnet bidrn] [--steps 60]
                                         [--batch-size 8] [--preset small] [--out out/compare]

Every method trains with ``training/train.py`` on the same generated dataset (same seed, same data order,
same steps, batch size and learning-rate schedule) and is evaluated with ``training/evaluate.py`` on the
synthetic validation split. Prints and writes (``<out>/comparison.md`` / ``.json``) MPVPE All / Hands / Face
and the PA- metrics per method, plus training images/s. The paper's ordering on AGORA is
FP < BiDRN < ReActNet < Bi-Real < BNN; a short run on generated data need not reproduce it - report what
it measures.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["fp", "bnn", "bireal", "reactnet", "bidrn"])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--num-train", type=int, default=64)
    ap.add_argument("--num-val", type=int, default=16)
    ap.add_argument("--out", default="out/compare")
    args = ap.parse_args(argv)
    import bidrn_tf  # noqa: F401
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.evaluate.metrics import format_table
    from bidrn_tf.fileio import versioned, write_atomic
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, "data"), smplx_model=smplx, num_train=args.num_train, num_val=args.num_val)
    rows, speed = {}, {}
    for method in args.methods:
        run = os.path.join(out, method)
        t = time.perf_counter()
        cmd = [sys.executable, os.path.join(ROOT, "training", "train.py"), "--dataset", "synthetic", "--data-dir", data,
               "--smplx-model", smplx, "--method", method, "--preset", args.preset, "--steps", str(args.steps),
               "--batch-size", str(args.batch_size), "--checkpoint-every", str(args.steps), "--out", run]
        if os.path.exists(os.path.join(run, "run.json")):
            cmd.append("--resume")  # finished runs resume at their last step and only re-export
        print(f"=== {method}: training", flush=True)
        subprocess.run(cmd, check=True)
        with open(os.path.join(run, "summary.json")) as f:
            speed[method] = json.load(f)["images_per_second"]
        print(f"=== {method}: evaluating ({time.perf_counter() - t:.0f} s so far)", flush=True)
        result_path = os.path.join(run, "eval.json")
        subprocess.run([sys.executable, os.path.join(ROOT, "training", "evaluate.py"), "--dataset", "synthetic",
                        "--data-dir", data, "--checkpoint", os.path.join(run, "final", "weights"), "--out", result_path],
                       check=True)
        with open(result_path) as f:
            rows[method] = json.load(f)["mean"]
    table = format_table(rows)
    table += "\n| method | training images/s (after the first step) |\n|---|---|\n"
    table += "".join(f"| {m} | {speed[m]:.2f} |\n" for m in args.methods if speed[m] is not None)
    head = (f"Synthetic validation split ({args.num_val} persons), mm. Budget: {args.steps} steps x batch "
            f"{args.batch_size}, preset {args.preset}, {args.num_train} training persons, seed 0.\n\n")
    print("\n" + head + table)
    write_atomic(os.path.join(out, "comparison.md"), (head + table).encode())
    write_atomic(os.path.join(out, "comparison.json"), json.dumps(versioned({"metrics": rows, "images_per_second": speed,
                                                                             "args": vars(args)}), indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
