"""Training diagnostics: precise BatchNorm, sign-flip tracking, the mean-pose control, activation growth."""
import numpy as np
import pytest
import tensorflow as tf
from helpers import make_agora

from bidrn_tf.data.agora import load_agora
from bidrn_tf.models.batchnorm import precise_batchnorm
from scipy.spatial.transform import Rotation

from bidrn_tf.smplx.joints import POSE_OUTPUTS as PARTS
from bidrn_tf.train.diagnostics import (SignFlips, binary_kernels, block_activation_std, error_budget, geometric_median,
                                        mean_pose_control, mean_rotation_bias, mean_rotations, median_mesh,
                                        median_mesh_control, other_people_control, params_metrics, part_errors,
                                        pose_angles, predicted_rotations, rotation_errors, up_axis_tilt,
                                        with_mean_joints, without_offset)


def test_precise_batchnorm_is_the_mean_of_the_batch_statistics(rng):
    inp = tf.keras.Input((3,))
    model = tf.keras.Model(inp, tf.keras.layers.BatchNormalization(momentum=0.99)(inp))
    batches = [rng.normal(i, 1.0 + i, (16, 3)).astype(np.float32) for i in range(4)]
    assert precise_batchnorm(model, batches) == 4
    bn = model.layers[-1]
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean([b.var(0) for b in batches], 0), rtol=1e-4)
    assert bn.momentum == 0.99  # restored
    with pytest.raises(ValueError, match="at least one batch"):
        precise_batchnorm(model, [])


def test_sign_flips_count_every_weight_that_ever_changed_sign():
    import larq as lq

    inp = tf.keras.Input((4, 4, 2))
    conv = lq.layers.QuantConv2D(3, 1, kernel_quantizer="ste_sign", input_quantizer="ste_sign", use_bias=False)
    model = tf.keras.Model(inp, tf.keras.layers.Conv2D(1, 1)(conv(inp)))  # the float conv is not tracked
    (kernel,) = binary_kernels(model)
    kernel.assign(np.ones((1, 1, 2, 3), np.float32))
    flips = SignFlips(model)
    k = np.ones((1, 1, 2, 3), np.float32)
    k[0, 0, 0, 0] = -1  # flips
    kernel.assign(k)
    flips.update()
    k[0, 0, 0, 0] = 1  # flips back: ever flipped, final sign as at the start
    k[0, 0, 1, 2] = -1
    kernel.assign(k)
    flips.update()
    s = flips.summary()
    assert s["binary_weights"] == 6 and s["ever_flipped"] == pytest.approx(2 / 6)
    assert s["final_differs"] == pytest.approx(1 / 6) and s["last_step_flipped"] == pytest.approx(2 / 6)


