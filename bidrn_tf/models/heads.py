"""Hand4Whole's Pose2Pose heads as Keras layers: PositionNet, BoxNet, RotationNets, FaceRegressor.

Sizes follow Hand4Whole's public code (SPEC section 2); with ``binary=False`` the parameter counts are
exactly Hand4Whole's (77,842,256 for the whole FP model, tested). ``BoxNet(kind=...)`` also builds the
paper's "Binarized BoxNet" (``binary_deconv``) and a deployable variant (``binary_upsample``).

Where Hand4Whole stops gradients (``main/model.py``) the whole-body model does too
(``bidrn_tf.models.whole_body``); inside BoxNet, the centres used to sample the size features are
gradient-stopped as in Hand4Whole's ``BoxNet.forward``.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.nn.layers import BinaryConv2DTranspose, LearnableShift, RPReLU, batch_norm, binary_conv2d
from bidrn_tf.ops import geometry
from bidrn_tf.ops.rotations import rot6d_to_axis_angle
from bidrn_tf.smplx.joints import NUM_BETAS, NUM_BODY_JOINTS, NUM_EXPRESSION, NUM_HAND_JOINTS

BODY_POSE_JOINTS = NUM_BODY_JOINTS - 1  # 21: the body pose excludes the root


def _conv_init():
    """Hand4Whole's conv init N(0, 0.001); a fresh instance per layer (a shared one repeats its values)."""
    return tf.keras.initializers.RandomNormal(stddev=1e-3)


def _dense_init():
    """Hand4Whole's linear init N(0, 0.01)."""
    return tf.keras.initializers.RandomNormal(stddev=1e-2)


def _conv(filters, name, kernel=1, use_bias=True):
    return tf.keras.layers.Conv2D(filters, kernel, padding="same", use_bias=use_bias, kernel_initializer=_conv_init(),
                                  name=name)


def _dense(units, name):
    return tf.keras.layers.Dense(units, kernel_initializer=_dense_init(), name=name)


ROTATION_INITS = ("hand4whole", "rest")
# 6D (first two matrix columns, (3, 2) row-major) of the identity and of a half turn about x: the rest pose
# of a joint, and a person upright and facing a camera whose y axis points down (the camera-space root)
IDENTITY_6D = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
UPRIGHT_ROOT_6D = (1.0, 0.0, 0.0, -1.0, 0.0, 0.0)


def _rot6d_dense(joints: int, name: str, init: str, rest_6d=IDENTITY_6D):
    """Linear layer to ``joints`` 6D rotations. ``init="hand4whole"``: zero bias and N(0, 0.01) weights
    (Hand4Whole's: each joint starts at a random rotation); ``"rest"``: zero weights and ``rest_6d`` per joint
    as the bias, so every joint starts exactly at ``rest_6d``'s rotation whatever the scale of the features
    (the weights still get gradients from the first step: their inputs are not zero)."""
    if init not in ROTATION_INITS:
        raise ValueError(f"rotation_init must be one of {ROTATION_INITS}, got {init!r}")
    if init == "hand4whole":
        return _dense(6 * joints, name)
    return tf.keras.layers.Dense(6 * joints, kernel_initializer="zeros",
                                 bias_initializer=tf.keras.initializers.Constant(list(rest_6d) * joints), name=name)


def _apply(layers, x, training):
    """Run ``layers`` in order, passing ``training`` to the BatchNorms."""
    for layer in layers:
        x = layer(x, training=training) if isinstance(layer, tf.keras.layers.BatchNormalization) else layer(x)
    return x


