"""BatchNorm statistics of a built model: calibration on a batch of inputs."""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401


def calibrate_batchnorm(model: tf.keras.Model, images) -> None:
    """Set every BatchNorm's moving statistics to the batch statistics of one forward pass on ``images``.

    An untrained model's BatchNorms are identities (mean 0, variance 1), so activations of a deep residual
    network grow without bound and any comparison of two implementations is meaningless. Calibrating
    gives the activation ranges of a trained network. Each BN sees the statistics of inputs normalised by
    the BNs before it, exactly as in inference afterwards.
    """
    bns = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    try:
        for bn in bns:
            bn.momentum = 0.0
        model(tf.convert_to_tensor(images, tf.float32), training=True)
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m


def precise_batchnorm(model: tf.keras.Model, batches) -> int:
    """Re-estimate every BatchNorm's moving statistics as the average of its batch statistics over
    ``batches`` (an iterable of input images; "precise BN", Wu & Johnson 2021): after a short training run
    the moving averages (momentum 0.99) still remember the first steps' statistics, so evaluating with them
    measures stale normalisation rather than the weights. Pass ``k`` (from 0) sets momentum ``k / (k + 1)``,
    which makes the moving value the running mean of the ``k + 1`` batch statistics seen. Returns the number
    of batches used."""
    bns = [m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)]
    saved = [bn.momentum for bn in bns]
    k = 0
    try:
        for images in batches:
            for bn in bns:
                bn.momentum = k / (k + 1)
            model(tf.convert_to_tensor(images, tf.float32), training=True)
            k += 1
    finally:
        for bn, m in zip(bns, saved):
            bn.momentum = m
    if k == 0:
        raise ValueError("precise_batchnorm needs at least one batch")
    return k