def test_mean_pose_control_is_exact_when_everyone_has_the_mean_pose(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train")  # two persons with the same parameters
    control = mean_pose_control(people, people, smplx_model_path)
    assert control["MPVPE_all"] == pytest.approx(0.0, abs=1e-3)
    other = [p for p in people]
    other[0] = type(people[0])(**{**people[0].__dict__, "params": {**people[0].params,
                                                                    "betas": people[0].params["betas"] + 1.0}})
    assert mean_pose_control(people, other, smplx_model_path)["MPVPE_all"] > 1.0


def test_block_activation_std_reports_every_block():
    from bidrn_tf.models.backbones import build_resnet

    model = build_resnet(depth=18, method="bidrn", input_shape=(64, 48, 3))
    std = block_activation_std(model, np.random.default_rng(0).uniform(0, 1, (2, 64, 48, 3)).astype(np.float32))
    assert list(std)[0] == "stem" and len(std) == 1 + 8  # stem and ResNet-18's 8 blocks
    assert all(np.isfinite(v) and v > 0 for v in std.values())


def test_mean_pose_control_turns_everyone_by_the_mean_root_rotation(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train")  # two persons with the same parameters
    base = Rotation.from_rotvec(people[0].params["global_orient"])
    turned = []
    for p, angle in zip(people, (0.4, -0.4)):  # the same root turned +-0.4 rad about the vertical: mean = base
        orient = (base * Rotation.from_euler("y", angle)).as_rotvec().astype(np.float32)
        turned.append(type(p)(**{**p.__dict__, "params": {**p.params, "global_orient": orient}}))
    assert mean_pose_control(turned, people, smplx_model_path)["MPVPE_all"] == pytest.approx(0.0, abs=1e-2)
    # each person's own root (the oracle row) is exact on the turned people; the mean root is not
    assert mean_pose_control(turned, turned, smplx_model_path, truth=("root",))["MPVPE_all"] == pytest.approx(0.0, abs=1e-2)
    assert mean_pose_control(turned, turned, smplx_model_path)["MPVPE_all"] > 10.0
    for bad in ("root", ("root", "pelvis")):  # a bare string would be read letter by letter
        with pytest.raises(ValueError, match="truth must be"):
            mean_pose_control(turned, turned, smplx_model_path, truth=bad)


def test_error_budget_charges_each_group_to_its_own_row(tmp_path, smplx_model_path):
    """Two persons who differ only in the body pose: the control and the root-only oracle see the body
    pose's error; from the row that adds the body pose on, every metric is 0 (hands, face, shape equal)."""
    people = load_agora(make_agora(str(tmp_path)), "train")  # two persons with the same parameters
    bent = dict(people[1].params, body_pose=people[1].params["body_pose"] + 0.3)
    people[1] = type(people[1])(**{**people[1].__dict__, "params": bent})
    budget = error_budget(people, people, smplx_model_path)
    assert [truth for truth, _ in budget] == [(), ("root",), ("root", "body"), ("root", "body", "hands"),
                                              ("root", "body", "hands", "face")]
    costs = [row["MPVPE_all"] for _, row in budget]
    assert costs[0] > 10.0 and costs[1] > 10.0
    assert costs[2:] == pytest.approx([0.0] * 3, abs=1e-2)


def test_geometric_median_at_analytic_points():
    # on a line: the middle point, not the mean (3.67); an equilateral triangle: its centre; a triangle with
    # an angle of 120 degrees or more: that corner (the Fermat point); shape (N, ..., D) -> (..., D)
    line = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    equilateral = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, np.sqrt(3.0)]])
    obtuse = np.array([[0.0, 0.0], [-2.0, 0.1], [2.0, 0.1]])
    got = geometric_median(np.stack([line, equilateral, obtuse], axis=1))
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, [[1.0, 0.0], [1.0, np.sqrt(3.0) / 3], [0.0, 0.0]], atol=1e-6)
    # the mean distance at the median is the smallest: random points, any small step away costs
    pts = np.random.default_rng(0).normal(size=(25, 3))
    med = geometric_median(pts)
    cost = lambda m: np.linalg.norm(pts - m, axis=1).mean()  # noqa: E731
    for step in np.random.default_rng(1).normal(scale=1e-3, size=(20, 3)):
        assert cost(med + step) > cost(med)


def test_median_mesh_control_is_exact_for_identical_people_and_ignores_the_root(tmp_path, smplx_model_path):
    people = load_agora(make_agora(str(tmp_path)), "train")  # two persons with the same parameters
    assert median_mesh_control(people, people, smplx_model_path)["MPVPE_all"] == pytest.approx(0.0, abs=1e-3)
    mesh = median_mesh(people, smplx_model_path)  # given the mesh, the control scores that mesh
    assert median_mesh_control(people, people, smplx_model_path, mesh=mesh + [0.0, 0.0, 0.05]) == pytest.approx(
        median_mesh_control(people, people, smplx_model_path), abs=1e-3)  # MPVPE aligns the pelvis
    assert median_mesh_control(people, people, smplx_model_path, mesh=mesh * 1.1)["MPVPE_all"] > 1.0
    # a constant mesh cannot follow the root: people turned by +-0.4 rad about the vertical are predicted with
    # one mesh, which the mean-pose control (the mean root is the untouched one) gets exactly right
    base = Rotation.from_rotvec(people[0].params["global_orient"])
    orient = [(base * Rotation.from_euler("y", a)).as_rotvec().astype(np.float32) for a in (0.4, -0.4)]
    turned = [type(p)(**{**p.__dict__, "params": {**p.params, "global_orient": o}}) for p, o in zip(people, orient)]
    assert median_mesh_control(turned, people, smplx_model_path)["MPVPE_all"] > 1.0
    assert mean_pose_control(turned, people, smplx_model_path)["MPVPE_all"] == pytest.approx(0.0, abs=1e-2)


