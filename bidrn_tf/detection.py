"""Finding the people in a photo, so the demo needs no hand-drawn box: OpenCV's detectors, nothing to download.

Hand4Whole's demo asks for a person box (its issues 4, 42, 59). Here :func:`detect_people` finds them with the
detectors that ship inside ``opencv-python-headless`` and run on any CPU:

1. faces: the Haar cascades ``frontalface_alt2`` and ``profileface`` (the latter on the photo and on its mirror
   image, since it only knows faces turned one way), merged by non-maximum suppression
   (``cv2.dnn.NMSBoxes``). Each face becomes a person box: :data:`FACE_TO_BODY` face widths wide around the
   face, from half a face above it down :data:`FACE_TO_BODY` heights (a standing adult is about 7.5 heads
   tall), cut at the photo's border, so a portrait gives the visible upper body;
2. whole bodies: the HOG + linear SVM people detector (``cv2.HOGDescriptor_getDefaultPeopleDetector``,
   Dalal-Triggs, upright people at least ~128 px tall; small photos are searched at twice their size), kept
   when its SVM score reaches ``hog_threshold`` and when it does not lie mostly (>= 50 %) inside a person
   found by a face - people whose face is too small, turned away or hidden.

People are returned left to right. This is a classical detector: it misses people lying down, seen from
behind at small size, or heavily occluded, and it can take a face-like texture for a face. ``--bbox`` in the
demo overrides it; a better learned detector can replace :func:`detect_people` without changing the demo.
"""
from __future__ import annotations

import dataclasses
import os

import cv2
import numpy as np

#: a person box from a face box: (width, top offset, height) in face widths / face heights
FACE_TO_BODY = (3.2, -0.5, 7.5)
MIN_FACE = 20  # px: smaller faces are left to the HOG detector
NMS_IOU = 0.3


@dataclasses.dataclass(frozen=True)
class Detection:
    """One person: ``box`` (x, y, w, h) in photo pixels, ``score`` (face: 1 frontal / 0.9 profile; HOG: its
    SVM score), ``source`` (``"face"`` or ``"hog"``) and, for a face, the ``face`` box it came from."""

    box: tuple
    score: float
    source: str
    face: tuple | None = None


def _cascade(name: str):
    path = os.path.join(cv2.data.haarcascades, f"haarcascade_{name}.xml")
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {name} cascade is missing ({path}): reinstall opencv-python-headless")
    return cascade


def _nms(boxes, scores, iou=NMS_IOU):
    if not boxes:
        return []
    keep = cv2.dnn.NMSBoxes([list(map(float, b)) for b in boxes], [float(s) for s in scores], 0.0, iou)
    return sorted(int(i) for i in np.asarray(keep).reshape(-1))


def detect_faces(gray: np.ndarray, *, min_face: int = MIN_FACE) -> list:
    """[(x, y, w, h, score)] of the faces in a uint8 grey image (frontal and both profiles, merged)."""
    h, w = gray.shape
    eq = cv2.equalizeHist(gray)
    found = []
    for name, score in (("frontalface_alt2", 1.0), ("profileface", 0.9)):
        cascade = _cascade(name)
        for mirrored in (False, True):
            if name.startswith("frontal") and mirrored:
                continue  # frontal faces are symmetric: the mirror adds nothing but time
            img = eq[:, ::-1].copy() if mirrored else eq
            for x, y, fw, fh in cascade.detectMultiScale(img, scaleFactor=1.1, minNeighbors=5,
                                                         minSize=(min_face, min_face)):
                found.append(((w - x - fw) if mirrored else x, y, fw, fh, score))
    keep = _nms([f[:4] for f in found], [f[4] for f in found])
    return [found[i] for i in keep]


def body_from_face(face, image_wh) -> tuple:
    """Person box (x, y, w, h) of a face box, cut at the photo's border (see module docstring)."""
    x, y, fw, fh = (float(v) for v in face[:4])
    width, top, height = FACE_TO_BODY
    cx = x + fw / 2
    x1, y1 = max(cx - width * fw / 2, 0.0), max(y + top * fh, 0.0)
    x2, y2 = min(cx + width * fw / 2, image_wh[0]), min(y + top * fh + height * fh, image_wh[1])
    return (x1, y1, x2 - x1, y2 - y1)


def _inside(a, b) -> float:
    """Share of box ``a``'s area inside box ``b`` (both x, y, w, h)."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / max(a[2] * a[3], 1e-9)


def detect_hog(gray: np.ndarray, *, threshold: float) -> list:
    """[(x, y, w, h, score)] of HOG people detections with SVM score >= ``threshold``, merged."""
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    scale = 2.0 if max(gray.shape) < 800 else 1.0  # people in small photos are often below the 128-px window
    img = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale != 1 else gray
    rects, weights = hog.detectMultiScale(img, winStride=(8, 8), padding=(16, 16), scale=1.05)
    found = [(*(np.asarray(r, float) / scale), float(s)) for r, s in zip(rects, np.ravel(weights)) if s >= threshold]
    keep = _nms([f[:4] for f in found], [f[4] for f in found])
    return [found[i] for i in keep]


def detect_people(rgb: np.ndarray, *, hog_threshold: float = 1.0, min_face: int = MIN_FACE,
                  max_people: int | None = None) -> list:
    """The people in an (H, W, 3) uint8 RGB photo as :class:`Detection`, left to right (module docstring).
    ``max_people`` keeps the highest-scoring ones."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    if max_people is not None and (isinstance(max_people, bool) or not isinstance(max_people, int) or max_people < 1):
        raise ValueError(f"max_people must be a whole number >= 1, got {max_people!r}")
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    wh = (rgb.shape[1], rgb.shape[0])
    people = [Detection(body_from_face(f, wh), f[4], "face", tuple(float(v) for v in f[:4]))
              for f in detect_faces(gray, min_face=min_face)]
    for x, y, w, h, s in detect_hog(gray, threshold=hog_threshold):
        box = (max(x, 0.0), max(y, 0.0), min(x + w, wh[0]) - max(x, 0.0), min(y + h, wh[1]) - max(y, 0.0))
        if box[2] > 1 and box[3] > 1 and all(_inside(box, p.box) < 0.5 for p in people):
            people.append(Detection(box, s, "hog"))
    if max_people is not None:
        people = sorted(people, key=lambda p: -p.score)[:max_people]
    return sorted(people, key=lambda p: p.box[0] + p.box[2] / 2)
