"""Training diagnostics: precise BatchNorm, sign-flip tracking, the mean-pose control, activation growth."""
import numpy as np
import pytest
import tensorflow as tf
from helpers import make_agora

from bidrn_tf.data.agora import load_agora
from bidrn_tf.models.batchnorm import precise_batchnorm
from bidrn_tf.train.diagnostics import SignFlips, binary_kernels, block_activation_std, error_budget, mean_pose_control


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
    from scipy.spatial.transform import Rotation

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