def _meshes(smplx_model_path, n, rng):
    """n (V, 3) meshes: the model's template, each moved by its own offset and stretched by its own factor."""
    from bidrn_tf.smplx.model_file import load

    template = np.asarray(load(smplx_model_path).v_template, np.float64)
    return np.stack([template * rng.uniform(0.8, 1.2) + rng.normal(0, 0.1, 3) for _ in range(n)])


def _own_rows(pred, truth, smplx_model_path):
    from bidrn_tf.evaluate.metrics import mesh_metrics, model_regions

    regions = model_regions(smplx_model_path)
    return [mesh_metrics(p, t, **regions) for p, t in zip(pred, truth)]


def test_other_people_control_scores_each_person_against_the_others_predictions(smplx_model_path):
    from bidrn_tf.evaluate.metrics import METRIC_NAMES, mpvpe
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.joints import PELVIS

    rng = np.random.default_rng(0)
    truth = _meshes(smplx_model_path, 4, rng)
    perfect = other_people_control(truth, truth, smplx_model_path)
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in perfect["model"].values())
    # a perfect model against the other people: the pelvis-aligned mean vertex distance of every ordered pair
    pelvis = np.asarray(load(smplx_model_path).j_regressor, np.float64)[PELVIS]
    aligned = truth - np.einsum("v,nvc->nc", pelvis, truth)[:, None]
    pairs = [np.linalg.norm(aligned[i] - aligned[j], axis=-1).mean() * 1000 for i in range(4) for j in range(4) if i != j]
    assert perfect["other_people"]["MPVPE_all"] == pytest.approx(np.mean(pairs), rel=1e-9)
    assert perfect["other_people"]["MPVPE_all"] > 10
    # a constant output: the same on both; so is any output that does not depend on the person
    constant = np.repeat(_meshes(smplx_model_path, 1, rng), 4, 0)
    got = other_people_control(constant, truth, smplx_model_path)
    for k in METRIC_NAMES:
        assert got["other_people"][k] == pytest.approx(got["model"][k], rel=1e-9), k
    # fewer shifts than people: person i against the prediction for person i + 1 only
    noisy = truth + rng.normal(0, 0.01, truth.shape)
    one = other_people_control(noisy, truth, smplx_model_path, max_shifts=1)["other_people"]["MPVPE_all"]
    expected = np.mean([mpvpe(noisy[(i + 1) % 4], truth[i], pelvis @ noisy[(i + 1) % 4], pelvis @ truth[i])
                        for i in range(4)])
    assert one == pytest.approx(expected, rel=1e-9)
    # the caller's own per-person rows stand in for the model's score, and nothing else changes
    rows = [{k: float(i) for k in METRIC_NAMES} for i in range(4)]
    given = other_people_control(noisy, truth, smplx_model_path, max_shifts=1, own_rows=rows)
    assert given["model"]["MPVPE_all"] == pytest.approx(1.5) and given["other_people"]["MPVPE_all"] == one
    rows_of_the_model = _own_rows(noisy, truth, smplx_model_path)
    assert other_people_control(noisy, truth, smplx_model_path, own_rows=rows_of_the_model) == other_people_control(
        noisy, truth, smplx_model_path)
    with pytest.raises(ValueError, match="own_rows"):
        other_people_control(noisy, truth, smplx_model_path, own_rows=rows[:3])
    with pytest.raises(ValueError, match="at least 2 people"):
        other_people_control(truth[:1], truth[:1], smplx_model_path)
    with pytest.raises(ValueError, match=r"\(N, V, 3\)"):
        other_people_control(truth, truth[:3], smplx_model_path)
    with pytest.raises(ValueError, match="max_shifts"):
        other_people_control(truth, truth, smplx_model_path, max_shifts=0)


