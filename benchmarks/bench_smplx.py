"""Benchmark (not a test): SMPL-X forward time of ``bidrn_tf.smplx.SMPLXLayer`` vs the reference ``smplx``.

Times, in one run and alternating, at batch 1 and 64 on the CPU: our layer eagerly, inside ``tf.function``,
and XLA-compiled (``jit_compile=True``), and ``smplx`` (PyTorch, ``torch.no_grad``). Also prints the
largest vertex / joint difference between the two. Uses the generated SMPL-X-format model unless
``--smplx-model`` is given.

    python benchmarks/bench_smplx.py [--repeats 30] [--smplx-model PATH] [--threads 2]
"""
from __future__ import annotations

import argparse
import tempfile

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy.latency import alternate, quantiles
from bidrn_tf.smplx.joints import PARAM_SIZES


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--smplx-model", default=None)
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads for both frameworks")
    args = ap.parse_args(argv)

    import torch

    from bidrn_tf.smplx.synthetic import model_or_stand_in

    torch.set_num_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder:  # the generated stand-in (112 MB) goes with it
        _bench(args, model_or_stand_in(args.smplx_model, folder))


def _bench(args, path: str) -> None:
    import smplx
    import torch

    from bidrn_tf.smplx import SMPLXLayer

    print(f"model: {path}{'' if args.smplx_model else ' (generated, not SMPL-X)'}; threads: {args.threads}")
    layer = SMPLXLayer(path, validate=False)
    graph = tf.function(layer)
    xla = tf.function(layer, jit_compile=True)
    rng = np.random.default_rng(0)
    print(f"{'batch':>5} {'impl':<14} {'median ms':>10} {'p10':>8} {'p90':>8} {'smplx / this':>13}")
    for batch in (1, 64):
        scale = {"body_pose": 0.5, "left_hand_pose": 0.5, "right_hand_pose": 0.5, "jaw_pose": 0.3}
        params = {k: rng.normal(size=(batch, n)) * scale.get(k, 1.0) for k, n in PARAM_SIZES.items()}
        tf_params = {k: tf.constant(v, tf.float32) for k, v in params.items()}
        th_params = {k: torch.tensor(v, dtype=torch.float32) for k, v in params.items()}
        ref = smplx.SMPLX(path, batch_size=batch, use_pca=False, num_betas=10, num_expression_coeffs=10,
                          use_face_contour=False)

        def run_smplx():
            with torch.no_grad():
                return ref(**th_params)

        impls = {
            "smplx (torch)": run_smplx,
            "eager": lambda: layer(tf_params)["vertices"].numpy(),
            "tf.function": lambda: graph(tf_params)["vertices"].numpy(),
            "XLA": lambda: xla(tf_params)["vertices"].numpy(),
        }
        times = alternate(impls, args.repeats)
        base = np.median(times["smplx (torch)"])
        for name, ts in times.items():
            q = quantiles(ts)
            print(f"{batch:>5} {name:<14} {q[1]:>10.2f} {q[0]:>8.2f} {q[2]:>8.2f} {base / q[1]:>13.2f}")
        out, theirs = layer(tf_params), run_smplx()
        dv = np.abs(out["vertices"].numpy() - theirs.vertices.numpy()).max()
        dj = np.abs(out["joints"].numpy() - theirs.joints.numpy()[:, :55]).max()
        print(f"{batch:>5} parity: max |vertex diff| {dv:.2e}, max |joint diff| {dj:.2e} (model units)")


if __name__ == "__main__":
    main()
