"""The public inference API: photos in, model outputs back in photo pixels (``bidrn_tf.inference``)."""
import cv2
import numpy as np
import pytest

from bidrn_tf.inference import ImageError, input_transform, load_image, predict


class _CornerModel:
    """Stub network: 'projects' the four corners and the centre of the network input."""

    def __call__(self, x, training=False):
        h, w = x.shape[1:3]
        pts = np.array([[[0, 0], [w, 0], [0, h], [w, h], [w / 2, h / 2]]], np.float32)
        return {"joints_proj": pts, "face_bbox": np.array([[0, 0, w, h]], np.float32)}


def test_predict_maps_a_known_box_back_to_original_pixels():
    image = np.zeros((300, 500, 3), np.uint8)
    out = predict(_CornerModel(), image, bbox=(100, 40, 150, 200), input_hw=(512, 384))
    # a 150x200 box already has the 3:4 aspect: the network input covers exactly that box
    np.testing.assert_allclose(out["joints_proj"], [[100, 40], [250, 40], [100, 240], [250, 240], [175, 140]],
                               atol=1e-3)
    np.testing.assert_allclose(out["face_bbox"], [100, 40, 250, 240], atol=1e-3)


def test_predict_widens_box_to_network_aspect():
    m = input_transform((0, 0, 400, 100), (300, 500), (512, 384))  # wide box -> taller crop, same centre
    centre = m @ np.array([200, 50, 1.0])
    np.testing.assert_allclose(centre, [192, 256])
    assert m[0, 0] == pytest.approx(384 / 400)


def test_image_inputs(tmp_path):
    gray = np.full((40, 30), 128, np.uint8)
    assert load_image(gray).shape == (40, 30, 3)
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    assert load_image(rgba)[0, 0].tolist() == [255, 0, 0]
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), np.dstack([np.zeros((40, 30)), np.zeros((40, 30)), np.full((40, 30), 255)]).astype(np.uint8))
    assert load_image(str(path))[0, 0].tolist() == [255, 0, 0]  # BGR on disk -> RGB


@pytest.mark.parametrize("make,match", [
    (lambda p: str(p / "missing.jpg"), "not found"),
    (lambda p: (p / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg") and str(p / "corrupt.jpg"),
     "not a readable image"),
    (lambda p: (p / "notes.txt").write_text("hello") and str(p / "notes.txt"), "not a readable image"),
    (lambda p: np.zeros((1, 1, 3), np.uint8), "between"),
    (lambda p: np.zeros((20000, 20, 3), np.uint8), "between"),
    (lambda p: np.zeros((40, 30, 2), np.uint8), "expected an"),
    (lambda p: np.full((40, 30, 3), np.nan, np.float32), "NaN"),
])
def test_bad_images_get_one_clear_error(tmp_path, make, match):
    with pytest.raises(ImageError, match=match):
        load_image(make(tmp_path))


def test_box_outside_image():
    with pytest.raises(ValueError, match="outside"):
        predict(_CornerModel(), np.zeros((100, 100, 3), np.uint8), bbox=(200, 200, 50, 50))