def test_part_errors_split_mpvpe_by_body_part(smplx_model_path):
    from bidrn_tf.evaluate.metrics import mpvpe
    from bidrn_tf.smplx.joints import BODY_PARTS, PELVIS
    from bidrn_tf.smplx.model_file import load
    from bidrn_tf.smplx.regions import body_part_vertex_ids

    arrays = load(smplx_model_path)
    ids = body_part_vertex_ids(arrays)
    assert list(ids) == list(BODY_PARTS)
    assert np.array_equal(np.sort(np.concatenate(list(ids.values()))), np.arange(arrays.num_vertices))  # a partition
    rng = np.random.default_rng(1)
    truth = _meshes(smplx_model_path, 3, rng)
    pred = truth + rng.normal(0, 0.02, truth.shape)
    got = part_errors(pred, truth, smplx_model_path)
    pelvis = np.asarray(arrays.j_regressor, np.float64)[PELVIS]
    overall = np.mean([mpvpe(p, t, pelvis @ p, pelvis @ t) for p, t in zip(pred, truth)])
    weighted = sum(got[k] * len(ids[k]) for k in got) / arrays.num_vertices
    assert weighted == pytest.approx(overall, rel=1e-9)
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in part_errors(truth, truth, smplx_model_path).values())
    # a hand moved away from a correct body: only the hands' error (the pelvis does not depend on the hands)
    moved = truth.copy()
    moved[:, ids["hands"]] += [0.0, 0.1, 0.0]
    got = part_errors(moved, truth, smplx_model_path)
    assert got["hands"] == pytest.approx(100.0, rel=1e-6)
    assert all(v == pytest.approx(0.0, abs=1e-6) for k, v in got.items() if k != "hands")
    one = part_errors(truth[0], truth, smplx_model_path)  # one mesh for everyone = that mesh repeated
    assert one == pytest.approx(part_errors(np.repeat(truth[:1], 3, 0), truth, smplx_model_path))
    with pytest.raises(ValueError, match="pred_vertices"):
        part_errors(truth[:2], truth, smplx_model_path)
    with pytest.raises(ValueError, match="pred_vertices"):  # one mesh with the wrong vertex count
        part_errors(truth[0, :-1], truth, smplx_model_path)
    with pytest.raises(ValueError, match="true_vertices"):
        part_errors(truth[0], truth[0], smplx_model_path)


def _poses(rotvecs_per_part):
    return {k: np.asarray(v, np.float32).reshape(len(v), -1) for k, v in rotvecs_per_part.items()}


def test_pose_angles_are_the_mean_relative_angle_in_degrees_per_part():
    rng = np.random.default_rng(0)
    sizes = {"root_pose": 1, "body_pose": 21, "lhand_pose": 15, "rhand_pose": 15, "jaw_pose": 1}
    truth = _poses({k: rng.normal(size=(4, n, 3)) for k, n in sizes.items()})
    pred = _poses({k: rng.normal(size=(4, n, 3)) for k, n in sizes.items()})
    got = pose_angles(pred, truth)
    for k in PARTS:
        a, b = Rotation.from_rotvec(pred[k].reshape(-1, 3)), Rotation.from_rotvec(truth[k].reshape(-1, 3))
        assert got[k] == pytest.approx(np.degrees((a.inv() * b).magnitude().mean()), abs=1e-3), k
    assert pose_angles(truth, truth)["body_pose"] < 1e-3


def test_mean_rotations_of_a_symmetric_pair_and_of_equal_rotations():
    """Turns of +-0.4 rad about z average to the identity; equal rotations to themselves - also near a half
    turn, where averaging the axis-angle vectors of (pi - e) n and -(pi - e) n would give the identity."""
    pair = {"root_pose": np.array([[0.0, 0.0, 0.4], [0.0, 0.0, -0.4]], np.float32)}
    np.testing.assert_allclose(mean_rotations(pair)["root_pose"], [[0.0, 0.0, 0.0]], atol=1e-6)
    a = np.pi - 0.05
    near_half = {"root_pose": np.array([[a, 0.0, 0.0], [-a, 0.0, 0.0]], np.float32)}
    mean = Rotation.from_rotvec(mean_rotations(near_half)["root_pose"][0])
    assert mean.magnitude() == pytest.approx(np.pi, abs=1e-4)  # the half turn about x, not the identity
    body = {"body_pose": np.tile(np.linspace(-1, 1, 63, dtype=np.float32), (3, 1))}
    np.testing.assert_allclose(mean_rotations(body)["body_pose"], body["body_pose"][:1], atol=1e-5)


