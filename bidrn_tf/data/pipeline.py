"""Persons -> ``tf.data`` batches of network inputs and training targets (with augmentation).

``ground_truth(people, smplx_model)`` computes every person's 55 SMPL-X joints in camera space once
(from the parameters, or from the ground-truth mesh through the model's joint regressor); ``make_dataset``
then does per example, in NumPy / OpenCV inside ``tf.numpy_function``:

1. augmentation (SPEC section 2, training only): box scale x U(0.75, 1.25), rotation N(0, 1) x 30 deg
   clipped to +-60 deg with p = 0.6, colour x U(0.8, 1.2) per channel, horizontal flip with p = 0.5;
2. one affine warp (``cv2.warpAffine``) of the image to the 512x384 input around the person box;
3. targets moved through the same transform: 2D joints (projected with the image's camera, then warped),
   hand / face boxes, root-relative 3D joints (rotated about the optical axis by the image rotation), and the
   SMPL-X parameters (root pose rotated; flipped ones mirror the pose and swap left / right).

Each example's random draws come from ``numpy.random.default_rng((seed, epoch, index))``, so an epoch is
reproducible and training resumed at a step sees exactly the batches it would have seen.

Targets (float32, per example): ``image`` (H, W, 3) in [0, 1]; ``root_pose`` (3), ``body_pose`` (63),
``lhand_pose`` / ``rhand_pose`` (45), ``jaw_pose`` (3), ``betas`` (10), ``expression`` (10);
``joints_2d`` (55, 2) input pixels; ``joints_3d`` (55, 3) metres, each joint relative to its group root
(body: pelvis, hands: wrists, face: neck); ``boxes`` (3, 4) x1 y1 x2 y2 input pixels for left hand, right
hand, face; ``box_valid`` (3,); ``param_valid`` () 0 when the person has no parameters (EHF);
``part_valid`` (3,) left hand, right hand, face parameters fitted (``Person.part_valid``, swapped by a flip);
``joint_valid`` (55,) weight of each joint's position targets (:func:`joint_valid`).

Persons whose parameters are in world coordinates (``Person.world_to_cam``, Human3.6M) get camera-space
joints and vertices in :func:`ground_truth` and a camera-space root pose in :func:`load_example`.
"""
from __future__ import annotations

import cv2
import numpy as np

from bidrn_tf.data.common import DatasetError
from bidrn_tf.smplx.joints import (FLIP_PERM, GROUP_ROOT, HAND_CHAINS, LEFT_HAND_JOINTS, NUM_JOINTS, OUTPUT_SIZES,
                                   OUTPUT_TO_SMPLX, RIGHT_HAND_JOINTS)


def ground_truth(people, smplx_model: str, *, vertices: bool = False, batch_size: int = 32) -> dict:
    """Camera-space SMPL-X ground truth of every person: ``{"joints": (N, 55, 3)}`` and, with ``vertices``,
    ``"vertices": (N, V, 3)``. Persons with parameters go through the SMPL-X layer (in batches); persons with
    a ground-truth mesh only (EHF) use the mesh and the model's joint regressor. One pass for both.
    """
    import tensorflow as tf

    from bidrn_tf.data.ehf import read_mesh
    from bidrn_tf.smplx import SMPLXLayer

    layer = SMPLXLayer(smplx_model)
    out = {"joints": np.zeros((len(people), NUM_JOINTS, 3), np.float32)}
    if vertices:
        out["vertices"] = np.zeros((len(people), layer.num_vertices, 3), np.float32)
    with_params = [i for i, p in enumerate(people) if p.params is not None]
    for s in range(0, len(with_params), batch_size):
        idx = with_params[s:s + batch_size]
        mesh = layer({k: tf.constant(np.stack([people[i].params[k] for i in idx])) for k in people[idx[0]].params})
        for k in out:
            out[k][idx] = mesh[k].numpy()
    for i in with_params:  # parameters in world coordinates (Human3.6M): X_cam = R X_world + t
        m = people[i].world_to_cam
        if m is not None:
            for k in out:
                out[k][i] = out[k][i] @ m[:, :3].T + m[:, 3]
    mesh_only = [i for i, p in enumerate(people) if p.params is None]
    if mesh_only:
        from bidrn_tf.smplx.model_file import load

        regressor = load(smplx_model).j_regressor
        for i in mesh_only:
            if people[i].gt_vertices is None:
                raise DatasetError(f"{people[i].key}: neither SMPL-X parameters nor a ground-truth mesh")
            mesh = read_mesh(people[i].gt_vertices, regressor.shape[1])
            out["joints"][i] = regressor @ mesh
            if vertices:
                out["vertices"][i] = mesh
    return out


