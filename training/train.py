"""Train a whole-body model: python training/train.py --dataset {agora,synthetic} --data-dir D --method M --out RUN

With ``--dataset synthetic`` and no ``--data-dir``, the embedded default dataset is generated (seeded,
cached) under ``out/data/synthetic``; without ``--smplx-model`` the generated SMPL-X-format model is used
(NOT SMPL-X: say so wherever the results go). See ``bidrn_tf/training.py`` for the recipe.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bidrn_tf  # noqa: E402,F401
from bidrn_tf.backbones import METHODS  # noqa: E402


def default_synthetic(smplx_model, num_train=64, num_val=16, seed=0, root="out/data"):
    """(data_dir, smplx_model): generate the embedded default dataset (cached) and the stand-in model."""
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.smplx import write_synthetic_model

    os.makedirs(root, exist_ok=True)
    if smplx_model is None:
        smplx_model = os.path.join(root, "synthetic_smplx_model.npz")
        if not os.path.exists(smplx_model):
            write_synthetic_model(smplx_model)
        print("NOTE: using the generated SMPL-X-format model (NOT SMPL-X).")
    data_dir = os.path.join(root, f"synthetic_{num_train}_{num_val}_seed{seed}")
    return generate(data_dir, smplx_model=smplx_model, num_train=num_train, num_val=num_val, seed=seed), smplx_model


def main(argv=None) -> int:
    from bidrn_tf.data.common import DatasetError
    from bidrn_tf.training import PRESETS, TrainConfig, TrainingError, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, choices=("agora", "synthetic"))
    ap.add_argument("--data-dir", default=None, help="dataset folder (synthetic: generated when left out)")
    ap.add_argument("--method", default="bidrn", choices=METHODS)
    ap.add_argument("--smplx-model", default=None, help="SMPLX_NEUTRAL.npz (default: generated stand-in)")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, TensorBoard logs, final weights)")
    ap.add_argument("--preset", default="paper", choices=tuple(PRESETS), help="model size (small: for CPUs)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=8, help="global batch size")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker"))
    ap.add_argument("--resolution", default="720", choices=("720", "2160"), help="AGORA image layout")
    ap.add_argument("--synthetic-size", type=int, nargs=2, default=(64, 16), metavar=("TRAIN", "VAL"))
    ap.add_argument("--resume", action="store_true", help="continue the run in --out at its last checkpoint")
    args = ap.parse_args(argv)
    try:
        data_dir, smplx_model = args.data_dir, args.smplx_model
        if args.dataset == "synthetic" and data_dir is None:
            data_dir, smplx_model = default_synthetic(smplx_model, *args.synthetic_size, seed=args.seed)
        if data_dir is None:
            raise DatasetError("--data-dir is required for --dataset agora")
        if smplx_model is None:
            raise FileNotFoundError("--smplx-model is required with a user dataset (SMPLX_NEUTRAL.npz)")
        summary = train(TrainConfig(
            method=args.method, dataset=args.dataset, data_dir=data_dir, smplx_model=smplx_model, out=args.out,
            preset=args.preset, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
            checkpoint_every=args.checkpoint_every, log_every=args.log_every, seed=args.seed,
            strategy=args.strategy, resolution=(720, 1280) if args.resolution == "720" else (2160, 3840),
            resume=args.resume))
    except (DatasetError, TrainingError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
