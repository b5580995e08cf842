"""Shared test helpers: paths, a Keras model around a layer, LCE conversion and comparison."""
import json
import os

import cv2
import numpy as np
import tensorflow as tf

from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.models.batchnorm import calibrate_batchnorm
from bidrn_tf.models.config import ModelConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository root
FIXTURES = os.path.join(REPO, "tests", "fixtures")  # small files in real formats
BACKBONE_INPUT = (64, 96, 3)  # input of the session-shared backbones (conftest.backbone): features (2, 3)

# the whole model the conversion tests convert (.tflite and OpenVINO): small, ResNet-18 body and hands, since
# conversion time grows with the number of ops
SMALL18 = ModelConfig(image_hw=(128, 96), body_hw=(128, 96), hand_hw=(64, 64), face_hw=(64, 64),
                      body_depth=18, hand_depth=18)
# outputs computed before any crop: a converted model must match Keras on them to 1e-3 x (1 + max|y|)
BODY_ONLY = ("body_joints", "betas", "cam_trans", "lhand_bbox", "rhand_bbox", "face_bbox")


def assert_matches_keras(rows: dict, model) -> None:
    """The rule a converted whole model (``.tflite`` or OpenVINO) meets against Keras, on
    ``convert.compare`` rows: outputs computed before any crop (body branch and boxes) within
    1e-3 x (1 + max|y|); every output within max(2e-3 x (1 + max|y|), 5x the Keras-vs-Keras control with
    BN shifted by 1e-6): the hand and face branches see crops whose boxes move by float rounding, and sign
    flips follow."""
    assert set(rows) == set(model.output)
    for k in BODY_ONLY:
        assert rows[k]["rel_diff"] <= 1e-3, (k, rows[k])
    for k, r in rows.items():
        assert r["rel_diff"] <= max(2e-3, 5 * r["control_rel_diff"]), (k, r)


def whole_model_images():
    """Two random images and the sample photo at SMALL18's input size."""
    from bidrn_tf.inference import sample_photo

    rng = np.random.default_rng(0)
    return np.concatenate([rng.uniform(size=(2, *SMALL18.image_hw, 3)).astype(np.float32),
                           sample_photo(SMALL18.image_hw)])


def value_and_grad(fn, x):
    """fn(x) and d sum(fn(x)) / dx at the sample points ``x``, as numpy arrays."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def wrap(layer_fn, input_shape):
    inp = tf.keras.Input(input_shape)
    return tf.keras.Model(inp, layer_fn(inp))


def move_bn_means_off_ties(model, rng) -> None:
    """Move every BatchNorm's moving mean by 0.5-1 % of its channel's spread.

    Binary convolutions output integers, so a mean calibrated on a few random inputs can be an exact tie
    (e.g. 0 = the mean of a balanced channel), and the sign after it then depends on each runtime's
    rounding; comparisons of runtimes on an untrained model are only meaningful away from such ties."""
    for bn in (m for m in model.submodules if isinstance(m, tf.keras.layers.BatchNormalization)):
        std = np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
        bn.moving_mean.assign(bn.moving_mean.numpy() + 1e-2 * std * rng.uniform(0.5, 1.0, std.shape))


def keras_vs_lce(model, rng, n=2, calibrate=True):
    """Returns (census, keras output, LCE output) on random normal input of the model's shape."""
    shape = tuple(model.input.shape[1:])
    if calibrate:
        calibrate_batchnorm(model, rng.normal(size=(8,) + shape))
        move_bn_means_off_ties(model, rng)
    x = rng.normal(size=(n,) + shape).astype(np.float32)
    fb = convert(model)
    return flatbuffer.op_census(fb), model(x, training=False).numpy(), next(iter(flatbuffer.run(fb, x).values()))


# ---- small datasets in the real AGORA format, written by the tests ----
PARAMS = {"global_orient": [3.0, 0.1, 0.0], "body_pose": [0.1] * 63, "betas": [0.2] * 11,
          "left_hand_pose": [0.05] * 45, "right_hand_pose": [-0.05] * 45, "jaw_pose": [0.1, 0, 0],
          "expression": [0.3] * 10, "transl": [0.1, 0.2, 5.0], "leye_pose": [0] * 3, "reye_pose": [0] * 3}
CAM = {"focal": [3000.0, 3000.0], "princpt": [1920.0, 1080.0]}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))


def write_image(path, hw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((*hw, 3), 128, np.uint8))


def make_agora(root, *, params=PARAMS):
    """Two persons of one image, both layouts (720p image; 4K per-person crops with their crop json)."""
    write_json(os.path.join(root, "params/p0.json"), params)
    write_json(os.path.join(root, "params/p1.json"), params)
    write_json(os.path.join(root, "cams/c0.json"), CAM)
    write_image(os.path.join(root, "images_1280x720/train/ag_0.png"), (720, 1280))
    anns = []
    for pid in range(2):
        anns.append({"id": pid, "image_id": 7, "person_id": pid, "is_valid": True, "smplx_param_path": f"params/p{pid}.json",
                     "cam_param_path": "cams/c0.json", "bbox": [300.0 + 900 * pid, 600.0, 600.0, 1200.0],
                     "lhand_bbox": [330.0, 900.0, 90.0, 60.0], "rhand_bbox": None, "face_bbox": [450.0, 600.0, 120.0, 150.0],
                     "gender": "female", "kid": False, "occlusion": 0.0})
        # 4K crop: scale 0.5 and shift (-100, -200) from the 3840x2160 image
        write_image(os.path.join(root, f"images_3840x2160/train_crop/ag_0_person_id_{pid}.png"), (600, 400))
        write_json(os.path.join(root, f"images_3840x2160/train_crop/ag_0_person_id_{pid}.json"),
               {"affine_mat": [[0.5, 0, -100.0], [0, 0.5, -200.0]], "resized_height": 600, "resized_width": 400})
    anns.append({**anns[0], "id": 9, "is_valid": False})
    write_json(os.path.join(root, "AGORA_train_SMPLX.json"),
           {"images": [{"id": 7, "file_name_1280x720": "images_1280x720/train/ag_0.png",
                        "file_name_3840x2160": "train/ag_0.png"}], "annotations": anns})
    return root
