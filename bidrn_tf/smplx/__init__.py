"""SMPL-X in TensorFlow: the joint layout (``joints``), the Keras layer (``layer``, ``lbs``), model files
(``model_file``), a generated stand-in model (``synthetic``) and vertex / joint subsets (``regions``)."""
from bidrn_tf.smplx.layer import SMPLXLayer
from bidrn_tf.smplx.model_file import ModelFileError, SMPLXArrays, load
from bidrn_tf.smplx.synthetic import model_or_stand_in, write_synthetic_model

__all__ = ["SMPLXLayer", "ModelFileError", "SMPLXArrays", "load", "model_or_stand_in", "write_synthetic_model"]
