"""Training loop: data -> model -> losses -> Adam, with checkpoints, resume, TensorBoard and tf.distribute.

``training/train.py`` / ``bidrn-train`` is the command line (:func:`main`); :func:`train` is the loop as a
function (``TrainConfig`` in).

* Optimiser: Adam, learning rate ``lr`` (Hand4Whole's 1e-4 by default) times 0.1 after ``decay_at``
  fractions of the run (piecewise constant).
* Binarized training: the latent weights of every binary conv are clipped to [-1, 1] after each update
  (larq's ``weight_clip`` constraint, applied by the optimiser); activations use the method's sign with its
  surrogate gradient. One-step training from scratch, no two-step recipe and no pre-trained weights (the
  paper's Table 1 rows use none).
* Checkpoints (model, optimiser, step) every ``checkpoint_every`` steps with ``tf.train.CheckpointManager``,
  which writes each checkpoint completely before it updates the ``checkpoint`` index file, so a killed run
  always restarts from a complete one. ``resume=True`` continues at the saved step with the same data
  order (the pipeline's randomness is a function of seed, epoch and example). ``seed`` also sets the initial
  weights (``tf.keras.utils.set_random_seed`` before the model is built). ``run.json`` records the
  configuration; resuming with another method is refused.
* At the end the weights are exported to ``<out>/final`` (``bidrn_tf.models.checkpoints`` format, with the method
  and model configuration in its metadata) by writing a temporary folder and renaming it.
* ``strategy``: ``"default"`` (one device), ``"mirrored"`` (``tf.distribute.MirroredStrategy``, all local
  GPUs / devices) or ``"multiworker"`` (``MultiWorkerMirroredStrategy``; set ``TF_CONFIG`` on every machine,
  see the README). The batch size is the global one. With several workers every worker trains the same
  steps on its shard of each batch and runs every save (saving is collective), but only the chief (task
  ``chief``, or ``worker`` 0 when the cluster has no chief) writes into ``out``: ``run.json``, checkpoints,
  TensorBoard logs, ``final`` and ``summary.json``. The other workers save into a temporary folder that
  they delete at the end. ``out`` must be on a file system every worker sees (a resume reads the chief's
  checkpoint). Every worker's summary carries ``weights_sha256``, a digest of its final weights, so
  identical replicas can be checked.
* ``teacher`` (a run's ``final/weights``, usually full precision) with ``distill_weight`` > 0 adds feature
  distillation (``train.distill``): the loss term ``distill``, ``distill_weight`` x the mean squared error
  between a 1x1 hint of the student's body features and the teacher's, standardized per channel. The hint is
  checkpointed with the run (a resume continues it) and is not part of the exported model. Off by default (the
  paper trains without a teacher).
* ``dataset`` may be one set or a mix such as ``"h36m+mscoco+mpii"`` (the paper's EHF recipe), sampled as
  Hand4Whole does (``bidrn_tf.data.mixing``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time

import numpy as np
import tensorflow as tf

import bidrn_tf  # noqa: F401
from bidrn_tf.fileio import versioned, write_atomic
from bidrn_tf.models.backbones import METHODS
from bidrn_tf.models.config import PRESETS, ModelConfig, from_dict, to_dict


class TrainingError(ValueError):
    """A run that cannot start or resume (existing run without --resume, another method, ...)."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    method: str
    dataset: str  # "agora", "synthetic", "h36m", "mscoco", "mpii" or a mix "h36m+mscoco+mpii"
    data_dir: str
    smplx_model: str
    out: str
    preset: str = "paper"
    steps: int = 1000
    batch_size: int = 8
    lr: float = 1e-4
    decay_at: tuple = (0.7, 0.9)
    checkpoint_every: int = 100
    log_every: int = 10
    seed: int = 0
    strategy: str = "default"
    resolution: tuple = (720, 1280)
    resume: bool = False
    progress: bool = True
    model_config: ModelConfig | None = None  # overrides the preset's ModelConfig (research switches)
    pose_loss: str = "axis_angle"  # train.losses.POSE_LOSSES: Hand4Whole's axis-angle L1, matrices or geodesic
    root_pose_weight: float = 0.0  # > 0: the root rotation as a loss term of its own (train.losses.losses)
    augment: bool = True  # False: training batches without augmentation (the overfit check, apps.overfit)
    teacher: str | None = None  # a run's final/weights to distil the body features from (train.distill)
    distill_weight: float = 0.0  # > 0 with a teacher: the weight of the distillation term


