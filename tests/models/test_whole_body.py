import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.deploy.counts import profile
from bidrn_tf.models.backbones import METHODS
from bidrn_tf.models.config import ModelConfig
from bidrn_tf.models.whole_body import build_model
from bidrn_tf.nn.quantizers import set_progress

# small inputs and ResNet-18 everywhere: every method's whole-body graph at a fraction of the memory (the
# ResNet-50 backbones of every method are covered by tests/models/test_contract.py)
SMALL = ModelConfig(image_hw=(128, 96), body_hw=(128, 96), hand_hw=(64, 64), face_hw=(64, 64), body_depth=18,
                    hand_depth=18)


@pytest.mark.parametrize("method", METHODS)
def test_outputs_and_gradients_for_every_method(method, smplx_model_path):
    model = build_model(method=method, smplx_model=smplx_model_path, config=SMALL)
    x = tf.random.uniform((2, 128, 96, 3), seed=1)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        loss = sum(tf.reduce_mean(tf.abs(v)) for v in out.values())
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes["vertices"] == (2, 10475, 3) and shapes["smplx_joints"] == (2, 55, 3)
    assert shapes["body_pose"] == (2, 63) and shapes["lhand_pose"] == (2, 45) and shapes["rhand_pose"] == (2, 45)
    assert shapes["jaw_pose"] == (2, 3) and shapes["expression"] == (2, 10) and shapes["betas"] == (2, 10)
    assert shapes["cam_trans"] == (2, 3) and shapes["lhand_bbox"] == (2, 4) and shapes["face_bbox"] == (2, 4)
    assert shapes["body_joints"] == (2, 25, 3) and shapes["rhand_joints"] == (2, 20, 3)
    assert shapes["joints_proj"] == (2, 55, 2)
    assert all(np.isfinite(v.numpy()).all() for v in out.values())
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.name for v, g in zip(model.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient reaches {missing[:5]}"
    dead = [v.name for v, g in zip(model.trainable_variables, grads) if not np.any(tf.convert_to_tensor(g).numpy())]
    assert len(dead) <= len(grads) // 50, f"zero gradient for {dead[:10]}"
    # one training step moves the weights and keeps the outputs finite: lr * sign(g), which is Adam's first
    # update, without the optimizer's slots for a 78M-variable model (schedules set as the training loop does)
    set_progress(model, 0.5)
    moved = 0
    for v, g in zip(model.trainable_variables, grads):
        before = v.numpy()
        v.assign_sub(1e-3 * tf.sign(tf.convert_to_tensor(g)))
        moved += not np.array_equal(before, v.numpy())
    assert moved >= 0.98 * len(grads)
    assert all(np.isfinite(v.numpy()).all() for v in model(x, training=True).values())


def test_fp_is_hand4whole_sized(smplx_model_path):
    model = build_model(method="fp", smplx_model=smplx_model_path)
    assert profile(model).total_params == 77_842_256


def test_build_model_rejects_unknown_method(smplx_model_path):
    with pytest.raises(ValueError, match="method"):
        build_model(method="ternary", smplx_model=smplx_model_path, config=SMALL)


def test_missing_smplx_file():
    from bidrn_tf.smplx import ModelFileError

    with pytest.raises(ModelFileError, match="not found"):
        build_model(method="fp", smplx_model="/no/such/SMPLX_NEUTRAL.npz", config=SMALL)


@pytest.mark.parametrize("method", ["fp", "bidrn"])
def test_body_pose_depends_on_the_hand_backbone_and_boxes_are_detached(method, smplx_model_path):
    """Hand4Whole's wiring: the body RotationNet samples the hand backbone's features at the hand MCPs, so
    the body pose's gradient reaches every hand-backbone weight; the crops use detached boxes, so none of it
    reaches BoxNet (which learns from its box loss)."""
    model = build_model(method=method, smplx_model=smplx_model_path, config=SMALL, include_smplx=False)
    whole = model.get_layer("whole_body")
    x = tf.random.uniform((2, 128, 96, 3), seed=3)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True)["body_pose"])
    grads = {id(v): g for v, g in zip(model.trainable_variables, tape.gradient(loss, model.trainable_variables))}

    def reached(layer):
        return [grads[id(v)] is not None and bool(np.any(tf.convert_to_tensor(grads[id(v)]).numpy()))
                for v in layer.trainable_variables]

    hand = reached(whole.hand_backbone)
    assert sum(hand) >= 0.98 * len(hand), f"{len(hand) - sum(hand)} hand-backbone weights get no gradient"
    assert not any(reached(whole.box_net)) and not any(reached(whole.face_backbone))
    assert not any(reached(whole.hand_position))  # hand joints are detached before they are sampled


