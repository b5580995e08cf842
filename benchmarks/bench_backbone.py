"""Benchmark (not a test): BiDRN ResNet-50 backbone in the LCE interpreter vs FP ResNet-50 in TF Lite.

Both at 256x192x3, 1 thread. Models are timed alternately in one run (round robin over: FP TF Lite with
its default XNNPACK delegate, BiDRN with each LCE kernel), so machine noise hits all of them alike. Prints
per-model median / p10 / p90 in ms and each model's median as a ratio of the FP median.

    python benchmarks/bench_backbone.py [--repeats 20] [--out out/bench_backbone.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bidrn_tf  # noqa: E402,F401
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bidrn_tf import deploy  # noqa: E402
from bidrn_tf.backbones import build_resnet  # noqa: E402
from timing import alternate, quantiles  # noqa: E402


def _tflite_runner(flatbuffer: bytes, x: np.ndarray):
    interp = tf.lite.Interpreter(model_content=flatbuffer, num_threads=1)
    interp.allocate_tensors()
    idx = interp.get_input_details()[0]["index"]

    def run():
        interp.set_tensor(idx, x)
        interp.invoke()

    return run


def _lce_runner(flatbuffer: bytes, x: np.ndarray, kernel: str):
    interp = deploy.lce_interpreter(flatbuffer, kernel=kernel, num_threads=1)
    return lambda: interp.predict(x)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default="out/bench_backbone.json")
    args = ap.parse_args(argv)

    shape = (256, 192, 3)
    x = np.random.default_rng(0).normal(size=(1,) + shape).astype(np.float32)
    print("converting FP ResNet-50 (TF Lite) and BiDRN ResNet-50 (LCE) ...", flush=True)
    fp = deploy.convert(build_resnet(depth=50, method="fp", input_shape=shape), binary=False)
    tf.keras.backend.clear_session()
    bidrn = deploy.convert(build_resnet(depth=50, method="bidrn", input_shape=shape))
    runners = {"fp_tflite_xnnpack": _tflite_runner(fp, x)}
    for kernel in deploy.KERNELS:
        runners[f"bidrn_lce_{kernel}"] = _lce_runner(bidrn, x, kernel)
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
    deploy.write_atomic(args.out, json.dumps({"results": results, **sizes}, indent=2).encode())


if __name__ == "__main__":
    main()
