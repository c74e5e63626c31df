"""Fit a model: preprocessing from the plan, a core from a builder, Keras ``fit`` with callbacks.

The preprocessing has no trainable weights, so the training rows are encoded once and the core
is trained on the encoded columns (which lets XLA compile the whole training step; string
lookups cannot be XLA-compiled). The returned model is the composition ``core(preprocess(raw))``:
raw features in, the task's output out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import DataError, WorkbenchError
from workbench.features.spec import FeaturePlan
from workbench.train.data import MIN_ROWS, check_encoded, make_dataset
from workbench.train.params import TrainParams

__all__ = ["FitResult", "TrainingError", "check_rows", "encode", "encoder", "fit",
           "fit_datasets"]

log = logging.getLogger(__name__)

class TrainingError(WorkbenchError):
    """Training ran but did not produce a usable model."""


@dataclass
class FitResult:
    model: Any  # keras.Model: raw features → output
    core: Any
    preprocessor: Any
    history: dict[str, Any]
    strategy: dict[str, Any]
    seconds: float
    is_chief: bool = True


def encoder(preprocessor: Any) -> Any:
    """The preprocessing as one traced function (make it once, call it per block)."""
    import tensorflow as tf

    return tf.function(lambda batch: preprocessor(batch, training=False),
                       reduce_retracing=True)


def encode(preprocessor: Any, arrays: Mapping[str, np.ndarray], *,
           chunk: int = 65_536, call: Any = None) -> dict[str, np.ndarray]:
    """Run the preprocessing once over in-memory columns, in large chunks (``call``: the
    function :func:`encoder` made, to reuse it)."""
    import tensorflow as tf

    n = len(next(iter(arrays.values())))
    call = call or encoder(preprocessor)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, max(n, 1), chunk):
        batch = {k: tf.constant(v[start:start + chunk]) for k, v in arrays.items()}
        for k, v in call(batch).items():
            parts.setdefault(k, []).append(v.numpy())
    return {k: np.concatenate(v) for k, v in parts.items()}


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _loss_and_metrics(task: str) -> tuple[Any, list[Any]]:
    import keras

    if task == "binary":
        return keras.losses.BinaryCrossentropy(), [
            keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")]
    if task == "multiclass":
        return keras.losses.SparseCategoricalCrossentropy(), [
            keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    return keras.losses.MeanSquaredError(), [
        keras.metrics.MeanAbsoluteError(name="mae"),
        keras.metrics.RootMeanSquaredError(name="rmse")]


class _EpochRecorder:
    """Keeps the per-epoch logs in a file beside the backup, so a resumed training still
    reports every epoch (Keras' History starts over when BackupAndRestore resumes)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.epochs: list[dict[str, float]] = []

    def start(self, initial_epoch: int) -> None:
        if self.path and self.path.exists() and initial_epoch > 0:
            saved = json.loads(self.path.read_text())
            self.epochs = [e for e in saved if e["epoch"] <= initial_epoch]

    def add(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs = [e for e in self.epochs if e["epoch"] < epoch]
        self.epochs.append({"epoch": epoch, **logs})
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.epochs))
            os.replace(tmp, self.path)


def fit(plan: FeaturePlan, x: Mapping[str, np.ndarray], y: np.ndarray, *, task: str,
        n_outputs: int, config: TrainParams, log_dir: Path | None = None,
        backup_dir: Path | None = None, label_stats: tuple[float, float] = (0.0, 1.0),
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        callbacks: list[Any] | None = None, hparams_trial: str | None = None) -> FitResult:
    """Train on raw feature columns ``x`` (by input name) and targets ``y``.
    ``hparams_trial`` names the session on TensorBoard's HParams dashboard (a tuning trial);
    sessions of one name are grouped there."""
    import keras

    from workbench.features.preprocess import build_preprocessor
    from workbench.train.strategy import make_strategy

    config.check()
    check_rows(len(y), n_outputs)
    started = time.monotonic()
    info = make_strategy(config.strategy)  # first: collectives must be set up before other ops
    keras.utils.set_random_seed(config.seed)

    preprocessor = build_preprocessor(plan)
    encoded = encode(preprocessor, x)
    check_encoded(encoded, {e.name: e.feature for e in plan.encoded()})
    if config.cripple == "shuffle_labels":
        y = np.random.default_rng(config.seed + 1).permutation(y)
    fit_idx, val_idx = _split(len(y), config.validation_fraction, config.seed)
    take = lambda idx: {k: v[idx] for k, v in encoded.items()}  # noqa: E731
    train_ds = make_dataset(take(fit_idx), y[fit_idx], batch_size=config.batch_size,
                            shuffle=True, seed=config.seed)
    val_ds = make_dataset(take(val_idx), y[val_idx], batch_size=config.batch_size,
                          shuffle=False, seed=config.seed)
    sample = fit_idx[:512]
    return fit_datasets(plan, preprocessor, train_ds, val_ds,
                        (take(sample), y[sample]), task=task, n_outputs=n_outputs,
                        config=config, info=info, started=started, log_dir=log_dir,
                        backup_dir=backup_dir, label_stats=label_stats, on_epoch=on_epoch,
                        callbacks=callbacks, hparams_trial=hparams_trial)


def check_rows(n: int, n_outputs: int) -> None:
    if n < max(MIN_ROWS, 5 * n_outputs):
        raise DataError(f"only {n} training rows; at least {max(MIN_ROWS, 5 * n_outputs)} are "
                        "needed to train and validate a model",
                        hint="use more data (rows parameter of stage 01) or a smaller "
                        "eval_fraction", rows=n)


