"""``SMPLXLayer``: SMPL-X parameters -> mesh vertices, joints and face landmarks, as a Keras layer."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.smplx import lbs as _lbs
from bidrn_tf.smplx.joints import NUM_JOINTS, POSE_JOINTS
from bidrn_tf.smplx.model_file import load


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class SMPLXLayer(tf.keras.layers.Layer):
    """SMPL-X as a Keras layer (blend shapes, joint regression, LBS; seed appendix A).

    Call with a dict of float tensors, any of them may be left out (zeros):
      ``global_orient`` (B, 3), ``body_pose`` (B, 63), ``left_hand_pose`` / ``right_hand_pose`` (B, 45), or
      (B, num_pca_comps) with ``use_pca``, ``jaw_pose``, ``leye_pose``, ``reye_pose`` (B, 3),
      ``betas`` (B, num_betas), ``expression`` (B, num_expression_coeffs), ``transl`` (B, 3).
    Returns a dict: ``vertices`` (B, V, 3), ``joints`` (B, 55, 3) and, when the file has landmarks,
    ``landmarks`` (B, L, 3); all in the model's units (metres for SMPL-X) with ``transl`` added.

    Args:
        model_path: SMPL-X ``.npz`` (or ``.pkl`` with ``allow_pickle=True``).
        num_betas / num_expression_coeffs: how many shape / expression coefficients the caller passes
            (at most what the file has).
        use_pca, num_pca_comps, flat_hand_mean: hand pose space, as in the ``smplx`` package. With
            ``flat_hand_mean=False`` the file's mean hand pose is added to the hand poses.
        validate: check parameters for NaN / inf when called eagerly (shape checks always happen).
    """

    def __init__(self, model_path: str, *, num_betas: int = 10, num_expression_coeffs: int = 10,
                 use_pca: bool = False, num_pca_comps: int = 6, flat_hand_mean: bool = False,
                 allow_pickle: bool = False, validate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.model_path = model_path
        self.num_betas, self.num_expression_coeffs = int(num_betas), int(num_expression_coeffs)
        self.use_pca, self.num_pca_comps, self.flat_hand_mean = bool(use_pca), int(num_pca_comps), bool(flat_hand_mean)
        self.allow_pickle, self.validate = bool(allow_pickle), bool(validate)
        m = load(model_path, allow_pickle=allow_pickle)
        if not 0 < self.num_betas <= m.num_shape_dirs:
            raise ValueError(f"num_betas must be in [1, {m.num_shape_dirs}] for {model_path!r}, got {num_betas}")
        if not 0 <= self.num_expression_coeffs <= m.num_expression_dirs:
            raise ValueError(f"num_expression_coeffs must be in [0, {m.num_expression_dirs}] for {model_path!r}, "
                             f"got {num_expression_coeffs}")
        if (use_pca or not flat_hand_mean) and m.hands_components is None:
            raise ValueError(f"{model_path!r} has no hand PCA arrays; use use_pca=False, flat_hand_mean=True")
        if use_pca and not 0 < self.num_pca_comps <= m.hands_components[0].shape[0]:
            raise ValueError(f"num_pca_comps must be in [1, {m.hands_components[0].shape[0]}], got {num_pca_comps}")
        dirs = np.concatenate([m.shapedirs[..., :self.num_betas],
                               m.shapedirs[..., m.num_shape_dirs:m.num_shape_dirs + self.num_expression_coeffs]], -1)
        f32 = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731
        self.num_vertices = m.num_vertices
        self.parents = list(m.parents)
        self.faces = m.faces
        self._v_template = f32(m.v_template)
        self._shapedirs = f32(dirs)
        self._posedirs = f32(m.posedirs.reshape(-1, m.posedirs.shape[-1]).T)
        self._j_template = f32(m.j_regressor @ m.v_template)
        self._j_shapedirs = f32(np.einsum("jv,vck->jck", m.j_regressor, dirs))
        self._weights = f32(m.weights)
        pose_mean = np.zeros((NUM_JOINTS, 3))
        if not flat_hand_mean:
            pose_mean[25:40] = m.hands_mean[0].reshape(15, 3)
            pose_mean[40:55] = m.hands_mean[1].reshape(15, 3)
        self._pose_mean = f32(pose_mean)
        if use_pca:
            self._hand_pca = (f32(m.hands_components[0][:self.num_pca_comps]),
                              f32(m.hands_components[1][:self.num_pca_comps]))
        self.has_landmarks = m.lmk_faces_idx is not None
        if self.has_landmarks:
            self._faces = tf.constant(m.faces.astype(np.int32))
            self._lmk_idx = tf.constant(m.lmk_faces_idx.astype(np.int32))
            self._lmk_bary = f32(m.lmk_bary_coords)

    # ------------------------------------------------------------------------------------------------
    def matmul_macs(self) -> int:
        """Multiply-accumulates of one mesh (``bidrn_tf.deploy.counts``): shape + expression blend shapes
        (V 3 K), the joints' blend (J 3 K), pose blend shapes (9 (J - 1) x 3 V), the kinematic chain (J 4x4
        products), the blend of joint transforms (V J 12) and applying them (V 9)."""
        v, j = self.num_vertices, len(self.parents)
        k = int(self._shapedirs.shape[-1])
        return v * 3 * k + j * 3 * k + 9 * (j - 1) * 3 * v + j * 64 + v * j * 12 + v * 9

    def param_sizes(self) -> dict:
        """Expected last-axis size of every parameter."""
        hand = self.num_pca_comps if self.use_pca else 45
        sizes = {k: 3 * n for k, n in POSE_JOINTS.items()}  # hand poses may be PCA coefficients
        sizes.update(left_hand_pose=hand, right_hand_pose=hand, betas=self.num_betas,
                     expression=self.num_expression_coeffs, transl=3)
        return sizes

    def _check(self, params: dict):
        sizes = self.param_sizes()
        unknown = sorted(set(params) - set(sizes))
        if unknown:
            raise ValueError(f"unknown SMPL-X parameter(s) {unknown}; expected some of {sorted(sizes)}")
        if not params:
            raise ValueError("SMPLXLayer needs at least one parameter to know the batch size")
        batch = None
        for name, value in params.items():
            shape = value.shape
            if shape.rank != 2 or (shape[-1] is not None and shape[-1] != sizes[name]):
                raise ValueError(f"SMPL-X parameter {name!r} must have shape (batch, {sizes[name]}), got {tuple(shape)}")
            if shape[0] is not None:
                if batch is not None and shape[0] != batch:
                    raise ValueError(f"SMPL-X parameters disagree on the batch size ({batch} vs {shape[0]} for {name!r})")
                batch = shape[0]
            if self.validate and tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(value))):
                raise ValueError(f"SMPL-X parameter {name!r} contains NaN or infinite values")

    def call(self, params):
        params = {k: tf.convert_to_tensor(v, tf.float32) for k, v in dict(params).items()}
        self._check(params)
        any_param = next(iter(params.values()))
        batch = tf.shape(any_param)[0]

        def get(name, size):
            return params[name] if name in params else tf.zeros([batch, size], tf.float32)

        hands = []
        for side, name in enumerate(("left_hand_pose", "right_hand_pose")):
            h = get(name, self.num_pca_comps if self.use_pca else 45)
            hands.append(tf.matmul(h, self._hand_pca[side]) if self.use_pca else h)
        full_pose = tf.concat([get("global_orient", 3), get("body_pose", 63), get("jaw_pose", 3),
                               get("leye_pose", 3), get("reye_pose", 3), hands[0], hands[1]], axis=-1)
        full_pose = tf.reshape(full_pose, [batch, NUM_JOINTS, 3]) + self._pose_mean
        coeffs = tf.concat([get("betas", self.num_betas), get("expression", self.num_expression_coeffs)], -1)
        vertices, joints = _lbs.lbs(coeffs, full_pose, self._v_template, self._shapedirs, self._posedirs,
                                    self._j_template, self._j_shapedirs, self.parents, self._weights)
        out = {"vertices": vertices, "joints": joints}
        if self.has_landmarks:
            out["landmarks"] = _lbs.vertices2landmarks(vertices, self._faces, self._lmk_idx, self._lmk_bary)
        transl = get("transl", 3)[:, None, :]
        return {k: v + transl for k, v in out.items()}

    def get_config(self):
        return {**super().get_config(), "model_path": self.model_path, "num_betas": self.num_betas,
                "num_expression_coeffs": self.num_expression_coeffs, "use_pca": self.use_pca,
                "num_pca_comps": self.num_pca_comps, "flat_hand_mean": self.flat_hand_mean,
                "allow_pickle": self.allow_pickle, "validate": self.validate}
