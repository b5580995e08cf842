import bidrn_tf  # noqa: F401  (must precede TensorFlow: selects tf-keras)
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
