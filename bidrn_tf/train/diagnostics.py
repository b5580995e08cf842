"""Measurements that explain how a training run goes (issue: why BiDRN trained last): used by
``benchmarks/diagnose_training.py``.

* :func:`block_activation_std`: the standard deviation of every residual block's output of a backbone at
  initialisation, relative to the stem's - how much stacked full-precision residuals make activations grow;
* :class:`SignFlips`: per step, which latent weights of the binary convolutions changed sign - the share of
  weights that ever flipped is how much of the binary network the gradient actually moves;
* :func:`mean_pose_control`: the "learned nothing" baseline - every validation person predicted with the
  training set's mean SMPL-X parameters, the root pose included; ``truth=("root",)`` gives every person its
  own root pose instead (an oracle: what the mean body, hands and face alone cost), and any other
  ``TRUTH_GROUPS``;
* :func:`error_budget`: the oracles one group at a time - what share of a metric each parameter group is;
* :func:`median_mesh_control`: the other "learned nothing" baseline - one constant *mesh* for everyone, the
  per-vertex geometric median of the training meshes (:func:`median_mesh`, :func:`geometric_median`); a
  constant output can score better on MPVPE than the mean parameters do (it does on the generated people);
* :func:`part_errors`: the pelvis-aligned vertex error per body part (where a model gains on a control);
* :func:`predicted_rotations`, :func:`pose_angles`, :func:`mean_rotations`, :func:`rotation_errors`: what a
  model predicts for each rotation output, as angles against the truth, beside each joint's mean rotation
  (a constant) and the spread of the predictions themselves;
* :func:`mean_rotation_bias`, :func:`without_offset`, :func:`with_mean_joints`, :func:`params_metrics`: a model's
  systematic offset per joint (the mean of its rotations against the training people's mean), and its meshes
  scored again with the offset removed, or with the offset joints set to that mean - what the offset costs;
* :func:`body_yaw`, :func:`yaw_error`: the body's turn about the vertical from its root rotation, and a model's
  error in it (``apps.yaw_probe``: can the turn be learned from the images at all);
* :func:`loss_terms`: the training loss term by term on a model's outputs, or on its parameters edited (e.g. the
  offset removed) - which terms hold an offset;
* precise BatchNorm statistics before evaluation: ``bidrn_tf.models.batchnorm.precise_batchnorm``.
"""
from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.evaluate import metrics
from bidrn_tf.smplx.joints import POSE_OUTPUTS  # the rotation outputs: root, body, hands, jaw

_BLOCK = re.compile(r"^(stage\d+_block\d+)_")


def block_activation_std(backbone: tf.keras.Model, images) -> dict:
    """{"stem": std, "stage1_block1": std, ...}: std of the stem output and of each block's output (the last
    layer of each ``stageS_blockB`` in graph order) for ``images``, in inference mode (BatchNorm as
    initialised: identity). Use it on an untrained backbone to see activation growth with depth."""
    last = {}
    for layer in backbone.layers:
        m = _BLOCK.match(layer.name)
        if m:
            last[m.group(1)] = layer
    names = ["pool1", *last]
    probe = tf.keras.Model(backbone.inputs, [backbone.get_layer("pool1").output] + [l.output for l in last.values()])
    outs = probe(tf.convert_to_tensor(images, tf.float32), training=False)
    return {("stem" if n == "pool1" else n): float(tf.math.reduce_std(o)) for n, o in zip(names, outs)}


def binary_kernels(model: tf.keras.Model) -> list:
    """The latent kernels of every binary convolution of ``model`` (larq quantized convs with a kernel
    quantizer), in a stable order."""
    import larq as lq

    out = []
    for layer in model.submodules:
        if isinstance(layer, (lq.layers.QuantConv2D, lq.layers.QuantDepthwiseConv2D)) and \
                getattr(layer, "kernel_quantizer", None) is not None:
            out.append(layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel)
    return out