def test_up_axis_tilt_sees_a_tip_over_and_not_a_turn_about_the_body_axis():
    base = Rotation.from_euler("x", np.pi)  # the camera-space root of an upright person facing the camera
    turned = base * Rotation.from_euler("y", [0.3, 1.2])  # turned about the body's own up axis (y)
    tipped = base * Rotation.from_euler("z", [0.3, 1.2])  # tipped sideways
    true = np.repeat(base.as_rotvec()[None], 2, 0)
    assert up_axis_tilt(turned.as_rotvec(), true) == pytest.approx(0.0, abs=1e-6)
    assert up_axis_tilt(tipped.as_rotvec(), true) == pytest.approx(np.degrees(0.75), abs=1e-6)  # mean of 0.3, 1.2


def test_rotation_errors_of_a_constant_model_equal_the_constant_and_have_no_spread():
    rng = np.random.default_rng(2)
    sizes = {"root_pose": 1, "body_pose": 21, "lhand_pose": 15, "rhand_pose": 15, "jaw_pose": 1}
    truth = _poses({k: rng.normal(scale=0.3, size=(6, n, 3)) for k, n in sizes.items()})
    reference = _poses({k: rng.normal(scale=0.3, size=(9, n, 3)) for k, n in sizes.items()})
    const = {k: np.repeat(v, 6, 0) for k, v in mean_rotations(reference).items()}
    got = rotation_errors(const, truth, reference)
    for k in PARTS:
        assert got["model"][k] == pytest.approx(got["constant"][k], abs=1e-3)
        assert got["spread"][k] < 1e-3
    assert got["root_tilt"]["model"] == pytest.approx(got["root_tilt"]["constant"], abs=1e-6)
    assert got["root_yaw"]["model"] == pytest.approx(got["root_yaw"]["constant"], abs=1e-6)
    exact = rotation_errors(truth, truth, reference)
    assert exact["root_yaw"]["model"] < 1e-6
    assert max(exact["model"].values()) < 1e-3 and exact["spread"]["body_pose"] > 10.0


def test_predicted_rotations_collects_outputs_and_targets_in_one_pass():
    from bidrn_tf.smplx.joints import OUTPUT_SIZES

    calls = []

    def model(images, training):  # output = image mean times a fixed row per part, so rows are traceable
        calls.append(training)
        m = tf.reduce_mean(images, axis=[1, 2, 3])[:, None]
        out = {k: m * tf.range(1.0, OUTPUT_SIZES[k] + 1) for k in PARTS}
        out["vertices"] = m[:, :, None] * tf.ones((1, 5, 3))
        return out

    batches = [{"image": tf.fill((n, 4, 4, 3), float(v)),
                **{k: np.full((n, OUTPUT_SIZES[k]), -v, np.float32) for k in PARTS}} for n, v in ((2, 1.0), (1, 2.0))]
    pred, truth = predicted_rotations(model, batches, also=("vertices",))
    assert calls == [False, False]  # one inference pass per batch, vertices included
    assert set(pred) == {*PARTS, "vertices"} and set(truth) == set(PARTS)
    np.testing.assert_allclose(pred["body_pose"][:, 0], [1.0, 1.0, 2.0])
    np.testing.assert_allclose(pred["vertices"], np.repeat([1.0, 1.0, 2.0], 15).reshape(3, 5, 3))
    np.testing.assert_allclose(truth["jaw_pose"][:, 0], [-1.0, -1.0, -2.0])
    none, targets = predicted_rotations(None, batches)
    assert none is None and targets.keys() == truth.keys()
    with pytest.raises(ValueError, match="needs a model"):
        predicted_rotations(None, batches, also=("vertices",))


