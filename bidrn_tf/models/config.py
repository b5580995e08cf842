"""Configuration as data: ``BiDRNConfig`` (BiDRN's research switches), ``ModelConfig`` (sizes and switches of
the whole-body model), the named ``PRESETS``, and their round trip through plain dicts (checkpoint metadata).

Both are frozen dataclasses passed to the builders; nothing in the package reads a global configuration.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bidrn_tf.smplx.joints import BODY_POSITION_JOINTS, NUM_HAND_POSITION_JOINTS


@dataclass(frozen=True)
class BiDRNConfig:
    """Research switches of BiDRN (defaults are the paper's choices).

    sign: activation binarizer, ``"approx"`` (2nd-order ApproxSign) or ``"tanh"`` (seed Table 3).
    redistribution: ``"rprelu"`` or ``"leakyrelu"`` (seed Table 4).
    weight_quantizer: weight binarizer, ``"scaled_sign"`` (per-output-channel mean |W|) or ``"sign"``.
    block_residual: BR shortcut when shapes change: ``"fp"`` 1x1 conv (default), ``"binary"``, ``"avgpool"``.
    stem_activation: ``"hardtanh"`` (mapping table: relu -> tanh) or ``"relu"``.
    """

    sign: str = "approx"
    redistribution: str = "rprelu"
    weight_quantizer: str = "scaled_sign"
    block_residual: str = "fp"
    stem_activation: str = "hardtanh"

    def module_args(self) -> dict:
        """The keyword arguments every BiDRB module of ``bidrn_tf.nn.blocks`` takes from this config."""
        return dict(sign=self.sign, weight_quantizer=self.weight_quantizer, redistribution=self.redistribution)


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and switches of the whole-body model (defaults: Hand4Whole's)."""

    image_hw: tuple = (512, 384)
    body_hw: tuple = (256, 192)
    hand_hw: tuple = (256, 256)
    face_hw: tuple = (192, 192)
    body_joints: int = len(BODY_POSITION_JOINTS)
    hand_joints: int = NUM_HAND_POSITION_JOINTS
    heatmap_depth: int = 8
    focal: tuple = (5000.0, 5000.0)
    camera_3d_size: float = 2.5
    hand_box_extension: float = 2.0
    face_box_extension: float = 1.5
    binary_boxnet: bool | None = None  # None: binarized for method="bidrn" only (see README)
    body_depth: int = 50  # ResNet depths of the backbones (the paper's: 50, 50, 18); 18 gives a lighter model
    hand_depth: int = 50
    face_depth: int = 18
    bidrn: BiDRNConfig = dataclasses.field(default_factory=BiDRNConfig)


PRESETS = {
    # the paper's model (Hand4Whole sizes, ResNet-50 body and hands, ResNet-18 face)
    "paper": ModelConfig(),
    # a small model for the demo, tests and quick comparisons on a CPU: half the input size, ResNet-18 everywhere
    "small": ModelConfig(image_hw=(256, 192), body_hw=(128, 96), hand_hw=(128, 128), face_hw=(96, 96),
                         body_depth=18, hand_depth=18, face_depth=18),
    # the smallest model that runs the whole pipeline: for tests
    "tiny": ModelConfig(image_hw=(128, 96), body_hw=(64, 48), hand_hw=(64, 64), face_hw=(64, 64),
                        body_depth=18, hand_depth=18, face_depth=18),
}


def preset(name: str) -> ModelConfig:
    """The ``ModelConfig`` of a named preset (``paper``, ``small``, ``tiny``)."""
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {name!r}")
    return PRESETS[name]


def to_dict(cfg: ModelConfig) -> dict:
    """JSON-ready dict of a ``ModelConfig`` (nested ``bidrn``)."""
    return dataclasses.asdict(cfg)


def from_dict(d: dict) -> ModelConfig:
    """Inverse of :func:`to_dict`; an unknown key is a ``ValueError`` naming it."""
    d = dict(d)
    bidrn = d.pop("bidrn", {})
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(d) - known) + sorted(f"bidrn.{k}" for k in set(bidrn) - {f.name for f in
                                                                                   dataclasses.fields(BiDRNConfig)})
    if unknown:
        raise ValueError(f"unknown model configuration key(s) {unknown}")
    return ModelConfig(bidrn=BiDRNConfig(**bidrn),
                       **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
