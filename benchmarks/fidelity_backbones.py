"""LCE interpreter vs Keras for every binarized backbone (not a test): how far the outputs differ.

For each method and depth: build (seeded), calibrate BatchNorm on random images, convert with LCE, run
both on the same random input and print the largest |difference|, its ratio to max|y|, and the share of
output elements that differ by more than 1e-4. Control column: the same Keras model against itself with
every BatchNorm beta shifted by N(0, 1e-6), i.e. a rounding-sized change and no conversion at all. Where
the control diverges as much as LCE does, the network (not the converter) is what amplifies rounding:
one near-zero sign flip cascades through a plain BNN (see README, "LCE findings").

    python benchmarks/fidelity_backbones.py [--size 32] [--seed 0] [--methods bnn bidrn ...]
"""
from __future__ import annotations

import argparse

import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.models.backbones import METHODS, build_resnet, is_lce_binary
from bidrn_tf.models.batchnorm import calibrate_batchnorm


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="*", default=[m for m in METHODS if m != "fp" and is_lce_binary(m)])
    args = ap.parse_args(argv)
    shape = (args.size, args.size, 3)
    print("| method | depth | LCE: max abs diff | / max abs y | share > 1e-4 | control: max abs diff | share > 1e-4 |")
    print("|---|---|---|---|---|---|---|")
    for depth in (18, 50):
        for method in args.methods:
            tf.keras.backend.clear_session()
            tf.keras.utils.set_random_seed(args.seed)
            rng = np.random.default_rng(args.seed)
            model = build_resnet(depth=depth, method=method, input_shape=shape)
            calibrate_batchnorm(model, rng.normal(size=(8,) + shape))
            x = rng.normal(size=(2,) + shape).astype(np.float32)
            ref = model(x, training=False).numpy()
            out = next(iter(flatbuffer.run(convert(model), x).values()))
            d = np.abs(out - ref)
            for bn in (m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)):
                bn.beta.assign_add(tf.random.normal(bn.beta.shape, stddev=1e-6, seed=args.seed))
            c = np.abs(model(x, training=False).numpy() - ref)
            print(f"| {method} | {depth} | {d.max():.2e} | {d.max() / np.abs(ref).max():.2e} | {(d > 1e-4).mean():.4f} "
                  f"| {c.max():.2e} | {(c > 1e-4).mean():.4f} |", flush=True)


if __name__ == "__main__":
    main()
