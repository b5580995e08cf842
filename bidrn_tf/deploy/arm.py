"""Running ``lce_benchmark_model`` on an ARM device, and reading what it prints.

LCE ships no Python wheel for aarch64, and its fast binary kernels exist only for ARM, so device numbers
come from the ``lce_benchmark_model`` binary (built from larq/compute-engine or downloaded from its
releases; the user supplies it). It is TF Lite's ``benchmark_model`` with the Lce ops registered, so it
takes the same flags and prints the same report:

* ``count=50 first=... curr=... min=... max=... avg=... std=...`` (microseconds) per timed phase, the last
  one being the measured runs (older builds prefix it with ``Timings (microseconds):``);
* ``Inference timings in us: Init: ..., First inference: ..., Warmup (avg): ..., Inference (avg): ...``
  (older builds: ``Average inference timings in us: Warmup: ..., Init: ..., Inference: ...``);
* with ``--enable_op_profiling=true``, tables of which ``Summary by node type`` gives the time per op type.

:func:`parse_output` reads these; :func:`adb_commands` / :func:`ssh_commands` build the command lines
(``convert/arm/run_arm.py`` runs them). Nothing here can run on this x86-64 machine; the parser is tested
on recorded samples in that format (``tests/fixtures/lce_benchmark_model/``).
"""
from __future__ import annotations

import os
import re
import shlex

_KV = re.compile(r"(\w+)=([-+0-9.eE]+)")
_STATS_LINE = re.compile(r"^[ \t]*(?:Timings \(microseconds\):[ \t]*)?count=\d+[^\n]*", re.M)
_NEW_SUMMARY = re.compile(r"Inference timings in us:\s*(.*)$", re.M)
_NODE_TYPE_HEADER = "Summary by node type"


class BenchmarkOutputError(ValueError):
    """Text that is not (complete) ``lce_benchmark_model`` output."""


def benchmark_command(binary: str, graph: str, *, threads: int = 1, num_runs: int = 50, warmup_runs: int = 5,
                      op_profiling: bool = False, extra=()) -> list[str]:
    """argv of one ``lce_benchmark_model`` run on the device (paths are device paths)."""
    cmd = [binary, f"--graph={graph}", f"--num_threads={threads}", f"--num_runs={num_runs}",
           f"--warmup_runs={warmup_runs}"]
    if op_profiling:
        cmd.append("--enable_op_profiling=true")
    return cmd + list(extra)


def adb_commands(binary: str, models: list[str], *, remote_dir: str = "/data/local/tmp/bidrn", serial: str | None = None,
                 **run_options) -> tuple[list[list[str]], list[list[str]]]:
    """(setup commands, one benchmark command per model) for an Android device over adb."""
    if serial is not None and (not serial or serial.startswith("-") or any(c.isspace() for c in serial)):
        raise ValueError(f"not an adb device serial: {serial!r}")
    adb = ["adb"] + (["-s", serial] if serial else [])
    remote_bin = f"{remote_dir}/{os.path.basename(binary)}"
    setup = [adb + ["shell", "mkdir", "-p", remote_dir], adb + ["push", binary, remote_bin],
             adb + ["shell", "chmod", "+x", remote_bin]]
    runs = []
    for m in models:
        remote_model = f"{remote_dir}/{os.path.basename(m)}"
        setup.append(adb + ["push", m, remote_model])
        runs.append(adb + ["shell", shlex.join(benchmark_command(remote_bin, remote_model, **run_options))])
    return setup, runs


_HOST = re.compile(r"^(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])$")


def check_host(host: str) -> str:
    """``host`` or ``user@host`` (a name, an IPv4 address or a bracketed IPv6 one); anything else, an option
    in disguise (``-oProxyCommand=...``) above all, is a ``ValueError``."""
    if not isinstance(host, str) or host.startswith("-") or not _HOST.match(host):
        raise ValueError(f"not an ssh host ([user@]host): {host!r}")
    return host


def ssh_commands(binary: str, models: list[str], *, host: str, remote_dir: str = "/tmp/bidrn",
                 **run_options) -> tuple[list[list[str]], list[list[str]]]:
    """(setup commands, one benchmark command per model) for an aarch64 Linux board reachable by ssh.

    The host is checked (:func:`check_host`) and every command ends its options with ``--``, so no
    argument can reach ssh or scp as an option."""
    check_host(host)
    remote_bin = f"{remote_dir}/{os.path.basename(binary)}"
    setup = [["ssh", "--", host, shlex.join(["mkdir", "-p", remote_dir])],
             ["scp", "--", binary, *models, f"{host}:{remote_dir}/"],
             ["ssh", "--", host, shlex.join(["chmod", "+x", remote_bin])]]
    runs = [["ssh", "--", host, shlex.join(benchmark_command(remote_bin, f"{remote_dir}/{os.path.basename(m)}",
                                                             **run_options))] for m in models]
    return setup, runs


def _numbers(text: str) -> dict:
    return {k: float(v) for k, v in _KV.findall(text)}


