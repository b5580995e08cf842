"""Backbone census: build every backbone, print the Params/OPs table, convert the BiDRN backbones with LCE
and print their op census. Writes ``table.md``, ``census.json`` and the ``.tflite`` files under ``--out``.

    python -m bidrn_tf.apps.census --out out/demo
"""
from __future__ import annotations

import argparse
import json
import os
import time

import larq as lq
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.deploy.counts import PAPER_INPUTS, backbone_table, format_table
from bidrn_tf.fileio import versioned, write_atomic
from bidrn_tf.models.backbones import build_resnet


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/demo")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    t0 = time.time()
    print("[1/2] Params / OPs of every backbone at the paper's input sizes", flush=True)
    table = format_table(backbone_table())
    print(table, flush=True)
    write_atomic(os.path.join(args.out, "table.md"), (table + "\n").encode())

    print("\n[2/2] LCE conversion of the BiDRN backbones (op census parsed from the flatbuffer)", flush=True)
    census_all = {}
    for part, (depth, shape) in PAPER_INPUTS.items():
        tf.keras.backend.clear_session()
        model = build_resnet(depth=depth, method="bidrn", input_shape=shape)
        n_binary = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
        fb = convert(model)
        census = flatbuffer.op_census(fb)
        fname = f"bidrn_resnet{depth}_{shape[0]}x{shape[1]}.tflite"
        write_atomic(os.path.join(args.out, fname), fb)
        census_all[part] = {"file": fname, "bytes": len(fb), "binary_keras_convs": n_binary,
                            "census": dict(census)}
        print(f"- {part} {shape[0]}x{shape[1]}: {n_binary} binarized Keras convs -> "
              f"{census['LceBconv2d']} LceBconv2d, {census['CONV_2D']} float CONV_2D; "
              f"{len(fb) / 1e6:.2f} MB\n  {flatbuffer.format_census(census)}", flush=True)
    write_atomic(os.path.join(args.out, "census.json"), json.dumps(versioned(census_all), indent=2).encode())
    print(f"\nWrote {args.out}/table.md, census.json and the .tflite files ({time.time() - t0:.0f} s).")


if __name__ == "__main__":
    main()
