"""SMPL-X in TensorFlow: the Keras layer, model-file loading, a generated stand-in model, vertex/joint subsets."""
from bidrn_tf.smplx.layer import SMPLXLayer
from bidrn_tf.smplx.model_file import ModelFileError, SMPLXArrays, load
from bidrn_tf.smplx.synthetic import write_synthetic_model

__all__ = ["SMPLXLayer", "ModelFileError", "SMPLXArrays", "load", "write_synthetic_model"]
