"""Foundation demo: build every backbone, print the Params/OPs table, convert the BiDRN backbones with LCE
and print their op census. Writes ``table.md``, ``census.json`` and the ``.tflite`` files under ``--out``.

    python -m bidrn_tf.demo_backbones --out out/demo
"""
from __future__ import annotations

import argparse
import json
import os
import time

import bidrn_tf  # noqa: F401
import larq as lq
import tensorflow as tf

from bidrn_tf import deploy
from bidrn_tf.backbones import build_resnet
from bidrn_tf.profile import PAPER_INPUTS, backbone_table, format_table


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/demo")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    t0 = time.time()
    print("[1/2] Params / OPs of every backbone at the paper's input sizes", flush=True)
    table = format_table(backbone_table())
    print(table, flush=True)
    deploy.write_atomic(os.path.join(args.out, "table.md"), (table + "\n").encode())

    print("\n[2/2] LCE conversion of the BiDRN backbones (op census parsed from the flatbuffer)", flush=True)
    census_all = {}
    for part, (depth, shape) in PAPER_INPUTS.items():
        tf.keras.backend.clear_session()
        model = build_resnet(depth=depth, method="bidrn", input_shape=shape)
        n_binary = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
        flatbuffer = deploy.convert(model)
        census = deploy.op_census(flatbuffer)
        fname = f"bidrn_resnet{depth}_{shape[0]}x{shape[1]}.tflite"
        deploy.write_atomic(os.path.join(args.out, fname), flatbuffer)
        census_all[part] = {"file": fname, "bytes": len(flatbuffer), "binary_keras_convs": n_binary,
                            "census": dict(census)}
        print(f"- {part} {shape[0]}x{shape[1]}: {n_binary} binarized Keras convs -> "
              f"{census['LceBconv2d']} LceBconv2d, {census['CONV_2D']} float CONV_2D; "
              f"{len(flatbuffer) / 1e6:.2f} MB\n  {deploy.format_census(census)}", flush=True)
    deploy.write_atomic(os.path.join(args.out, "census.json"), json.dumps(census_all, indent=2).encode())
    print(f"\nWrote {args.out}/table.md, census.json and the .tflite files ({time.time() - t0:.0f} s).")


if __name__ == "__main__":
    main()