def fit_datasets(plan: FeaturePlan, preprocessor: Any, train_ds: Any, val_ds: Any,
                 sample: tuple[Mapping[str, np.ndarray], np.ndarray], *, task: str,
                 n_outputs: int, config: TrainParams, info: Any, started: float,
                 log_dir: Path | None = None, backup_dir: Path | None = None,
                 label_stats: tuple[float, float] = (0.0, 1.0),
                 on_epoch: Callable[[int, dict[str, float]], None] | None = None,
                 callbacks: list[Any] | None = None, hparams_trial: str | None = None
                 ) -> FitResult:
    """Build, compile and fit the core on encoded ``(x, y)`` datasets under the strategy
    ``info`` (``sample``: some encoded training rows, for gradient histograms); the model is
    ``core(preprocessor(raw))``. Both the in-memory columns and streamed shards train here."""
    import keras
    import tensorflow as tf

    from workbench.features.preprocess import raw_inputs
    from workbench.train.builders import BuildSpec, build_core
    from workbench.train.callbacks import (
        EpochBackupAndRestore,
        EpochListener,
        EpochTensorBoard,
        GradientHistograms,
        NonFiniteLoss,
        write_hparams,
    )
    from workbench.train.strategy import precision_policy

    loss, metrics = _loss_and_metrics(task)
    with info.strategy.scope(), precision_policy(config.precision):
        core_inputs = {e.name: keras.Input(shape=(1,), name=e.name, dtype=e.dtype)
                       for e in plan.encoded()}
        spec = BuildSpec(core_inputs, plan.encoded(), task, n_outputs,
                         hidden_units=list(config.hidden_units), dropout=config.dropout,
                         l2=config.l2, embedding_dim=config.embedding_dim, seed=config.seed,
                         label_mean=label_stats[0], label_std=label_stats[1] or 1.0,
                         options=dict(config.builder_options))
        core = build_core(config.builder, spec)
        core.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
                     metrics=metrics, jit_compile=config.jit_compile)

    recorder = _EpochRecorder(backup_dir.parent / "epochs.json" if backup_dir else None)
    nonfinite = NonFiniteLoss()

    class _Record(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            recorder.start(int(getattr(self.model, "_initial_epoch", 0) or 0))

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            recorder.add(epoch + 1, {k: float(v) for k, v in (logs or {}).items()})

    cbs: list[Any] = []
    if backup_dir is not None:
        # non-chief workers keep their own backup: the same file must not have two writers
        where = backup_dir if info.is_chief else backup_dir.with_name(
            f"{backup_dir.name}-worker{info.task_index}")
        cbs.append(EpochBackupAndRestore(str(where)))
    cbs += [_Record(), nonfinite]
    if config.early_stopping_patience > 0:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss",
                                                 patience=config.early_stopping_patience,
                                                 restore_best_weights=True))
    if log_dir is not None and info.is_chief:
        cbs.append(EpochTensorBoard(str(log_dir), histogram_freq=config.histogram_freq))
        if config.histogram_freq > 0:
            cbs.append(GradientHistograms(
                log_dir, ({k: tf.constant(v) for k, v in sample[0].items()},
                          tf.constant(sample[1])), loss, freq=config.histogram_freq))
        metric_names = ["loss", *(m.name for m in metrics)]
        write_hparams(log_dir, {**config.hparams(), "task": task}, metric_names,
                      trial=hparams_trial or f"{config.builder}-seed{config.seed}")
    if on_epoch is not None:
        cbs.append(EpochListener(on_epoch))
    cbs += list(callbacks or [])

    core.fit(train_ds, validation_data=val_ds, epochs=config.epochs, verbose=0, callbacks=cbs,
             shuffle=False)  # the dataset shuffles, with its seed
    if nonfinite.epoch is not None:
        raise TrainingError(
            f"the loss became NaN or infinite in epoch {nonfinite.epoch} "
            f"({', '.join(f'{k}={v:.4g}' for k, v in nonfinite.logs.items())})",
            hint="lower learning_rate, or look for extreme values in the features")

    raw = raw_inputs(plan)
    model = keras.Model(raw, core(preprocessor(raw)), name="model")
    if backup_dir is not None and info.is_chief:
        shutil.rmtree(backup_dir.parent, ignore_errors=True)
        for parent in backup_dir.parent.parents[:2]:  # checkpoints/<step>/ when now empty
            with contextlib.suppress(OSError):
                parent.rmdir()
    history = _history(recorder.epochs, config)
    return FitResult(model, core, preprocessor, history, info.describe(),
                     round(time.monotonic() - started, 3), info.is_chief)


def _history(epochs: list[dict[str, float]], config: TrainParams) -> dict[str, Any]:
    names = sorted({k for e in epochs for k in e if k != "epoch"})
    best = None
    if epochs and config.early_stopping_patience <= 0:
        best = epochs[-1]["epoch"]  # no early stopping: the model has the last epoch's weights
    elif epochs and all("val_loss" in e for e in epochs):
        best = min(epochs, key=lambda e: e["val_loss"])["epoch"]  # EarlyStopping restores it
    return {
        "epochs": [e["epoch"] for e in epochs],
        "metrics": {k: [_round(e.get(k)) for e in epochs] for k in names},
        "epochs_planned": config.epochs,
        "epochs_run": len(epochs),
        "best_epoch": best,
        "stopped_early": bool(epochs) and len(epochs) < config.epochs,
        "monitor": "val_loss",
    }


def _round(v: float | None) -> float | None:
    if v is None or not np.isfinite(v):
        return None
    return float(f"{v:.7g}")
