"""Benchmark (not a test): a BiDRN ResNet-50 backbone against the FP ResNet-50, in every runtime, in one run.

Default: the hand backbone as the whole model runs it (2 crops of 256x256x3); ``--part body`` times the
body backbone (1 x 256x192x3). Timed alternately in one run, 1 thread (round robin over: FP in TF Lite with
its default XNNPACK delegate; FP in OpenVINO; BiDRN in the LCE interpreter with each binary kernel, its
float ops on XNNPACK and, for comparison, without; BiDRN in OpenVINO with ``BinaryConvolution``), so
machine noise hits all alike. Prints per-variant median / p10 / p90 in ms and each median's ratio to the FP
TF Lite median, and the OpenVINO BiDRN / FP ratio.

    python benchmarks/bench_backbone.py [--part hand|body] [--block-residual fp|binary|avgpool] [--repeats 20]
                                        [--out out/bench_backbone]

``--block-residual`` builds BiDRN with another BR shortcut (``BiDRNConfig.block_residual``; default ``fp``,
the paper's reading): how much of BiDRN's time its full-precision shortcut convs take.
"""
from __future__ import annotations

import argparse

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy import flatbuffer, openvino_ir
from bidrn_tf.deploy.convert import convert
from bidrn_tf.deploy.latency import Variant, alternate, markdown_table, runner, summarize
from bidrn_tf.fileio import write_report
from bidrn_tf.models.backbones import build_resnet
from bidrn_tf.models.batchnorm import calibrate_batchnorm
from bidrn_tf.models.config import BiDRNConfig

PARTS = {"hand": ((256, 256, 3), 2), "body": ((256, 192, 3), 1)}


def backbone(method: str, shape, batch: int, block_residual: str = "fp") -> tf.keras.Model:
    """ResNet-50 of ``method`` at a fixed batch, BatchNorm calibrated on random images (an untrained BN
    is the identity and a deep binarized net's activations would grow without bound)."""
    tf.keras.utils.set_random_seed(0)
    extra = {"bidrn_config": BiDRNConfig(block_residual=block_residual)} if method == "bidrn" else {}
    net = build_resnet(depth=50, method=method, input_shape=shape, **extra)
    x = tf.keras.Input(shape, batch_size=batch)
    model = tf.keras.Model(x, net(x))
    calibrate_batchnorm(model, np.random.default_rng(0).uniform(size=(batch, *shape)))
    return model


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default="hand", choices=tuple(PARTS))
    ap.add_argument("--block-residual", default="fp", choices=("fp", "binary", "avgpool"))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default="out/bench_backbone")
    args = ap.parse_args(argv)

    shape, batch = PARTS[args.part]
    runners, sizes = {}, {}
    for method in ("fp", "bidrn"):
        print(f"converting {method} ResNet-50 ({batch} x {shape[0]}x{shape[1]}) to .tflite and OpenVINO ...",
              flush=True)
        model = backbone(method, shape, batch, args.block_residual)
        fb = convert(model, binary=method != "fp")
        ov_model, names = openvino_ir.convert_keras(model, binary=method != "fp", batch=batch)
        sizes[method] = len(fb)
        if method == "fp":
            variants = [Variant("fp", "tflite", None, 1)]
        else:
            variants = [Variant("bidrn", "lce", k, 1, x) for x in (True, False) for k in flatbuffer.KERNELS]
        for v in variants:
            runners[v.name] = runner(fb, v)
        ov_variant = Variant(method, "openvino", None, 1)
        runners[ov_variant.name] = runner(ov_model, ov_variant)
        if method != "fp":
            census = openvino_ir.runtime_census(openvino_ir.Runner(ov_model).compiled)
            print(f"  OpenVINO: {len(names)} BinaryConvolution written, executed kernels: "
                  f"{flatbuffer.format_census(census)}")
        tf.keras.backend.clear_session()
    print(f"timing {len(runners)} variants, {args.repeats} alternating rounds ...", flush=True)
    times = alternate(runners, args.repeats)
    rows = summarize(times)
    med = {r["variant"]: r["median_ms"] for r in rows}
    ov_ratio = med["bidrn [openvino, 1 thr]"] / med["fp [openvino, 1 thr]"]
    table = markdown_table(rows, f"ResNet-50 {args.part} backbone ({batch} x {shape[0]}x{shape[1]}), BiDRN BR "
                                 f"shortcut {args.block_residual}, "
                                 f"{args.repeats} alternating rounds, 1 thread; ratio to FP in TF Lite + XNNPACK")
    table += (f"\nBiDRN / FP, both in OpenVINO: **{ov_ratio:.3f}**; BiDRN in OpenVINO / FP in TF Lite + XNNPACK: "
              f"{med['bidrn [openvino, 1 thr]'] / med['fp [tflite+xnnpack, 1 thr]']:.3f}\n"
              f"\n.tflite sizes: FP {sizes['fp'] / 1e6:.1f} MB, BiDRN {sizes['bidrn'] / 1e6:.2f} MB "
              f"(ratio {sizes['bidrn'] / sizes['fp']:.3f})\n")
    print("\n" + table)
    write_report(args.out, {"rows": rows, "part": args.part, "block_residual": args.block_residual, "openvino_bidrn_over_fp": ov_ratio,
                            "tflite_bytes": sizes, "repeats": args.repeats, "raw_ms": times,
                            "bidrn_tf_version": bidrn_tf.__version__}, table)


if __name__ == "__main__":
    main()