def flip_pose(pose: np.ndarray) -> np.ndarray:
    """Axis-angle pose (..., J*3) of a mirrored person (mirror in x): (x, y, z) -> (x, -y, -z) per joint."""
    return (pose.reshape(-1, 3) * np.array([1.0, -1.0, -1.0], np.float32)).reshape(pose.shape)


def flip_params(p: dict) -> dict:
    """Parameters of the horizontally mirrored person: poses mirrored, left / right body joints and hands swapped."""
    body = p["body_pose"].reshape(21, 3)
    perm = FLIP_PERM[1:22] - 1  # body_pose holds joints 1..21
    return {**p, "root_pose": flip_pose(p["root_pose"]), "body_pose": flip_pose(body[perm].reshape(63)),
            "lhand_pose": flip_pose(p["rhand_pose"]), "rhand_pose": flip_pose(p["lhand_pose"]),
            "jaw_pose": flip_pose(p["jaw_pose"])}


def _rotate_root(root: np.ndarray, r2: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    r3 = np.eye(3)
    r3[:2, :2] = r2
    return (Rotation.from_matrix(r3) * Rotation.from_rotvec(root)).as_rotvec().astype(np.float32)


def camera_root_pose(root_pose: np.ndarray, world_to_cam) -> np.ndarray:
    """Root pose (3,) axis-angle of a world-coordinate fit turned into the camera: ``R`` composed with it."""
    if world_to_cam is None:
        return root_pose
    from scipy.spatial.transform import Rotation

    r = Rotation.from_matrix(np.asarray(world_to_cam, np.float64)[:, :3])
    return (r * Rotation.from_rotvec(root_pose)).as_rotvec().astype(np.float32)


def joint_valid(part_valid: np.ndarray) -> np.ndarray:
    """(55,) weight of each joint's position targets: the finger joints of a hand without a fitted hand pose
    are 0 (Hand4Whole masks the joints of a part its fit leaves out; a missing face fit only masks the jaw
    pose and expression, since the face joints here are head, jaw and eyes, which the body pose places)."""
    w = np.ones(NUM_JOINTS, np.float32)
    w[LEFT_HAND_JOINTS[1:]] = part_valid[0]
    w[RIGHT_HAND_JOINTS[1:]] = part_valid[1]
    return w


def hand_joints_2d(joints_2d: np.ndarray, side: str) -> np.ndarray:
    """(20, 2) hand position-net targets from (55, 2) joints: per finger 3 joints + an extrapolated tip."""
    out = []
    for chain in HAND_CHAINS[side]:
        j = joints_2d[chain]
        out.extend([j[0], j[1], j[2], j[2] + (j[2] - j[1])])
    return np.stack(out).astype(np.float32)


def augmentation(rng, training: bool) -> dict:
    if not training:
        return {"scale": 1.0, "rot_deg": 0.0, "color": np.ones(3, np.float32), "flip": False}
    return {"scale": float(rng.uniform(0.75, 1.25)),
            "rot_deg": float(np.clip(rng.normal(), -2.0, 2.0) * 30.0) if rng.uniform() <= 0.6 else 0.0,
            "color": rng.uniform(0.8, 1.2, 3).astype(np.float32), "flip": bool(rng.uniform() < 0.5)}


def example_transform(bbox, input_hw, aug) -> np.ndarray:
    """2x3 affine: original pixels -> input pixels (person box widened to the input aspect, scaled, rotated,
    optionally mirrored about the box centre)."""
    x, y, w, h = (float(v) for v in bbox)
    aspect = input_hw[1] / input_hw[0]
    cx, cy = x + w / 2, y + h / 2
    w, h = (w, w / aspect) if w > aspect * h else (h * aspect, h)
    s = input_hw[1] / (w * aug["scale"])
    a = np.deg2rad(aug["rot_deg"])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lin = s * rot @ (np.diag([-1.0, 1.0]) if aug["flip"] else np.eye(2))
    shift = np.array([input_hw[1] / 2, input_hw[0] / 2]) - lin @ np.array([cx, cy])
    return np.concatenate([lin, shift[:, None]], 1)


def _apply(m, pts):
    return pts @ m[:, :2].T + m[:, 2]


def _box_through(m, xyxy):
    x1, y1, x2, y2 = xyxy
    pts = _apply(m, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64))
    return np.concatenate([pts.min(0), pts.max(0)]).astype(np.float32)


