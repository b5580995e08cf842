"""Metrics against hand-computed values."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from bidrn_tf.evaluate import metrics
from bidrn_tf.smplx.model_file import load
from bidrn_tf.smplx.regions import face_vertex_ids, hand_vertex_ids, j14_regressor


def test_known_translation_gives_known_mpvpe(rng):
    gt = rng.normal(size=(500, 3))
    t = np.array([0.003, -0.004, 0.0])  # 5 mm
    assert metrics.mpvpe(gt + t, gt, np.zeros(3), np.zeros(3)) == pytest.approx(5.0)
    # with root alignment the same translation is removed entirely
    assert metrics.mpvpe(gt + t, gt, t, np.zeros(3)) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mean_error_mm(np.zeros((2, 3)), np.array([[0.0, 0.0, 0.01], [0.0, 0.03, 0.04]])) == pytest.approx(30.0)


def test_similarity_transformed_copy_has_zero_pa_error(rng):
    gt = rng.normal(size=(300, 3))
    rot = Rotation.from_rotvec([0.3, -1.2, 2.0]).as_matrix()
    pred = 1.7 * gt @ rot.T + np.array([0.5, -2.0, 3.0])
    assert metrics.pa_error(pred, gt) == pytest.approx(0.0, abs=1e-6)
    assert metrics.mean_error_mm(pred, gt) > 100
    mirrored = gt * np.array([-1.0, 1.0, 1.0])  # a reflection is not a rotation: not aligned away
    assert metrics.pa_error(mirrored, gt) > 1.0


def test_mesh_metrics_on_the_smplx_model(smplx_model_path):
    m = load(smplx_model_path)
    gt = np.asarray(m.v_template, np.float64)
    regions = dict(j_regressor=np.asarray(m.j_regressor, np.float64), j14=j14_regressor(m),
                   hand_ids=hand_vertex_ids(m), face_ids=face_vertex_ids(m))
    rot = Rotation.from_rotvec([0.1, 0.5, -0.2]).as_matrix()
    same = metrics.mesh_metrics(1.1 * gt @ rot.T + 2.0, gt, **regions)
    for k in ("PA_MPVPE_all", "PA_MPVPE_hands", "PA_MPVPE_face", "PA_MPJPE_body", "PA_MPJPE_hands"):
        assert same[k] == pytest.approx(0.0, abs=1e-4), k  # mm
    moved = gt + 5.0  # a pure translation: every metric is zero (to 1 um: regressor rows sum to 1 +- 1e-8)
    assert all(v == pytest.approx(0.0, abs=1e-3) for v in metrics.mesh_metrics(moved, gt, **regions).values())
    # shift only the left hand's vertices by 10 mm along z (away from every root joint the hand does not own)
    left = regions["hand_ids"]["left"]
    pred = gt.copy()
    pred[left] += [0.0, 0.0, 0.01]
    pj = regions["j_regressor"] @ pred
    gj = regions["j_regressor"] @ gt
    res = metrics.mesh_metrics(pred, gt, **regions)
    pelvis_shift = pj[0] - gj[0]
    expected_all = np.linalg.norm((pred - pelvis_shift) - gt, axis=-1).mean() * 1000
    assert res["MPVPE_all"] == pytest.approx(expected_all)
    assert res["MPVPE_all"] == pytest.approx(10.0 * len(left) / len(gt), rel=0.05)


def test_gap_closed_is_the_share_of_the_fp_bnn_gap_and_names_the_methods_ahead():
    from bidrn_tf.evaluate.metrics import gap_closed

    # the paper's EHF MPVPE: (172.2 - 118.3) / (172.2 - 86.3) = 62.7 %
    text = gap_closed({"fp": 86.3, "bnn": 172.2, "reactnet": 149.8, "bidrn": 118.3}, paper_note="p")
    assert text.startswith("BiDRN closes 63 % of the FP-BNN gap (p).") and "ahead of every other" in text
    text = gap_closed({"fp": 10.0, "bnn": 20.0, "xnor": 14.0, "bidrn": 15.0})
    assert text.startswith("BiDRN closes 50 % of the FP-BNN gap.") and text.endswith("at or below BiDRN's error: xnor.")
    assert gap_closed({"fp": 10.0, "bidrn": 12.0}) == "" and gap_closed({"fp": 1.0, "bnn": 1.0, "bidrn": 1.0}) == ""
    below = gap_closed({"fp": 264.6, "bnn": 257.1, "bidrn": 319.4})
    assert below.startswith("No FP-BNN gap to close: BNN (257.1) is below FP (264.6)") and "closes" not in below
    # the 128-person comparison: a 0.9 mm gap and BiDRN above BNN gave "closes -768 %"; now no share
    above = gap_closed({"fp": 256.6, "bnn": 257.5, "reactnet": 255.3, "bidrn": 264.3}, paper_note="p")
    assert above.startswith("BiDRN closes none of the FP-BNN gap (0.9): it is above BNN (264.3 against 257.5) (p).")
    assert "%" not in above and above.endswith("at or below BiDRN's error: bnn, reactnet.")


def test_gap_share_at_sample_points():
    from bidrn_tf.evaluate.metrics import gap_share

    assert gap_share(86.3, 172.2, 118.3) == pytest.approx(100 * 53.9 / 85.9)  # the paper's EHF: 62.7 %
    assert gap_share(10.0, 20.0, 10.0) == 100.0 and gap_share(10.0, 20.0, 20.0) == 0.0
    assert gap_share(10.0, 20.0, 5.0) == 150.0  # below FP: more than the whole gap
    assert gap_share(10.0, 20.0, 20.1) is None  # above BNN: no (negative) share
    assert gap_share(20.0, 10.0, 15.0) is None and gap_share(10.0, 10.0, 10.0) is None  # no gap


def test_mean_metrics_averages_each_metric_and_ignores_other_keys():
    rows = [{"key": "a", **{k: float(i) for i, k in enumerate(metrics.METRIC_NAMES)}},
            {"key": "b", **{k: float(3 * i + 1) for i, k in enumerate(metrics.METRIC_NAMES)}}]
    got = metrics.mean_metrics(iter(rows))  # any iterable, e.g. a generator
    assert got == {k: (i + 3 * i + 1) / 2 for i, k in enumerate(metrics.METRIC_NAMES)}
    with pytest.raises(ValueError, match="at least one row"):
        metrics.mean_metrics([])


def test_gap_share_interval_is_the_inverted_test(rng):
    """Fieller's interval against its definition: a share is inside exactly when the normal test of
    mean(x - share y) = 0 does not reject, checked on a grid; the point estimate is ``gap_share`` of the means;
    a gap the people do not resolve gives no bounded interval."""
    from scipy import stats

    fp = rng.normal(200, 20, 64)
    bnn, bidrn = fp + rng.normal(30, 10, 64), fp + rng.normal(12, 10, 64)
    g = metrics.gap_share_interval(fp, bnn, bidrn)
    assert g["bounded"] and g["n"] == 64
    assert g["share"] == pytest.approx(metrics.gap_share(fp.mean(), bnn.mean(), bidrn.mean()))
    assert g["low"] < g["share"] < g["high"]
    x, y, z = bnn - bidrn, bnn - fp, stats.norm.ppf(0.975)
    for share in np.linspace(g["low"] - 30, g["high"] + 30, 241):
        d = x - share / 100 * y
        accepted = abs(d.mean()) <= z * d.std(ddof=1) / np.sqrt(len(d))
        if abs(share - g["low"]) > 1e-6 and abs(share - g["high"]) > 1e-6:
            assert accepted == (g["low"] <= share <= g["high"]), share
    # the gap drowned in the people's spread: no interval, only the point estimate
    noisy = metrics.gap_share_interval(fp, fp + rng.normal(1, 40, 64), fp + rng.normal(0.5, 40, 64))
    assert not noisy["bounded"] and noisy["low"] is None and noisy["high"] is None
    with pytest.raises(ValueError, match="at least 3 people"):
        metrics.gap_share_interval([1.0, 2.0], [3.0, 4.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="same length"):
        metrics.gap_share_interval([1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [2.0, 3.0])


def test_paired_difference_matches_scipy_and_hand_values(rng):
    """Mean, standard error and interval of the per-person differences against scipy's paired t statistic
    and normal interval; the share where a is lower counted by hand."""
    from scipy import stats

    a, b = rng.normal(200, 30, 128), rng.normal(205, 30, 128)
    p = metrics.paired_difference(a, b)
    t = stats.ttest_rel(a, b).statistic
    assert p["n"] == 128 and p["mean"] == pytest.approx(np.mean(a - b))
    assert p["se"] == pytest.approx(p["mean"] / t)
    low, high = stats.norm.interval(0.95, loc=p["mean"], scale=p["se"])
    assert (p["low"], p["high"]) == (pytest.approx(low), pytest.approx(high))
    assert p["a_lower"] == pytest.approx(np.sum(a < b) / 128)
    q = metrics.paired_difference([1.0, 2.0, 3.0, 10.0], [0.0, 0.0, 4.0, 10.0], confidence=0.5)
    # differences 1, 2, -1, 0: mean 0.5, sample std sqrt(5/3), one of four below
    assert q["mean"] == pytest.approx(0.5) and q["se"] == pytest.approx(np.sqrt(5 / 3) / 2)
    assert q["high"] - q["mean"] == pytest.approx(stats.norm.ppf(0.75) * q["se"]) and q["a_lower"] == 0.25


@pytest.mark.parametrize("a, b, match", [([1.0, 2.0], [1.0], "same length"), ([1.0], [2.0], "at least 2 people"),
                                         ([[1.0, 2.0]], [[1.0, 2.0]], "1-D")])
def test_paired_difference_rejects_unpaired_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        metrics.paired_difference(a, b)
