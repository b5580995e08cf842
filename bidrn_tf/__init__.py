"""BiDRN-TF: binarized whole-body human mesh recovery (BiDRN) in TensorFlow / Larq.

Importing this package selects the Keras 2 API (``tf-keras``) by setting ``TF_USE_LEGACY_KERAS=1``
*before* TensorFlow is imported: larq does not import under Keras 3. If TensorFlow was already
imported without that variable, ``tf.keras`` is Keras 3 and we stop with a clear error instead of
failing deep inside larq.
"""
import os as _os
import sys as _sys

if "tensorflow" in _sys.modules and _os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    raise ImportError(
        "TensorFlow was imported before bidrn_tf without TF_USE_LEGACY_KERAS=1, so tf.keras is Keras 3 and "
        "larq cannot work. Import bidrn_tf before tensorflow, or export TF_USE_LEGACY_KERAS=1."
    )
_os.environ["TF_USE_LEGACY_KERAS"] = "1"
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.2.0"


def build_model(*, method: str, smplx_model: str | None = None, config=None, include_smplx: bool = True):
    """The whole-body model, the package's main entry point (imports TensorFlow on first call); see
    :func:`bidrn_tf.models.whole_body.build_model`."""
    from bidrn_tf.models.whole_body import build_model as _build

    return _build(method=method, smplx_model=smplx_model, config=config, include_smplx=include_smplx)
