"""Evaluation of a trained model on persons with ground truth (AGORA, synthetic, EHF): ``bidrn_tf.metrics``.

Each person's image is cropped around its annotated box exactly as in training without augmentation;
the predicted mesh is compared with the ground-truth mesh (from the parameters through the SMPL-X layer,
or the EHF ``.ply``). Region vertex sets and the J14 regressor come from ``bidrn_tf.smplx.regions``
(from the official side files when given, otherwise derived from the model's skinning weights).
"""
from __future__ import annotations

import numpy as np

from bidrn_tf import metrics


def ground_truth_vertices(people, smplx_model: str, batch_size: int = 32) -> np.ndarray:
    import tensorflow as tf

    from bidrn_tf.data.ehf import read_mesh
    from bidrn_tf.smplx import SMPLXLayer

    layer = SMPLXLayer(smplx_model)
    out = np.zeros((len(people), layer.num_vertices, 3), np.float32)
    idx = [i for i, p in enumerate(people) if p.params is not None]
    for s in range(0, len(idx), batch_size):
        chunk = idx[s:s + batch_size]
        batch = {k: tf.constant(np.stack([people[i].params[k] for i in chunk])) for k in people[chunk[0]].params}
        out[chunk] = layer(batch)["vertices"].numpy()
    for i, p in enumerate(people):
        if p.params is None:
            out[i] = read_mesh(p.gt_vertices, layer.num_vertices)
    return out


def evaluate(model, people, *, smplx_model: str, input_hw, batch_size: int = 8, progress: bool = True) -> dict:
    """{"per_person": [{key, metric: mm}], "mean": {metric: mm}, "count": N}."""
    from bidrn_tf.data.pipeline import ground_truth_joints, make_dataset
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import face_vertex_ids, hand_vertex_ids, j14_regressor

    arrays = load(smplx_model)
    regions = dict(j_regressor=np.asarray(arrays.j_regressor, np.float64), j14=j14_regressor(arrays),
                   hand_ids=hand_vertex_ids(arrays), face_ids=face_vertex_ids(arrays))
    gt = ground_truth_vertices(people, smplx_model)
    joints = ground_truth_joints(people, smplx_model)
    ds = make_dataset(people, joints, batch_size=batch_size, training=False, input_hw=input_hw)
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
    mean = {k: float(np.mean([r[k] for r in rows])) for k in metrics.METRIC_NAMES}
    return {"per_person": rows, "mean": mean, "count": len(rows)}