def test_mean_rotation_bias_is_the_turn_added_to_every_rotation_of_a_joint():
    """Every person's joint 3 turned by the same 20 degrees about the vertical (applied after the person's own
    rotation): the mean turns by exactly that (the chordal mean commutes with a common rotation), so the bias
    is 20 degrees there and 0 at every other joint and at the root, whatever the people's own spread."""
    rng = np.random.default_rng(5)
    reference = _poses({"root_pose": rng.normal(scale=0.3, size=(9, 1, 3)),
                        "body_pose": rng.normal(scale=0.3, size=(9, 21, 3))})
    body = reference["body_pose"].reshape(9, 21, 3).astype(np.float64)
    body[:, 3] = (Rotation.from_euler("y", 20, degrees=True) * Rotation.from_rotvec(body[:, 3])).as_rotvec()
    pred = {"root_pose": reference["root_pose"], "body_pose": body.reshape(9, -1)}
    bias = mean_rotation_bias(pred, reference)
    assert bias["body_pose"].shape == (21,) and bias["root_pose"].shape == (1,)
    assert bias["body_pose"][3] == pytest.approx(20.0, abs=1e-3)
    assert np.delete(bias["body_pose"], 3).max() < 1e-3 and bias["root_pose"][0] < 1e-3
    # two samples of 400 people from one distribution: only the sampling noise of their means (about 1.2
    # degrees per axis at 0.3 rad), small but not 0
    one, two = (_poses({"root_pose": rng.normal(scale=0.3, size=(400, 1, 3)),
                        "body_pose": rng.normal(scale=0.3, size=(400, 21, 3))}) for _ in range(2))
    assert 0 < mean_rotation_bias(one, two)["body_pose"].max() < 6.0


def test_with_mean_joints_sets_only_the_named_joints_to_the_reference_mean():
    rng = np.random.default_rng(6)
    reference = _poses({"body_pose": rng.normal(scale=0.3, size=(7, 21, 3))})
    params = {"body_pose": rng.normal(scale=0.3, size=(4, 63)).astype(np.float32), "betas": np.ones((4, 10))}
    before = {k: v.copy() for k, v in params.items()}
    got = with_mean_joints(params, reference, "body_pose", [12, 15])
    mean = Rotation.from_rotvec(reference["body_pose"].reshape(7, 21, 3)[:, 12]).mean().as_rotvec()
    rows = got["body_pose"].reshape(4, 21, 3)
    np.testing.assert_allclose(rows[:, 12], np.repeat(mean[None], 4, 0), atol=1e-6)
    keep = [j for j in range(21) if j not in (12, 15)]
    np.testing.assert_allclose(rows[:, keep], params["body_pose"].reshape(4, 21, 3)[:, keep], atol=1e-6)
    np.testing.assert_array_equal(got["betas"], params["betas"])
    for k in params:  # the input is not changed
        np.testing.assert_array_equal(params[k], before[k])
    with pytest.raises(ValueError, match="indices 0..20"):
        with_mean_joints(params, reference, "body_pose", [21])


