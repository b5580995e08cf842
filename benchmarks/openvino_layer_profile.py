"""Benchmark (not a test): where an OpenVINO model's time goes, by the CPU plugin's own per-node timing.

    python benchmarks/openvino_layer_profile.py out/deploy/bidrn.xml out/deploy/fp.xml [--runs 5] [--threads 1]
                                                [--out out/openvino_layer_profile]

Per model, the time of every executed node (``PERF_COUNT``), summed by runtime layer type
(``BinaryConvolution``, ``Convolution``, ``Subgraph`` = fused elementwise ops, ``FakeQuantize``, ...), mean of
``--runs`` inferences; see ``bidrn_tf.deploy.openvino_ir.layer_profile``.
"""
from __future__ import annotations

import argparse

import bidrn_tf  # noqa: F401
from bidrn_tf.deploy import openvino_ir
from bidrn_tf.fileio import write_report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="OpenVINO .xml files")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="out/openvino_layer_profile")
    args = ap.parse_args(argv)
    report, table = {}, ""
    for path in args.models:
        prof = openvino_ir.layer_profile(path, runs=args.runs, num_threads=args.threads)
        total = sum(ms for ms, _ in prof.values())
        report[path] = {kind: {"ms": ms, "nodes": n} for kind, (ms, n) in prof.items()}
        table += (f"\n{path}: {total:.1f} ms summed over executed nodes ({args.threads} thread(s))\n\n"
                  "| layer type | ms | share | nodes |\n|---|---|---|---|\n")
        table += "".join(f"| {kind} | {ms:.1f} | {100 * ms / total:.1f} % | {n} |\n" for kind, (ms, n) in prof.items()
                         if ms >= 0.005 * total)
    print(table)
    write_report(args.out, report, table)


if __name__ == "__main__":
    main()