def load_example(person, joints_cam: np.ndarray, *, input_hw=(512, 384), aug=None) -> dict:
    """One person -> network input and targets (see module docstring)."""
    aug = aug or augmentation(None, False)
    image = cv2.imread(person.image_path, cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{person.key}: image cannot be read: {person.image_path!r}")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    m = example_transform(person.bbox, input_hw, aug)
    crop = cv2.warpAffine(image, m, (input_hw[1], input_hw[0]), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    crop = np.clip(crop.astype(np.float32) / 255.0 * aug["color"], 0.0, 1.0)

    z = np.maximum(joints_cam[:, 2:3], 1e-6)
    j2d = _apply(m, joints_cam[:, :2] / z * person.focal + person.princpt).astype(np.float32)
    rel = joints_cam - joints_cam[GROUP_ROOT]
    r2 = m[:, :2] / np.sqrt(abs(np.linalg.det(m[:, :2])))  # rotation (and mirror) part of the warp
    j3d = rel.copy()
    j3d[:, :2] = rel[:, :2] @ r2.T
    boxes = [person.lhand_bbox, person.rhand_bbox, person.face_bbox]
    box_valid = np.array([b is not None for b in boxes], np.float32)
    boxes = np.stack([_box_through(m, b) if b is not None else np.zeros(4, np.float32) for b in boxes])
    if person.params is not None:
        params = {k: person.params[src].astype(np.float32) for k, src in OUTPUT_TO_SMPLX.items()}
        params["root_pose"] = camera_root_pose(params["root_pose"], person.world_to_cam)
    else:
        params = {k: np.zeros(n, np.float32) for k, n in OUTPUT_SIZES.items()}
    part_valid = (np.ones(3, np.float32) if person.part_valid is None
                  else np.asarray(person.part_valid, np.float32).copy())
    if aug["flip"]:
        j2d, j3d = j2d[FLIP_PERM], j3d[FLIP_PERM]
        boxes, box_valid = boxes[[1, 0, 2]], box_valid[[1, 0, 2]]
        part_valid = part_valid[[1, 0, 2]]
        if person.params is not None:
            params = flip_params(params)
        r2 = r2 @ np.diag([-1.0, 1.0])  # what remains once the mirror is in the parameters: the rotation
    if person.params is not None and aug["rot_deg"]:
        params["root_pose"] = _rotate_root(params["root_pose"], r2)
    return {"image": crop, **params, "joints_2d": j2d, "joints_3d": j3d.astype(np.float32), "boxes": boxes,
            "box_valid": box_valid, "param_valid": np.float32(person.params is not None), "part_valid": part_valid,
            "joint_valid": joint_valid(part_valid)}


_SPECS = {"image": None, **{k: (n,) for k, n in OUTPUT_SIZES.items()}, "joints_2d": (NUM_JOINTS, 2),
          "joints_3d": (NUM_JOINTS, 3), "boxes": (3, 4), "box_valid": (3,), "param_valid": (), "part_valid": (3,),
          "joint_valid": (NUM_JOINTS,)}


def make_dataset(people, joints_cam, *, batch_size: int, training: bool, input_hw=(512, 384), seed: int = 0,
                 epoch: int = 0, epochs: int = 1, skip_batches: int = 0, drop_remainder=None, augment=None):
    """A ``tf.data.Dataset`` of ``epochs`` epochs from ``epoch`` on of (batched) examples; see module docstring.

    ``training``: shuffled epochs (``mixing.epoch_order``), last partial batch dropped, and augmented unless
    ``augment=False`` (``augment`` defaults to ``training``).

    Each epoch is batched on its own (with ``drop_remainder``, its last partial batch is dropped), so the
    batches of epoch ``e`` are the same whether it is made alone or as part of several; one dataset over
    all the epochs of a run lets the training step be traced once (a new dataset per epoch re-traces it
    under a multi-worker strategy)."""
    import tensorflow as tf

    from bidrn_tf.data.mixing import epoch_order

    drop = training if drop_remainder is None else drop_remainder
    augment = training if augment is None else augment
    pairs = []
    for e in range(epoch, epoch + epochs):
        order = epoch_order(people, seed, e) if training else np.arange(len(people))
        if drop:
            order = order[:len(order) // batch_size * batch_size]
        pairs.append(np.stack([np.full(len(order), e), order], 1))
    pairs = np.concatenate(pairs).astype(np.int64)
    keys = list(_SPECS)

    def load(pair):
        e, i = (int(v) for v in pair)
        rng = np.random.default_rng((seed, e, i))
        ex = load_example(people[i], joints_cam[i], input_hw=input_hw, aug=augmentation(rng, augment))
        return [np.asarray(ex[k], np.float32) for k in keys]

    def to_dict(pair):
        values = tf.numpy_function(load, [pair], [tf.float32] * len(keys), stateful=False)
        out = {}
        for k, v in zip(keys, values):
            v.set_shape((*input_hw, 3) if k == "image" else _SPECS[k])
            out[k] = v
        return out

    ds = tf.data.Dataset.from_tensor_slices(pairs)
    ds = ds.map(to_dict, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop)
    if skip_batches:
        ds = ds.skip(skip_batches)
    return ds.prefetch(tf.data.AUTOTUNE)