class SignFlips:
    """Tracks, over a run, which latent binary weights changed sign at least once (call :meth:`update` after
    each step). ``summary()``: weights tracked, share that ever flipped, share whose final sign differs from
    the initial one, and the share that flipped in the last update."""

    def __init__(self, model: tf.keras.Model):
        self.kernels = binary_kernels(model)
        self.initial = [np.signbit(k.numpy()) for k in self.kernels]
        self.previous = [s.copy() for s in self.initial]
        self.ever = [np.zeros_like(s) for s in self.initial]
        self.last_share = 0.0

    def update(self) -> None:
        changed, total = 0, 0
        for i, k in enumerate(self.kernels):
            now = np.signbit(k.numpy())
            diff = now != self.previous[i]
            self.ever[i] |= diff
            changed += int(diff.sum())
            total += diff.size
            self.previous[i] = now
        self.last_share = changed / max(total, 1)

    def summary(self) -> dict:
        total = sum(s.size for s in self.initial)
        if total == 0:
            return {"binary_weights": 0, "ever_flipped": None, "final_differs": None, "last_step_flipped": None}
        ever = sum(int(e.sum()) for e in self.ever)
        final = sum(int((p != s).sum()) for p, s in zip(self.previous, self.initial))
        return {"binary_weights": total, "ever_flipped": ever / total, "final_differs": final / total,
                "last_step_flipped": self.last_share}


# the parameter groups an oracle can take from the truth (``mean_pose_control(truth=...)``)
TRUTH_GROUPS = {"root": ("global_orient",), "body": ("body_pose",), "hands": ("left_hand_pose", "right_hand_pose"),
                "face": ("jaw_pose", "expression"), "shape": ("betas",)}


def mean_pose_control(train_people, val_people, smplx_model: str, *, truth=()) -> dict:
    """Metrics (mm) of predicting every validation person with the training set's mean SMPL-X parameters:
    the mean body pose, hand poses, jaw pose, betas and expression, and the mean root rotation (the chordal
    L2 mean of the rotations, ``scipy.spatial.transform.Rotation.mean``; averaging axis-angle vectors would
    be wrong near pi, where the generated people's camera-space root poses are).

    ``truth``: names of ``TRUTH_GROUPS`` taken from each person instead of the mean - an oracle, not a
    control. ``truth=("root",)``: what the mean body, hands and face alone cost once the root rotation,
    which a model has to predict, is known. Translation is each person's own (MPVPE is measured after
    aligning the pelvis, so it does not count)."""
    return _oracles(train_people, val_people, smplx_model, [truth])[0]


def _oracles(train_people, val_people, smplx_model: str, truths) -> list:
    """The metrics of :func:`mean_pose_control` for each ``truth`` of ``truths`` (one model load, one set of
    ground-truth vertices and means for all of them)."""
    from scipy.spatial.transform import Rotation

    from bidrn_tf.data.pipeline import ground_truth
    from bidrn_tf.smplx import SMPLXLayer

    for truth in truths:
        if isinstance(truth, str) or any(g not in TRUTH_GROUPS for g in truth):
            raise ValueError(f"truth must be a collection of {tuple(TRUTH_GROUPS)}, got {truth!r}")
    keys = [k for g in TRUTH_GROUPS.values() for k in g]
    fitted = [p for p in train_people if p.params is not None]
    mean = {k: np.mean([p.params[k] for p in fitted], 0) for k in keys}
    mean["global_orient"] = Rotation.from_rotvec(np.stack([p.params["global_orient"] for p in fitted])).mean().as_rotvec()
    regions = metrics.model_regions(smplx_model)
    gt = ground_truth(val_people, smplx_model, vertices=True)["vertices"]
    layer = SMPLXLayer(smplx_model)
    results = []
    for truth in truths:
        own = {k for g in truth for k in TRUTH_GROUPS[g]}
        rows = []
        for p, g in zip(val_people, gt):
            params = {k: tf.constant(np.asarray(p.params[k] if k in own else mean[k], np.float32)[None])
                      for k in keys}
            params["transl"] = tf.constant(p.params["transl"][None])
            v = layer(params)["vertices"].numpy()[0].astype(np.float64)
            rows.append(metrics.mesh_metrics(v, g.astype(np.float64), **regions))
        results.append(metrics.mean_metrics(rows))
    return results


