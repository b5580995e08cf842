"""Checks of command-line input shared by every command: numbers in range and output paths that can be
written, done while parsing arguments, before any slow work (model build, conversion, training).

Each check raises ``argparse.ArgumentTypeError`` (inside an argparse ``type=``) or ``ValueError`` with one
message naming the argument and the problem.
"""
from __future__ import annotations

import argparse
import os


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    """argparse ``type=``: a finite number >= 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def check_outputs(**paths: str) -> None:
    """Check named output files before the work that produces them: each must differ from the others, must
    not be an existing directory, and its folder must exist or be creatable and be writable.

    ``check_outputs(output="m.tflite", report="m.json")``; raises ``ValueError`` naming the argument.
    """
    seen = {}
    for name, path in paths.items():
        real = os.path.realpath(path)
        if real in seen:
            raise ValueError(f"{name} {path!r} is the same file as {seen[real]}: it would overwrite it")
        seen[real] = f"{name} {path!r}"
        if os.path.isdir(path):
            raise ValueError(f"{name} {path!r} is a directory, not a file")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise ValueError(f"{name} {path!r} exists and is not writable")
        folder = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(folder):  # the nearest existing ancestor must let us create the rest
            folder = os.path.dirname(folder)
        if not os.path.isdir(folder):
            raise ValueError(f"{name} {path!r}: {folder!r} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"{name} {path!r}: folder {folder!r} is not writable")


def add_budget_arguments(ap: argparse.ArgumentParser, *, steps: int, out: str) -> None:
    """The training budget every method comparison on the generated set shares: ``--steps``,
    ``--batch-size``, ``--lr``, ``--preset``, ``--num-train``, ``--num-val``, ``--out``."""
    ap.add_argument("--steps", type=positive_int, default=steps)
    ap.add_argument("--batch-size", type=positive_int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--preset", default="small", choices=("paper", "small", "tiny"))
    ap.add_argument("--num-train", type=positive_int, default=64, help="generated training persons")
    ap.add_argument("--num-val", type=positive_int, default=16, help="generated validation persons")
    ap.add_argument("--out", default=out)


def add_scratch_switches(ap: argparse.ArgumentParser) -> None:
    """The switches for training from scratch (README "Comparison settings"), defaults Hand4Whole's:
    ``--feature-bn``, ``--rotation-init``, ``--fp-init``, ``--boxnet`` (``ModelConfig``, see
    :func:`model_switches`) and ``--pose-loss``, ``--root-pose-weight`` (``TrainConfig``); ``--body-hw`` replaces
    the preset's body-backbone input size."""
    from bidrn_tf.models.heads import BOXNET_KINDS, ROTATION_INITS
    from bidrn_tf.nn.layers import FP_CONV_INITS
    from bidrn_tf.train.losses import POSE_LOSSES

    ap.add_argument("--feature-bn", action="store_true",
                    help="a BatchNorm on each backbone's output before the heads (ModelConfig.feature_bn)")
    ap.add_argument("--rotation-init", default="hand4whole", choices=ROTATION_INITS,
                    help="6D rotation heads start at random rotations (Hand4Whole) or at the rest pose "
                         "(ModelConfig.rotation_init)")
    ap.add_argument("--fp-init", default="hand4whole", choices=FP_CONV_INITS,
                    help="full-precision backbone convs start at N(0, 1e-3) (Hand4Whole) or He-normal "
                         "(ModelConfig.fp_init)")
    ap.add_argument("--pose-loss", default="axis_angle", choices=POSE_LOSSES,
                    help="pose L1 on axis-angle vectors (Hand4Whole), on rotation matrices, or the rotation angle "
                         "between prediction and target (geodesic) (TrainConfig.pose_loss)")
    ap.add_argument("--root-pose-weight", type=_non_negative_float, default=0.0, metavar="W",
                    help="W > 0: the root rotation as a loss term of its own with weight W (default 0: the root "
                         "is 1 of the 55 rotations of the pose term, Hand4Whole) (TrainConfig.root_pose_weight)")
    ap.add_argument("--boxnet", default=None, choices=BOXNET_KINDS,
                    help="BoxNet kind for every method (ModelConfig.boxnet; default: the paper's, binarized for "
                         "bidrn and full precision for the other methods)")
    ap.add_argument("--body-hw", type=backbone_side, nargs=2, default=None, metavar=("H", "W"),
                    help="input size of the body backbone (ModelConfig.body_hw; default: the preset's, e.g. tiny "
                         "64 48, whose ResNet features are 2x2); sides >= 32")


def add_distill_switches(ap: argparse.ArgumentParser, *, teacher_help: str) -> None:
    """``--teacher`` (a checkpoint to distil from; ``teacher_help`` says which kind) and ``--distill-weight``
    (default 1 with a teacher, see :func:`distill_arguments`)."""
    ap.add_argument("--teacher", default=None, help=teacher_help)
    ap.add_argument("--distill-weight", type=_non_negative_float, default=None, metavar="W",
                    help="weight of the feature distillation term (default 1 with --teacher)")


def distill_arguments(args: argparse.Namespace) -> tuple:
    """(teacher as an absolute path or None, distill weight) from :func:`add_distill_switches`' arguments: the
    weight defaults to 1 with a teacher and 0 without."""
    weight = args.distill_weight if args.distill_weight is not None else (1.0 if args.teacher else 0.0)
    return (os.path.abspath(args.teacher) if args.teacher else None), weight


def backbone_side(text: str) -> int:
    """A ResNet input side (``--body-hw``, the yaw probe's ``--input-hw``): at least 32 px (the ResNet's stride:
    one feature cell per 32 px)."""
    return _int_at_least(text, 32)


def model_switches(args: argparse.Namespace) -> dict:
    """The ``ModelConfig`` fields set by :func:`add_scratch_switches`, for ``dataclasses.replace`` (``body_hw``
    only when ``--body-hw`` was given, ``boxnet`` only when ``--boxnet`` was)."""
    return {"feature_bn": args.feature_bn, "rotation_init": args.rotation_init, "fp_init": args.fp_init,
            **({"body_hw": tuple(args.body_hw)} if args.body_hw else {}),
            **({"boxnet": args.boxnet} if args.boxnet else {})}
