"""Benchmark (not a test): where the end-to-end time of the converted whole model goes, on this machine.

The Python interpreters (TF Lite, LCE) have no per-op profiler, so the model is cut into its parts, each
converted on its own exactly as inside the whole model (same input sizes, the hand backbone at batch 2
for the two hands), and all are timed alternately in one run next to the two whole models:

    body backbone (R-50, 256x192) | hand backbone (R-50, 2 x 256x256) | face backbone (R-18, 192x192) |
    SMPL-X layer | whole model (with SMPL-X); "rest" = whole - sum of parts (heads, crops, glue ops)

for ``fp`` (TF Lite + XNNPACK) and ``bidrn`` (LCE, indirect BGEMM, float ops on XNNPACK), 1 thread, and,
given the two OpenVINO models, the same for both in OpenVINO's CPU plugin (each part converted with
``bidrn_tf.deploy.openvino_ir``). Per-op times on a device come from ``lce_benchmark_model
--enable_op_profiling=true`` (``convert/arm/run_arm.py --op-profiling``).

    python benchmarks/where_time_goes.py --whole-fp out/deploy/fp.tflite --whole-bidrn out/deploy/bidrn.tflite
                                         [--whole-fp-openvino out/deploy/fp.xml --whole-bidrn-openvino out/deploy/bidrn.xml]
                                         [--repeats 10] [--out out/where_time_goes]
"""
from __future__ import annotations

import argparse
import os

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy import latency, openvino_ir
from bidrn_tf.deploy.convert import convert
from bidrn_tf.fileio import write_report
from bidrn_tf.models.backbones import build_resnet
from bidrn_tf.models.batchnorm import calibrate_batchnorm
from bidrn_tf.models.config import ModelConfig
from bidrn_tf.smplx.joints import PARAM_SIZES


def _smplx_model(path):
    from bidrn_tf.smplx import SMPLXLayer

    inputs = {k: tf.keras.Input((n,), name=k) for k, n in PARAM_SIZES.items()}
    out = SMPLXLayer(path)(inputs)
    return tf.keras.Model(inputs, out["vertices"])


def parts(method: str, smplx_path: str, cfg: ModelConfig, runtime: str = "tflite") -> dict:
    """{part name: model} of ``method``'s model, each part converted alone: flatbuffers, or OpenVINO models
    with ``runtime="openvino"``."""
    binary = method != "fp"

    def convert_part(model, binary):
        if runtime == "openvino":
            return openvino_ir.convert_keras(model, binary=binary, batch=int(model.inputs[0].shape[0] or 1))[0]
        return convert(model, binary=binary)

    out = {}
    for name, depth, hw, batch in [("body backbone", cfg.body_depth, cfg.body_hw, 1),
                                   ("hand backbone x2", cfg.hand_depth, cfg.hand_hw, 2),
                                   ("face backbone", cfg.face_depth, cfg.face_hw, 1)]:
        print(f"converting {method} {name} ({runtime}) ...", flush=True)
        net = build_resnet(depth=depth, method=method, input_shape=(*hw, 3))
        x = tf.keras.Input((*hw, 3), batch_size=batch)
        model = tf.keras.Model(x, net(x))
        calibrate_batchnorm(model, np.random.default_rng(0).uniform(size=(batch, *hw, 3)))
        out[name] = convert_part(model, binary)
        tf.keras.backend.clear_session()
    out["SMPL-X layer"] = convert_part(_smplx_model(smplx_path), False)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--whole-fp", required=True, help="fp .tflite from convert/lce_convert.py --with-smplx")
    ap.add_argument("--whole-bidrn", required=True, help="bidrn .tflite from convert/lce_convert.py --with-smplx")
    ap.add_argument("--whole-fp-openvino", default=None, help="fp .xml (--format openvino --with-smplx)")
    ap.add_argument("--whole-bidrn-openvino", default=None, help="bidrn .xml (--format openvino --with-smplx)")
    ap.add_argument("--smplx-model", default=None, help="default: the generated SMPL-X-format model")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", default="out/where_time_goes")
    args = ap.parse_args(argv)
    from bidrn_tf.smplx.synthetic import model_or_stand_in

    if (args.whole_fp_openvino is None) != (args.whole_bidrn_openvino is None):
        ap.error("give both --whole-fp-openvino and --whole-bidrn-openvino, or neither")
    smplx_path = model_or_stand_in(args.smplx_model, os.path.dirname(os.path.abspath(args.out)))
    cfg = ModelConfig()
    wholes = {"tflite": {"fp": args.whole_fp, "bidrn": args.whole_bidrn}}
    if args.whole_fp_openvino:
        wholes["openvino"] = {"fp": args.whole_fp_openvino, "bidrn": args.whole_bidrn_openvino}
    runners, labels = {}, {}
    for runtime, paths in wholes.items():
        for method, whole in paths.items():
            pieces = {**parts(method, smplx_path, cfg, runtime), "whole model": latency.load(whole)}
            for part, model in pieces.items():
                v = latency.variants_for(f"{method} {part}", model, ["indirect"], [1])[0]
                runners[v.name] = latency.runner(model, v)
                labels[v.name] = (runtime, method, part)
    print(f"timing {len(runners)} parts, {args.repeats} alternating rounds ...", flush=True)
    times = latency.alternate(runners, args.repeats)
    med = {labels[k]: float(np.median(v)) for k, v in times.items()}
    names = {"tflite": ("TF Lite + XNNPACK", "LCE indirect + XNNPACK"), "openvino": ("OpenVINO", "OpenVINO")}
    table = ""
    for runtime in wholes:
        fp_name, bidrn_name = names[runtime]
        lines = [f"| part | fp ms ({fp_name}) | fp share | bidrn ms ({bidrn_name}) | bidrn share | bidrn / fp |",
                 "|---|---|---|---|---|---|"]
        part_names = [p for (r, m, p) in med if r == runtime and m == "fp" and p != "whole model"]
        rest = {m: med[(runtime, m, "whole model")] - sum(med[(runtime, m, p)] for p in part_names)
                for m in ("fp", "bidrn")}
        for p in part_names + ["rest (heads, crops, glue)", "whole model"]:
            f = rest["fp"] if p.startswith("rest") else med[(runtime, "fp", p)]
            b = rest["bidrn"] if p.startswith("rest") else med[(runtime, "bidrn", p)]
            lines.append(f"| {p} | {f:.1f} | {100 * f / med[(runtime, 'fp', 'whole model')]:.1f} % | {b:.1f} | "
                         f"{100 * b / med[(runtime, 'bidrn', 'whole model')]:.1f} % | {b / f:.3f} |")
        table += f"\n{runtime}:\n\n" + "\n".join(lines) + "\n"
    print(f"\nmedians of {args.repeats} alternating rounds, 1 thread\n{table}")
    write_report(args.out, {" | ".join(k): v for k, v in med.items()}, table)


if __name__ == "__main__":
    main()