def geometric_median(points, *, iterations: int = 300, tol: float = 1e-10) -> np.ndarray:
    """(N, ..., D) points -> (..., D): at every position the point with the smallest mean Euclidean distance
    to the N points (Weiszfeld's iteration, started at the mean; distances are floored at 1e-12 so that an
    iterate on one of the points stays defined). Unlike the mean it is not pulled by far points: for 0, 1
    and 10 on a line it is 1."""
    points = np.asarray(points, np.float64)
    median = points.mean(0)
    for _ in range(iterations):
        weights = 1.0 / np.maximum(np.linalg.norm(points - median, axis=-1, keepdims=True), 1e-12)
        new = (weights * points).sum(0) / weights.sum(0)
        done = np.max(np.abs(new - median)) < tol
        median = new
        if done:
            break
    return median


def median_mesh(train_people, smplx_model: str) -> np.ndarray:
    """(V, 3) metres: the per-vertex geometric median of the fitted training people's meshes, each moved to
    put its pelvis at the origin (MPVPE aligns the pelvis, so that is where a constant mesh is compared)."""
    from bidrn_tf.data.pipeline import ground_truth

    fitted = [p for p in train_people if p.params is not None]
    verts = ground_truth(fitted, smplx_model, vertices=True)["vertices"].astype(np.float64)
    return geometric_median(_pelvis_aligned(verts, smplx_model))


def _pelvis_aligned(vertices, smplx_model: str) -> np.ndarray:
    from bidrn_tf.smplx.joints import PELVIS

    vertices = np.asarray(vertices, np.float64)
    pelvis = np.einsum("v,nvc->nc", metrics.model_regions(smplx_model)["j_regressor"][PELVIS], vertices)
    return vertices - pelvis[:, None]


def median_mesh_control(train_people, val_people, smplx_model: str, *, mesh=None) -> dict:
    """Metrics (mm) of predicting every validation person with one constant mesh: :func:`median_mesh` of the
    training people (or ``mesh``, (V, 3), when it is already at hand). The mean parameters
    (:func:`mean_pose_control`) give a posed body; the median mesh is no body pose at all (every vertex where
    it is typically), and on the generated people it is better than the mean parameters on MPVPE and worse
    after Procrustes alignment (`docs/EXPERIMENTS.md`, section 5). A constant output can score like either, so
    a method has learned from the images where it is below both controls."""
    from bidrn_tf.data.pipeline import ground_truth

    regions = metrics.model_regions(smplx_model)
    mesh = median_mesh(train_people, smplx_model) if mesh is None else np.asarray(mesh, np.float64)
    gt = ground_truth(val_people, smplx_model, vertices=True)["vertices"].astype(np.float64)
    return metrics.mean_metrics(metrics.mesh_metrics(mesh, g, **regions) for g in gt)


def part_errors(pred_vertices, true_vertices, smplx_model: str) -> dict:
    """{part: mm} for every part of ``smplx.joints.BODY_PARTS``: the mean distance of the part's vertices
    (``smplx.regions.body_part_vertex_ids``) to the truth once both meshes have their pelvis at the origin
    (as MPVPE_all; the parts' errors weighted by their vertex counts average to it), over the people.
    ``pred_vertices``: (N, V, 3) or one (V, 3) mesh for everyone; ``true_vertices``: (N, V, 3) metres."""
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import body_part_vertex_ids

    truth = np.asarray(true_vertices, np.float64)
    pred = np.asarray(pred_vertices, np.float64)
    if truth.ndim != 3 or truth.shape[-1] != 3:
        raise ValueError(f"true_vertices must be (N, V, 3), got {truth.shape}")
    if pred.shape not in (truth.shape, truth.shape[1:]):
        raise ValueError(f"pred_vertices must be {truth.shape[1:]} or {truth.shape}, got {pred.shape}")
    truth = _pelvis_aligned(truth, smplx_model)
    pred = _pelvis_aligned(np.broadcast_to(pred, truth.shape), smplx_model)
    dist = np.linalg.norm(pred - truth, axis=-1).mean(0) * 1000.0  # (V,) mm
    return {part: float(dist[ids].mean()) for part, ids in body_part_vertex_ids(load(smplx_model)).items()}


