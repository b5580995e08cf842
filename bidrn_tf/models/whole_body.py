"""The whole-body model: image -> backbones -> Pose2Pose heads -> SMPL-X mesh, for every ``method``.

``build_model(*, method, smplx_model, config=None)`` returns a ``tf.keras.Model`` mapping a batch of RGB
images (B, 512, 384, 3), float in [0, 1], to a dict (shapes for the default config):

=====================  ============  =========================================================
key                    shape         meaning
=====================  ============  =========================================================
root_pose, jaw_pose    (B, 3)        axis-angle
body_pose              (B, 63)       21 joints, axis-angle
lhand_pose, rhand_pose (B, 45)       15 joints each, axis-angle
expression, betas      (B, 10)
cam_trans              (B, 3)        camera-space translation (m)
lhand_bbox, rhand_bbox,(B, 4)        x1, y1, x2, y2 in input-image pixels
face_bbox
body_joints            (B, 25, 3)    PositionNet output, (x, y) in image pixels, z in heatmap bins
lhand_joints,          (B, 20, 3)    hand PositionNet output, (x, y) in image pixels
rhand_joints
vertices               (B, 10475, 3) SMPL-X mesh in camera space (m)
smplx_joints           (B, 55, 3)    SMPL-X joints in camera space (m)
joints_proj            (B, 55, 2)    SMPL-X joints projected into the input image (pixels)
=====================  ============  =========================================================

Pipeline (Hand4Whole / Pose2Pose, SPEC section 2): the body backbone sees the image resized to 256x192;
BoxNet predicts hand and face boxes; hands (256x256, the left one flipped and batched with the right) and
face (192x192) are cropped from the full-resolution image with RoIAlign (``bidrn_tf.ops.geometry.crop``:
two separable gathers, builtin TF Lite ops; tested against ``tf.image.crop_and_resize``).
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.models.backbones import METHODS, build_resnet
from bidrn_tf.models.config import ModelConfig
from bidrn_tf.models.heads import BodyRotationNet, BoxNet, FaceRegressor, HandRotationNet, PositionNet
from bidrn_tf.nn.layers import batch_norm
from bidrn_tf.ops import geometry
from bidrn_tf.smplx import SMPLXLayer
from bidrn_tf.smplx.joints import HAND_MCP, NUM_HAND_JOINTS, OUTPUT_TO_SMPLX


def _rescale(xy, from_hw, to_hw):
    """Index-unit (x, y) from a map of size from_hw to one of size to_hw."""
    sx = (to_hw[1] - 1) / (from_hw[1] - 1)
    sy = (to_hw[0] - 1) / (from_hw[0] - 1)
    return xy * tf.constant([sx, sy], xy.dtype)


class WholeBody(tf.keras.layers.Layer):
    """The whole-body network as one layer (see module docstring); ``build_model`` wraps it in a Model."""

    def __init__(self, *, method: str, smplx_model: str | None, config: ModelConfig | None = None,
                 include_smplx: bool = True, include_features: bool = False, **kwargs):
        super().__init__(**kwargs)
        cfg = config or ModelConfig()
        self.method, self.smplx_model, self.cfg = method, smplx_model, cfg
        self.include_smplx, self.include_features = include_smplx, include_features
        extra = {"bidrn_config": cfg.bidrn} if method == "bidrn" else {}
        if cfg.xnor_activation_scale:  # build_resnet refuses it for any method but xnor
            extra["xnor_activation_scale"] = True
        self.body_backbone = build_resnet(depth=cfg.body_depth, method=method, input_shape=(*cfg.body_hw, 3),
                                          fp_init=cfg.fp_init, name="body_backbone", **extra)
        self.hand_backbone = build_resnet(depth=cfg.hand_depth, method=method, input_shape=(*cfg.hand_hw, 3),
                                          fp_init=cfg.fp_init, name="hand_backbone", **extra)
        self.face_backbone = build_resnet(depth=cfg.face_depth, method=method, input_shape=(*cfg.face_hw, 3),
                                          fp_init=cfg.fp_init, name="face_backbone", **extra)
        if cfg.feature_bn:
            self.feature_bns = {part: batch_norm(name=f"{part}_feature_bn") for part in ("body", "hand", "face")}
        self.body_position = PositionNet(num_joints=cfg.body_joints, depth=cfg.heatmap_depth, name="body_position_net")
        self.hand_position = PositionNet(num_joints=cfg.hand_joints, depth=cfg.heatmap_depth, name="hand_position_net")
        self.box_net = BoxNet(kind=cfg.boxnet_kind(method), sign=cfg.bidrn.sign, name="box_net")
        self.body_rotation = BodyRotationNet(rotation_init=cfg.rotation_init, name="body_rotation_net")
        self.hand_rotation = HandRotationNet(rotation_init=cfg.rotation_init, name="hand_rotation_net")
        self.face_regressor = FaceRegressor(rotation_init=cfg.rotation_init, name="face_regressor")
        self.smplx = SMPLXLayer(smplx_model, validate=False, name="smplx") if include_smplx else None

    def _features(self, part, features, training):
        """A backbone's output, through its BatchNorm when ``ModelConfig.feature_bn``."""
        return self.feature_bns[part](features, training=training) if self.cfg.feature_bn else features

    def body_features(self, images, training=None):
        """(B, H, W, 3) images -> (B, h, w, C) body features (h, w = body_hw / 32), what the body heads read
        (through the feature BatchNorm when ``ModelConfig.feature_bn``): the body backbone alone."""
        return self._features("body", self.body_backbone(tf.image.resize(images, self.cfg.body_hw),
                                                         training=training), training)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, images, training=None):
        cfg = self.cfg
        batch = tf.shape(images)[0]
        # body
        body_feat = self.body_features(images, training)
        feat_hw = body_feat.shape[1:3]
        body_joints, body_hm = self.body_position(body_feat)
        # boxes (Hand4Whole detaches the heatmap fed to BoxNet)
        centers, sizes = self.box_net(body_feat, tf.stop_gradient(body_hm), training=training)
        box_hw = (8 * feat_hw[0], 8 * feat_hw[1])
        scale = tf.constant([cfg.image_hw[1] / box_hw[1], cfg.image_hw[0] / box_hw[0]], tf.float32)
        centers_img = _rescale(centers, box_hw, cfg.image_hw)
        sizes_img = sizes * scale
        lbox = geometry.box_from_center_size(centers_img[:, 0], sizes_img[:, 0], aspect=cfg.hand_hw[1] / cfg.hand_hw[0],
                                             extension=cfg.hand_box_extension)
        rbox = geometry.box_from_center_size(centers_img[:, 1], sizes_img[:, 1], aspect=cfg.hand_hw[1] / cfg.hand_hw[0],
                                             extension=cfg.hand_box_extension)
        fbox = geometry.box_from_center_size(centers_img[:, 2], sizes_img[:, 2], aspect=cfg.face_hw[1] / cfg.face_hw[0],
                                             extension=cfg.face_box_extension)
        # hands: left flipped and batched with the right; the crops use gradient-stopped boxes (Hand4Whole:
        # BoxNet learns from its box loss only)
        lcrop = tf.image.flip_left_right(geometry.crop(images, tf.stop_gradient(lbox), cfg.hand_hw))
        rcrop = geometry.crop(images, tf.stop_gradient(rbox), cfg.hand_hw)
        hand_feat = self._features("hand", self.hand_backbone(tf.concat([lcrop, rcrop], 0), training=training), training)
        hand_joints, _ = self.hand_position(hand_feat)
        hand_pose = self.hand_rotation(hand_feat, tf.stop_gradient(hand_joints), training=training)
        hm_hw = hand_feat.shape[1:3]
        lj, rj = hand_joints[:batch], hand_joints[batch:]
        lj = tf.concat([(hm_hw[1] - 1) - lj[..., :1], lj[..., 1:]], -1)  # undo the flip
        lhand_pose = tf.reshape(tf.reshape(hand_pose[:batch], [-1, NUM_HAND_JOINTS, 3]) * tf.constant([1.0, -1.0, -1.0]),
                                [-1, 3 * NUM_HAND_JOINTS])  # un-mirror the flipped left hand's rotations
        rhand_pose = hand_pose[batch:]
        lj_img = geometry.crop_to_image_coords(lj[..., :2], lbox, hm_hw)
        rj_img = geometry.crop_to_image_coords(rj[..., :2], rbox, hm_hw)
        # face
        face_feat = self._features(
            "face", self.face_backbone(geometry.crop(images, tf.stop_gradient(fbox), cfg.face_hw), training=training),
            training)
        expression, jaw_pose = self.face_regressor(face_feat)
        # body rotation (Hand4Whole): the hand 1x1 convs run on the hand backbone's features (the left hand's
        # flipped back) sampled at the hand PositionNet's MCP joints in hand-heatmap units; joints detached
        lhand_feat = tf.reverse(hand_feat[:batch], [2])
        rhand_feat = hand_feat[batch:]
        root_pose, body_pose, betas, cam = self.body_rotation(
            body_feat, tf.stop_gradient(body_joints), lhand_feat, tf.stop_gradient(tf.gather(lj, HAND_MCP, axis=1)),
            rhand_feat, tf.stop_gradient(tf.gather(rj, HAND_MCP, axis=1)), training=training)
        cam_trans = geometry.camera_translation(cam, focal=cfg.focal, input_hw=cfg.body_hw,
                                                camera_3d_size=cfg.camera_3d_size)
        outputs = {
            "root_pose": root_pose, "body_pose": body_pose, "lhand_pose": lhand_pose, "rhand_pose": rhand_pose,
            "jaw_pose": jaw_pose, "expression": expression, "betas": betas, "cam_trans": cam_trans,
            "lhand_bbox": lbox, "rhand_bbox": rbox, "face_bbox": fbox,
            "body_joints": tf.concat([_rescale(body_joints[..., :2], feat_hw, cfg.image_hw), body_joints[..., 2:]], -1),
            "lhand_joints": tf.concat([lj_img, lj[..., 2:]], -1), "rhand_joints": tf.concat([rj_img, rj[..., 2:]], -1),
        }
        if self.include_features:
            outputs["body_features"] = body_feat
        if self.smplx is None:
            return outputs
        return {**outputs, **self.mesh_outputs(outputs)}

    def mesh_outputs(self, outputs: dict) -> dict:
        """{"vertices" (B, V, 3), "smplx_joints" (B, 55, 3), "joints_proj" (B, 55, 2)}: the SMPL-X mesh of the
        parameter outputs in ``outputs`` (``OUTPUT_TO_SMPLX``) placed at ``outputs["cam_trans"]`` (B, 3), and its
        joints projected into the input image (pixels). The tail of :meth:`call`; on its own it scores edited
        parameters with the training loss (``train.diagnostics.loss_terms``)."""
        cfg = self.cfg
        if self.smplx is None:
            raise ValueError("mesh_outputs needs a model built with an SMPL-X layer (include_smplx=True)")
        mesh = self.smplx({**{OUTPUT_TO_SMPLX[k]: outputs[k] for k in OUTPUT_TO_SMPLX}, "transl": outputs["cam_trans"]})
        princpt = (cfg.body_hw[1] / 2, cfg.body_hw[0] / 2)
        proj_body = geometry.perspective_project(mesh["joints"], focal=cfg.focal, princpt=princpt)
        joints_proj = proj_body * tf.constant([cfg.image_hw[1] / cfg.body_hw[1], cfg.image_hw[0] / cfg.body_hw[0]])
        return {"vertices": mesh["vertices"], "smplx_joints": mesh["joints"], "joints_proj": joints_proj}


