import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(autouse=True)
def _fresh_session():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def smplx_model_path(tmp_path_factory):
    """The generated SMPL-X-format model, written once per test session."""
    from bidrn_tf.smplx import write_synthetic_model

    return write_synthetic_model(str(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL.npz"))