def error_budget(train_people, val_people, smplx_model: str) -> list:
    """``[(groups, metrics)]``: the mean-pose control, then the oracle with one more ``TRUTH_GROUPS`` group
    from the truth at each row (root; + body; + hands; + face, i.e. everything but the shape, whose cost is
    what that last row leaves): how much of each metric every parameter group is. On the generated people,
    for example, the mean body pose is almost all of MPVPE_all once the root is known (`docs/EXPERIMENTS.md`,
    section 5)."""
    order = ("root", "body", "hands", "face")
    truths = [order[:i] for i in range(len(order) + 1)]
    return list(zip(truths, _oracles(train_people, val_people, smplx_model, truths)))


def predicted_rotations(model, batches, *, also=()) -> tuple:
    """``(pred, truth)``, each {part: (N, 3K) axis-angle} over every part of ``POSE_OUTPUTS``: ``model``'s
    outputs (inference mode) and the targets of ``batches`` (dicts with "image" and the parts); with
    ``model=None`` only the targets (pred is None). ``also``: names of further model outputs (e.g.
    "vertices") to put in ``pred`` from the same pass."""
    if model is None and also:
        raise ValueError(f"also={tuple(also)} needs a model; with model=None there are no outputs")
    pred, truth = {k: [] for k in (*POSE_OUTPUTS, *also)}, {k: [] for k in POSE_OUTPUTS}
    for b in batches:
        outputs = model(b["image"], training=False) if model is not None else None
        for k in POSE_OUTPUTS:
            truth[k].append(np.asarray(b[k]))
        if outputs is not None:
            for k in pred:
                pred[k].append(outputs[k].numpy())
    stack = lambda d: {k: np.concatenate(v) for k, v in d.items()}  # noqa: E731
    return (stack(pred) if model is not None else None), stack(truth)


def pose_angles(pred: dict, truth: dict) -> dict:
    """{part: mean rotation angle in degrees} over the people and joints of each part of ``POSE_OUTPUTS``;
    ``pred`` / ``truth``: {part: (N, 3K) axis-angle}."""
    from bidrn_tf.train.losses import pose_distance

    return {k: float(np.degrees(np.mean(pose_distance(tf.constant(pred[k], tf.float32),
                                                      tf.constant(truth[k], tf.float32), "geodesic").numpy())))
            for k in POSE_OUTPUTS}


def mean_rotations(truth: dict) -> dict:
    """{part: (1, 3K)} the chordal L2 mean rotation of each joint over the people (``Rotation.mean``)."""
    from scipy.spatial.transform import Rotation

    out = {}
    for k, v in truth.items():
        joints = v.reshape(len(v), -1, 3)
        out[k] = np.concatenate([Rotation.from_rotvec(joints[:, j]).mean().as_rotvec()
                                 for j in range(joints.shape[1])])[None]
    return out


def body_yaw(root_pose) -> np.ndarray:
    """(N,) degrees: the turn of each body about the vertical, from its root rotation (N, 3) axis-angle in
    camera axes (y down, z forward): the angle of the body's forward axis (the model's +z) seen from above,
    0 facing the camera, positive when it faces the camera's +x. A mirrored person (``flip_pose``) has the
    opposite yaw."""
    from scipy.spatial.transform import Rotation

    forward = Rotation.from_rotvec(np.asarray(root_pose, np.float64).reshape(-1, 3)).apply([0.0, 0.0, 1.0])
    return np.degrees(np.arctan2(forward[:, 0], -forward[:, 2]))


def up_axis_tilt(pred_root, true_root) -> float:
    """Mean angle in degrees between the body's up axis (the model's +y) turned by the predicted and by the
    true root rotations, (N, 3) axis-angle each: the part of a root error that tips the body over, which
    moves the vertices far from the pelvis, as against a turn about the body's own up axis."""
    from scipy.spatial.transform import Rotation

    up_pred = Rotation.from_rotvec(np.asarray(pred_root, np.float64)).apply([0.0, 1.0, 0.0])
    up_true = Rotation.from_rotvec(np.asarray(true_root, np.float64)).apply([0.0, 1.0, 0.0])
    return float(np.degrees(np.mean(np.arccos(np.clip((up_pred * up_true).sum(-1), -1.0, 1.0)))))


