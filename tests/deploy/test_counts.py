import larq as lq
import pytest
import tensorflow as tf

from bidrn_tf.deploy.counts import profile


def _tiny():
    i = tf.keras.Input((10, 10, 8))
    x = tf.keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(i)            # FP
    x = tf.keras.layers.BatchNormalization()(x)                                     # 32 params counted
    b = lq.layers.QuantConv2D(4, 1, input_quantizer="ste_sign", kernel_quantizer="ste_sign",
                              use_bias=False)(x)                                    # binary
    w = lq.layers.QuantConv2D(4, 3, strides=2, padding="same", kernel_quantizer="ste_sign",
                              use_bias=False)(x)                                    # binary weights only
    t = tf.keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same", use_bias=False)(w)
    y = tf.keras.layers.GlobalAveragePooling2D()(tf.keras.layers.Concatenate()([b, t]))
    y = tf.keras.layers.Dense(3)(y)                                                 # 6*3 + 3
    return tf.keras.Model(i, y)


def test_counts_match_hand_computed_values():
    p = profile(_tiny())
    fp_conv = 3 * 3 * 8 * 16
    bin_conv = 1 * 1 * 16 * 4
    w_only = 3 * 3 * 16 * 4
    deconv = 4 * 4 * 4 * 2
    dense = 6 * 3 + 3
    assert p.binary_params == bin_conv + w_only
    assert p.fp_params == fp_conv + 2 * 16 + deconv + dense
    assert p.binary_macs == bin_conv * 100                         # 10x10 output
    assert p.fp_macs == fp_conv * 100 + w_only * 25 + deconv * 25 + 6 * 3  # deconv: per input pixel (5x5)
    assert p.params_m == pytest.approx(((bin_conv + w_only) / 32 + p.fp_params) / 1e6)
    assert p.ops_g == pytest.approx((bin_conv * 100 / 64 + p.fp_macs) / 1e9)


def test_profile_leaves_the_model_untouched():
    model = _tiny()
    before = [type(m).call for m in model.submodules]
    profile(model)
    assert all("wrapped" not in getattr(m.call, "__name__", "") for m in model.submodules)
    assert before == [type(m).call for m in model.submodules]
