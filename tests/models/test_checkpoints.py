import json

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


def test_weights_of_another_architecture_are_refused_whole(tmp_path):
    """A checkpoint that would load only partly (here: the model has one more layer, whose weights the
    checkpoint lacks) is an error, not a half-initialised model."""
    path = str(tmp_path / "w")
    save_weights(_model(), path, method="fp")
    i = tf.keras.Input((4,))
    bigger = tf.keras.Model(i, [tf.keras.layers.Dense(3)(i), tf.keras.layers.Dense(2)(i)])
    with pytest.raises(CheckpointError, match="does not match the fp model"):
        load_weights(bigger, path, method="fp")


@pytest.mark.parametrize("edit", [{"method": "bnn"}, {"model_config": {"image_hw": [256, 192]}}])
def test_edited_metadata_is_refused(tmp_path, edit):
    path = str(tmp_path / "w")
    save_weights(_model(), path, method="fp", model_config={"image_hw": [128, 96]})
    meta = json.loads((tmp_path / "w.meta.json").read_text())
    (tmp_path / "w.meta.json").write_text(json.dumps({**meta, **edit}))
    with pytest.raises(CheckpointError, match="was changed after the weights were saved"):
        load_weights(_model(), path, method=edit.get("method", "fp"))


def test_unknown_configuration_key_is_refused(tmp_path, smplx_model_path):
    from bidrn_tf.models.checkpoints import load_trained

    path = str(tmp_path / "w")
    save_weights(_model(), path, method="fp", model_config={"image_hw": [128, 96], "imgae_hw": [1, 1]})
    with pytest.raises(CheckpointError, match=r"unknown model configuration key\(s\) \['imgae_hw'\]"):
        load_trained(path, smplx_model=smplx_model_path)
