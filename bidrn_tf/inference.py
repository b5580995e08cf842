"""Turning photos into model inputs and model outputs back into photo coordinates.

``predict(model, image, bbox=None)``: ``image`` is a path or an (H, W[, C]) array of any size and aspect
(grayscale and RGBA are converted to RGB); ``bbox`` is the person box (x, y, w, h) in that image's pixels
(default: the whole image). The box is widened to the network's aspect ratio around its centre, cropped
and padded (zeros) to the network input with one affine warp (OpenCV), and every 2D output is mapped back
through the inverse warp. The returned dict also holds ``focal`` and ``princpt`` of the camera in the
original image's pixels, so ``vertices`` (camera space, metres) project onto the photo with them.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

MIN_SIDE, MAX_SIDE = 16, 16384
POINT_KEYS = ("body_joints", "lhand_joints", "rhand_joints", "joints_proj")
BOX_KEYS = ("lhand_bbox", "rhand_bbox", "face_bbox")


class ImageError(ValueError):
    """An image that cannot be used: missing, unreadable, not an image, or of an unusable size."""


def _read_photo(path: str) -> np.ndarray:
    """Decode a photo file the way users' photos are: the EXIF orientation applied (phone photos are stored
    sideways), 16-bit images kept at their depth (scaled below, not clipped), a truncated file refused
    instead of decoded grey-filled. Pillow reads the photo formats; other formats OpenCV knows are read by it."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            if min(w, h) < MIN_SIDE or max(w, h) > MAX_SIDE:  # before decoding a huge file
                raise ImageError(f"{path!r} is {w}x{h} pixels; each side must be between {MIN_SIDE} and {MAX_SIDE}")
            im.load()  # decodes everything now: a truncated file raises here (LOAD_TRUNCATED_IMAGES is off)
            im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(im, np.uint16 if im.mode.startswith("I;16") else np.int32)
            if im.mode == "F":
                return np.asarray(im, np.float32)
            keep = im.mode in ("RGB", "RGBA", "L")
            im = im if keep else im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
            return np.asarray(im)
    except UnidentifiedImageError:  # not a format Pillow knows: OpenCV may (or says it is no image)
        return _read_with_opencv(path)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"{path!r} is not a readable image: truncated or corrupt ({err})") from None