def test_params_metrics_scores_parameters_as_the_mean_pose_control_does(tmp_path, smplx_model_path):
    """The mean parameters of two people, scored by ``params_metrics``, give the mean-pose control's numbers
    (which poses its own SMPL-X layer, with translation); the people's own parameters give 0."""
    from bidrn_tf.data.pipeline import ground_truth
    from bidrn_tf.smplx.joints import OUTPUT_TO_SMPLX

    people = load_agora(make_agora(str(tmp_path)), "train")
    base = Rotation.from_rotvec(people[0].params["global_orient"])
    people = [type(p)(**{**p.__dict__, "params": {
        **p.params, "global_orient": (base * Rotation.from_euler("y", a)).as_rotvec().astype(np.float32),
        "body_pose": p.params["body_pose"] + np.float32(a)}}) for p, a in zip(people, (0.4, -0.4))]
    truth = ground_truth(people, smplx_model_path, vertices=True)["vertices"]
    own = {k: np.stack([p.params[v] for p in people]) for k, v in OUTPUT_TO_SMPLX.items()}
    assert params_metrics(own, truth, smplx_model_path)["MPVPE_all"] == pytest.approx(0.0, abs=1e-3)
    mean = {k: np.repeat(np.mean(v, 0, keepdims=True), 2, 0) for k, v in own.items()}
    mean["root_pose"] = np.repeat(base.as_rotvec()[None], 2, 0)  # the chordal mean of the +-0.4 turns
    got, control = params_metrics(mean, truth, smplx_model_path), mean_pose_control(people, people, smplx_model_path)
    assert got["MPVPE_all"] > 10.0
    for k in ("MPVPE_all", "PA_MPJPE_body", "PA_MPVPE_all"):
        assert got[k] == pytest.approx(control[k], rel=1e-4), k
    with pytest.raises(ValueError, match="lack"):
        params_metrics({"body_pose": own["body_pose"]}, truth, smplx_model_path)


def test_without_offset_moves_the_mean_and_keeps_the_rotations_between_persons():
    """A run whose joint 3 is every person's truth turned by 20 degrees: removing the offset gives back the
    truth (the common turn is undone), so the bias is 0 there, the other joints and outputs are untouched, and
    each person's rotation relative to another's at joint 3 is the same before and after."""
    rng = np.random.default_rng(7)
    truth = _poses({"body_pose": rng.normal(scale=0.3, size=(9, 21, 3))})
    body = truth["body_pose"].reshape(9, 21, 3).astype(np.float64)
    body[:, 3] = (Rotation.from_euler("x", 20, degrees=True) * Rotation.from_rotvec(body[:, 3])).as_rotvec()
    pred = {"body_pose": body.reshape(9, -1), "betas": np.zeros((9, 10))}
    got = without_offset(pred, truth, "body_pose", [3])
    np.testing.assert_allclose(got["body_pose"], truth["body_pose"], atol=1e-5)
    np.testing.assert_array_equal(got["betas"], pred["betas"])
    assert mean_rotation_bias({"body_pose": got["body_pose"]}, truth)["body_pose"].max() < 1e-3
    before, after = (Rotation.from_rotvec(x.reshape(9, 21, 3)[:, 3]) for x in (pred["body_pose"], got["body_pose"]))
    # person k seen from person 0, r_0^-1 r_k: a common turn T applied first cancels, (T r_0)^-1 T r_k = r_0^-1 r_k
    rel_before, rel_after = before[0].inv() * before[1:], after[0].inv() * after[1:]
    assert ((rel_after * rel_before.inv()).magnitude() < 1e-5).all()
    with pytest.raises(ValueError, match="indices 0..20"):
        without_offset(pred, truth, "body_pose", [-1])