class PositionNet(tf.keras.layers.Layer):
    """1x1 conv to J x D heatmaps and 3D soft-argmax.

    (B, H, W, C) -> joints (B, J, 3) in heatmap index units, heatmap (B, H, W, J*D): Hand4Whole's
    ``PositionNet`` returns the heatmap *after* the softmax over H x W x D of each joint (channel
    ``j * D + d``), and that is what BoxNet receives.
    """

    def __init__(self, *, num_joints: int, depth: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.num_joints, self.depth = num_joints, depth
        self.conv = _conv(num_joints * depth, "conv")

    def call(self, features):
        logits = self.conv(features)
        shape = tf.shape(logits)
        volume = tf.reshape(logits, [shape[0], shape[1], shape[2], self.num_joints, self.depth])
        joints = geometry.soft_argmax_3d(volume)
        heatmap = tf.reshape(geometry.volume_softmax(volume), shape)
        return joints, heatmap

    def get_config(self):
        return {**super().get_config(), "num_joints": self.num_joints, "depth": self.depth}


BOXNET_KINDS = ("fp", "binary_deconv", "binary_upsample")


class BoxNet(tf.keras.layers.Layer):
    """Hand and face boxes from the body feature and the body joint heatmap (Hand4Whole's ``BoxNet``).

    concat(feature, soft-maxed joint heatmap) -> 3 up-sampling blocks (256 channels, x2 each) -> 1x1 conv to 3
    centre heatmaps -> 2D soft-argmax; per part (left hand, right hand, face) an MLP Linear 256 -> ReLU ->
    Linear 2 on the feature sampled at its (gradient-stopped) centre gives the box size, with no output
    activation, as in Hand4Whole (a negative size is read as its magnitude when the box is built, see
    ``ops.geometry.box_from_center_size``). Returns centres (B, 3, 2) and sizes (B, 3, 2) in units of the
    up-sampled map (8x the body feature map).

    ``kind`` selects the up-sampling blocks:

    * ``"fp"``: Hand4Whole's, transposed conv 4x4/2 (no bias), BN, ReLU.
    * ``"binary_deconv"``: the paper's "Binarized BoxNet" as its counts read (README, Counts): per block
      ``BN(RPReLU(BinConvT_4x4/2(sign(x + b))) + R(x))``, with a binary 4x4/2 transposed convolution (written
      as one binary 2x2 convolution, ``nn.layers.BinaryConv2DTranspose``, so it converts to ``LceBconv2d``),
      a learnable RSign shift ``b`` per input channel, and a full-precision residual ``R``: nearest x2
      up-sampling, after a 1x1 conv + BN projection where the channels change (the first block, 2048 + J*D
      -> 256).
    * ``"binary_upsample"``: as ``binary_deconv`` with nearest x2 up-sampling followed by a binary 3x3 conv
      in place of the transposed conv (9 / 16 of its binary MACs per output pixel; no border effect).

    What the binarized blocks see of the heatmap: Hand4Whole feeds the *soft-maxed* heatmap (values in
    (0, 1)), whose sign is +1 everywhere, so without a shift a binary conv would see a constant. The RSign
    shift (initialised at 0, learnt) sets a per-channel threshold on it, and the full-precision projection
    residual carries the heatmap's values unbinarized into the first block's output.
    """

    def __init__(self, *, kind: str = "fp", sign: str = "approx", **kwargs):
        kwargs.pop("binary", None)
        super().__init__(**kwargs)
        if kind not in BOXNET_KINDS:
            raise ValueError(f"BoxNet kind must be one of {BOXNET_KINDS}, got {kind!r}")
        self.kind, self.sign = kind, sign
        self.ups, self.projection = [], None
        for i in range(3):
            if kind == "fp":
                self.ups.append([tf.keras.layers.Conv2DTranspose(256, 4, strides=2, padding="same", use_bias=False,
                                                                 kernel_initializer=_conv_init(), name=f"deconv{i}"),
                                 batch_norm(name=f"bn{i}"), tf.keras.layers.ReLU(name=f"relu{i}")])
                continue
            conv = (BinaryConv2DTranspose(256, sign=sign, name=f"binconvT{i}") if kind == "binary_deconv" else
                    _UpsampledBinaryConv(sign=sign, name=f"upbinconv{i}"))
            self.ups.append([LearnableShift(name=f"rsign_shift{i}"), conv, RPReLU(name=f"rprelu{i}")])
        if kind != "fp":
            self.projection = [_conv(256, "residual_conv", use_bias=False), batch_norm(name="residual_bn")]
            self.block_bn = [batch_norm(name=f"bn{i}") for i in range(3)]
            self.upsample = tf.keras.layers.UpSampling2D(2, name="residual_upsample")
        self.center = _conv(3, "bbox_center")
        self.size_mlps = [[_dense(256, f"{p}_size_fc1"), _dense(2, f"{p}_size_fc2")] for p in ("lhand", "rhand", "face")]

    @property
    def binary(self) -> bool:
        return self.kind != "fp"

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, heatmap, training=None):
        x = tf.concat([features, heatmap], -1)
        for i, block in enumerate(self.ups):
            if self.kind == "fp":
                x = _apply(block, x, training)
                continue
            residual = _apply(self.projection, x, training) if i == 0 else x
            x = self.block_bn[i](_apply(block, x, training) + self.upsample(residual), training=training)
        centers = geometry.soft_argmax_2d(self.center(x))  # (B, 3, 2)
        sizes = []
        for k, (fc1, fc2) in enumerate(self.size_mlps):
            f = geometry.sample_features(x, tf.stop_gradient(centers[:, k:k + 1]))[:, 0]
            sizes.append(fc2(tf.nn.relu(fc1(f))))
        return centers, tf.stack(sizes, 1)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "sign": self.sign}


class _UpsampledBinaryConv(tf.keras.layers.Layer):
    """Nearest x2 up-sampling, then a binary 3x3 conv to 256 channels (the deployable BoxNet block)."""

    def __init__(self, *, sign: str = "approx", **kwargs):
        super().__init__(**kwargs)
        self.sign = sign
        self.up = tf.keras.layers.UpSampling2D(2, name="upsample")
        self.conv = binary_conv2d(256, 3, sign=sign, name="binconv")

    def call(self, inputs):
        return self.conv(self.up(inputs))

    def get_config(self):
        return {**super().get_config(), "sign": self.sign}