def yaw_error(pred_root, true_root) -> float:
    """Mean absolute difference in degrees between the :func:`body_yaw` of the predicted and of the true root
    rotations, (N, 3) axis-angle each, wrapped to [-180, 180): the part of a root error that turns the body about
    its vertical (which a tilt error leaves out)."""
    diff = body_yaw(pred_root) - body_yaw(true_root)
    return float(np.mean(np.abs((diff + 180.0) % 360.0 - 180.0)))


def rotation_errors(pred: dict, truth: dict, reference: dict) -> dict:
    """How far a model's rotations are from the truth, beside a constant: {"model": {part: deg}, "constant":
    {part: deg} (each joint's mean rotation over ``reference``, e.g. the training people), "spread": {part:
    deg} (the predictions against their own per-joint mean: how much the output moves at all), "root_tilt":
    {"model": deg, "constant": deg} (:func:`up_axis_tilt`), "root_yaw": {"model": deg, "constant": deg}
    (:func:`yaw_error`)}. All {part: (N, 3K) axis-angle}."""
    n = len(truth[POSE_OUTPUTS[0]])
    constant = {k: np.repeat(v, n, 0) for k, v in mean_rotations(reference).items()}
    own = {k: np.repeat(v, n, 0) for k, v in mean_rotations(pred).items()}
    return {"model": pose_angles(pred, truth), "constant": pose_angles(constant, truth),
            "spread": pose_angles(pred, own),
            "root_tilt": {"model": up_axis_tilt(pred["root_pose"], truth["root_pose"]),
                          "constant": up_axis_tilt(constant["root_pose"], truth["root_pose"])},
            "root_yaw": {"model": yaw_error(pred["root_pose"], truth["root_pose"]),
                         "constant": yaw_error(constant["root_pose"], truth["root_pose"])}}


# a joint whose mean predicted rotation is further than this from the training people's mean is "offset"
# (``compare --diagnose`` scores the meshes again with such joints at the mean). The chordal mean of 32
# generated people (14.3 degrees per axis) is itself about 4.4 degrees from the population's, so 10 is well
# above what the validation people's own mean differs by; a choice, not a statistic.
BIAS_DEGREES = 10.0


def mean_rotation_bias(pred: dict, reference: dict) -> dict:
    """{part: (K,) degrees}: per joint of each part of ``pred``, the angle between the mean of ``pred``'s
    rotations and the mean of ``reference``'s (chordal means, :func:`mean_rotations`). A model whose output
    is the truth plus noise has a bias near 0 whatever its error; a bias is an offset the model adds for every
    image, which :func:`rotation_errors` mixes into its person-by-person error. {part: (N, 3K) axis-angle}
    each; N may differ between the two."""
    from scipy.spatial.transform import Rotation

    mine, theirs = mean_rotations(pred), mean_rotations({k: reference[k] for k in pred})
    return {k: np.degrees((Rotation.from_rotvec(mine[k].reshape(-1, 3))
                           * Rotation.from_rotvec(theirs[k].reshape(-1, 3)).inv()).magnitude())
            for k in pred}


def _joint_rows(params: dict, part: str, joints) -> tuple:
    """(joints as a list, a float64 copy of ``params[part]`` as (N, K, 3)); ValueError for an index outside
    0..K-1. Shared by :func:`with_mean_joints` and :func:`without_offset`."""
    joints = list(joints)
    rows = np.array(params[part], np.float64).reshape(len(params[part]), -1, 3)
    if any(not 0 <= j < rows.shape[1] for j in joints):
        raise ValueError(f"joints must be indices 0..{rows.shape[1] - 1} of {part}, got {joints}")
    return joints, rows


def _replaced(params: dict, part: str, rows) -> dict:
    """A copy of ``params`` with ``part`` set to ``rows`` (N, K, 3) flattened back to (N, 3K)."""
    return {**{k: np.array(v) for k, v in params.items()}, part: rows.reshape(len(rows), -1)}


