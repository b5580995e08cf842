"""Feature distillation from a trained whole-body model (``TrainConfig.teacher`` / ``--teacher``): an option of
training, off by default. The paper trains BiDRN without a teacher; Real-to-Binary and ReActNet train their BNNs
from a full-precision one, and the yaw probe (``apps.yaw_probe``) measured what it does on the generated people.

Choices (the paper is silent; README "Distillation"):

* **What is matched: the body features**, what the body heads read (``WholeBody.body_features``: the body
  backbone's output, through its feature BatchNorm when ``ModelConfig.feature_bn``), of the teacher in inference
  mode. Only the body: the body backbone of both networks sees the same resized image, while the hand and face
  backbones see crops cut at each network's own predicted boxes, which differ.
* **How** (FitNets' hint): a 1x1 convolution of the student's features (``hint_layer``, full precision, used in
  training only and not part of the exported model) regresses the teacher's features standardized per channel
  over the batch and positions (``standardize_per_channel``); the loss is their mean squared error
  (``hint_loss``), so 1.0 is predicting each channel's batch mean, whatever the teacher's scale.
* **The teacher**: any run's final weights (``<run>/final/weights``), usually a full-precision one; its body input
  size must be the student's, so the two feature maps are the same size. Its weights are frozen.
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401

#: the student output that is distilled (``build_model(include_features=True)``)
FEATURES = "body_features"


def check_distillation(teacher: str | None, distill_weight: float) -> None:
    """A ``ValueError`` unless ``distill_weight`` is a finite number >= 0 that is > 0 exactly when a ``teacher`` is
    given: the one check of the two settings, for training, the comparison and the yaw probe."""
    import math

    w = distill_weight
    if isinstance(w, bool) or not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
        raise ValueError(f"distill_weight must be a finite number >= 0, got {w!r}")
    if bool(w) != bool(teacher):
        raise ValueError(f"distillation needs both a teacher and distill_weight > 0, got teacher={teacher!r}, "
                         f"distill_weight={w!r}")


def check_teacher(path: str, *, model_config) -> dict:
    """The teacher checkpoint's metadata, checked before any slow work: it loads
    (``models.checkpoints.read_meta``) and its body input size is ``model_config.body_hw`` (``ValueError``)."""
    from bidrn_tf.models.checkpoints import read_meta

    meta = read_meta(path)
    hw = tuple((meta.get("model_config") or {}).get("body_hw") or ())
    if hw != tuple(model_config.body_hw):
        raise ValueError(f"teacher {path!r} reads the body at {hw or 'an unrecorded size'}, the student at "
                         f"{tuple(model_config.body_hw)}: distillation needs feature maps of the same size")
    return meta


def load_teacher(path: str, *, model_config):
    """A function images (B, H, W, 3) -> the teacher's body features (B, h, w, C), in inference mode, from the
    frozen model of checkpoint ``path`` (:func:`check_teacher` first)."""
    from bidrn_tf.models.checkpoints import load_trained

    check_teacher(path, model_config=model_config)
    teacher = load_trained(path, include_smplx=False)
    teacher.trainable = False
    body = teacher.get_layer("whole_body")
    return lambda images: body.body_features(images, training=False)


def hint_layer(channels: int) -> tf.keras.layers.Layer:
    """FitNets' hint: a 1x1 convolution (with bias) to the teacher's ``channels``."""
    return tf.keras.layers.Conv2D(channels, 1, name="distill_hint")


def standardize_per_channel(features, epsilon: float = 1e-3):
    """(B, h, w, C) -> the same, each channel centred and scaled to unit variance over the batch and positions
    (``epsilon`` added to the variance)."""
    mean, variance = tf.nn.moments(features, axes=[0, 1, 2], keepdims=True)
    return (features - mean) * tf.math.rsqrt(variance + epsilon)


def hint_loss(hinted, teacher_features):
    """Mean squared error between the student's hinted features (B, h, w, C) and the teacher's standardized ones
    (:func:`standardize_per_channel`); no gradient reaches the teacher."""
    target = tf.stop_gradient(standardize_per_channel(teacher_features))
    return tf.reduce_mean(tf.square(hinted - target))
