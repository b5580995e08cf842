import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy import flatbuffer
from bidrn_tf.deploy.convert import convert
from bidrn_tf.ops import geometry


@pytest.mark.parametrize("size", [(17, 13), (1, 1), (32, 32)])
def test_crop_matches_crop_and_resize(size):
    images = tf.random.uniform((3, 50, 40, 3), seed=0)
    # inside, partly outside on every side, and entirely outside the image
    boxes = tf.constant([[5.2, 3.1, 30.7, 45.3], [-10.3, -5.2, 50.1, 60.7], [60.5, 70.5, 90.5, 99.5]])
    norm = tf.stack([boxes[:, 1] / 49.0, boxes[:, 0] / 39.0, boxes[:, 3] / 49.0, boxes[:, 2] / 39.0], -1)
    expected = tf.image.crop_and_resize(images, norm, tf.range(3), size).numpy()
    ours = geometry.crop(images, boxes, size).numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert np.abs(expected[1]).max() > 0 and np.abs(expected[2]).max() == 0


def test_crop_converts_to_builtin_ops():
    images = tf.keras.Input((50, 40, 3), batch_size=1)
    boxes = tf.keras.Input((4,), batch_size=1)
    model = tf.keras.Model([images, boxes], tf.keras.layers.Lambda(lambda t: geometry.crop(t[0], t[1], (16, 16)))(
        [images, boxes]))
    fb = convert(model, binary=False)
    assert "CropAndResize" not in flatbuffer.op_census(fb)
    img = np.random.default_rng(1).uniform(size=(1, 50, 40, 3)).astype(np.float32)
    box = np.array([[3.3, -4.1, 35.2, 44.6]], np.float32)
    interp = tf.lite.Interpreter(model_content=fb)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], img if len(d["shape"]) == 4 else box)
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_allclose(out, model([img, box]).numpy(), atol=1e-5)