def test_loss_terms_are_the_training_loss_and_score_edited_parameters(tmp_path, smplx_model_path):
    from bidrn_tf.data import load_people
    from bidrn_tf.data.pipeline import ground_truth, make_dataset
    from bidrn_tf.data.synthetic import generate
    from bidrn_tf.models.config import PRESETS
    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.smplx.joints import OUTPUT_TO_SMPLX
    from bidrn_tf.train.diagnostics import loss_terms
    from bidrn_tf.train.losses import losses

    cfg = PRESETS["tiny"]
    data = generate(str(tmp_path / "data"), smplx_model=smplx_model_path, num_train=3, num_val=1, seed=5,
                    progress=False)
    people = load_people("synthetic", data, "train")
    batches = list(make_dataset(people, ground_truth(people, smplx_model_path)["joints"], batch_size=2,
                                training=False, input_hw=cfg.image_hw))  # batches of 2 and 1
    model = build_model(method="fp", smplx_model=smplx_model_path, config=cfg)
    kw = dict(pose_loss="geodesic", root_pose_weight=1.0)

    # the model's own outputs (its call, mesh included), scored batch by batch and weighted by batch size
    direct = {}
    for b in batches:
        for k, v in losses(model(b["image"], training=False), b, cfg, **kw).items():
            direct[k] = direct.get(k, 0.0) + float(v) * len(b["image"]) / 3
    # every SMPL-X parameter set to the truth: the parameter terms vanish, the mesh terms move
    truth = {k: np.concatenate([np.asarray(b[k]) for b in batches]) for k in OUTPUT_TO_SMPLX}
    result = loss_terms(model, batches, edits={"own": None, "same": lambda p: dict(p),
                                               "true": lambda p: {k: truth[k] for k in p}}, **kw)
    own, same, true = result["own"], result["same"], result["true"]
    assert result["people"] == 3 and set(own) == set(direct)
    assert loss_terms(model, batches, **kw)["own"] == pytest.approx(own, rel=1e-5)  # the default: own alone
    for k in direct:
        np.testing.assert_allclose(own[k], direct[k], rtol=1e-4, atol=1e-6, err_msg=k)
    for k in direct:
        np.testing.assert_allclose(same[k], own[k], rtol=1e-5, atol=1e-7, err_msg=k)
    for k in ("pose", "root_pose", "shape", "expression"):
        assert true[k] < 1e-3 < own[k], k
    assert abs(true["joints_proj"] - own["joints_proj"]) > 1e-3
    for k in ("body_position", "hand_position", "boxes"):  # not made from the parameters: unchanged
        np.testing.assert_allclose(true[k], own[k], rtol=1e-5, err_msg=k)

    with pytest.raises(ValueError, match="same outputs"):
        loss_terms(model, batches, edits={"bad": lambda p: {"body_pose": p["body_pose"]}}, **kw)
    with pytest.raises(ValueError, match="not a name for an edit"):
        loss_terms(model, batches, edits={"people": None}, **kw)
    with pytest.raises(ValueError, match="at least one batch"):
        loss_terms(model, [], **kw)


def test_body_yaw_is_the_turn_about_the_vertical_and_a_flip_negates_it():
    """A body turned by theta about its vertical, then brought into camera axes (half a turn about x), has yaw
    theta whatever its small tilts about the other axes; a mirrored person (``flip_pose``) has -theta."""
    from scipy.spatial.transform import Rotation

    from bidrn_tf.data.pipeline import flip_pose
    from bidrn_tf.train.diagnostics import body_yaw

    theta = np.radians([-60.0, -25.0, 0.0, 10.0, 59.0])
    turned = Rotation.from_euler("x", np.pi) * Rotation.from_euler("y", theta)
    np.testing.assert_allclose(body_yaw(turned.as_rotvec()), np.degrees(theta), atol=1e-9)
    # a forward lean (about the body's own x axis, after the turn) leaves the forward axis' direction from above
    leaned = turned * Rotation.from_euler("x", 0.2)
    np.testing.assert_allclose(body_yaw(leaned.as_rotvec()), np.degrees(theta), atol=1e-9)
    np.testing.assert_allclose(body_yaw(flip_pose(turned.as_rotvec().astype(np.float32))), -np.degrees(theta),
                               atol=1e-4)


def test_yaw_error_sees_a_turn_about_the_body_axis_and_not_a_tip_over():
    """The counterpart of the up-axis tilt: a turn about the body's own vertical is all yaw, a sideways tip none;
    differences wrap (a turn of 350 degrees is 10 off)."""
    from bidrn_tf.train.diagnostics import yaw_error

    base = Rotation.from_euler("x", np.pi)
    true = np.repeat(base.as_rotvec()[None], 2, 0)
    turned = base * Rotation.from_euler("y", [0.3, 1.2])
    tipped = base * Rotation.from_euler("z", [0.3, 1.2])
    assert yaw_error(turned.as_rotvec(), true) == pytest.approx(np.degrees(0.75), abs=1e-6)
    assert yaw_error(tipped.as_rotvec(), true) == pytest.approx(0.0, abs=1e-6)
    around = base * Rotation.from_euler("y", [np.radians(175.0)])
    back = base * Rotation.from_euler("y", [np.radians(-175.0)])
    assert yaw_error(around.as_rotvec(), back.as_rotvec()) == pytest.approx(10.0, abs=1e-6)