def make_strategy(name: str):
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        # gradients all-reduced in packs of up to 32 MiB: one collective per variable (the default) costs a
        # network round trip each, and BiDRN has hundreds of small variables
        options = tf.distribute.experimental.CommunicationOptions(bytes_per_pack=32 << 20)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ValueError(f"strategy must be default, mirrored or multiworker, got {name!r}")


class TrainingInterrupted(TrainingError):
    """Ctrl-C: the run stopped after its current step; its last complete checkpoint is intact."""


class _StopOnInterrupt:
    """While training, Ctrl-C (SIGINT) asks the loop to stop after the step in progress; a second Ctrl-C
    interrupts at once. (Only the main thread can install signal handlers; elsewhere Ctrl-C is untouched.)"""

    def __enter__(self):
        import signal
        import threading

        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: stopping after this step (press it again to stop at once)", flush=True)

    def __exit__(self, *exc):
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def committed_checkpoint(out: str) -> str | None:
    """The checkpoint that ``<out>/checkpoints/checkpoint`` (the index CheckpointManager writes last) names,
    or ``None`` when there is no index yet. An index that cannot be read, or that names files that are
    missing, is a :class:`TrainingError`: resuming would otherwise restart at step 0 with only a warning."""
    ckpt_dir = os.path.join(out, "checkpoints")
    index = os.path.join(ckpt_dir, "checkpoint")
    if not os.path.exists(index):
        return None
    state = tf.train.get_checkpoint_state(ckpt_dir)  # None (and a TF warning) when the index does not parse
    if state is None or not state.model_checkpoint_path:
        raise TrainingError(f"checkpoint index {index!r} is unreadable (truncated or corrupt); restore it, or delete "
                            f"{ckpt_dir!r} to start the run again")
    path = os.path.join(ckpt_dir, os.path.basename(state.model_checkpoint_path))
    if not os.path.exists(path + ".index"):
        raise TrainingError(f"checkpoint index {index!r} names {path!r}, whose files are missing")
    return path


def _check_run(cfg: TrainConfig, run_path: str) -> None:
    """A run folder that already holds a run needs the same method, preset, model configuration, losses and data
    (by folder name), and ``--resume`` - unless that run never committed a checkpoint nor final weights: then it
    failed early and is simply started again."""
    if not os.path.exists(run_path):
        return
    with open(run_path) as f:
        try:
            previous = json.load(f)
        except json.JSONDecodeError as err:
            raise TrainingError(f"{run_path!r} is corrupt: {err}") from err
    if not isinstance(previous, dict):
        raise TrainingError(f"{run_path!r} is corrupt: not a JSON object")
    if previous.get("method") != cfg.method:
        raise TrainingError(f"{cfg.out!r} was trained with method {previous.get('method')!r}, not {cfg.method!r}")
    if previous.get("preset") != cfg.preset:
        raise TrainingError(f"{cfg.out!r} was trained with preset {previous.get('preset')!r}, not {cfg.preset!r}")
    if "model_config" in previous and from_dict(previous["model_config"]) != (cfg.model_config or PRESETS[cfg.preset]):
        raise TrainingError(f"{cfg.out!r} was trained with another model configuration: {previous['model_config']}")
    for name, default in (("pose_loss", "axis_angle"), ("root_pose_weight", 0.0), ("augment", True),
                          ("distill_weight", 0.0)):
        if previous.get(name, default) != getattr(cfg, name):  # runs older than the field had its default
            raise TrainingError(f"{cfg.out!r} was trained with {name} {previous.get(name, default)!r}, "
                                f"not {getattr(cfg, name)!r}")
    before, now = previous.get("teacher"), cfg.teacher
    if (before or now) and not (before and now and os.path.realpath(before) == os.path.realpath(now)):
        raise TrainingError(f"{cfg.out!r} was trained with teacher {before!r}, not {now!r}")
    if previous.get("dataset", cfg.dataset) != cfg.dataset:
        raise TrainingError(f"{cfg.out!r} was trained on dataset {previous['dataset']!r}, not {cfg.dataset!r}")
    # the same people: folders compared by name, so a run (or its data) moved elsewhere still resumes, while e.g.
    # a comparison's other --appearance (data_front beside data) does not continue a run on another set
    stored = previous.get("data_dir")
    if stored and os.path.basename(os.path.normpath(stored)) != os.path.basename(os.path.normpath(cfg.data_dir)):
        raise TrainingError(f"{cfg.out!r} was trained on {stored!r}, not on {cfg.data_dir!r}: choose a new --out "
                            "for other data (or give a renamed data folder its old name)")
    started = committed_checkpoint(cfg.out) is not None or os.path.exists(os.path.join(cfg.out, "final"))
    if not started:
        print(f"NOTE: {cfg.out!r} holds a run that stopped before its first checkpoint: starting it again")
    elif not cfg.resume:
        raise TrainingError(f"{cfg.out!r} already holds a run; pass --resume to continue it or choose a new --out")


