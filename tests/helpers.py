"""Shared test helpers: build a Keras model around a layer, convert with LCE, compare outputs."""
import numpy as np
import tensorflow as tf

from bidrn_tf import deploy


def wrap(layer_fn, input_shape):
    inp = tf.keras.Input(input_shape)
    return tf.keras.Model(inp, layer_fn(inp))


def keras_vs_lce(model, rng, n=2, calibrate=True):
    """Returns (census, keras output, LCE output) on random normal input of the model's shape."""
    shape = tuple(model.input.shape[1:])
    if calibrate:
        deploy.calibrate_batchnorm(model, rng.normal(size=(8,) + shape))
    x = rng.normal(size=(n,) + shape).astype(np.float32)
    fb = deploy.convert(model)
    return deploy.op_census(fb), model(x, training=False).numpy(), deploy.run_tflite(fb, x)[0]
