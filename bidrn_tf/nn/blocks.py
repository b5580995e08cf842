"""BiDRB building blocks: Base LCR, G-DScR, G-FUR, G-FDR, G-DSaR, the Block Residual (BR), and the plain
binary unit that stands in for a switched-off derived module in the ablations.

Notation (seed appendix B): ``a_f`` is the full-precision activation entering a module, ``sign`` the
activation binarizer (with Hardtanh pre-activation folded into its gradient, see ``quantizers``),
``BinConv`` a convolution with binary weights and inputs (one ``LceBconv2d`` after conversion), ``tau``
the reshape parameter (the network uses 1 and 2; any integer >= 1 works). Tensors are NHWC.

Design choices where the paper is silent, each a switch (``bidrn_tf.models.config.BiDRNConfig``):

* ``branch_bn``: inside G-FUR / G-FDR / G-DSaR each of the ``2 tau`` branches is a whole Base LCR ending with
  its own BatchNorm and the branches are merged without another one (True), or the branches carry no BN and
  one BatchNorm follows the concat / sum (False, the literal reading of seed eqs. 9, 10, 12). For a concat
  the two are the same function (BatchNorm is per channel); for G-FDR's sum they are not.
* ``rsign_shift``: ``sign(a_f + b)`` with a learnable per-channel ``b`` (ReActNet's RSign) in front of every
  binary conv; the full-precision shortcut carries the unshifted ``a_f``.

``depthwise=True`` makes a module's binary convolutions depthwise (channels kept; MobileNetV1's 3x3
convolutions): Base LCR and G-DScR, and G-FUR / G-FDR / G-DSaR through their Base LCR branches.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.nn.layers import (LearnableShift, batch_norm, binary_conv2d, binary_depthwise_conv2d, fp_conv_initializer,
                                redistribution)
from bidrn_tf.nn.quantizers import make_sign, make_weight_quantizer


class _BinaryModule(tf.keras.layers.Layer):
    """Shared constructor / config of the BiDRB modules (binarizer, weight binarizer, redistribution)."""

    def __init__(
        self,
        *,
        kernel_size: int = 3,
        sign: str = "approx",
        weight_quantizer: str = "scaled_sign",
        redistribution: str = "rprelu",
        rsign_shift: bool = False,
        depthwise: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.depthwise = bool(depthwise)
        self.kernel_size = int(kernel_size)
        self.sign = sign
        self.weight_quantizer = weight_quantizer
        self.redistribution = redistribution
        self.rsign_shift = bool(rsign_shift)

    def _binary_args(self):
        return dict(kernel_size=self.kernel_size, sign=self.sign, weight_quantizer=self.weight_quantizer,
                    redistribution=self.redistribution, rsign_shift=self.rsign_shift, depthwise=self.depthwise)

    def _binary_conv(self, filters: int, in_channels: int, strides: int = 1):
        """The module's binarized convolution: a full one, or (``depthwise``) a depthwise one, which keeps
        the channels (MobileNetV1's 3x3 convolutions)."""
        if not self.depthwise:
            return binary_conv2d(filters, self.kernel_size, strides=strides, sign=self.sign,
                                 weight_quantizer=self.weight_quantizer, name="binconv")
        if filters != in_channels:
            raise ValueError(f"{self.name}: a depthwise module keeps the channels ({in_channels}), asked for {filters}")
        return binary_depthwise_conv2d(self.kernel_size, strides=strides, sign=self.sign,
                                       weight_quantizer=self.weight_quantizer, name="binconv")

    def _make_shift(self):
        self.shift = LearnableShift(name="rsign_shift") if self.rsign_shift else None

    def _binary_input(self, inputs):
        return self.shift(inputs) if self.shift is not None else inputs

    def get_config(self):
        return {**super().get_config(), **self._binary_args()}


def _check_tau(tau) -> int:
    if int(tau) != tau or tau < 1:
        raise ValueError(f"reshape parameter tau must be an integer >= 1, got {tau!r}")
    return int(tau)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class BaseLCR(_BinaryModule):
    """Local Convolution Residual: o' = BN(RPReLU(BinConv(sign(a_f))) + a_f)  (with ``rsign_shift``:
    sign(a_f + b)).

    Every binarized convolution carries its own full-precision shortcut, so the real-valued activation
    ``a_f`` bypasses the information loss of binarization. Channels and spatial size are kept:
    (B, H, W, C) -> (B, H, W, C). ``batch_norm=False`` drops the trailing BN (used inside G-modules).
    """

    def __init__(self, *, batch_norm: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.batch_norm = bool(batch_norm)

    def build(self, input_shape):
        c = int(input_shape[-1])
        self._make_shift()
        self.conv = self._binary_conv(c, c)
        self.act = redistribution(self.redistribution, name="redistribution")
        self.bn = batch_norm(name="bn") if self.batch_norm else None
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        out = self.act(self.conv(self._binary_input(inputs))) + inputs
        return self.bn(out, training=training) if self.bn is not None else out

    def get_config(self):
        return {**super().get_config(), "batch_norm": self.batch_norm}


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class GDScR(_BinaryModule):
    """General Down Scale Residual (seed eq. 8): spatial size / 2 tau, channels kept.

    o = BinConv_{stride 2 tau}(sign(a_f));  o' = BN(RPReLU(o) + AvgPool_{2 tau}(a_f)).
    (B, H, W, C) -> (B, ceil(H / 2 tau), ceil(W / 2 tau), C).
    """

    def __init__(self, *, tau: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.tau = _check_tau(tau)

    def build(self, input_shape):
        c, s = int(input_shape[-1]), 2 * self.tau
        self._make_shift()
        self.conv = self._binary_conv(c, c, strides=s)
        self.act = redistribution(self.redistribution, name="redistribution")
        self.pool = tf.keras.layers.AveragePooling2D(s, s, padding="same", name="avgpool")
        self.bn = batch_norm(name="bn")
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        return self.bn(self.act(self.conv(self._binary_input(inputs))) + self.pool(inputs), training=training)

    def get_config(self):
        return {**super().get_config(), "tau": self.tau}


class _ParallelLCRs(_BinaryModule):
    """2 tau distinct Base LCRs and the merge's BatchNorm (see ``branch_bn``); shared by FUR, FDR, DSaR."""

    def __init__(self, *, tau: int = 1, branch_bn: bool = False, **kwargs):
        kwargs.setdefault("kernel_size", 1)
        super().__init__(**kwargs)
        self.tau = _check_tau(tau)
        self.branch_bn = bool(branch_bn)

    def _make_branches(self):
        self.branches = [
            BaseLCR(batch_norm=self.branch_bn, **self._binary_args(), name=f"lcr_{k + 1}")
            for k in range(2 * self.tau)
        ]
        self.bn = None if self.branch_bn else batch_norm(name="bn")

    def _merged(self, merged, training):
        return merged if self.bn is None else self.bn(merged, training=training)

    def get_config(self):
        return {**super().get_config(), "tau": self.tau, "branch_bn": self.branch_bn}


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class GFUR(_ParallelLCRs):
    """General Fusion Up Residual (seed eq. 9): channels x 2 tau, spatial size kept.

    o'_k = BaseLCR_k(a_f), k = 1..2 tau (distinct weights);  o' = BN(Concat(o'_1, ..., o'_{2 tau}))
    (``branch_bn``: each BaseLCR_k ends with its BN and the concat is the output).
    (B, H, W, C) -> (B, H, W, 2 tau C). Default kernel 1x1 (ResNet-50's expanding 1x1 conv).
    """

    def build(self, input_shape):
        self._make_branches()
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        return self._merged(tf.concat([b(inputs, training=training) for b in self.branches], axis=-1), training)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class GFDR(_ParallelLCRs):
    """General Fusion Down Residual (seed eq. 10): channels / 2 tau, spatial size kept.

    Split a_f channel-wise into 2 tau groups g_k;  o'_k = BaseLCR_k(g_k);  o' = BN(sum_k o'_k)
    (``branch_bn``: o' = sum_k BN_k(...), each BaseLCR_k with its own BN, which rescales the branches before
    they are added).
    (B, H, W, C) -> (B, H, W, C / 2 tau); C must be divisible by 2 tau.
    """

    def build(self, input_shape):
        c = int(input_shape[-1])
        if c % (2 * self.tau):
            raise ValueError(f"G-FDR with tau={self.tau} needs channels divisible by {2 * self.tau}, got {c}")
        self._make_branches()
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        groups = tf.split(inputs, 2 * self.tau, axis=-1)
        return self._merged(tf.add_n([b(g, training=training) for b, g in zip(self.branches, groups)]), training)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class GDSaR(_ParallelLCRs):
    """General Down Sample Residual (seed eqs. 11-12): spatial / 2 tau and channels x 2 tau.

    p = AvgPool_{2 tau}(a_f);  o'_k = BaseLCR_k(p);  o' = BN(Concat(o'_1, ..., o'_{2 tau}))
    (``branch_bn``: each BaseLCR_k ends with its BN).
    (B, H, W, C) -> (B, ceil(H / 2 tau), ceil(W / 2 tau), 2 tau C). Default kernel 3x3 (ResNet-18).
    """

    def __init__(self, *, tau: int = 1, **kwargs):
        kwargs.setdefault("kernel_size", 3)
        super().__init__(tau=tau, **kwargs)

    def build(self, input_shape):
        s = 2 * self.tau
        self.pool = tf.keras.layers.AveragePooling2D(s, s, padding="same", name="avgpool")
        self._make_branches()
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        p = self.pool(inputs)
        return self._merged(tf.concat([b(p, training=training) for b in self.branches], axis=-1), training)


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class BlockResidual(tf.keras.layers.Layer):
    """Block Residual (BR): a full-precision shortcut around a whole BiDRB.

    Called as ``BlockResidual(...)([block_input, block_output])`` it returns
    ``block_output + shortcut(block_input)``. The shortcut is the identity when shapes match; otherwise
    (down-sampling or channel change) a full-precision 1x1 convolution with the block's stride followed by
    BatchNorm (the reviewers' reading of the paper's figure; ``mode="binary"`` binarizes that 1x1 conv
    instead, with the block's ``sign`` and ``weight_quantizer``; ``mode="avgpool"`` uses AvgPool +
    full-precision 1x1 conv as in Bi-Real; ``mode="duplicate"`` is parameter-free: AvgPool with the block's
    stride, then the channels repeated ``filters / C_in`` times, as ReActNet's MobileNet doubles channels).
    ``mode="none"`` switches the Block Residual off: the block's output is returned as it is (seed Fig. 6
    ablation).
    """

    MODES = ("fp", "binary", "avgpool", "duplicate", "none")

    def __init__(self, *, filters: int, strides: int = 1, mode: str = "fp", fp_init: str = "hand4whole",
                 sign: str = "approx", weight_quantizer: str = "scaled_sign", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"BlockResidual mode must be one of {self.MODES}, got {mode!r}")
        fp_conv_initializer(fp_init)  # checks the name
        make_sign(sign), make_weight_quantizer(weight_quantizer)  # check the names (used by mode="binary")
        self.filters, self.strides, self.mode, self.fp_init = int(filters), int(strides), mode, fp_init
        self.sign, self.weight_quantizer = sign, weight_quantizer

    def build(self, input_shape):
        in_shape = input_shape[0]
        self.project = self.mode != "none" and (self.strides != 1 or int(in_shape[-1]) != self.filters)
        self.pool = self.conv = self.bn = None
        if self.project:
            pooled = self.mode in ("avgpool", "duplicate")
            conv_stride = 1 if pooled else self.strides
            self.pool = (tf.keras.layers.AveragePooling2D(self.strides, self.strides, padding="same")
                         if pooled and self.strides > 1 else None)
            if self.mode == "duplicate":
                self.repeats = self.filters // int(in_shape[-1])
                if self.repeats * int(in_shape[-1]) != self.filters:
                    raise ValueError(f"BlockResidual mode 'duplicate' needs {self.filters} output channels to be a "
                                     f"multiple of the {int(in_shape[-1])} input channels")
                super().build(input_shape)
                return
            if self.mode == "binary":
                self.conv = binary_conv2d(self.filters, 1, strides=conv_stride, sign=self.sign,
                                          weight_quantizer=self.weight_quantizer, name="shortcut_binconv")
            else:
                self.conv = tf.keras.layers.Conv2D(
                    self.filters, 1, strides=conv_stride, use_bias=False, name="shortcut_conv",
                    kernel_initializer=fp_conv_initializer(self.fp_init))
            self.bn = batch_norm(name="shortcut_bn")
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        x, body = inputs
        if self.mode == "none":
            return body
        if not self.project:
            return body + x
        if self.pool is not None:
            x = self.pool(x)
        if self.mode == "duplicate":
            return body + tf.concat([x] * self.repeats, axis=-1)
        return body + self.bn(self.conv(x), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides, "mode": self.mode,
                "fp_init": self.fp_init, "sign": self.sign, "weight_quantizer": self.weight_quantizer}


@tf.keras.utils.register_keras_serializable(package="bidrn_tf")
class PlainBinaryUnit(_BinaryModule):
    """What stands in for a derived module that is switched off (seed Fig. 6 break-down):
    o' = BN(RPReLU(BinConv_{stride, filters}(sign(a_f)))), with no shortcut of its own.

    (B, H, W, C) -> (B, ceil(H / strides), ceil(W / strides), filters).
    """

    def __init__(self, *, filters: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = int(filters), int(strides)

    def build(self, input_shape):
        self._make_shift()
        self.conv = self._binary_conv(self.filters, int(input_shape[-1]), strides=self.strides)
        self.act = redistribution(self.redistribution, name="redistribution")
        self.bn = batch_norm(name="bn")
        super().build(input_shape)

    @tf.autograph.experimental.do_not_convert  # plain Python control flow: see nn/__init__.py
    def call(self, inputs, training=None):
        return self.bn(self.act(self.conv(self._binary_input(inputs))), training=training)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}
