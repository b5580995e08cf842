"""Configuration as data: ``BiDRNConfig`` (BiDRN's research switches), ``ModelConfig`` (sizes and switches of
the whole-body model), the named ``PRESETS``, and their round trip through plain dicts (checkpoint metadata).

Both are frozen dataclasses passed to the builders; nothing in the package reads a global configuration.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bidrn_tf.smplx.joints import BODY_POSITION_JOINTS, NUM_HAND_POSITION_JOINTS


DERIVED_MODULES = ("dscr", "fur", "fdr", "dsar")


@dataclass(frozen=True)
class BiDRNConfig:
    """Research switches of BiDRN (defaults are the paper's choices, or, where it is silent, the reading
    that reproduces its parameter count; README "BiDRN's switches").

    sign: activation binarizer, ``"approx"`` (2nd-order ApproxSign), ``"tanh"`` (seed Table 3) or ``"ste"``.
    redistribution: ``"rprelu"`` or ``"leakyrelu"`` (seed Table 4: a LeakyReLU with fixed slope 0.1 that
        keeps RPReLU's two learnable shifts; only the learnable slope goes, 17.21M vs 17.22M in the paper).
    weight_quantizer: weight binarizer, ``"scaled_sign"`` (per-output-channel mean |W|) or ``"sign"``; ``"real"``
        keeps the units' weights real-valued (binary activations only: the first stage of two-stage training,
        ``build_resnet(binary_weights=False)``). A binary Block Residual's 1x1 conv follows ``sign`` and
        ``weight_quantizer`` too.
    block_residual: BR shortcut: ``"fp"`` (identity, or a 1x1 conv + BN where shapes change; default),
        ``"binary"``, ``"avgpool"``, ``"duplicate"`` (parameter-free: AvgPool + repeated channels; MobileNetV1's
        default), or ``"none"`` (no Block Residual: the seed Fig. 6 "BR off" row).
    stem_activation: ``"hardtanh"`` (mapping table: relu -> tanh) or ``"relu"``.
    branch_bn: inside G-FUR / G-FDR / G-DSaR every branch is a whole Base LCR ending with its own BatchNorm,
        merged without another one (True, default: the reading that fits the paper's 17.22M); False: the
        branches carry no BN and one BN follows the concat / sum. For a concat the two are the same function;
        for G-FDR's sum they are not (per-branch BN rescales each branch before the add).
    rsign_shift: a learnable per-channel shift before every sign (ReActNet's RSign: ``sign(a_f + b)``);
        the shortcut still carries the unshifted ``a_f``. Default True (fits the paper's count).
    derived_modules: which of the four derived modules are used (seed Fig. 6 break-down: ``()`` is "Base LCR
        only", then add ``"dscr"``, ``"fur"``, ``"fdr"``, ``"dsar"`` one at a time). Where a module is
        switched off, a plain binary unit with the same shape change stands in:
        ``BN(RPReLU(BinConv(sign(a_f))))`` with the module's stride / output channels and *no* shortcut of
        its own (the derived modules are what give shape-changing convolutions a full-precision path).
    """

    sign: str = "approx"
    redistribution: str = "rprelu"
    weight_quantizer: str = "scaled_sign"
    block_residual: str = "fp"
    stem_activation: str = "hardtanh"
    branch_bn: bool = True
    rsign_shift: bool = True
    derived_modules: tuple = DERIVED_MODULES

    def __post_init__(self):
        choices = {"sign": ("approx", "tanh", "ste"), "redistribution": ("rprelu", "leakyrelu"),
                   "weight_quantizer": ("scaled_sign", "sign", "real"),
                   "block_residual": ("fp", "binary", "avgpool", "duplicate", "none"),
                   "stem_activation": ("hardtanh", "relu")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"BiDRNConfig.{key} must be one of {allowed}, got {getattr(self, key)!r}")
        modules = tuple(self.derived_modules)
        unknown = [m for m in modules if m not in DERIVED_MODULES]
        if unknown:
            raise ValueError(f"BiDRNConfig.derived_modules: unknown module(s) {unknown}; known: {DERIVED_MODULES}")
        object.__setattr__(self, "derived_modules", tuple(m for m in DERIVED_MODULES if m in modules))

    def module_args(self) -> dict:
        """The keyword arguments every BiDRB module of ``bidrn_tf.nn.blocks`` takes from this config."""
        return dict(sign=self.sign, weight_quantizer=self.weight_quantizer, redistribution=self.redistribution,
                    rsign_shift=self.rsign_shift)

    def uses(self, module: str) -> bool:
        """Whether the derived module ``module`` (one of ``DERIVED_MODULES``) is switched on."""
        return module in self.derived_modules


# seed Fig. 6 break-down, each row one configuration
BREAKDOWN = {
    "base_lcr": BiDRNConfig(derived_modules=()),
    "+dscr": BiDRNConfig(derived_modules=("dscr",)),
    "+fur": BiDRNConfig(derived_modules=("dscr", "fur")),
    "+fdr": BiDRNConfig(derived_modules=("dscr", "fur", "fdr")),
    "+dsar": BiDRNConfig(),
    "no_br": BiDRNConfig(block_residual="none"),
}


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
    boxnet: str | None = None  # BoxNet kind (models.heads.BOXNET_KINDS); None: "binary_deconv" for bidrn, else "fp"
    body_depth: int = 50  # ResNet depths of the backbones (the paper's: 50, 50, 18); 18 gives a lighter model
    hand_depth: int = 50
    face_depth: int = 18
    # a BatchNorm on each backbone's output before the heads (not in Hand4Whole; the paper is silent). The
    # heatmap soft-argmax and the sampled features are scale-sensitive, and binarized backbones end in sums of
    # full-precision residuals whose scale differs from a ResNet's post-ReLU output (README "Comparison settings")
    feature_bn: bool = False
    # where the 6D rotation heads start (models.heads.ROTATION_INITS): "hand4whole" (zero bias, N(0, 0.01)
    # weights: a random rotation per joint) or "rest" (the rest pose, the root upright facing the camera)
    rotation_init: str = "hand4whole"
    # initializer of the backbones' full-precision convolutions (nn.layers.FP_CONV_INITS): "hand4whole"
    # (N(0, 1e-3), meant to be overwritten by ImageNet weights) or "he" (torchvision's from-scratch init)
    fp_init: str = "hand4whole"
    # method "xnor" only: XNOR-Net's activation scale K after each binary conv (backbones.build_resnet's
    # xnor_activation_scale); off: "xnor" is BNN's function behind the BatchNorms (models.backbones)
    xnor_activation_scale: bool = False
    bidrn: BiDRNConfig = dataclasses.field(default_factory=BiDRNConfig)

    def boxnet_kind(self, method: str) -> str:
        """The BoxNet kind used with ``method``: ``boxnet`` if set, else the paper's binarized BoxNet for
        BiDRN and Hand4Whole's full-precision one for every other method (the paper's counts: the BNN rows'
        21.61M keep BoxNet full precision)."""
        if self.boxnet is not None:
            return self.boxnet
        return "binary_deconv" if method == "bidrn" else "fp"


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
    if "binary_boxnet" in d:
        raise ValueError("model configuration written by bidrn_tf 0.1 (key 'binary_boxnet'): the heads, BoxNet and "
                         "BiDRN modules changed in 0.2 (Hand4Whole wiring, per-branch BN, RSign shifts); retrain")
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(d) - known) + sorted(f"bidrn.{k}" for k in set(bidrn) - {f.name for f in
                                                                                   dataclasses.fields(BiDRNConfig)})
    if unknown:
        raise ValueError(f"unknown model configuration key(s) {unknown}")
    if "derived_modules" in bidrn:
        bidrn["derived_modules"] = tuple(bidrn["derived_modules"])
    return ModelConfig(bidrn=BiDRNConfig(**bidrn),
                       **{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
