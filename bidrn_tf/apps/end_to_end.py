"""``make demo``: the whole job on the embedded default data, with a report.

    python -m bidrn_tf.apps.end_to_end --out out/demo [--steps 60] [--batch-size 8] [--preset small]

Steps, each the ``main`` of one of the project's commands called in this process (the report shows the
equivalent command line, which users can rerun):

1. generate the synthetic dataset (AGORA format) with the generated SMPL-X-format model;
2. ``bidrn-train`` - train BiDRN briefly;
3. ``bidrn-evaluate`` - MPVPE / PA-MPVPE / PA-MPJPE on the synthetic validation split;
4. ``bidrn-convert`` - the trained BiDRN to ``.tflite`` (LCE, with the SMPL-X layer), and an untrained
   Hand4Whole (``fp``) of the same size with the TF Lite converter, for the latency comparison; both
   again to OpenVINO IR (``--format openvino``: BinaryConvolution kernels on x86);
5. ``bidrn-benchmark`` - all four timed alternately on this machine (BiDRN in LCE with and without
   XNNPACK for its float ops, Hand4Whole in TF Lite + XNNPACK, both in OpenVINO);
6. ``bidrn-demo`` - overlays on a validation image and on a photograph.

Everything goes under ``--out``; ``REPORT.md`` there links the tables and images. The default preset is
``small`` (256x192 input, ResNet-18 backbones) so the whole job fits in minutes on a 2-core CPU: its
numbers describe a briefly trained small model on generated data, NOT the paper's model on AGORA / EHF.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

import bidrn_tf  # noqa: F401


def _step(name: str, command: str, main, argv: list[str], log: list) -> float:
    """Run one command's ``main(argv)`` in this process; record it as ``command argv`` with its time."""
    import tensorflow as tf

    line = shlex.join([command, *argv])
    print(f"\n=== {name}: {line}", flush=True)
    tf.keras.backend.clear_session()
    t = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - t
    log.append({"step": name, "command": line, "seconds": round(seconds, 1), "exit": code})
    if code:
        raise SystemExit(f"step '{name}' failed (exit {code}): {line}")
    return seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/demo")
    ap.add_argument("--preset", default="small", choices=("paper", "small", "tiny"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--num-train", type=int, default=64)
    ap.add_argument("--num-val", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=10, help="benchmark rounds")
    args = ap.parse_args(argv)
    from bidrn_tf.apps import photo_demo
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.deploy import convert, latency
    from bidrn_tf.evaluate import loop as evaluate_loop
    from bidrn_tf.fileio import versioned, write_atomic
    from bidrn_tf.smplx.synthetic import model_or_stand_in
    from bidrn_tf.train import loop as train_loop

    t_start = time.perf_counter()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    log = []
    t = time.perf_counter()
    smplx = model_or_stand_in(None, out)
    data = generate(os.path.join(out, "data"), smplx_model=smplx, num_train=args.num_train, num_val=args.num_val)
    log.append({"step": "data", "command": f"bidrn_tf.data.synthetic.generate(num_train={args.num_train}, "
                f"num_val={args.num_val}, seed=0)", "seconds": round(time.perf_counter() - t, 1), "exit": 0})
    run = os.path.join(out, "run")
    if os.path.exists(os.path.join(run, "run.json")):  # a previous demo: start the training again
        import shutil

        shutil.rmtree(run)
    _step("train", "bidrn-train", train_loop.main,
          ["--dataset", "synthetic", "--data-dir", data, "--smplx-model", smplx, "--method", "bidrn", "--preset",
           args.preset, "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--checkpoint-every",
           str(max(args.steps // 3, 1)), "--log-every", "5", "--out", run], log)
    weights = os.path.join(run, "final", "weights")
    _step("evaluate", "bidrn-evaluate", evaluate_loop.main,
          ["--dataset", "synthetic", "--data-dir", data, "--checkpoint", weights, "--out",
           os.path.join(out, "eval.json")], log)
    bidrn_tfl, fp_tfl = os.path.join(out, "bidrn.tflite"), os.path.join(out, "fp_hand4whole.tflite")
    _step("convert bidrn", "bidrn-convert", convert.main,
          ["--method", "bidrn", "--checkpoint", weights, "--with-smplx", "--smplx-model", smplx, "--output",
           bidrn_tfl, "--verify", "1"], log)
    _step("convert fp", "bidrn-convert", convert.main,
          ["--method", "fp", "--preset", args.preset, "--with-smplx", "--smplx-model", smplx, "--output", fp_tfl],
          log)
    # other names than the .tflite's: each conversion writes its report as <name>.json
    bidrn_xml, fp_xml = os.path.join(out, "bidrn_openvino.xml"), os.path.join(out, "fp_hand4whole_openvino.xml")
    _step("convert bidrn (OpenVINO)", "bidrn-convert", convert.main,
          ["--method", "bidrn", "--checkpoint", weights, "--with-smplx", "--smplx-model", smplx, "--format",
           "openvino", "--output", bidrn_xml, "--verify", "1"], log)
    _step("convert fp (OpenVINO)", "bidrn-convert", convert.main,
          ["--method", "fp", "--preset", args.preset, "--with-smplx", "--smplx-model", smplx, "--format", "openvino",
           "--output", fp_xml], log)
    _step("benchmark", "bidrn-benchmark", latency.main,
          [fp_tfl, bidrn_tfl, fp_xml, bidrn_xml, "--kernels", "indirect", "--lce-xnnpack", "on", "off",
           "--repeats", str(args.repeats), "--out", os.path.join(out, "benchmark")], log)
    with open(os.path.join(data, "AGORA_validation_SMPLX.json")) as f:
        db = json.load(f)
    first = db["annotations"][0]
    val_image = os.path.join(data, db["images"][0]["file_name_1280x720"])
    bbox = [v / 3.0 for v in first["bbox"]]  # 4K annotation -> 720p pixels
    _step("overlay (validation)", "bidrn-demo", photo_demo.main,
          ["--checkpoint", weights, "--smplx-model", smplx, "--image", val_image, "--bbox",
           *[f"{v:.1f}" for v in bbox], "--out", os.path.join(out, "overlay_validation")], log)
    _step("overlay (photo)", "bidrn-demo", photo_demo.main,
          ["--checkpoint", weights, "--smplx-model", smplx, "--out", os.path.join(out, "overlay_photo")], log)
    total = time.perf_counter() - t_start

    with open(os.path.join(out, "eval.md")) as f:
        eval_table = f.read()
    with open(os.path.join(out, "benchmark.md")) as f:
        bench_table = f.read()
    with open(os.path.join(out, "bidrn.json")) as f:
        conv = json.load(f)
    with open(os.path.splitext(bidrn_xml)[0] + ".json") as f:
        conv_ov = json.load(f)
    with open(os.path.join(out, "benchmark.json")) as f:
        med = {r["variant"]: r["median_ms"] for r in json.load(f)["rows"]}
    ratio = (lambda a, b: f"{med[a] / med[b]:.3f}" if a in med and b in med else "n/a")  # noqa: E731
    with open(os.path.join(run, "summary.json")) as f:
        train_summary = json.load(f)
    steps_md = "".join(f"| {e['step']} | {e['seconds']} | `{e['command']}` |\n" for e in log)
    report = f"""# BiDRN-TF end-to-end demo

Generated by `make demo` (`python -m bidrn_tf.apps.end_to_end --out {args.out}`) in {total / 60:.1f} min.

**Read this first:** the data are generated people (an SMPL-X-format stand-in model, NOT SMPL-X, rendered
over random backgrounds), the model is the `{args.preset}` preset trained for {args.steps} steps of batch
{args.batch_size}. The numbers show that the pipeline runs end to end; they are not the paper's accuracy.

## Steps

| step | seconds | command |
|---|---|---|
{steps_md}
## Training

{train_summary['steps']} steps, {train_summary['images_per_second'] or 0:.2f} images/s after the first step.
Last logged losses: {', '.join(f"{k} {v:.3f}" for k, v in train_summary['last_losses'].items())}.
TensorBoard: `tensorboard --logdir {os.path.join(args.out, 'run', 'tensorboard')}`.

![a training image](data/images_1280x720/train/syn_00000.png)

## Evaluation (synthetic validation split, mm)

{eval_table}
## Conversion (trained BiDRN, with the SMPL-X layer)

{conv['LceBconv2d']} LceBconv2d, {conv['CONV_2D']} float CONV_2D, {conv['other_ops']} other ops;
{100 * conv['bconv_share']:.2f} % of the binarized MACs run inside LceBconv2d; {conv['bytes'] / 1e6:.2f} MB.

OpenVINO IR: {conv_ov['BinaryConvolution']} BinaryConvolution and {conv_ov['Convolution']} float Convolution
kernels executed by the CPU plugin ({', '.join(f"{k} x{v}" for k, v in conv_ov['binary_kernels'].items())});
{100 * conv_ov['binary_share']:.2f} % of the binarized MACs inside BinaryConvolution; {conv_ov['bytes'] / 1e6:.2f} MB.

## Latency on this machine (1 thread, one alternating run)

BiDRN / Hand4Whole, both in OpenVINO: **{ratio("bidrn_openvino [openvino, 1 thr]", "fp_hand4whole_openvino [openvino, 1 thr]")}**;
BiDRN in OpenVINO / Hand4Whole in TF Lite + XNNPACK: {ratio("bidrn_openvino [openvino, 1 thr]", "fp_hand4whole [tflite+xnnpack, 1 thr]")};
BiDRN in LCE (float ops on XNNPACK) / Hand4Whole in TF Lite + XNNPACK: {ratio("bidrn [lce+xnnpack/indirect, 1 thr]", "fp_hand4whole [tflite+xnnpack, 1 thr]")}
(without XNNPACK: {ratio("bidrn [lce/indirect, 1 thr]", "fp_hand4whole [tflite+xnnpack, 1 thr]")}).

{bench_table}
## Overlays

| validation image | photograph |
|---|---|
| ![](overlay_validation/overlay.png) | ![](overlay_photo/overlay.png) |
"""
    write_atomic(os.path.join(out, "REPORT.md"), report.encode())
    write_atomic(os.path.join(out, "steps.json"), json.dumps(versioned({"steps": log, "total_seconds": total}), indent=1).encode())
    print(f"\nwrote {os.path.join(out, 'REPORT.md')} ({total / 60:.1f} min in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
