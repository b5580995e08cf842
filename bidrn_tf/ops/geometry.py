"""Differentiable geometry of the Pose2Pose heads: soft-argmax, feature sampling, boxes, camera.

Coordinates are (x, y[, z]) in *index units* of the tensor they come from: x in [0, W - 1], y in [0, H - 1].
"""
from __future__ import annotations

import tensorflow as tf

import bidrn_tf  # noqa: F401


def volume_softmax(heatmap: tf.Tensor) -> tf.Tensor:
    """heatmap (B, H, W, J, D) logits -> probabilities of the same shape, softmax over H x W x D per joint."""
    shape = tf.shape(heatmap)
    h, w, j, d = heatmap.shape[1], heatmap.shape[2], heatmap.shape[3], heatmap.shape[4]
    x = tf.reshape(tf.transpose(heatmap, [0, 3, 1, 2, 4]), [shape[0], j, -1])  # (B, J, H*W*D)
    prob = tf.reshape(tf.nn.softmax(x, -1), [shape[0], j, h, w, d])
    return tf.transpose(prob, [0, 2, 3, 1, 4])


def soft_argmax_3d(heatmap: tf.Tensor) -> tf.Tensor:
    """heatmap (B, H, W, J, D) logits -> (B, J, 3) expected (x, y, z) under softmax over H x W x D."""
    prob = volume_softmax(heatmap)
    h, w, d = heatmap.shape[1], heatmap.shape[2], heatmap.shape[4]
    ys = tf.reduce_sum(tf.reduce_sum(prob, [2, 4]) * tf.range(h, dtype=prob.dtype)[:, None], 1)
    xs = tf.reduce_sum(tf.reduce_sum(prob, [1, 4]) * tf.range(w, dtype=prob.dtype)[:, None], 1)
    zs = tf.reduce_sum(tf.reduce_sum(prob, [1, 2]) * tf.range(d, dtype=prob.dtype), -1)
    return tf.stack([xs, ys, zs], -1)


def soft_argmax_2d(heatmap: tf.Tensor) -> tf.Tensor:
    """heatmap (B, H, W, J) logits -> (B, J, 2) expected (x, y)."""
    return soft_argmax_3d(heatmap[..., None])[..., :2]


def sample_features(features: tf.Tensor, xy: tf.Tensor) -> tf.Tensor:
    """Bilinear samples. features (B, H, W, C), xy (B, N, 2) in index units -> (B, N, C).

    Points outside the map are clamped to its border.
    """
    h, w = tf.shape(features)[1], tf.shape(features)[2]
    x = tf.clip_by_value(xy[..., 0], 0.0, tf.cast(w - 1, xy.dtype))
    y = tf.clip_by_value(xy[..., 1], 0.0, tf.cast(h - 1, xy.dtype))
    x0, y0 = tf.floor(x), tf.floor(y)
    x1 = tf.minimum(x0 + 1, tf.cast(w - 1, xy.dtype))
    y1 = tf.minimum(y0 + 1, tf.cast(h - 1, xy.dtype))
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]

    def at(yy, xx):
        idx = tf.stack([tf.cast(yy, tf.int32), tf.cast(xx, tf.int32)], -1)
        return tf.gather_nd(features, idx, batch_dims=1)

    return ((1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1))
            + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1)))


def box_from_center_size(center: tf.Tensor, size: tf.Tensor, *, aspect: float, extension: float) -> tf.Tensor:
    """center (B, 2), size (B, 2) -> (B, 4) xyxy box widened to ``aspect`` (w / h) and scaled by ``extension``.

    A size is read as its magnitude (BoxNet's size head is linear, as Hand4Whole's, so an untrained one can
    predict a negative size; Hand4Whole's ``restore_bbox`` would then invert the box).
    """
    w, h = tf.abs(size[:, 0]), tf.abs(size[:, 1])
    w2 = tf.where(w > aspect * h, w, h * aspect)
    h2 = tf.where(w > aspect * h, w / aspect, h)
    half = tf.stack([w2, h2], -1) * extension / 2
    return tf.concat([center - half, center + half], -1)