def build_model(*, method: str, smplx_model: str | None, config: ModelConfig | None = None,
                include_smplx: bool = True, include_features: bool = False) -> tf.keras.Model:
    """Build the whole-body model for ``method`` (one of ``bidrn_tf.models.backbones.METHODS``).

    Args:
        method: ``fp`` is the Hand4Whole baseline; the others binarize the backbones (and, for ``bidrn``,
            the BoxNet; see ``ModelConfig.boxnet``).
        smplx_model: path of an SMPL-X model file (``SMPLX_NEUTRAL.npz``, or the generated stand-in).
        config: :class:`ModelConfig` (defaults: Hand4Whole's sizes).
        include_smplx: ``False`` leaves the SMPL-X layer out (like keras.applications' ``include_top``):
            the model then outputs parameters, boxes and joints only, without ``vertices``,
            ``smplx_joints`` and ``joints_proj``, and ``smplx_model`` may be ``None``.
        include_features: also output ``body_features`` (B, h, w, C; h, w = body_hw / 32), what the body heads
            read (feature distillation in training, ``train.distill``). It adds no weights: the weight list is
            the same with or without it.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if include_smplx and not smplx_model:
        raise ValueError("smplx_model is required when include_smplx=True")
    cfg = config or ModelConfig()
    images = tf.keras.Input((*cfg.image_hw, 3), name="image")
    outputs = WholeBody(method=method, smplx_model=smplx_model, config=cfg, include_smplx=include_smplx,
                        include_features=include_features, name="whole_body")(images)
    # name every output after its key, so a converted flatbuffer's signature names them too
    outputs = {k: tf.keras.layers.Activation("linear", name=k)(v) for k, v in outputs.items()}
    return tf.keras.Model(images, outputs, name=f"{method}_whole_body")
