import numpy as np
import pytest
import tensorflow as tf

from bidrn_tf.models.checkpoints import CheckpointError, load_weights, save_weights


def _model():
    i = tf.keras.Input((4,))
    return tf.keras.Model(i, tf.keras.layers.Dense(3)(i))


def test_round_trip_and_method_check(tmp_path):
    a, b = _model(), _model()
    path = str(tmp_path / "ckpt" / "weights")
    save_weights(a, path, method="bidrn", step=7)
    assert load_weights(b, path, method="bidrn") == {"method": "bidrn", "step": 7}
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(CheckpointError, match="trained with method 'bidrn', not 'fp'"):
        load_weights(b, path, method="fp")


def test_missing_corrupt_and_mismatched(tmp_path):
    with pytest.raises(CheckpointError, match="not found or incomplete"):
        load_weights(_model(), str(tmp_path / "nothing"), method="fp")
    path = str(tmp_path / "w")
    save_weights(_model(), path, method="fp")
    (tmp_path / "w.meta.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_weights(_model(), path, method="fp")
    (tmp_path / "w.meta.json").write_text('{"method": "fp"}')
    i = tf.keras.Input((4,))
    other = tf.keras.Model(i, tf.keras.layers.Dense(5)(i))  # different architecture
    with pytest.raises(CheckpointError, match="cannot load"):
        load_weights(other, path, method="fp")