def _gather_rows(images: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    """images (B, H, W, C), integer index (B, N) -> (B, N, W, C): row ``index[b, n]`` of image b.

    A plain gather on the batch-flattened tensor instead of ``tf.gather(..., batch_dims=1)``: the same
    values, builtin TF Lite ops, and a form OpenVINO's converter handles at a static batch of 1 (its
    transpose sinking mis-squeezes a batched Gather's indices there).
    """
    b, h = tf.shape(images)[0], tf.shape(images)[1]
    n = tf.shape(index)[1]
    flat = tf.reshape(images, tf.concat([[b * h], tf.shape(images)[2:]], 0))
    rows = tf.gather(flat, tf.reshape(index + tf.range(b)[:, None] * h, [-1]))
    return tf.reshape(rows, tf.concat([[b, n], tf.shape(images)[2:]], 0))


def _interp_axis(images: tf.Tensor, coords: tf.Tensor, axis: int) -> tf.Tensor:
    """Linear interpolation of ``images`` (B, H, W, C) along ``axis`` (1 or 2) at ``coords`` (B, N).

    Samples outside [0, size - 1] are zero (as ``tf.image.crop_and_resize`` with extrapolation 0).
    """
    if axis == 2:  # as rows of the transposed image
        return tf.transpose(_interp_axis(tf.transpose(images, [0, 2, 1, 3]), coords, 1), [0, 2, 1, 3])
    size = tf.shape(images)[1]
    top = tf.cast(size - 1, coords.dtype)
    c = tf.clip_by_value(coords, 0.0, top)
    c0 = tf.floor(c)
    c1 = tf.minimum(c0 + 1, top)
    frac = c - c0
    inside = tf.cast((coords >= 0) & (coords <= top), images.dtype)
    lo = _gather_rows(images, tf.cast(c0, tf.int32))
    hi = _gather_rows(images, tf.cast(c1, tf.int32))
    w = tf.reshape(frac, [-1, tf.shape(coords)[1], 1, 1])
    return (lo * (1 - w) + hi * w) * tf.reshape(inside, [-1, tf.shape(coords)[1], 1, 1])


def crop(images: tf.Tensor, boxes: tf.Tensor, size) -> tf.Tensor:
    """RoIAlign crops. images (B, H, W, C), boxes (B, 4) xyxy pixels -> (B, size[0], size[1], C).

    Same sampling as ``tf.image.crop_and_resize`` (bilinear; the box corners land on the first and last
    output pixels, a size of 1 samples the centre; zero outside the image) but written as two separable gathers, because CropAndResize is
    not a TF Lite builtin op and the converted model must run on stock TF Lite / LCE runtimes.
    """
    out_h, out_w = size
    ty = tf.range(out_h, dtype=boxes.dtype) / (out_h - 1) if out_h > 1 else tf.constant([0.5], boxes.dtype)
    tx = tf.range(out_w, dtype=boxes.dtype) / (out_w - 1) if out_w > 1 else tf.constant([0.5], boxes.dtype)
    ys = boxes[:, 1:2] + (boxes[:, 3:4] - boxes[:, 1:2]) * ty  # (B, out_h)
    xs = boxes[:, 0:1] + (boxes[:, 2:3] - boxes[:, 0:1]) * tx  # (B, out_w)
    rows = _interp_axis(images, ys, axis=1)  # (B, out_h, W, C)
    return _interp_axis(rows, xs, axis=2)


def crop_to_image_coords(xy: tf.Tensor, boxes: tf.Tensor, crop_hw) -> tf.Tensor:
    """(B, N, 2) index units of a (crop_h, crop_w) map cropped with ``boxes`` (B, 4) -> image pixels."""
    scale = tf.stack([(boxes[:, 2] - boxes[:, 0]) / (crop_hw[1] - 1),
                      (boxes[:, 3] - boxes[:, 1]) / (crop_hw[0] - 1)], -1)
    return xy * scale[:, None, :] + boxes[:, None, :2]


def camera_translation(cam: tf.Tensor, *, focal, input_hw, camera_3d_size: float = 2.5) -> tf.Tensor:
    """Hand4Whole's camera: (B, 3) net output -> translation (B, 3) with t_z = k sigmoid(gamma).

    k = sqrt(fx fy s^2 / (H W)) makes a person of ``camera_3d_size`` metres fill the body input.
    """
    k = (focal[0] * focal[1] * camera_3d_size ** 2 / (input_hw[0] * input_hw[1])) ** 0.5
    return tf.concat([cam[:, :2], k * tf.sigmoid(cam[:, 2:3])], -1)


def perspective_project(points: tf.Tensor, *, focal, princpt) -> tf.Tensor:
    """(B, N, 3) camera space -> (B, N, 2) pixels."""
    z = tf.maximum(points[..., 2:3], 1e-4)
    return points[..., :2] / z * tf.constant(focal, points.dtype) + tf.constant(princpt, points.dtype)
