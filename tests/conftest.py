import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import gc

import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(autouse=True)
def _fresh_session():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    yield
    # Keras models sit in reference cycles, and the garbage collector runs on object counts, not bytes: without
    # this, the large models of finished tests pile up in a long-lived xdist worker (one was OOM-killed at 13 GB)
    gc.collect()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def smplx_model_path(tmp_path_factory):
    """The generated SMPL-X-format model, written once per test session."""
    from bidrn_tf.smplx import write_synthetic_model

    return write_synthetic_model(str(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL.npz"))


@pytest.fixture(scope="session")
def backbone():
    """``backbone(method, depth[, input_shape])``: ``build_resnet`` (default input ``BACKBONE_INPUT``), built once
    per session and shared.

    Building a BiDRN ResNet-50 takes ~20 s, so the shape, count, config and conversion tests share one
    model per (method, depth). Tests may calibrate its BatchNorm statistics but must not train it.
    """
    from helpers import BACKBONE_INPUT

    from bidrn_tf.models.backbones import build_resnet

    built = {}

    def get(method: str, depth: int, input_shape=BACKBONE_INPUT):
        key = (method, depth, tuple(input_shape))
        if key not in built:
            tf.keras.utils.set_random_seed(0)
            built[key] = build_resnet(depth=depth, method=method, input_shape=input_shape)
        return built[key]

    return get
