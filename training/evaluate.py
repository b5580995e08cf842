"""Evaluate a checkpoint: python training/evaluate.py --dataset {agora,ehf,synthetic} --data-dir D --checkpoint CKPT

CKPT is the weights path written by training (``RUN/final/weights``); its metadata gives the method and the
model configuration (``--method`` checks it). Prints MPVPE / PA-MPVPE (All, Hands, Face) and PA-MPJPE
(body, hands) in mm and writes them, with per-person values, to ``--out`` (JSON) and a markdown table beside it.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bidrn_tf  # noqa: E402,F401


def main(argv=None) -> int:
    from bidrn_tf.checkpoints import CheckpointError, load_weights, read_meta
    from bidrn_tf.data.common import DatasetError
    from bidrn_tf.evaluation import evaluate
    from bidrn_tf.fileio import write_atomic
    from bidrn_tf.metrics import format_table
    from bidrn_tf.model import build_model
    from bidrn_tf.training import load_people, model_config_from_dict

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, choices=("agora", "ehf", "synthetic"))
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--checkpoint", required=True, help="RUN/final/weights")
    ap.add_argument("--method", default=None, help="check that the checkpoint is of this method")
    ap.add_argument("--smplx-model", default=None, help="default: the one the checkpoint was trained with")
    ap.add_argument("--split", default="validation", choices=("train", "validation"))
    ap.add_argument("--resolution", default="720", choices=("720", "2160"))
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--out", default=None, help="JSON path (default: beside the checkpoint)")
    args = ap.parse_args(argv)
    try:
        meta = read_meta(args.checkpoint, method=args.method)
        if "model_config" not in meta:
            raise CheckpointError(f"checkpoint {args.checkpoint!r} has no model configuration in its metadata")
        smplx_model = args.smplx_model or meta.get("smplx_model")
        if not smplx_model or not os.path.isfile(smplx_model):
            raise FileNotFoundError(f"SMPL-X model file not found: {smplx_model!r} (pass --smplx-model)")
        cfg = model_config_from_dict(meta["model_config"])
        people = load_people(args.dataset, args.data_dir, args.split,
                             (720, 1280) if args.resolution == "720" else (2160, 3840))
        model = build_model(method=meta["method"], smplx_model=smplx_model, config=cfg)
        load_weights(model, args.checkpoint, method=meta["method"])
        result = evaluate(model, people, smplx_model=smplx_model, input_hw=cfg.image_hw, batch_size=args.batch_size)
    except (CheckpointError, DatasetError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result.update(method=meta["method"], checkpoint=args.checkpoint, dataset=args.dataset, split=args.split,
                  smplx_model=smplx_model)
    table = format_table({f"{meta['method']} ({args.dataset} {args.split}, {result['count']} persons)": result["mean"]})
    print("\n" + table)
    out = args.out or os.path.join(os.path.dirname(args.checkpoint), f"eval_{args.dataset}_{args.split}.json")
    write_atomic(out, json.dumps(result, indent=1).encode())
    write_atomic(os.path.splitext(out)[0] + ".md", table.encode())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