def _check_config(cfg: TrainConfig) -> None:
    from bidrn_tf.data import parse_dataset

    if "ehf" in parse_dataset(cfg.dataset):
        raise ValueError("EHF is an evaluation set (no parameters to train on); train on h36m+mscoco+mpii")
    if cfg.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {cfg.method!r}")
    if cfg.preset not in PRESETS:
        raise ValueError(f"preset must be one of {tuple(PRESETS)}, got {cfg.preset!r}")
    for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not (isinstance(cfg.lr, (int, float)) and np.isfinite(cfg.lr) and cfg.lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {cfg.lr!r}")
    from bidrn_tf.train.losses import check_pose_loss

    check_pose_loss(cfg.pose_loss, cfg.root_pose_weight)
    from bidrn_tf.train.distill import check_distillation, check_teacher

    check_distillation(cfg.teacher, cfg.distill_weight)
    if cfg.teacher:
        check_teacher(cfg.teacher, model_config=cfg.model_config or PRESETS[cfg.preset])
    if not os.path.isfile(cfg.smplx_model):
        raise FileNotFoundError(f"SMPL-X model file not found: {cfg.smplx_model!r}")
    if os.path.exists(cfg.out) and not os.path.isdir(cfg.out):
        raise ValueError(f"--out {cfg.out!r} is a file, not a run folder")


class _RunLock:
    """An exclusive lock on ``<out>/.lock`` for the life of a training process: a second process training into
    the same folder stops at once instead of mixing its checkpoints with the first one's."""

    def __init__(self, out: str):
        import fcntl

        os.makedirs(out, exist_ok=True)
        self._file = open(os.path.join(out, ".lock"), "a")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise TrainingError(f"another training process is using {out!r}; wait for it or choose a new --out") \
                from None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()  # closing releases the lock


def train(cfg: TrainConfig, *, step_hook=None) -> dict:
    """Run (or resume) training; returns a summary dict (steps, seconds, images/s, last losses).

    The run folder is locked for the whole run (one training process per folder; with
    ``strategy="multiworker"`` the workers share it and no lock is taken). ``step_hook(step, model)``, when
    given, is called after every step (measurements such as ``train.diagnostics.SignFlips``)."""
    _check_config(cfg)
    if cfg.strategy == "multiworker":
        return _train(cfg, step_hook)
    with _RunLock(cfg.out):
        return _train(cfg, step_hook)


def is_chief(strategy) -> bool:
    """Whether this process writes the run's files: always, except for the non-chief workers of a
    multi-worker strategy (the chief is task ``chief``, or ``worker`` 0 when the cluster has none)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


def weights_digest(model) -> str:
    """sha256 of every weight value of ``model`` in order: equal digests mean identical weights."""
    import hashlib

    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(w.numpy()).tobytes())
    return h.hexdigest()


def _train(cfg: TrainConfig, step_hook=None) -> dict:
    import tempfile

    from bidrn_tf.data import load_people
    from bidrn_tf.data.mixing import epoch_length
    from bidrn_tf.data.pipeline import ground_truth

    model_cfg = cfg.model_config or PRESETS[cfg.preset]
    run_path = os.path.join(cfg.out, "run.json")
    _check_run(cfg, run_path)
    strategy = make_strategy(cfg.strategy)  # first: a multi-worker strategy must exist before any TF op runs
    people = load_people(cfg.dataset, cfg.data_dir, "train", cfg.resolution)
    if epoch_length(people) < cfg.batch_size:
        raise TrainingError(f"{epoch_length(people)} training persons per epoch in {cfg.data_dir!r}, fewer than "
                            f"one batch ({cfg.batch_size})")
    joints = ground_truth(people, cfg.smplx_model)["joints"]
    chief = is_chief(strategy)
    # a non-chief worker runs every (collective) save too, into a folder of its own that it deletes at the end
    write_dir = cfg.out if chief else tempfile.mkdtemp(prefix="bidrn-worker-")
    if chief:
        os.makedirs(cfg.out, exist_ok=True)
        teacher = os.path.abspath(cfg.teacher) if cfg.teacher else None  # a resume compares it (_check_run)
        write_atomic(run_path, json.dumps(versioned({**dataclasses.asdict(cfg), "model_config": to_dict(model_cfg),
                                                     "teacher": teacher, "num_train": len(people)}),
                                          indent=1).encode())
    try:
        return _run(cfg, model_cfg, strategy, chief, write_dir, people, joints, step_hook)
    finally:
        if not chief:
            shutil.rmtree(write_dir, ignore_errors=True)


def step_decay(lr: float, steps: int, decay_at=(0.7, 0.9)):
    """The learning-rate schedule of every training run: ``lr``, times 0.1 after each fraction ``decay_at`` of
    ``steps`` (a ``PiecewiseConstantDecay`` of the optimizer's step count)."""
    bounds = [int(f * steps) for f in decay_at]
    return tf.keras.optimizers.schedules.PiecewiseConstantDecay(bounds, [lr * 0.1 ** i for i in range(len(bounds) + 1)])


def _run(cfg, model_cfg, strategy, chief, write_dir, people, joints, step_hook=None) -> dict:
    from bidrn_tf.data.mixing import epoch_length
    from bidrn_tf.data.pipeline import make_dataset
    from bidrn_tf.models.whole_body import build_model
    from bidrn_tf.nn import quantizers
    from bidrn_tf.train.losses import losses

    tf.keras.utils.set_random_seed(cfg.seed)  # the initial weights are a function of the seed as well
    with strategy.scope():
        model = build_model(method=cfg.method, smplx_model=cfg.smplx_model, config=model_cfg,
                            include_features=bool(cfg.teacher))
        teacher, hint = None, None
        variables = list(model.trainable_variables)
        if cfg.teacher:
            from bidrn_tf.train import distill

            teacher = distill.load_teacher(cfg.teacher, model_config=model_cfg)
            hint = distill.hint_layer(teacher(tf.zeros((1, *model_cfg.image_hw, 3))).shape[-1])
            hint.build(model.output[distill.FEATURES].shape)
            variables += hint.trainable_variables
        schedule = step_decay(cfg.lr, cfg.steps, cfg.decay_at)
        optimizer = tf.keras.optimizers.Adam(schedule)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # the hint is checkpointed with the run (a resume continues it) but not exported
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step,
                                   **({"distill_hint": hint} if hint is not None else {}))
    manager = tf.train.CheckpointManager(ckpt, os.path.join(write_dir, "checkpoints"), max_to_keep=2)
    latest = committed_checkpoint(cfg.out) if cfg.resume else None
    if latest:
        try:
            ckpt.restore(latest).assert_existing_objects_matched()
        except (tf.errors.OpError, AssertionError, ValueError) as err:
            raise TrainingError(f"cannot resume from {latest!r}: {str(err).splitlines()[0]}") from err
        print(f"resumed from {latest} at step {int(step.numpy())}")
    elif cfg.resume:
        print("--resume: no complete checkpoint yet (none named in the index file), starting at step 0")
    per_replica_scale = 1.0 / strategy.num_replicas_in_sync

    def step_fn(batch):
        with tf.GradientTape() as tape:
            outputs = model(batch["image"], training=True)
            parts = losses(outputs, batch, model_cfg, pose_loss=cfg.pose_loss, root_pose_weight=cfg.root_pose_weight)
            if teacher is not None:
                hinted = hint(outputs[distill.FEATURES])
                parts["distill"] = cfg.distill_weight * distill.hint_loss(hinted, teacher(batch["image"]))
            total = tf.add_n(list(parts.values()))
            scaled = total * per_replica_scale
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return total, parts

    scheduled = quantizers.scheduled(model)  # ReCU's tau, FDA's Fourier terms and noise weight

    @tf.function
    def train_step(batch):
        for obj in scheduled:  # training progress of this step, set in cross-replica context
            obj.set_progress(tf.cast(step, tf.float32) / cfg.steps)
        total, parts = strategy.run(step_fn, args=(batch,))
        mean = lambda t: strategy.reduce(tf.distribute.ReduceOp.MEAN, t, axis=None)  # noqa: E731
        return mean(total), {k: mean(v) for k, v in parts.items()}

    writer = (tf.summary.create_file_writer(os.path.join(cfg.out, "tensorboard")) if chief
              else tf.summary.create_noop_writer())
    steps_per_epoch = epoch_length(people) // cfg.batch_size
    start = int(step.numpy())
    bar = None
    if cfg.progress and chief:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=start, desc=f"train {cfg.method}", unit="step")
    t0, trained, last = None, 0, {}  # the clock starts after the first step (graph tracing)
    with _StopOnInterrupt() as stop:
        while int(step.numpy()) < cfg.steps and not stop.requested:
            epoch, skip = divmod(int(step.numpy()), steps_per_epoch)
            epochs = -(-(skip + cfg.steps - int(step.numpy())) // steps_per_epoch)  # all the rest of the run
            ds = make_dataset(people, joints, batch_size=cfg.batch_size, training=True, augment=cfg.augment,
                              input_hw=model_cfg.image_hw, seed=cfg.seed, epoch=epoch, epochs=epochs,
                              skip_batches=skip)
            for batch in strategy.experimental_distribute_dataset(ds):
                total, parts = train_step(batch)
                step.assign_add(1)
                s = int(step.numpy())
                if step_hook is not None:
                    step_hook(s, model)
                if t0 is None:
                    t0 = time.perf_counter()
                else:
                    trained += 1
                if not np.isfinite(float(total)):
                    raise TrainingError(f"loss became {float(total)} at step {s}; lower --lr")
                if s % cfg.log_every == 0 or s == cfg.steps:
                    last = {k: float(v) for k, v in parts.items()}
                    with writer.as_default(step=s):
                        tf.summary.scalar("loss/total", total)
                        for k, v in parts.items():
                            tf.summary.scalar(f"loss/{k}", v)
                        tf.summary.scalar("learning_rate", schedule(s))
                if s % cfg.checkpoint_every == 0 or s == cfg.steps:
                    manager.save(checkpoint_number=s)
                if bar:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(total):.3f}")
                if s >= cfg.steps or stop.requested:  # Ctrl-C: stop after the step in progress
                    break
    if bar:
        bar.close()
    writer.flush()
    if stop.requested:
        raise TrainingInterrupted(f"interrupted at step {int(step.numpy())}; the last complete checkpoint is "
                                  f"{committed_checkpoint(cfg.out)!r}: continue with --resume")
    seconds = time.perf_counter() - t0 if t0 is not None else 0.0
    export_final(model, cfg, model_cfg, write_dir)
    summary = {"method": cfg.method, "steps": int(step.numpy()), "timed_steps": trained,
               "seconds_after_first_step": seconds,
               "images_per_second": trained * cfg.batch_size / seconds if trained else None,
               "last_losses": last, "final_weights": os.path.join(cfg.out, "final", "weights"),
               "replicas": strategy.num_replicas_in_sync, "chief": chief, "weights_sha256": weights_digest(model)}
    if chief:
        write_atomic(os.path.join(cfg.out, "summary.json"), json.dumps(versioned(summary), indent=1).encode())
    return summary


