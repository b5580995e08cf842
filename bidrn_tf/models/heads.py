"""Hand4Whole's Pose2Pose heads as Keras layers: PositionNet, BoxNet, RotationNets, FaceRegressor.

Sizes follow Hand4Whole's public code (SPEC section 2); with ``binary=False`` the parameter counts are
exactly Hand4Whole's (77,842,256 for the whole FP model, tested). ``BoxNet(binary=True)`` is the
"Binarized BoxNet": each transposed convolution becomes a 2x nearest upsampling followed by a binarized 3x3
convolution (LCE has no binary transposed convolution), BN and RPReLU.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.nn.layers import RPReLU, batch_norm, binary_conv2d
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


def _conv(filters, name, kernel=1):
    return tf.keras.layers.Conv2D(filters, kernel, padding="same", kernel_initializer=_conv_init(), name=name)


def _dense(units, name):
    return tf.keras.layers.Dense(units, kernel_initializer=_dense_init(), name=name)


def _apply(layers, x, training):
    """Run ``layers`` in order, passing ``training`` to the BatchNorms."""
    for layer in layers:
        x = layer(x, training=training) if isinstance(layer, tf.keras.layers.BatchNormalization) else layer(x)
    return x


class PositionNet(tf.keras.layers.Layer):
    """1x1 conv to J x D heatmaps and 3D soft-argmax. (B, H, W, C) -> joints (B, J, 3), heatmap (B, H, W, J*D)."""

    def __init__(self, *, num_joints: int, depth: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.num_joints, self.depth = num_joints, depth
        self.conv = _conv(num_joints * depth, "conv")

    def call(self, features):
        hm = self.conv(features)
        shape = tf.shape(hm)
        joints = geometry.soft_argmax_3d(tf.reshape(hm, [shape[0], shape[1], shape[2], self.num_joints, self.depth]))
        return joints, hm

    def get_config(self):
        return {**super().get_config(), "num_joints": self.num_joints, "depth": self.depth}


class BoxNet(tf.keras.layers.Layer):
    """Hand and face boxes from the body feature and the body joint heatmap.

    concat(feature, heatmap) -> 3 x (deconv 4x4/2 | upsample + binary conv 3x3) 256 ch, BN, ReLU/RPReLU
    -> 1x1 conv to 3 centre heatmaps -> 2D soft-argmax; per part an MLP 256-256-2 on the feature sampled
    at its centre gives the box size. Returns centres (B, 3, 2) and sizes (B, 3, 2) in units of the
    upsampled map (8x the body feature map), order: left hand, right hand, face.
    """

    def __init__(self, *, binary: bool = False, sign: str = "approx", **kwargs):
        super().__init__(**kwargs)
        self.binary, self.sign = binary, sign
        self.ups = []
        for i in range(3):
            if binary:
                self.ups.append([tf.keras.layers.UpSampling2D(2, name=f"up{i}"),
                                 binary_conv2d(256, 3, sign=sign, name=f"binconv{i}"),
                                 batch_norm(name=f"bn{i}"), RPReLU(name=f"rprelu{i}")])
            else:
                self.ups.append([tf.keras.layers.Conv2DTranspose(256, 4, strides=2, padding="same", use_bias=False,
                                                                 kernel_initializer=_conv_init(), name=f"deconv{i}"),
                                 batch_norm(name=f"bn{i}"), tf.keras.layers.ReLU(name=f"relu{i}")])
        self.center = _conv(3, "bbox_center")
        self.size_mlps = [[_dense(256, f"{p}_size_fc1"), _dense(2, f"{p}_size_fc2")] for p in ("lhand", "rhand", "face")]

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, heatmap, training=None):
        x = tf.concat([features, heatmap], -1)
        for block in self.ups:
            x = _apply(block, x, training)
        centers = geometry.soft_argmax_2d(self.center(x))  # (B, 3, 2)
        sizes = []
        for k, (fc1, fc2) in enumerate(self.size_mlps):
            f = geometry.sample_features(x, centers[:, k:k + 1])[:, 0]
            sizes.append(tf.nn.softplus(fc2(tf.nn.relu(fc1(f)))))
        return centers, tf.stack(sizes, 1)

    def get_config(self):
        return {**super().get_config(), "binary": self.binary, "sign": self.sign}


def _conv_bn_relu(filters, name):
    return [_conv(filters, f"{name}_conv"), batch_norm(name=f"{name}_bn"), tf.keras.layers.ReLU(name=f"{name}_relu")]


class BodyRotationNet(tf.keras.layers.Layer):
    """Body pose, shape and camera from joint-sampled features.

    Body, left-hand and right-hand 1x1 conv (2048 -> 512, BN, ReLU) maps of the body feature are sampled at
    the 25 body joints and the 4 MCP joints of each hand; each sample is concatenated with its (x, y, z)
    (515 values). Linear heads: root pose (6D), 21 body joints (6D each). Shape (10) and camera (3) come
    from the global-average-pooled feature. Returns root (B, 3), body pose (B, 63) axis-angle, betas, cam.
    """

    def __init__(self, *, num_betas: int = NUM_BETAS, **kwargs):
        super().__init__(**kwargs)
        self.num_betas = num_betas
        self.body_conv = _conv_bn_relu(512, "body")
        self.lhand_conv = _conv_bn_relu(512, "lhand")
        self.rhand_conv = _conv_bn_relu(512, "rhand")
        self.root_out = _dense(6, "root_pose_out")
        self.pose_out = _dense(BODY_POSE_JOINTS * 6, "body_pose_out")
        self.shape_out = _dense(num_betas, "shape_out")
        self.cam_out = _dense(3, "cam_out")

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, body_joints, lhand_mcp, rhand_mcp, training=None):
        tokens = []
        for convs, joints in ((self.body_conv, body_joints), (self.lhand_conv, lhand_mcp), (self.rhand_conv, rhand_mcp)):
            f = geometry.sample_features(_apply(convs, features, training), joints[..., :2])
            tokens.append(tf.concat([f, joints], -1))
        x = tf.concat(tokens, 1)
        x = tf.reshape(x, [-1, x.shape[1] * x.shape[2]])
        root = rot6d_to_axis_angle(self.root_out(x))
        pose = tf.reshape(rot6d_to_axis_angle(tf.reshape(self.pose_out(x), [-1, BODY_POSE_JOINTS, 6])),
                          [-1, 3 * BODY_POSE_JOINTS])
        gap = tf.reduce_mean(features, [1, 2])
        return root, pose, self.shape_out(gap), self.cam_out(gap)

    def get_config(self):
        return {**super().get_config(), "num_betas": self.num_betas}


class HandRotationNet(tf.keras.layers.Layer):
    """Hand pose: 1x1 conv 2048 -> 512 (BN, ReLU), sampled at the 20 hand joints + xyz -> 15 joints (6D)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hand_conv = _conv_bn_relu(512, "hand")
        self.pose_out = _dense(NUM_HAND_JOINTS * 6, "hand_pose_out")

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, features, joints, training=None):
        f = geometry.sample_features(_apply(self.hand_conv, features, training), joints[..., :2])
        x = tf.concat([f, joints], -1)
        x = tf.reshape(x, [-1, x.shape[1] * x.shape[2]])
        return tf.reshape(rot6d_to_axis_angle(tf.reshape(self.pose_out(x), [-1, NUM_HAND_JOINTS, 6])),
                          [-1, 3 * NUM_HAND_JOINTS])


class FaceRegressor(tf.keras.layers.Layer):
    """Expression (10) and jaw pose (6D -> axis-angle) from the global-average-pooled face feature."""

    def __init__(self, *, num_expression: int = NUM_EXPRESSION, **kwargs):
        super().__init__(**kwargs)
        self.num_expression = num_expression
        self.expr_out = _dense(num_expression, "expr_out")
        self.jaw_out = _dense(6, "jaw_pose_out")

    def call(self, features):
        gap = tf.reduce_mean(features, [1, 2])
        return self.expr_out(gap), rot6d_to_axis_angle(self.jaw_out(gap))

    def get_config(self):
        return {**super().get_config(), "num_expression": self.num_expression}
