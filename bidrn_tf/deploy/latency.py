"""Latency of ``.tflite`` and OpenVINO ``.xml`` models on this machine, models alternating within one run.

    python convert/benchmark.py A.tflite [B.tflite C.xml ...] [--kernels indirect default reference]
                                [--lce-xnnpack on off] [--threads 1 [2 ...]] [--repeats 20] [--out out/benchmark]
    bidrn-benchmark ...          (the same, installed as a console script)

A flatbuffer with ``Lce*`` ops runs in the LCE interpreter once per requested binary-conv kernel
(``indirect``: indirect BGEMM, the fastest on x86-64; ``default``: ruy; ``reference``) and per
``--lce-xnnpack`` setting (``on``: its float ops on XNNPACK, the fair comparison; ``off``: the LCE
wrapper's default, TF Lite's builtin kernels); a flatbuffer without them runs in the standard TF Lite
interpreter, whose default XNNPACK delegate is what a float model gets on a device. An ``.xml`` runs in
OpenVINO's CPU plugin (``bidrn_tf.deploy.openvino_ir``). Every (model, runtime, kernel, threads) variant
is called once per round, in turn, so machine noise hits all alike; the table gives median, p10 and p90
in ms and each median's ratio to the first variant's. Results are written as ``<out>.json`` and ``<out>.md``.

Hand-written ARM kernels are not in the x86-64 interpreter: for device numbers use ``convert/arm/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import numpy as np

import bidrn_tf  # noqa: F401
from bidrn_tf.deploy import flatbuffer
from bidrn_tf.fileio import write_report


@dataclasses.dataclass
class Variant:
    """One timed configuration."""

    model: str  # label (file name without extension)
    runtime: str  # "lce" (LCE interpreter), "tflite" (TF Lite interpreter with XNNPACK) or "openvino"
    kernel: str | None
    threads: int
    xnnpack: bool = True  # LCE only: float ops on XNNPACK

    @property
    def name(self) -> str:
        kernel = f"/{self.kernel}" if self.kernel else ""
        runtime = {"tflite": "tflite+xnnpack", "lce": "lce+xnnpack" if self.xnnpack else "lce"}.get(self.runtime,
                                                                                                    self.runtime)
        return f"{self.model} [{runtime}{kernel}, {self.threads} thr]"


def load(path: str):
    """The model of a file for :func:`runner`: flatbuffer bytes for a ``.tflite``, an ``openvino.Model``
    for an ``.xml``; one clear error for a missing or unreadable file."""
    if path.endswith(".xml"):
        from bidrn_tf.deploy import openvino_ir

        return openvino_ir.read(path)
    return flatbuffer.read_flatbuffer(path)


def model_bytes(path: str) -> int:
    """Size on disk of a model: the ``.tflite``, or an ``.xml`` with its ``.bin``."""
    if path.endswith(".xml"):
        return os.path.getsize(path) + os.path.getsize(os.path.splitext(path)[0] + ".bin")
    return os.path.getsize(path)


def runner(model, variant: Variant, seed: int = 0):
    """A no-argument callable that runs ``variant`` of ``model`` (see :func:`load`) once on fixed random
    inputs of the model's own shapes."""
    if variant.runtime == "openvino":
        from bidrn_tf.deploy import openvino_ir

        r = openvino_ir.Runner(model, num_threads=variant.threads)
    else:
        r = flatbuffer.Runner(model, runtime=variant.runtime, kernel=variant.kernel or "indirect",
                              num_threads=variant.threads, xnnpack=variant.xnnpack)
    xs = [np.random.default_rng(seed).uniform(size=shape).astype(np.float32) for shape in r.input_shapes]
    return lambda: r.invoke(xs)


def alternate(runners: dict, repeats: int, warmup: int = 2, progress=None) -> dict:
    """{name: callable} -> {name: [ms]}; each runner is called once per round, in turn."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    times = {name: [] for name in runners}
    for r in range(repeats):
        for name, run in runners.items():
            t = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - t) * 1e3)
        if progress:
            progress(r + 1, repeats)
    return times


def quantiles(ms: list) -> tuple:
    """(p10, median, p90) of a list of times."""
    return tuple(float(v) for v in np.percentile(ms, [10, 50, 90]))


def summarize(times: dict) -> list[dict]:
    """Rows of median / p10 / p90 (ms) per variant, with the ratio of each median to the first one's."""
    rows, base = [], None
    for name, ms in times.items():
        p10, med, p90 = quantiles(ms)
        base = base or med
        rows.append({"variant": name, "median_ms": med, "p10_ms": p10, "p90_ms": p90, "ratio_to_first": med / base,
                     "runs": len(ms)})
    return rows


