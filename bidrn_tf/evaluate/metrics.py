"""The paper's evaluation metrics (SPEC section 3), in millimetres, NumPy.

* MPVPE: mean per-vertex position error after translating the prediction so that a root joint coincides:
  All at the pelvis, Hands at each wrist, Face at the neck (root joints from each mesh's own joint
  regressor).
* PA-: after a rigid similarity (rotation, translation, uniform scale) Procrustes alignment of the vertex
  (or joint) set, as in the AGORA / EHF evaluation code.
* PA-MPJPE: body over the 14 LSP joints (``regions.j14_regressor``), hands over the 16 joints of each
  hand (wrist + 15); the two hands are averaged.
"""
from __future__ import annotations

import numpy as np

from bidrn_tf.smplx.joints import FACE_ROOT, HAND_ROOTS, LEFT_HAND_JOINTS, PELVIS, RIGHT_HAND_JOINTS


def similarity_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, 3) ``pred`` moved by the similarity transform that best fits it to ``gt`` (least squares, Umeyama)."""
    mu_p, mu_g = pred.mean(0), gt.mean(0)
    p, g = pred - mu_p, gt - mu_g
    u, s, vt = np.linalg.svd(p.T @ g)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rot = (u @ fix @ vt).T  # rotation applied to pred (column vectors)
    scale = (s * np.diag(fix)).sum() / max((p ** 2).sum(), 1e-12)
    return (scale * p @ rot.T + mu_g).astype(pred.dtype)


def mean_error_mm(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.linalg.norm(pred - gt, axis=-1).mean() * 1000.0)


def mpvpe(pred, gt, pred_root, gt_root) -> float:
    """Mean vertex error (mm) after moving ``pred`` so that ``pred_root`` lands on ``gt_root``."""
    return mean_error_mm(pred - pred_root + gt_root, gt)


def pa_error(pred, gt) -> float:
    return mean_error_mm(similarity_align(pred, gt), gt)


def model_regions(smplx_model: str) -> dict:
    """The keyword arguments of :func:`mesh_metrics` from an SMPL-X model file: its joint regressor, the J14
    regressor and the hand / face vertex sets (``smplx.regions``)."""
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import face_vertex_ids, hand_vertex_ids, j14_regressor

    arrays = load(smplx_model)
    return dict(j_regressor=np.asarray(arrays.j_regressor, np.float64), j14=j14_regressor(arrays),
                hand_ids=hand_vertex_ids(arrays), face_ids=face_vertex_ids(arrays))


def mesh_metrics(pred_v: np.ndarray, gt_v: np.ndarray, *, j_regressor: np.ndarray, j14: np.ndarray,
                 hand_ids: dict, face_ids: np.ndarray) -> dict:
    """All metrics for one person; ``pred_v`` / ``gt_v`` (V, 3) metres. Returns {name: mm}."""
    pj, gj = j_regressor @ pred_v, j_regressor @ gt_v
    hands = [("left", HAND_ROOTS["left"], LEFT_HAND_JOINTS), ("right", HAND_ROOTS["right"], RIGHT_HAND_JOINTS)]
    return {
        "MPVPE_all": mpvpe(pred_v, gt_v, pj[PELVIS], gj[PELVIS]),
        "MPVPE_hands": float(np.mean([mpvpe(pred_v[hand_ids[s]], gt_v[hand_ids[s]], pj[w], gj[w])
                                      for s, w, _ in hands])),
        "MPVPE_face": mpvpe(pred_v[face_ids], gt_v[face_ids], pj[FACE_ROOT], gj[FACE_ROOT]),
        "PA_MPVPE_all": pa_error(pred_v, gt_v),
        "PA_MPVPE_hands": float(np.mean([pa_error(pred_v[hand_ids[s]], gt_v[hand_ids[s]]) for s, _, _ in hands])),
        "PA_MPVPE_face": pa_error(pred_v[face_ids], gt_v[face_ids]),
        "PA_MPJPE_body": pa_error(j14 @ pred_v, j14 @ gt_v),
        "PA_MPJPE_hands": float(np.mean([pa_error(pj[idx], gj[idx]) for _, _, idx in hands])),
    }


METRIC_NAMES = ("MPVPE_all", "MPVPE_hands", "MPVPE_face", "PA_MPVPE_all", "PA_MPVPE_hands", "PA_MPVPE_face",
                "PA_MPJPE_body", "PA_MPJPE_hands")


def mean_metrics(rows) -> dict:
    """{metric: mm} averaged over ``rows``, a non-empty sequence of :func:`mesh_metrics` results (extra keys
    such as a person's ``key`` are ignored)."""
    rows = list(rows)
    if not rows:
        raise ValueError("mean_metrics needs at least one row of metrics, got none")
    return {k: float(np.mean([r[k] for r in rows])) for k in METRIC_NAMES}


def format_table(rows: dict) -> str:
    """Markdown table of {label: {metric: mm}}."""
    head = "| | " + " | ".join(METRIC_NAMES) + " |\n|---|" + "---|" * len(METRIC_NAMES) + "\n"
    return head + "".join(f"| {label} | " + " | ".join(f"{m[k]:.1f}" for k in METRIC_NAMES) + " |\n"
                          for label, m in rows.items())


def gap_share(fp: float, bnn: float, bidrn: float):
    """The share (%) of the FP-BNN error gap that BiDRN closes, 100 (BNN - BiDRN) / (BNN - FP); None when there
    is no gap (BNN at or below FP) or BiDRN is above BNN (a negative share grows without bound as the gap
    shrinks, so none is given)."""
    if bnn <= fp or bidrn > bnn:
        return None
    return 100 * (bnn - bidrn) / (bnn - fp)


def gap_closed(errors: dict, *, paper_note: str = "") -> str:
    """The sentence every comparison table ends with: the share of the FP-BNN error gap that BiDRN closes,
    100 (BNN - BiDRN) / (BNN - FP), and the binarized methods BiDRN is not ahead of. ``errors``: {method:
    error, lower is better}; "" if fp, bnn or bidrn is missing or FP equals BNN; no share if BNN is below FP
    or BiDRN above BNN (a negative share, which grows without bound as the gap shrinks).
    ``paper_note`` is appended in brackets (the paper's share for the same table)."""
    fp, bnn, bidrn = (errors.get(k) for k in ("fp", "bnn", "bidrn"))
    if None in (fp, bnn, bidrn) or bnn == fp:
        return ""
    if bnn < fp:
        text = f"No FP-BNN gap to close: BNN ({bnn:.4g}) is below FP ({fp:.4g}) here."
    else:  # above BNN the share would be negative, growing without bound as the gap shrinks: no share
        text = (f"BiDRN closes none of the FP-BNN gap ({bnn - fp:.3g}): it is above BNN ({bidrn:.4g} against {bnn:.4g})"
                if bidrn > bnn else f"BiDRN closes {gap_share(fp, bnn, bidrn):.0f} % of the FP-BNN gap")
        text += f" ({paper_note})." if paper_note else "."
    ahead = [m for m, e in errors.items() if m not in ("fp", "bidrn") and e <= bidrn]
    text += (f" Binarized methods at or below BiDRN's error: {', '.join(ahead)}." if ahead
             else " BiDRN is ahead of every other binarized method in this table.")
    return text


def gap_share_interval(fp, bnn, bidrn, *, confidence: float = 0.95) -> dict:
    """The share (%) of the FP-BNN gap that BiDRN closes, from three models' errors on the same N >= 3 people,
    with Fieller's interval for a ratio of paired means: x_i = bnn_i - bidrn_i, y_i = bnn_i - fp_i, share
    theta = 100 mean(x) / mean(y), and the interval is every theta whose mean(x - theta y) a two-sided
    normal test at ``confidence`` does not reject (z^2 var(mean(x - theta y)) >= mean(x - theta y)^2, a
    quadratic in theta). Returns {"share", "low", "high", "bounded", "n"}. When the people do not resolve
    the gap itself (mean(y)^2 <= z^2 var(mean(y))) no bounded interval exists: "bounded" False, low / high
    None. Like ``paired_difference``, the uncertainty is over *which people* were drawn, not over seeds."""
    from statistics import NormalDist

    fp, bnn, bidrn = (np.asarray(v, np.float64) for v in (fp, bnn, bidrn))
    if fp.ndim != 1 or not fp.shape == bnn.shape == bidrn.shape:
        raise ValueError(f"fp, bnn and bidrn must be three 1-D arrays of the same length, got shapes "
                         f"{fp.shape}, {bnn.shape} and {bidrn.shape}")
    if len(fp) < 3:
        raise ValueError(f"gap_share_interval needs at least 3 people, got {len(fp)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x, y = bnn - bidrn, bnn - fp
    n = len(x)
    mx, my = x.mean(), y.mean()
    cov = np.cov(np.stack([x, y]), ddof=1) / n  # covariance of the two means
    k = NormalDist().inv_cdf(0.5 + confidence / 2) ** 2
    a = my ** 2 - k * cov[1, 1]
    share = float(100 * mx / my) if my != 0 else None
    if a <= 0:
        return {"share": share, "low": None, "high": None, "bounded": False, "n": int(n)}
    b = mx * my - k * cov[0, 1]
    c = mx ** 2 - k * cov[0, 0]
    root = np.sqrt(max(b * b - a * c, 0.0))  # >= 0 when a > 0: theta = mx / my satisfies the inequality
    return {"share": share, "low": float(100 * (b - root) / a), "high": float(100 * (b + root) / a),
            "bounded": True, "n": int(n)}


def paired_difference(a, b, *, confidence: float = 0.95) -> dict:
    """``a - b`` person by person, for two models' errors on the same N >= 2 people: {"mean", "se" (the
    sample std of the differences over sqrt(N)), "low", "high" (mean -+ z se, z the two-sided normal quantile
    of ``confidence``), "n", "a_lower" (the share of people where a's error is below b's)}. The interval is
    the uncertainty from *which people* were drawn for evaluation, not from training (seeds)."""
    from statistics import NormalDist

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be two 1-D arrays of the same length, got shapes {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError(f"paired_difference needs at least 2 people, got {len(a)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    d = a - b
    mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    return {"mean": mean, "se": se, "low": mean - z * se, "high": mean + z * se, "n": int(len(d)),
            "a_lower": float((d < 0).mean())}