def export_final(model, cfg: TrainConfig, model_cfg: ModelConfig, write_dir: str | None = None) -> str:
    """Write ``<write_dir>/final/weights`` (+ ``.meta.json``; ``write_dir`` defaults to ``cfg.out``)
    atomically: a temporary folder, then a rename."""
    from bidrn_tf.fileio import write_folder
    from bidrn_tf.models.checkpoints import save_weights

    final = os.path.join(write_dir or cfg.out, "final")
    write_folder(final, lambda tmp: save_weights(model, os.path.join(tmp, "weights"), method=cfg.method,
                                                 model_config=to_dict(model_cfg),
                                                 smplx_model=os.path.abspath(cfg.smplx_model)))
    return os.path.join(final, "weights")


def _training_set(text: str) -> str:
    """argparse ``type=``: a training set or mix (``bidrn_tf.data.parse_dataset``), not EHF."""
    import argparse

    from bidrn_tf.data import parse_dataset

    try:
        parts = parse_dataset(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if "ehf" in parts:
        raise argparse.ArgumentTypeError("ehf is an evaluation set; train on h36m+mscoco+mpii and evaluate on ehf")
    return text


def main(argv=None) -> int:
    """``training/train.py`` / ``bidrn-train``: parse arguments, call :func:`train`."""
    import argparse
    import sys

    from bidrn_tf.cli import add_distill_switches, add_scratch_switches, distill_arguments, model_switches, positive_int
    from bidrn_tf.data import DATASETS, PAPER_MIX
    from bidrn_tf.data.common import DatasetError
    from bidrn_tf.data.synthetic import APPEARANCES, default_dataset

    ap = argparse.ArgumentParser(description="Train a whole-body model (BiDRN or a baseline) on AGORA or the "
                                             "synthetic set")
    ap.add_argument("--dataset", required=True, type=_training_set,
                    help=f"one of {', '.join(d for d in DATASETS if d != 'ehf')}, or a mix joined by '+' such as "
                         f"{PAPER_MIX} (the paper's EHF recipe)")
    ap.add_argument("--data-dir", default=None, help="dataset folder; for a mix, the folder holding each set in "
                                                     "Hand4Whole's layout (Human36M/, MSCOCO/, MPII/data/); "
                                                     "synthetic: generated when left out")
    ap.add_argument("--method", default="bidrn", choices=METHODS)
    ap.add_argument("--smplx-model", default=None, help="SMPLX_NEUTRAL.npz (default: generated stand-in)")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, TensorBoard logs, final weights)")
    ap.add_argument("--preset", default="paper", choices=tuple(PRESETS), help="model size (small: for CPUs)")
    ap.add_argument("--steps", type=positive_int, default=1000)
    ap.add_argument("--batch-size", type=positive_int, default=8, help="global batch size")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--checkpoint-every", type=positive_int, default=100)
    ap.add_argument("--log-every", type=positive_int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strategy", default="default", choices=("default", "mirrored", "multiworker"))
    ap.add_argument("--resolution", default="720", choices=("720", "2160"), help="AGORA image layout")
    ap.add_argument("--synthetic-size", type=int, nargs=2, default=(64, 16), metavar=("TRAIN", "VAL"))
    ap.add_argument("--appearance", default=None, choices=APPEARANCES,
                    help="the generated default set only (--dataset synthetic without --data-dir): plain people "
                         "(default) or the body's front in a second colour")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out at its last checkpoint")
    ap.add_argument("--xnor-activation-scale", action="store_true",
                    help="--method xnor only: XNOR-Net's activation scale K after each binary conv "
                         "(ModelConfig.xnor_activation_scale; without it xnor computes BNN's function)")
    add_scratch_switches(ap)
    add_distill_switches(ap, teacher_help="distil the body features from this run's final weights "
                                          "(<run>/final/weights, usually a full-precision run with the same "
                                          "--preset / --body-hw; TrainConfig.teacher)")
    args = ap.parse_args(argv)
    if args.xnor_activation_scale and args.method != "xnor":
        ap.error(f"--xnor-activation-scale applies to --method xnor only, got --method {args.method}")
    if args.appearance is not None and (args.dataset != "synthetic" or args.data_dir is not None):
        ap.error("--appearance applies to the generated default set only (--dataset synthetic without --data-dir)")
    teacher, distill_weight = distill_arguments(args)
    try:
        data_dir, smplx_model = args.data_dir, args.smplx_model
        if args.dataset == "synthetic" and data_dir is None:
            data_dir, smplx_model = default_dataset(smplx_model, *args.synthetic_size, seed=args.seed,
                                                    appearance=args.appearance or "plain")
        if data_dir is None:
            raise DatasetError(f"--data-dir is required for --dataset {args.dataset}")
        if smplx_model is None:
            raise FileNotFoundError("--smplx-model is required with a user dataset (SMPLX_NEUTRAL.npz)")
        summary = train(TrainConfig(
            method=args.method, dataset=args.dataset, data_dir=data_dir, smplx_model=smplx_model, out=args.out,
            preset=args.preset, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
            checkpoint_every=args.checkpoint_every, log_every=args.log_every, seed=args.seed,
            strategy=args.strategy, resolution=(720, 1280) if args.resolution == "720" else (2160, 3840),
            resume=args.resume, pose_loss=args.pose_loss, root_pose_weight=args.root_pose_weight,
            teacher=teacher, distill_weight=distill_weight,
            model_config=dataclasses.replace(PRESETS[args.preset], **model_switches(args),
                                             xnor_activation_scale=args.xnor_activation_scale)))
    except TrainingInterrupted as err:
        print(f"stopped: {err}", file=sys.stderr)
        return 130  # the shell's code for Ctrl-C
    except (DatasetError, TrainingError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0