def markdown_table(rows: list[dict], title: str = "") -> str:
    lines = [f"### {title}", ""] if title else []
    lines += ["| variant | median ms | p10 | p90 | ratio to first |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['median_ms']:.1f} | {r['p10_ms']:.1f} | {r['p90_ms']:.1f} | "
                     f"{r['ratio_to_first']:.3f} |")
    return "\n".join(lines) + "\n"


def variants_for(label: str, model, kernels, threads, lce_xnnpack=(True,)) -> list[Variant]:
    """The timed variants of one model (:func:`load`): per thread count, an OpenVINO model once, a
    flatbuffer with ``Lce*`` ops once per kernel and XNNPACK setting, any other flatbuffer once in TF Lite."""
    if not isinstance(model, (bytes, bytearray)):
        return [Variant(label, "openvino", None, t) for t in threads]
    if flatbuffer.has_lce_ops(model):
        return [Variant(label, "lce", k, t, x) for t in threads for x in lce_xnnpack for k in kernels]
    return [Variant(label, "tflite", None, t) for t in threads]


def labels_for(paths: list[str]) -> list[str]:
    """A distinct row label per model file: its name without extension, or, where two names collide, the
    shortest trailing part of the path that tells them apart (``a/model``, ``b/model``; ``model.tflite``,
    ``model.xml``). The same file twice is an error."""
    real = [os.path.realpath(p) for p in paths]
    twice = sorted({p for p, r in zip(paths, real) if real.count(r) > 1})
    if twice:
        raise ValueError(f"the same model file is given more than once: {twice}")
    stems = [os.path.splitext(r)[0] for r in real]  # keep the extension where only it tells two apart
    parts = [(r if stems.count(s) > 1 else s).split(os.sep) for r, s in zip(real, stems)]
    labels = []
    for mine in parts:
        depth = 1
        while any(other is not mine and other[-depth:] == mine[-depth:] for other in parts):
            depth += 1
        labels.append("/".join(mine[-depth:]))
    return labels


def main(argv=None) -> int:
    from bidrn_tf.cli import check_outputs, non_negative_int, positive_int

    ap = argparse.ArgumentParser(description="Time .tflite (LCE interpreter / TF Lite) and OpenVINO .xml models "
                                             "alternately")
    ap.add_argument("models", nargs="+", help=".tflite or .xml files; ratios are to the first variant")
    ap.add_argument("--kernels", nargs="+", default=["indirect"], choices=flatbuffer.KERNELS,
                    help="binary-conv kernels for models with Lce ops (default: indirect)")
    ap.add_argument("--lce-xnnpack", nargs="+", default=["on", "off"], choices=["on", "off"],
                    help="LCE interpreter with its float ops on XNNPACK (on: fair), without (off: the LCE "
                         "default), or both (default)")
    ap.add_argument("--threads", nargs="+", type=positive_int, default=[1])
    ap.add_argument("--repeats", type=positive_int, default=20)
    ap.add_argument("--warmup", type=non_negative_int, default=2)
    ap.add_argument("--out", default="out/benchmark", help="writes <out>.json and <out>.md")
    args = ap.parse_args(argv)
    try:
        check_outputs(json_report=args.out + ".json", markdown_report=args.out + ".md")
        models = {label: (p, load(p)) for label, p in zip(labels_for(args.models), args.models)}
    except (FileNotFoundError, ValueError) as err:  # FlatbufferError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 2
    runners, variants = {}, []
    xnnpack = tuple(dict.fromkeys(v == "on" for v in args.lce_xnnpack))
    for label, (path, model) in models.items():
        for v in variants_for(label, model, args.kernels, args.threads, xnnpack):
            try:
                runners[v.name] = runner(model, v)
            except (RuntimeError, ValueError) as err:
                print(f"error: {path!r} cannot be loaded by the {v.runtime} interpreter: {err}", file=sys.stderr)
                return 2
            variants.append(v)
    print(f"timing {len(runners)} variants, {args.repeats} alternating rounds after {args.warmup} warm-up runs",
          flush=True)

    def progress(done, total):
        print(f"\r  round {done}/{total}", end="\n" if done == total else "", flush=True)

    times = alternate(runners, args.repeats, args.warmup, progress)
    rows = summarize(times)
    sizes = {label: model_bytes(path) for label, (path, _) in models.items()}
    table = markdown_table(rows, f"{args.repeats} alternating rounds on this machine")
    table += "\n| model | bytes on disk | ratio to first |\n|---|---|---|\n"
    first = next(iter(sizes.values()))
    table += "".join(f"| {k} | {v:,} | {v / first:.3f} |\n" for k, v in sizes.items())
    print("\n" + table)
    report = {"rows": rows, "sizes": sizes, "variants": [dataclasses.asdict(v) for v in variants],
              "repeats": args.repeats, "raw_ms": times, "bidrn_tf_version": bidrn_tf.__version__}
    write_report(args.out, report, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
