"""Shaded mesh rendering with OpenCV (painter's algorithm): overlays for the demo and training reports.

Good enough to *see* a mesh on a photo; not a rasterizer with a z-buffer (intersecting triangles are
ordered by their mean depth).
"""
from __future__ import annotations

import cv2
import numpy as np


def project(points: np.ndarray, focal, princpt) -> np.ndarray:
    """Pinhole projection. points (N, 3) camera space (z forward), focal (fx, fy), princpt (cx, cy) -> (N, 2)."""
    z = np.maximum(points[:, 2:3], 1e-6)
    return points[:, :2] / z * np.asarray(focal, float) + np.asarray(princpt, float)


def render_mesh(image: np.ndarray, vertices: np.ndarray, faces: np.ndarray, focal, princpt, *,
                color=(0.55, 0.7, 0.95), alpha: float = 0.85, face_colors=None) -> np.ndarray:
    """Draw the Lambert-shaded mesh over ``image`` (H, W, 3 uint8 RGB); returns a new uint8 image.

    vertices (V, 3) in camera space (metres, z > 0 in front of the camera), faces (F, 3); ``color``: RGB in
    [0, 1] of every face, or ``face_colors`` (F, 3) in [0, 1]: one colour per face instead.
    """
    if face_colors is not None:
        face_colors = np.asarray(face_colors, np.float64)
        if face_colors.shape != (len(faces), 3):
            raise ValueError(f"face_colors: shape {face_colors.shape}, expected ({len(faces)}, 3), one RGB per face")
    out = image.copy()
    layer = image.copy()
    tri = vertices[faces]  # (F, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True) + 1e-12
    light = np.array([0.3, -0.4, -1.0])
    light /= np.linalg.norm(light)
    shade = np.clip(np.abs(normals @ light), 0.0, 1.0) * 0.75 + 0.25
    px = project(vertices, focal, princpt)
    visible = np.isfinite(px).all(-1) & (np.abs(px) < 1e5).all(-1)  # off-screen by far, or degenerate
    in_front = (tri[:, :, 2] > 1e-3).all(-1) & visible[faces].all(-1)
    order = np.argsort(-tri[:, :, 2].mean(-1))
    base = (np.broadcast_to(np.asarray(color, np.float64), (len(faces), 3)) if face_colors is None
            else face_colors) * 255.0
    pts = np.round(np.where(visible[:, None], px, 0.0)[faces] * 16).astype(np.int32)  # 4 sub-pixel bits
    for i in order:
        if in_front[i]:
            cv2.fillConvexPoly(layer, pts[i], tuple(float(c) for c in base[i] * shade[i]), cv2.LINE_AA, shift=4)
    mask = np.any(layer != image, axis=-1, keepdims=True)
    out = np.where(mask, (alpha * layer + (1 - alpha) * image).astype(np.uint8), image)
    return out


def put_banner(image: np.ndarray, text: str) -> np.ndarray:
    """Write ``text`` on a dark strip at the top of ``image`` (for 'untrained weights' notices)."""
    out = image.copy()
    scale = max(image.shape[0], 240) / 600.0
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    scale *= min(1.0, (image.shape[1] - 8) / max(tw, 1))  # shrink to fit the width
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (image.shape[1], th + base + 6), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), 1, cv2.LINE_AA)
    return out
