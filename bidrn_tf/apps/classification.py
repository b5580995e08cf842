"""The seed's Table 5 as an experiment: ResNet-18 classifiers of every method on a real image dataset.

    python benchmarks/classification.py [--methods fp bnn ... bidrn] [--seeds 0 1 2] [--epochs 15] [--out D]

Data: scikit-learn's handwritten digits (1,797 real 8x8 scans of 43 writers' digits, UCI "optdigits";
installed with scikit-learn, no download), upscaled to 32x32 (bilinear) and replicated to three channels,
values in [0, 1]; one fixed stratified split (seed 1234, independent of the training seeds): 1,297 training
and 500 test images. This stands in for the paper's MNIST, which cannot be downloaded here.

Model: ``build_resnet(depth=18, method, include_top=True, num_classes=10)`` at 32x32 (the paper counts
Params / OPs at 224x224: ``bidrn-profile`` Table 5). Training, the same for every method: Adam, learning
rate ``lr`` with cosine decay to 0 over the run, batch 64, ``epochs`` epochs, categorical cross-entropy;
latent binary weights clipped by the layers' constraint; ReCU / FDA schedules set every step. Test error
in % per method as mean and sample standard deviation over the seeds, measured after re-estimating the
BatchNorm statistics on the training set (precise BN; a short run's moving averages still hold much of
their initial values - the error with them is recorded too, ``test_error_moving_bn``).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import bidrn_tf  # noqa: F401

SPLIT_SEED = 1234
TEST_SIZE = 500


def digits(size: int = 32):
    """(x_train, y_train, x_test, y_test): scikit-learn's digits upscaled to ``size`` x ``size`` x 3 in [0, 1]."""
    import cv2
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    imgs = np.stack([cv2.resize((im / 16.0).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
                     for im in d.images])
    x = np.repeat(imgs[..., None], 3, -1)
    x_tr, x_te, y_tr, y_te = train_test_split(x, d.target, test_size=TEST_SIZE, random_state=SPLIT_SEED,
                                              stratify=d.target)
    return x_tr, y_tr.astype(np.int64), x_te, y_te.astype(np.int64)


def train_one(method: str, data, *, seed: int, epochs: int, batch_size: int = 64, lr: float = 1e-3,
              fp_init: str = "hand4whole", xnor_activation_scale: bool = False, verbose: int = 0) -> dict:
    """Train one classifier (``fp_init`` and ``xnor_activation_scale``: ``build_resnet``'s); returns
    {"test_error": % after precise BatchNorm statistics (every training batch once), "test_error_moving_bn": %
    with the moving statistics as trained, "train_accuracy": %, "seconds"}."""
    import tensorflow as tf

    from bidrn_tf.models.backbones import build_resnet
    from bidrn_tf.models.batchnorm import precise_batchnorm
    from bidrn_tf.nn.quantizers import set_progress

    x_tr, y_tr, x_te, y_te = data
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    model = build_resnet(depth=18, method=method, input_shape=x_tr.shape[1:], include_top=True, num_classes=10,
                         classifier_activation=None, fp_init=fp_init,
                         xnor_activation_scale=xnor_activation_scale)
    steps = epochs * (len(x_tr) // batch_size)
    schedule = tf.keras.optimizers.schedules.CosineDecay(lr, steps)
    model.compile(optimizer=tf.keras.optimizers.Adam(schedule),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])

    class Progress(tf.keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            set_progress(self.model, float(self.model.optimizer.iterations.numpy()) / steps)

    ds = (tf.data.Dataset.from_tensor_slices((x_tr, y_tr)).shuffle(len(x_tr), seed=seed, reshuffle_each_iteration=True)
          .batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    t = time.perf_counter()
    hist = model.fit(ds, epochs=epochs, verbose=verbose, callbacks=[Progress()])
    seconds = time.perf_counter() - t

    def error():
        logits = model.predict(x_te, batch_size=250, verbose=0)
        return 100.0 * float(np.mean(np.argmax(logits, -1) != y_te))

    moving = error()
    precise_batchnorm(model, (x_tr[i:i + batch_size] for i in range(0, len(x_tr) - batch_size + 1, batch_size)))
    return {"test_error": error(), "test_error_moving_bn": moving,
            "train_accuracy": 100.0 * float(hist.history["accuracy"][-1]), "seconds": seconds}


def _key(method: str, seed: int, epochs: int, lr: float, fp_init: str, xnor_k: bool = False) -> str:
    """A run's key in ``runs.json`` (runs with Hand4Whole's ``fp_init`` and no XNOR K keep the key they had before
    those switches)."""
    return (f"{method}/{seed}/{epochs}/{lr:g}" + ("" if fp_init == "hand4whole" else f"/fp_init={fp_init}")
            + ("/xnor_k" if xnor_k else ""))


def _name(method: str, xnor_k: bool) -> str:
    """A method's row name: ``xnor+K`` for XNOR-Net with its activation scale."""
    return "xnor+K" if xnor_k and method == "xnor" else method


def run(methods, seeds, *, epochs: int, lr: float, out: str, fp_init: str = "hand4whole",
        xnor_activation_scale: bool = False) -> dict:
    """Every method x seed (each result saved as it comes in ``<out>/runs.json``: a killed run continues);
    ``xnor_activation_scale`` gives ``xnor`` XNOR-Net's K (row ``xnor+K``)."""
    from tqdm import tqdm

    from bidrn_tf.fileio import load_runs, save_runs

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "runs.json")
    done = load_runs(path)
    data = digits()
    for method, seed in tqdm([(m, s) for m in methods for s in seeds], desc="classifiers", unit="run"):
        k = xnor_activation_scale and method == "xnor"
        key = _key(method, seed, epochs, lr, fp_init, k)
        if key not in done:
            done[key] = {"method": method, "seed": seed, **({"xnor_activation_scale": True} if k else {}),
                         **train_one(method, data, seed=seed, epochs=epochs, lr=lr, fp_init=fp_init,
                                     xnor_activation_scale=k)}
            save_runs(path, done)
    rows = {}
    for m in methods:
        k = xnor_activation_scale and m == "xnor"
        errs = [done[_key(m, s, epochs, lr, fp_init, k)]["test_error"] for s in seeds]
        rows[_name(m, k)] = {"mean": float(np.mean(errs)), "std": float(np.std(errs, ddof=1)) if len(errs) > 1 else 0.0,
                   "errors": errs,
                   "minutes_per_run": float(np.mean([done[_key(m, s, epochs, lr, fp_init, k)]["seconds"]
                                                     for s in seeds])) / 60}
    return rows


def format_table(rows: dict, *, seeds, epochs, lr, fp_init: str = "hand4whole") -> str:
    from bidrn_tf.evaluate.metrics import gap_closed

    init = "He-normal" if fp_init == "he" else "N(0, 1e-3) (Hand4Whole)"
    lines = [f"scikit-learn digits (real scans), 32x32, 1,297 train / 500 test; ResNet-18, Adam {lr:g} cosine, "
             f"batch 64, {epochs} epochs; full-precision convs start {init}; seeds {', '.join(map(str, seeds))}. "
             f"Test error %: mean +- sample std.", "",
             "| method | test error (%) | per seed | minutes per run |", "|---|---|---|---|"]
    for m, r in rows.items():
        lines.append(f"| {m} | {r['mean']:.2f} +- {r['std']:.2f} | {', '.join(f'{e:.1f}' for e in r['errors'])} | "
                     f"{r['minutes_per_run']:.1f} |")
    gap = gap_closed({m: r["mean"] for m, r in rows.items()}, paper_note="paper, MNIST: 77 %")
    if gap:
        lines += ["", gap]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse

    from bidrn_tf.cli import positive_int
    from bidrn_tf.fileio import write_report
    from bidrn_tf.models.backbones import METHODS
    from bidrn_tf.nn.layers import FP_CONV_INITS

    ap = argparse.ArgumentParser(description="Seed Table 5: ResNet-18 classifiers of every method on scikit-learn's "
                                             "digits, test error over seeds")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=positive_int, default=15)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--fp-init", default="hand4whole", choices=FP_CONV_INITS,
                    help="full-precision convs (stem, FP blocks, BiDRN's Block Residual) start at N(0, 1e-3) "
                         "(Hand4Whole) or He-normal (build_resnet's fp_init)")
    ap.add_argument("--xnor-activation-scale", action="store_true",
                    help="xnor with XNOR-Net's activation scale K (row xnor+K; build_resnet's xnor_activation_scale)")
    ap.add_argument("--out", default="out/classification")
    args = ap.parse_args(argv)
    if args.xnor_activation_scale and "xnor" not in args.methods:
        ap.error("--xnor-activation-scale needs xnor among --methods")
    rows = run(args.methods, args.seeds, epochs=args.epochs, lr=args.lr, out=args.out, fp_init=args.fp_init,
               xnor_activation_scale=args.xnor_activation_scale)
    table = format_table(rows, seeds=args.seeds, epochs=args.epochs, lr=args.lr, fp_init=args.fp_init)
    print("\n" + table)
    write_report(os.path.join(args.out, "classification"), {"rows": rows, "args": vars(args)}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
