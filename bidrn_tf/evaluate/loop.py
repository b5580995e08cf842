"""Evaluation of a trained model on persons with ground truth (AGORA, synthetic, EHF): ``bidrn_tf.evaluate.metrics``.

Each person's image is cropped around its annotated box exactly as in training without augmentation;
the predicted mesh is compared with the ground-truth mesh (from the parameters through the SMPL-X layer,
or the EHF ``.ply``). Region vertex sets and the J14 regressor come from ``bidrn_tf.smplx.regions``
(from the official side files when given, otherwise derived from the model's skinning weights).

``training/evaluate.py`` / ``bidrn-evaluate`` is the command line (:func:`main`).
"""
from __future__ import annotations

import numpy as np

from bidrn_tf.evaluate import metrics


def evaluate(model, people, *, smplx_model: str, input_hw, batch_size: int = 8, progress: bool = True) -> dict:
    """{"per_person": [{key, metric: mm}], "mean": {metric: mm}, "count": N}."""
    from bidrn_tf.data.pipeline import ground_truth, make_dataset

    regions = metrics.model_regions(smplx_model)
    truth = ground_truth(people, smplx_model, vertices=True)
    gt = truth["vertices"]
    ds = make_dataset(people, truth["joints"], batch_size=batch_size, training=False, input_hw=input_hw)
    rows, i = [], 0
    iterator = ds
    if progress:
        from tqdm import tqdm

        iterator = tqdm(ds, total=-(-len(people) // batch_size), desc="evaluate", unit="batch")
    for batch in iterator:
        pred = model(batch["image"], training=False)["vertices"].numpy()
        for v in pred:
            rows.append({"key": people[i].key, **metrics.mesh_metrics(v.astype(np.float64), gt[i].astype(np.float64),
                                                                      **regions)})
            i += 1
    return {"per_person": rows, "mean": metrics.mean_metrics(rows), "count": len(rows)}


def main(argv=None) -> int:
    """``training/evaluate.py`` / ``bidrn-evaluate``: evaluate a checkpoint written by training.

    CKPT is the weights path written by training (``RUN/final/weights``); its metadata gives the method and
    the model configuration (``--method`` checks it). Prints MPVPE / PA-MPVPE (All, Hands, Face) and PA-MPJPE
    (body, hands) in mm and writes them, with per-person values, to ``--out`` (JSON) and a markdown table.
    """
    import argparse
    import json
    import os
    import sys

    from bidrn_tf.data import DATASETS, load_people
    from bidrn_tf.data.common import DatasetError
    from bidrn_tf.cli import check_outputs, positive_int
    from bidrn_tf.fileio import versioned, write_set
    from bidrn_tf.models.checkpoints import CheckpointError, load_trained, read_meta

    ap = argparse.ArgumentParser(description="Evaluate a checkpoint: MPVPE / PA-MPVPE / PA-MPJPE in mm")
    ap.add_argument("--dataset", required=True, choices=DATASETS)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--checkpoint", required=True, help="RUN/final/weights")
    ap.add_argument("--method", default=None, help="check that the checkpoint is of this method")
    ap.add_argument("--smplx-model", default=None, help="default: the one the checkpoint was trained with")
    ap.add_argument("--split", default="validation", choices=("train", "validation"))
    ap.add_argument("--resolution", default="720", choices=("720", "2160"))
    ap.add_argument("--batch-size", type=positive_int, default=8)
    ap.add_argument("--out", default=None, help="JSON path (default: beside the checkpoint)")
    args = ap.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(args.checkpoint), f"eval_{args.dataset}_{args.split}.json")
    try:
        check_outputs(out=out, table=os.path.splitext(out)[0] + ".md")
        read_meta(args.checkpoint, method=args.method)  # cheap checks before reading data and building
        people = load_people(args.dataset, args.data_dir, args.split,
                             (720, 1280) if args.resolution == "720" else (2160, 3840))
        model = load_trained(args.checkpoint, method=args.method, smplx_model=args.smplx_model)
        body = model.get_layer("whole_body")
        result = evaluate(model, people, smplx_model=body.smplx_model, input_hw=body.cfg.image_hw,
                          batch_size=args.batch_size)
    except (CheckpointError, DatasetError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    result.update(method=body.method, checkpoint=args.checkpoint, dataset=args.dataset, split=args.split,
                  smplx_model=body.smplx_model)
    table = metrics.format_table({f"{body.method} ({args.dataset} {args.split}, {result['count']} persons)":
                                  result["mean"]})
    print("\n" + table)
    write_set({out: json.dumps(versioned(result), indent=1).encode(), os.path.splitext(out)[0] + ".md": table.encode()})
    print(f"wrote {out}")
    return 0