def with_mean_joints(params: dict, reference: dict, part: str, joints) -> dict:
    """A copy of ``params`` ({output: (N, D)}) in which joints ``joints`` (indices among ``part``'s K joints)
    of ``part`` take ``reference``'s mean rotation (:func:`mean_rotations`) for every person; everything else
    as it was. ValueError for an index outside 0..K-1."""
    joints, rows = _joint_rows(params, part, joints)
    rows[:, joints] = mean_rotations({part: reference[part]})[part].reshape(-1, 3)[joints]
    return _replaced(params, part, rows)


def without_offset(params: dict, reference: dict, part: str, joints) -> dict:
    """A copy of ``params`` in which every person's rotation at ``joints`` (indices among ``part``'s K joints)
    is turned by the same rotation, ``reference``'s mean times the inverse of ``params``' own mean at that joint
    (applied after the person's rotation, in the parent's frame): the offset (:func:`mean_rotation_bias`) is
    gone, the mean is ``reference``'s, and the rotations between persons stay as they were - unlike
    :func:`with_mean_joints`, which also takes the person-to-person variation away. ValueError for an index
    outside 0..K-1."""
    from scipy.spatial.transform import Rotation

    joints, rows = _joint_rows(params, part, joints)
    theirs = mean_rotations({part: reference[part]})[part].reshape(-1, 3)
    for j in joints:
        own = Rotation.from_rotvec(rows[:, j])
        rows[:, j] = (Rotation.from_rotvec(theirs[j]) * own.mean().inv() * own).as_rotvec()
    return _replaced(params, part, rows)


def params_metrics(params: dict, true_vertices, smplx_model: str, *, batch_size: int = 32) -> dict:
    """{metric: mm} (means over the people, :func:`metrics.mesh_metrics`) of the meshes that the SMPL-X layer
    makes of ``params`` ({model output name: (N, D)}, the whole-body model's ``OUTPUT_TO_SMPLX`` outputs)
    against ``true_vertices`` (N, V, 3) metres. No translation: every metric aligns the meshes first."""
    from bidrn_tf.smplx import SMPLXLayer
    from bidrn_tf.smplx.joints import OUTPUT_TO_SMPLX

    missing = set(OUTPUT_TO_SMPLX) - set(params)
    if missing:
        raise ValueError(f"params lack {sorted(missing)}")
    layer, regions = SMPLXLayer(smplx_model), metrics.model_regions(smplx_model)
    rows, n = [], len(true_vertices)
    for i in range(0, n, batch_size):
        v = layer({OUTPUT_TO_SMPLX[k]: tf.constant(np.asarray(params[k][i:i + batch_size], np.float32))
                   for k in OUTPUT_TO_SMPLX})["vertices"].numpy()
        rows += [metrics.mesh_metrics(a.astype(np.float64), b.astype(np.float64), **regions)
                 for a, b in zip(v, true_vertices[i:i + batch_size])]
    return metrics.mean_metrics(rows)


