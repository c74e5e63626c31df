"""Keras callbacks of the workbench's training (hooks, not a hand-written loop).

* :class:`EpochListener` — hands each epoch's logs to a plain function (the live widget).
* :class:`GradientHistograms` — writes gradient histograms to TensorBoard (Keras' TensorBoard
  callback writes weight histograms, not gradients).
* :class:`NonFiniteLoss` — stops at the first epoch whose loss is NaN/inf and remembers it.
* :func:`write_hparams` — the TensorBoard HParams summary of a training.
* :class:`EpochTensorBoard`, :class:`EpochBackupAndRestore` — Keras' own callbacks without their
  per-batch hooks, which run on every step even when they are configured per epoch (Keras'
  TensorBoard writes no-op batch summaries, about 0.7 ms a step: 10-20 % of a small model's
  training time).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras

__all__ = ["EpochBackupAndRestore", "EpochListener", "EpochTensorBoard", "GradientHistograms",
           "NonFiniteLoss", "plain_logs", "write_hparams"]

log = logging.getLogger(__name__)


def plain_logs(logs: Mapping[str, Any] | None) -> dict[str, float]:
    return {k: float(v) for k, v in (logs or {}).items()}


class EpochListener(keras.callbacks.Callback):
    """Calls ``fn(epoch, logs)`` after each epoch (epoch counted from 1)."""

    def __init__(self, fn: Callable[[int, dict[str, float]], None]) -> None:
        super().__init__()
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        try:
            self.fn(epoch + 1, plain_logs(logs))
        except Exception:  # a display problem must not stop a training
            log.exception("the epoch listener failed")


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard logging per epoch only (``update_freq="epoch"``, no profiling)."""

    def __init__(self, log_dir: str, *, histogram_freq: int = 1) -> None:
        super().__init__(log_dir, histogram_freq=histogram_freq, write_graph=False,
                         update_freq="epoch", profile_batch=0)

    on_train_batch_begin = keras.callbacks.Callback.on_train_batch_begin
    on_train_batch_end = keras.callbacks.Callback.on_train_batch_end


class EpochBackupAndRestore(keras.callbacks.BackupAndRestore):
    """A backup at the end of every epoch (``save_freq="epoch"``)."""

    def __init__(self, backup_dir: str) -> None:
        super().__init__(backup_dir, save_freq="epoch", double_checkpoint=True)

    on_train_batch_end = keras.callbacks.Callback.on_train_batch_end


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops training when an epoch's loss is not finite; ``self.epoch`` says when."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch: int | None = None
        self.logs: dict[str, float] = {}

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        values = plain_logs(logs)
        if any(not math.isfinite(v) for k, v in values.items() if k.endswith("loss")):
            self.epoch, self.logs = epoch + 1, values
            self.model.stop_training = True


class GradientHistograms(keras.callbacks.Callback):
    """At the end of every ``freq``-th epoch, the loss gradients of each trainable variable on
    a fixed sample batch, as TensorBoard histograms ``gradients/<variable>``."""

    def __init__(self, log_dir: Path, sample: tuple[dict[str, Any], Any], loss: Any,
                 freq: int = 1) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self.sample = sample
        self.loss = loss
        self.freq = max(1, int(freq))
        self._writer: Any = None
        self._step: Any = None

    def on_train_begin(self, logs: Any = None) -> None:
        import tensorflow as tf

        self._writer = tf.summary.create_file_writer(str(self.log_dir / "train"))

        x, y = self.sample

        @tf.function
        def gradients() -> list[Any]:
            with tf.GradientTape() as tape:
                pred = self.model(x, training=False)
                value = self.loss(y, tf.cast(pred, tf.float32))
            return tape.gradient(value, self.model.trainable_variables)

        self._step = gradients

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self._writer is None or (epoch + 1) % self.freq:
            return
        import tensorflow as tf

        grads = self._step()
        with self._writer.as_default():
            for var, grad in zip(self.model.trainable_variables, grads, strict=True):
                if grad is not None:
                    tf.summary.histogram(f"gradients/{var.path}", grad, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs: Any = None) -> None:
        if self._writer is not None:
            self._writer.close()


def write_hparams(log_dir: Path, hparams: Mapping[str, Any], metrics: list[str],
                  trial: str) -> None:
    """The HParams plugin's experiment config and this training's values, in ``log_dir``."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    values = {k: (v if isinstance(v, (bool, int, float, str)) else str(v))
              for k, v in hparams.items()}
    with tf.summary.create_file_writer(str(log_dir)).as_default():
        hp.hparams_config(
            hparams=[hp.HParam(k) for k in values],
            metrics=[hp.Metric(f"epoch_{m}", group=group, display_name=f"{m} ({group})")
                     for m in metrics for group in ("train", "validation")])
        hp.hparams(values, trial_id=trial)