def test_xnor_activation_scale_reaches_every_backbone_and_only_xnor():
    from bidrn_tf.nn.layers import ActivationScale

    cfg = dataclasses.replace(SMALL, xnor_activation_scale=True)
    body = build_model(method="xnor", smplx_model=None, config=cfg, include_smplx=False).get_layer("whole_body")
    for backbone in (body.body_backbone, body.hand_backbone, body.face_backbone):
        scales = [m for m in backbone.submodules if isinstance(m, ActivationScale)]
        assert len(scales) == sum(isinstance(m, tf.keras.layers.Conv2D) for m in backbone.submodules) - 1  # no stem
    with pytest.raises(ValueError, match="xnor_activation_scale"):
        build_model(method="bnn", smplx_model=None, config=cfg, include_smplx=False)


def test_feature_bn_puts_each_backbone_output_on_one_scale(smplx_model_path):
    """``ModelConfig.feature_bn``: the heads see each backbone's output batch-normalised, so scaling and
    shifting it changes nothing they see; off (Hand4Whole's wiring), the output goes to the heads as it is."""
    on = build_model(method="bidrn", smplx_model=None, config=dataclasses.replace(SMALL, feature_bn=True),
                     include_smplx=False).get_layer("whole_body")
    assert sorted(bn.name for bn in on.feature_bns.values()) == ["body_feature_bn", "face_feature_bn",
                                                                 "hand_feature_bn"]
    x = tf.random.normal((4, 4, 3, 512), seed=5)
    a = on._features("body", x, training=True).numpy()
    b = on._features("body", 7.0 * x + 3.0, training=True).numpy()
    np.testing.assert_allclose(a, b, atol=1e-3)
    assert abs(a.mean()) < 1e-3 and abs(a.std() - 1.0) < 1e-2
    off = build_model(method="bidrn", smplx_model=None, config=SMALL, include_smplx=False).get_layer("whole_body")
    assert off._features("body", x, training=True) is x
    assert not any("feature_bn" in w.name for w in off.weights)


def test_include_features_outputs_what_the_body_heads_read_and_adds_no_weights():
    """``build_model(include_features=True)`` (feature distillation) adds ``body_features``: the body backbone's
    output through the feature BatchNorm, as ``WholeBody.body_features`` computes it; the weights are the same."""
    cfg = dataclasses.replace(SMALL, feature_bn=True)
    tf.keras.utils.set_random_seed(3)
    with_features = build_model(method="bnn", smplx_model=None, config=cfg, include_smplx=False, include_features=True)
    plain = build_model(method="bnn", smplx_model=None, config=cfg, include_smplx=False)
    assert [w.shape for w in with_features.weights] == [w.shape for w in plain.weights]
    images = tf.random.uniform((2, *cfg.image_hw, 3), seed=4)
    layer = with_features.get_layer("whole_body")
    out = with_features(images, training=False)
    expected = layer.feature_bns["body"](layer.body_backbone(tf.image.resize(images, cfg.body_hw), training=False),
                                         training=False)
    np.testing.assert_allclose(out["body_features"], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.body_features(images, training=False), expected, rtol=1e-5, atol=1e-5)
    assert out["body_features"].shape[1:3] == (cfg.body_hw[0] // 32, cfg.body_hw[1] // 32)
    assert "body_features" not in plain(images, training=False)


@pytest.mark.parametrize("method", ["fp", "bidrn"])
def test_rest_rotation_init_starts_at_the_rest_pose_upright(method):
    """``rotation_init="rest"``: before training every joint is at no rotation and the root at a half turn
    about x (upright, facing a camera whose y axis points down), whatever the backbone's output scale;
    Hand4Whole's init starts each joint at a random rotation."""
    from scipy.spatial.transform import Rotation

    x = tf.random.uniform((2, 128, 96, 3), seed=4)

    def angles(rotation_init):
        model = build_model(method=method, smplx_model=None, include_smplx=False,
                            config=dataclasses.replace(SMALL, rotation_init=rotation_init))
        out = model(x, training=False)
        joints = np.concatenate([out[k].numpy().reshape(-1, 3) for k in ("body_pose", "lhand_pose", "rhand_pose",
                                                                         "jaw_pose")])
        upright = Rotation.from_rotvec([np.pi, 0.0, 0.0])
        root = (Rotation.from_rotvec(out["root_pose"].numpy()) * upright.inv()).magnitude()
        return np.linalg.norm(joints, axis=1), root

    joints, root = angles("rest")
    assert joints.max() < 1e-3 and root.max() < 1e-3
    joints, root = angles("hand4whole")
    assert joints.mean() > np.radians(30) and root.min() > np.radians(5)
    with pytest.raises(ValueError, match="rotation_init must be one of"):
        build_model(method=method, smplx_model=None, include_smplx=False,
                    config=dataclasses.replace(SMALL, rotation_init="zero"))
