"""Benchmark (not a test): binary vs float 3x3 convolution throughput in OpenVINO's CPU plugin, per layer shape.

For each shape (channels, height x width) two Keras models of 4 stacked 3x3 convolutions (stride 1, same
padding, C -> C channels; after a 1x1 depthwise conv, see :func:`stack`) are converted with ``bidrn_tf.deploy.openvino_ir``: the binarized one (the
project's ``binary_conv2d`` layers, rewritten to ``BinaryConvolution``) and a float ``Conv2D`` one. Both
are timed alternately in one run, 1 thread by default, and the table gives MACs per second of each and the
binary / float time ratio. The compiled runtime graph of the binary model is checked to execute 4
``BinaryConvolution`` kernels.

    python benchmarks/openvino_conv_throughput.py [--repeats 30] [--threads 1] [--out out/openvino_conv_throughput]
"""
from __future__ import annotations

import argparse

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy import openvino_ir
from bidrn_tf.deploy.latency import alternate
from bidrn_tf.fileio import write_report
from bidrn_tf.nn.layers import binary_conv2d

SHAPES = [(64, 64), (128, 32), (256, 16), (512, 8), (64, 32), (256, 8)]  # (channels, spatial size)


def stack(channels: int, size: int, binary: bool) -> tf.keras.Model:
    """A 1x1 depthwise conv (C MACs a pixel, in both models), then 4 convs. Without an op before it, the
    first binary conv would read the model input straight from a layout Transpose, where OpenVINO 2026.4
    cannot pack bits, and ``openvino_ir.convert_keras`` would keep it float."""
    x = inp = tf.keras.Input((size, size, channels))
    x = tf.keras.layers.DepthwiseConv2D(1, name="prefix")(x)
    for i in range(4):
        x = (binary_conv2d(channels, 3, name=f"bconv{i}") if binary
             else tf.keras.layers.Conv2D(channels, 3, padding="same", use_bias=False, name=f"conv{i}"))(x)
    return tf.keras.Model(inp, x)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="out/openvino_conv_throughput")
    args = ap.parse_args(argv)
    runners, macs = {}, {}
    for channels, size in SHAPES:
        for binary in (True, False):
            tf.keras.utils.set_random_seed(0)
            ov_model, names = openvino_ir.convert_keras(stack(channels, size, binary), binary=binary)
            r = openvino_ir.Runner(ov_model, num_threads=args.threads)
            census = openvino_ir.runtime_census(r.compiled)
            if binary and census.get("BinaryConvolution", 0) != 4:
                raise SystemExit(f"expected 4 BinaryConvolution kernels at {channels} ch {size}x{size}: {census}")
            x = np.random.default_rng(0).normal(size=r.input_shapes[0]).astype(np.float32)
            runners[(channels, size, binary)] = (lambda r=r, x=x: r.invoke([x]))
            tf.keras.backend.clear_session()
        macs[(channels, size)] = 4 * size * size * channels * channels * 9
    print(f"timing {len(runners)} models, {args.repeats} alternating rounds, {args.threads} thread(s) ...", flush=True)
    times = alternate(runners, args.repeats, warmup=3)
    rows, lines = [], ["| channels | size | MACs | binary ms | float ms | binary GMAC/s | float GMAC/s | binary / float time |",
                       "|---|---|---|---|---|---|---|---|"]
    for channels, size in SHAPES:
        b = float(np.median(times[(channels, size, True)]))
        f = float(np.median(times[(channels, size, False)]))
        m = macs[(channels, size)]
        rows.append({"channels": channels, "size": size, "macs": m, "binary_ms": b, "float_ms": f,
                     "binary_gmacs": m / b / 1e6, "float_gmacs": m / f / 1e6, "ratio": b / f})
        lines.append(f"| {channels} | {size}x{size} | {m / 1e6:.0f}M | {b:.3f} | {f:.3f} | {m / b / 1e6:.1f} | "
                     f"{m / f / 1e6:.1f} | {b / f:.3f} |")
    table = "\n".join(lines) + "\n"
    print(f"\nOpenVINO CPU plugin, 4 stacked 3x3 convs, medians of {args.repeats} alternating rounds, "
          f"{args.threads} thread(s)\n\n{table}")
    write_report(args.out, {"rows": rows, "repeats": args.repeats, "threads": args.threads,
                            "bidrn_tf_version": bidrn_tf.__version__}, table)


if __name__ == "__main__":
    main()
