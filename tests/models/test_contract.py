"""One contract for every backbone of the ``method=`` switch, at every depth (larq-zoo style).

Each (method, depth) is built once (a module-scoped fixture: pytest runs a case's tests together and frees
its model before the next case; one xdist group per case keeps them on one worker) and must: build with the
documented output, survive a ``get_config`` round trip with the same outputs, and (slow) convert with LCE to
one ``LceBconv2d`` per binarized convolution where the method's binarizers allow it.
"""
import gc

import larq as lq
import numpy as np
import pytest
import tensorflow as tf
from helpers import BACKBONE_INPUT, keras_vs_lce

from bidrn_tf.models.backbones import METHODS, build_resnet, is_lce_binary

CASES = [pytest.param(m, d, id=f"{m}-{d}", marks=pytest.mark.xdist_group(f"contract-{m}-{d}"))
         for m in METHODS for d in (18, 50)]
BINARY_CASES = [c for c in CASES if c.values[0] != "fp"]


@pytest.fixture(scope="module")
def built(request):
    """(method, depth, model) at ``BACKBONE_INPUT`` for the case in ``request.param``."""
    method, depth = request.param
    tf.keras.utils.set_random_seed(0)
    model = build_resnet(depth=depth, method=method, input_shape=BACKBONE_INPUT)
    yield method, depth, model
    del model
    gc.collect()


MODELS = [pytest.param((c.values[0], c.values[1]), id=c.id, marks=c.marks) for c in CASES]


@pytest.mark.parametrize("built", MODELS, indirect=True)
def test_builds_with_the_documented_output(built):
    method, depth, model = built
    h, w = BACKBONE_INPUT[0] // 32, BACKBONE_INPUT[1] // 32
    assert model.output_shape == (None, h, w, 512 if depth == 18 else 2048)
    assert model.name == f"{method}_resnet{depth}"


def _architecture(config: dict) -> dict:
    """A model config without the per-layer ``build_config`` (larq records the built input shape there only
    for layers built by a call, not for layers built from a config)."""
    return {**config, "layers": [{k: v for k, v in layer.items() if k != "build_config"}
                                 for layer in config["layers"]]}


@pytest.mark.parametrize("built", MODELS, indirect=True)
def test_get_config_round_trip(built):
    _, _, model = built
    clone = tf.keras.Model.from_config(model.get_config())
    assert _architecture(clone.get_config()) == _architecture(model.get_config())
    clone.set_weights(model.get_weights())
    x = tf.random.normal((1, *BACKBONE_INPUT), seed=0)
    ref = model(x, training=False).numpy()
    np.testing.assert_allclose(clone(x, training=False).numpy(), ref, rtol=0, atol=1e-6 * (1 + np.abs(ref).max()))


def _expected_fp_convs(model):
    return sum(1 for m in model.submodules
               if isinstance(m, tf.keras.layers.Conv2D) and not isinstance(m, lq.layers.QuantConv2D))


@pytest.mark.slow
@pytest.mark.parametrize("method,depth", BINARY_CASES)
def test_conversion_contract(method, depth, rng):
    """Census from the flatbuffer: one LceBconv2d per binarized conv; float CONV_2D only where meant.

    At 32x32 input (a 1x1 final map): at 64x96 the random-init BiDRN ResNet-50 already differs from its
    flatbuffer as much as from its own BN-perturbed control (README, "Fidelity")."""
    model = build_resnet(depth=depth, method=method, input_shape=(32, 32, 3))
    n_binary = sum(isinstance(m, lq.layers.QuantConv2D) for m in model.submodules)
    census, ref, out = keras_vs_lce(model, rng)
    if is_lce_binary(method):
        assert census["LceBconv2d"] == n_binary
        assert census["CONV_2D"] == _expected_fp_convs(model)  # stem (+ BiDRN's FP BR shortcuts)
    else:  # DoReFa's {0, 1} activations are not a sign: every conv stays float
        assert census["LceBconv2d"] == 0
        assert census["CONV_2D"] == n_binary + 1
    if method in ("bidrn", "bnn") and not (method == "bnn" and depth == 50):
        # Whole network. BiDRN's full-precision residuals keep a rare near-zero sign flip from cascading;
        # the plain baselines are chaotic at random init (see README, "Fidelity").
        np.testing.assert_allclose(out, ref, atol=1e-4 * (1 + np.abs(ref).max()))
