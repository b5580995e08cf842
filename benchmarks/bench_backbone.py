"""Benchmark (not a test): BiDRN ResNet-50 backbone in the LCE interpreter vs FP ResNet-50 in TF Lite.

Both at 256x192x3, 1 thread. Models are timed alternately in one run (round robin over: FP TF Lite with
its default XNNPACK delegate, BiDRN with each LCE kernel), so machine noise hits all of them alike. Prints
per-model median / p10 / p90 in ms and each model's median as a ratio of the FP median.

    python benchmarks/bench_backbone.py [--repeats 20] [--out out/bench_backbone.json]
"""
from __future__ import annotations

import argparse
import json
import statistics

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import tensorflow as tf

from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.deploy.latency import Variant, alternate, quantiles, runner
from bidrn_tf.fileio import write_atomic
from bidrn_tf.models.backbones import build_resnet


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default="out/bench_backbone.json")
    args = ap.parse_args(argv)

    shape = (256, 192, 3)
    print("converting FP ResNet-50 (TF Lite) and BiDRN ResNet-50 (LCE) ...", flush=True)
    fp = convert(build_resnet(depth=50, method="fp", input_shape=shape), binary=False)
    tf.keras.backend.clear_session()
    bidrn = convert(build_resnet(depth=50, method="bidrn", input_shape=shape))
    runners = {"fp_tflite_xnnpack": runner(fp, Variant("fp", "tflite", None, 1))}
    for kernel in flatbuffer.KERNELS:
        runners[f"bidrn_lce_{kernel}"] = runner(bidrn, Variant("bidrn", "lce", kernel, 1))
    times = alternate(runners, args.repeats)
    base = statistics.median(times["fp_tflite_xnnpack"])
    results = {}
    print(f"\n{args.repeats} alternating rounds, 1 thread, input {shape[0]}x{shape[1]}")
    print(f"{'model':<22} {'median ms':>10} {'p10':>8} {'p90':>8} {'ratio to FP':>12}")
    for name, ts in times.items():
        q = quantiles(ts)
        results[name] = {"median_ms": q[1], "p10_ms": q[0], "p90_ms": q[2], "ratio_to_fp": q[1] / base}
        print(f"{name:<22} {q[1]:>10.1f} {q[0]:>8.1f} {q[2]:>8.1f} {q[1] / base:>12.3f}")
    sizes = {"fp_tflite_bytes": len(fp), "bidrn_tflite_bytes": len(bidrn)}
    print(f"\n.tflite sizes: FP {len(fp) / 1e6:.1f} MB, BiDRN {len(bidrn) / 1e6:.2f} MB "
          f"(ratio {len(bidrn) / len(fp):.3f})")
    write_atomic(args.out, json.dumps({"results": results, **sizes}, indent=2).encode())


if __name__ == "__main__":
    main()