def loss_terms(model, batches, *, pose_loss: str = "axis_angle", root_pose_weight: float = 0.0,
               edits=None) -> dict:
    """{"people": N, name: {term: value}} for every ``name`` of ``edits``: the training loss terms
    (``train.losses.losses``, with these ``pose_loss`` / ``root_pose_weight``) of ``model``'s outputs in inference
    mode on ``batches`` (dicts with "image" and the training targets, e.g. unaugmented training batches), each term
    the mean of its batch values weighted by batch size. ``model``: a whole-body model with its SMPL-X layer
    (``build_model``, ``load_trained``; its ``whole_body`` layer makes the mesh again). One forward pass serves
    every edit.

    ``edits``: {name: None or a function {output: (N, D)} -> {output: (N, D)}} (default {"own": None}); a function
    is given the SMPL-X parameter outputs (``OUTPUT_TO_SMPLX``) of all N people at once (e.g. ``lambda p:
    without_offset(p, reference, "body_pose", joints)``), and the mesh, its joints and their projection are made
    again from the edited parameters (``WholeBody.mesh_outputs``), everything else (camera, boxes, PositionNet
    joints) as predicted: what the training loss says of a change to the parameters, term by term. ``None``
    makes the mesh again through the same pass, so two entries differ only in the edit."""
    from bidrn_tf.smplx.joints import OUTPUT_TO_SMPLX
    from bidrn_tf.train.losses import losses

    edits = {"own": None} if edits is None else dict(edits)
    if "people" in edits:
        raise ValueError("'people' is the count in loss_terms' result, not a name for an edit")
    body = model.get_layer("whole_body")
    kept, targets = [], []  # first every output (an edit may need all people at once), then the loss per batch
    for b in batches:
        outputs = model(b["image"], training=False)
        kept.append({k: v.numpy() for k, v in outputs.items() if k not in ("vertices", "smplx_joints", "joints_proj")})
        targets.append({k: v for k, v in b.items() if k != "image"})
    if not kept:
        raise ValueError("loss_terms needs at least one batch")
    sizes = [len(o["cam_trans"]) for o in kept]
    starts = np.cumsum([0, *sizes])
    params = {k: np.concatenate([o[k] for o in kept]) for k in OUTPUT_TO_SMPLX}
    result = {"people": int(starts[-1])}
    for name, edit in edits.items():
        edited = params if edit is None else edit(params)
        if set(edited) != set(params) or any(np.shape(edited[k]) != params[k].shape for k in params):
            raise ValueError(f"edit {name!r} must return the same outputs with the same shapes: "
                             f"{sorted(OUTPUT_TO_SMPLX)}")
        sums = {}
        for o, t, a, b in zip(kept, targets, starts, starts[1:]):
            outputs = {k: tf.constant(v) for k, v in o.items()}
            outputs.update({k: tf.constant(np.asarray(edited[k], params[k].dtype)[a:b]) for k in params})
            outputs.update(body.mesh_outputs(outputs))
            for k, v in losses(outputs, t, body.cfg, pose_loss=pose_loss, root_pose_weight=root_pose_weight).items():
                sums[k] = sums.get(k, 0.0) + float(v) * (b - a)
        result[name] = {k: v / result["people"] for k, v in sums.items()}
    return result


def other_people_control(pred_vertices, true_vertices, smplx_model: str, *, max_shifts: int = 31,
                         own_rows=None) -> dict:
    """Metrics (mm, means over people) of a model's meshes against the people they were predicted for, and
    against other people: ``{"model": {metric: mm}, "other_people": {metric: mm}}``.

    ``pred_vertices`` / ``true_vertices``: (N, V, 3) metres, row i predicted from person i's image, N >= 2.
    "other_people" scores person i with the prediction for person (i + k) mod N, averaged over the shifts
    k = 1 .. min(N - 1, ``max_shifts``) (with N <= ``max_shifts`` + 1: every other person, each pair once per
    direction). The predictions keep their distribution but lose their link to the image, so
    ``other_people - model`` is what that link is worth. A constant output scores exactly the same on both; a
    model whose output varies at random scores the same in expectation. Cost: N x min(N - 1, max_shifts)
    calls of ``mesh_metrics``, plus N for the model's own score unless ``own_rows`` gives it: the N per-person
    ``mesh_metrics`` rows of ``pred_vertices`` against ``true_vertices``, as a caller that also needs them
    per person has already computed them."""
    pred = np.asarray(pred_vertices, np.float64)
    truth = np.asarray(true_vertices, np.float64)
    if pred.ndim != 3 or pred.shape != truth.shape or pred.shape[-1] != 3:
        raise ValueError(f"pred_vertices and true_vertices must both be (N, V, 3), got {pred.shape} and {truth.shape}")
    n = len(pred)
    if n < 2:
        raise ValueError(f"other_people_control needs at least 2 people, got {n}")
    if max_shifts < 1:
        raise ValueError(f"max_shifts must be >= 1, got {max_shifts}")
    if own_rows is not None and len(own_rows) != n:
        raise ValueError(f"own_rows must hold one row per person ({n}), got {len(own_rows)}")
    regions = metrics.model_regions(smplx_model)
    own = own_rows if own_rows is not None else [metrics.mesh_metrics(pred[i], truth[i], **regions) for i in range(n)]
    shifts = range(1, min(n - 1, max_shifts) + 1)
    other = [metrics.mesh_metrics(pred[(i + k) % n], truth[i], **regions) for k in shifts for i in range(n)]
    return {"model": metrics.mean_metrics(own), "other_people": metrics.mean_metrics(other)}