def _read_with_opencv(path: str) -> np.ndarray:
    data = np.fromfile(path, np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if arr is None:
        raise ImageError(f"{path!r} is not a readable image (corrupt file or not an image format we know)")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return arr


def load_image(image) -> np.ndarray:
    """Path or array -> (H, W, 3) uint8 RGB; bad input raises ImageError.

    Grayscale and RGBA are converted (RGBA composited over white); 16-bit integers are scaled by 255 / 65535,
    other integers above 255 by 255 / their maximum, floats in [0, 1] by 255. Files: see :func:`_read_photo`.
    """
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.isfile(path):
            raise ImageError(f"image file not found: {path!r}")
        arr = _read_photo(path)
    else:
        arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.dtype == bool or arr.dtype.kind not in "uif":
            raise ImageError(f"image values must be numbers, got {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ImageError("image contains NaN or infinite values")
        if arr.dtype.kind == "f":
            scale = 255.0 if arr.max() <= 1.0 else 1.0
        elif arr.dtype == np.uint16:
            scale = 255.0 / 65535.0
        else:
            top = float(arr.max()) if arr.size else 0.0
            scale = 255.0 / top if top > 255 else 1.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    h, w = arr.shape[:2]
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE:
        raise ImageError(f"image is {w}x{h} pixels; each side must be between {MIN_SIDE} and {MAX_SIDE}")
    if arr.ndim == 2:
        arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
    elif arr.shape[2] == 4:  # composite over white, the usual look of a transparent background
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        arr = (arr[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(arr)


def input_transform(bbox, image_hw, input_hw) -> np.ndarray:
    """2x3 affine mapping original pixels to network-input pixels for person box ``bbox`` (x, y, w, h)."""
    x, y, w, h = (float(v) for v in bbox)
    img_h, img_w = image_hw
    if not (np.isfinite([x, y, w, h]).all() and w > 1 and h > 1):
        raise ValueError(f"person box must be finite with width and height > 1, got {bbox}")
    if x >= img_w or y >= img_h or x + w <= 0 or y + h <= 0:
        raise ValueError(f"person box {bbox} lies outside the {img_w}x{img_h} image")
    aspect = input_hw[1] / input_hw[0]
    cx, cy = x + w / 2, y + h / 2
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    s = input_hw[1] / w
    return np.array([[s, 0, input_hw[1] / 2 - s * cx], [0, s, input_hw[0] / 2 - s * cy]], np.float64)


def _invert_points(pts: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = pts.copy()
    out[..., 0] = (pts[..., 0] - m[0, 2]) / m[0, 0]
    out[..., 1] = (pts[..., 1] - m[1, 2]) / m[1, 1]
    return out


def prepare_input(image, bbox=None, input_hw=(512, 384)):
    """Image -> (network input (1, H, W, 3) float32 in [0, 1], 2x3 affine original -> input, person box)."""
    rgb = load_image(image)
    h, w = rgb.shape[:2]
    if bbox is None:
        bbox = (0, 0, w, h)
    m = input_transform(bbox, (h, w), input_hw)
    crop = cv2.warpAffine(rgb, m, (input_hw[1], input_hw[0]), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    return crop[None].astype(np.float32) / 255.0, m, bbox


def predict(model, image, bbox=None, *, input_hw=(512, 384), focal=(5000.0, 5000.0), body_hw=(256, 192)) -> dict:
    """Run ``model`` on ``image`` (see module docstring); returns numpy outputs in original-image pixels."""
    x, m, bbox = prepare_input(image, bbox, input_hw)
    outputs = model(x, training=False)
    out = {k: np.asarray(v)[0] for k, v in outputs.items()}
    for k in POINT_KEYS:
        if k in out:
            out[k] = _invert_points(out[k], m)
    for k in BOX_KEYS:
        if k in out:
            out[k] = _invert_points(out[k].reshape(2, 2), m).reshape(4)
    # camera: body-input pixels -> network input (x input/body) -> original (inverse warp)
    up = (input_hw[1] / body_hw[1], input_hw[0] / body_hw[0])
    out["focal"] = np.array([focal[0] * up[0] / m[0, 0], focal[1] * up[1] / m[1, 1]])
    princpt_in = np.array([[body_hw[1] / 2 * up[0], body_hw[0] / 2 * up[1]]])
    out["princpt"] = _invert_points(princpt_in, m)[0]
    out["person_box"] = np.array(bbox, np.float64)
    return out


def sample_photo(image_hw=(512, 384)) -> np.ndarray:
    """scikit-image's astronaut photograph as one (1, H, W, 3) network input in [0, 1]."""
    from skimage import data

    return prepare_input(data.astronaut(), None, image_hw)[0]


def prepare_model(*, method: str | None = None, checkpoint: str | None = None, smplx_model: str | None = None,
                  include_smplx: bool = True, config=None, calibration_images=None):
    """A model ready for inference and the notices a user must see: ``(model, notices)``.

    With a ``checkpoint``: :func:`bidrn_tf.models.checkpoints.load_trained` (its metadata gives method,
    configuration and SMPL-X file). Without one: an UNTRAINED ``method`` model (default ``bidrn``) whose
    BatchNorm statistics are calibrated on ``calibration_images`` (default: :func:`sample_photo`), since an
    untrained BatchNorm is the identity at inference and a deep binarized net's activations then grow
    without bound (BiDRN's GAP feature reaches ~1e9). ``smplx_model`` must exist when ``include_smplx``.
    """
    from bidrn_tf.models.backbones import METHODS
    from bidrn_tf.models.batchnorm import calibrate_batchnorm
    from bidrn_tf.models.checkpoints import load_trained
    from bidrn_tf.models.config import ModelConfig
    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.smplx.synthetic import STAND_IN_NAME, STAND_IN_NOTICE

    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if include_smplx and smplx_model is not None and not os.path.isfile(smplx_model):
        raise FileNotFoundError(f"SMPL-X model file not found: {smplx_model!r}")
    notices = []
    if checkpoint is not None:
        model = load_trained(checkpoint, method=method, smplx_model=smplx_model, include_smplx=include_smplx,
                             config=config)
    else:
        cfg = config or ModelConfig()
        if include_smplx and not smplx_model:
            raise ValueError("smplx_model is required without a checkpoint")
        model = build_model(method=method or "bidrn", smplx_model=smplx_model, config=cfg, include_smplx=include_smplx)
        images = sample_photo(cfg.image_hw) if calibration_images is None else calibration_images
        calibrate_batchnorm(model, images)
        notices.append("UNTRAINED weights (BatchNorm calibrated on the input photo)")
    used = model.get_layer("whole_body").smplx_model
    if include_smplx and used and os.path.basename(used) == STAND_IN_NAME:
        notices.append(STAND_IN_NOTICE)
    return model, notices