def parse_output(text: str) -> dict:
    """Timings (microseconds) and, when profiled, per-op-type times from ``lce_benchmark_model`` output.

    Returns ``{"count", "avg_us", "std_us", "min_us", "max_us", "first_us", "init_us", "warmup_avg_us",
    "op_types": [{"type", "count", "avg_ms", "percent"}, ...]}`` (``op_types`` empty without profiling).
    """
    stats = [m for m in _STATS_LINE.finditer(text)]
    if not stats:
        raise BenchmarkOutputError("no timing line ('count=... avg=... std=...') found: not lce_benchmark_model "
                                   "output, or the run failed (see its log)")
    last = stats[-1].group(0)
    kv = _numbers(last)
    missing = [k for k in ("count", "min", "max", "avg", "std") if k not in kv]
    if missing:
        raise BenchmarkOutputError(f"timing line is truncated or the run stopped early (no {', '.join(missing)}): "
                                   f"{last.strip()!r}")
    result = {"count": int(kv["count"]), "avg_us": kv["avg"], "std_us": kv["std"], "min_us": kv["min"],
              "max_us": kv["max"], "first_us": kv.get("first"), "init_us": None, "warmup_avg_us": None}
    summary = _NEW_SUMMARY.search(text)
    if summary:
        fields = dict(re.findall(r"([A-Za-z][A-Za-z ()]*?):\s*([-+0-9.eE]+)", summary.group(1)))
        result["init_us"] = float(fields["Init"]) if "Init" in fields else None
        warm = fields.get("Warmup (avg)", fields.get("Warmup"))
        result["warmup_avg_us"] = float(warm) if warm is not None else None
    result["op_types"] = _parse_node_types(text)
    return result


def _parse_node_types(text: str) -> list[dict]:
    start = text.rfind(_NODE_TYPE_HEADER)  # the last table is the measured runs (the first: initialisation)
    if start < 0:
        return []
    rows = []
    for line in text[start:].splitlines()[2:]:
        cols = line.split()
        if len(cols) < 4 or not cols[1].isdigit():
            break
        rows.append({"type": cols[0], "count": int(cols[1]), "avg_ms": float(cols[2]),
                     "percent": float(cols[3].rstrip("%"))})
    return rows


def results_table(results: dict) -> str:
    """Markdown table of {label: parse_output(...)}, same layout as ``bidrn_tf.deploy.latency``'s (ratio to the
    first); ``lce_benchmark_model`` reports mean, min and max rather than quantiles."""
    lines = ["| variant | avg ms | min | max | std | runs | ratio to first |", "|---|---|---|---|---|---|---|"]
    base = None
    for label, r in results.items():
        base = base or r["avg_us"]
        lines.append(f"| {label} | {r['avg_us'] / 1e3:.1f} | {r['min_us'] / 1e3:.1f} | {r['max_us'] / 1e3:.1f} | "
                     f"{r['std_us'] / 1e3:.1f} | {r['count']} | {r['avg_us'] / base:.3f} |")
    out = "\n".join(lines) + "\n"
    for label, r in results.items():
        if r["op_types"]:
            out += f"\n#### {label}: time by op type\n\n| op type | count | avg ms | % |\n|---|---|---|---|\n"
            out += "".join(f"| {o['type']} | {o['count']} | {o['avg_ms']:.3f} | {o['percent']:.1f} |\n"
                           for o in r["op_types"])
    return out


def main(argv=None) -> int:
    """``convert/arm/run_arm.py``: see that script's docstring or ``--help``."""
    import argparse
    import subprocess
    import sys

    from bidrn_tf.cli import non_negative_int, positive_int
    from bidrn_tf.fileio import write_atomic, write_report

    def _host_arg(text):
        try:
            return check_host(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    ap = argparse.ArgumentParser(description="Benchmark .tflite files on an ARM device with lce_benchmark_model")
    ap.add_argument("models", nargs="+", help=".tflite files (or, with --parse, recorded output files)")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--adb", action="store_true", help="Android device over adb")
    where.add_argument("--ssh", metavar="HOST", type=_host_arg, help="aarch64 Linux board over ssh / scp ([user@]host)")
    where.add_argument("--parse", action="store_true", help="only parse recorded lce_benchmark_model output")
    ap.add_argument("--binary", help="lce_benchmark_model built for the device (aarch64)")
    ap.add_argument("--serial", default=None, help="adb device serial")
    ap.add_argument("--threads", type=positive_int, default=1)
    ap.add_argument("--num-runs", type=positive_int, default=50)
    ap.add_argument("--warmup-runs", type=non_negative_int, default=5)
    ap.add_argument("--op-profiling", action="store_true")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    ap.add_argument("--out", default="out/arm_benchmark")
    args = ap.parse_args(argv)

    labels = [os.path.splitext(os.path.basename(m))[0] for m in args.models]
    missing = [m for m in args.models + ([args.binary] if args.binary else []) if not os.path.isfile(m)]
    if missing and not args.dry_run:
        print(f"error: file not found: {missing[0]!r}", file=sys.stderr)
        return 2
    outputs = {}
    if args.parse:
        for label, path in zip(labels, args.models):
            with open(path, errors="replace") as f:
                outputs[label] = f.read()
    else:
        if not args.binary:
            print("error: --binary (the lce_benchmark_model for the device) is required", file=sys.stderr)
            return 2
        opts = dict(threads=args.threads, num_runs=args.num_runs, warmup_runs=args.warmup_runs,
                    op_profiling=args.op_profiling)
        if args.adb:
            setup, runs = adb_commands(args.binary, args.models, serial=args.serial, **opts)
        else:
            setup, runs = ssh_commands(args.binary, args.models, host=args.ssh, **opts)
        for cmd in setup + runs:
            print("$ " + shlex.join(cmd))
        if args.dry_run:
            return 0
        for cmd in setup:
            subprocess.run(cmd, check=True)
        for label, cmd in zip(labels, runs):
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            outputs[label] = done.stdout + done.stderr
            write_atomic(f"{args.out}_{label}.log", outputs[label].encode())
    try:
        results = {label: parse_output(text) for label, text in outputs.items()}
    except BenchmarkOutputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table = results_table(results)
    print(table)
    write_report(args.out, results, table)
    return 0