def _conv_bn_relu(filters, name):
    return [_conv(filters, f"{name}_conv"), batch_norm(name=f"{name}_bn"), tf.keras.layers.ReLU(name=f"{name}_relu")]


class BodyRotationNet(tf.keras.layers.Layer):
    """Body pose, shape and camera (Hand4Whole's body ``RotationNet``).

    A body 1x1 conv (C -> 512, BN, ReLU) of the body feature is sampled at the 25 body joints; a left-hand
    and a right-hand 1x1 conv of the *hand backbone's* features (each hand's own map, the left one flipped
    back) are sampled at that hand's 4 MCP joints (hand-heatmap units). Each sample is concatenated with its
    (x, y, z) (515 values). Linear heads: root pose (6D), 21 body joints (6D each). Shape (10) and camera (3)
    come from the global-average-pooled body feature.

    call(body_features (B, h, w, C), body_joints (B, 25, 3), lhand_features (B, h', w', C'),
    lhand_mcp (B, 4, 3), rhand_features, rhand_mcp) -> root (B, 3), body pose (B, 63) axis-angle,
    betas (B, 10), cam (B, 3).
    """

    def __init__(self, *, num_betas: int = NUM_BETAS, rotation_init: str = "hand4whole", **kwargs):
        super().__init__(**kwargs)
        self.num_betas, self.rotation_init = num_betas, rotation_init
        self.body_conv = _conv_bn_relu(512, "body")
        self.lhand_conv = _conv_bn_relu(512, "lhand")
        self.rhand_conv = _conv_bn_relu(512, "rhand")
        self.root_out = _rot6d_dense(1, "root_pose_out", rotation_init, UPRIGHT_ROOT_6D)
        self.pose_out = _rot6d_dense(BODY_POSE_JOINTS, "body_pose_out", rotation_init)
        self.shape_out = _dense(num_betas, "shape_out")
        self.cam_out = _dense(3, "cam_out")

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, body_joints, lhand_features, lhand_mcp, rhand_features, rhand_mcp, training=None):
        tokens = []
        for convs, feat, joints in ((self.body_conv, features, body_joints), (self.lhand_conv, lhand_features, lhand_mcp),
                                    (self.rhand_conv, rhand_features, rhand_mcp)):
            f = geometry.sample_features(_apply(convs, feat, training), joints[..., :2])
            tokens.append(tf.concat([f, joints], -1))
        x = tf.concat(tokens, 1)
        x = tf.reshape(x, [-1, x.shape[1] * x.shape[2]])
        root = rot6d_to_axis_angle(self.root_out(x))
        pose = tf.reshape(rot6d_to_axis_angle(tf.reshape(self.pose_out(x), [-1, BODY_POSE_JOINTS, 6])),
                          [-1, 3 * BODY_POSE_JOINTS])
        gap = tf.reduce_mean(features, [1, 2])
        return root, pose, self.shape_out(gap), self.cam_out(gap)

    def get_config(self):
        return {**super().get_config(), "num_betas": self.num_betas, "rotation_init": self.rotation_init}


class HandRotationNet(tf.keras.layers.Layer):
    """Hand pose: 1x1 conv 2048 -> 512 (BN, ReLU), sampled at the 20 hand joints + xyz -> 15 joints (6D)."""

    def __init__(self, *, rotation_init: str = "hand4whole", **kwargs):
        super().__init__(**kwargs)
        self.rotation_init = rotation_init
        self.hand_conv = _conv_bn_relu(512, "hand")
        self.pose_out = _rot6d_dense(NUM_HAND_JOINTS, "hand_pose_out", rotation_init)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, joints, training=None):
        f = geometry.sample_features(_apply(self.hand_conv, features, training), joints[..., :2])
        x = tf.concat([f, joints], -1)
        x = tf.reshape(x, [-1, x.shape[1] * x.shape[2]])
        return tf.reshape(rot6d_to_axis_angle(tf.reshape(self.pose_out(x), [-1, NUM_HAND_JOINTS, 6])),
                          [-1, 3 * NUM_HAND_JOINTS])

    def get_config(self):
        return {**super().get_config(), "rotation_init": self.rotation_init}


class FaceRegressor(tf.keras.layers.Layer):
    """Expression (10) and jaw pose (6D -> axis-angle) from the global-average-pooled face feature."""

    def __init__(self, *, num_expression: int = NUM_EXPRESSION, rotation_init: str = "hand4whole", **kwargs):
        super().__init__(**kwargs)
        self.num_expression, self.rotation_init = num_expression, rotation_init
        self.expr_out = _dense(num_expression, "expr_out")
        self.jaw_out = _rot6d_dense(1, "jaw_pose_out", rotation_init)

    def call(self, features):
        gap = tf.reduce_mean(features, [1, 2])
        return self.expr_out(gap), rot6d_to_axis_angle(self.jaw_out(gap))

    def get_config(self):
        return {**super().get_config(), "num_expression": self.num_expression, "rotation_init": self.rotation_init}
