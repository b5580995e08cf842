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


def test_photos_are_read_as_users_photos_are(tmp_path):
    from PIL import Image

    # 16-bit PNG: scaled to 8 bits, not clipped to white
    ramp = (np.arange(40 * 30, dtype=np.uint32).reshape(40, 30) * 54).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), ramp)
    got = load_image(str(tmp_path / "deep.png"))
    np.testing.assert_array_equal(got[..., 0], np.rint(ramp * (255.0 / 65535.0)).astype(np.uint8))
    # EXIF orientation 6 (stored rotated, shown turned 90 degrees clockwise): the loaded photo is upright
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:, :30] = 255  # left half white as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    upright = load_image(str(tmp_path / "phone.jpg"))
    assert upright.shape == (60, 40, 3)
    assert upright[:25].mean() > 200 and upright[35:].mean() < 50  # stored left half is now the top half
    # a JPEG cut short: refused, not decoded grey-filled
    photo = np.random.default_rng(0).integers(0, 255, (120, 90, 3), np.uint8)
    Image.fromarray(photo).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(str(tmp_path / "cut.jpg"))
    assert load_image(str(tmp_path / "full.jpg")).shape == (120, 90, 3)


def test_sixteen_bit_arrays_are_scaled():
    deep = np.full((20, 20, 3), 65535, np.uint16)
    assert load_image(deep).min() == 255
    assert load_image(deep // 2).max() == 127  # 32767 * 255 / 65535 = 127.5 - 0.002
