"""The parameters of stage 02 (training), declared once (see :mod:`workbench.params`). The
training functions take this object too (:func:`workbench.train.trainer.fit`)."""

from __future__ import annotations

from typing import Any

from workbench.params import StageParams, param
from workbench.stages import TRAIN

__all__ = ["CRIPPLES", "TrainParams"]

#: ways to make a model deliberately worse (to check that evaluation refuses to bless it)
CRIPPLES = {
    "": "no crippling",
    "shuffle_labels": "train on randomly permuted labels (the model learns nothing real)",
}


class TrainParams(StageParams):
    STAGE = TRAIN

    step: str = param(TRAIN, "step name inside the run")
    builder: str = param("dnn", 'model builder: linear, dnn, wide_and_deep, or "module:function" '
                         "(see workbench.train.builders)")
    builder_options: dict[str, Any] = param({}, "extra options handed to the builder "
                                            "(BuildSpec.options)")
    hidden_units: list[int] = param([64, 32], "sizes of the hidden layers (dnn, wide_and_deep)")
    epochs: int = param(20, "maximum number of epochs")
    batch_size: int = param(128, "examples per training step (global, across replicas and "
                            "workers)")
    learning_rate: float = param(0.003, "Adam learning rate")
    dropout: float = param(0.1, "dropout after each hidden layer")
    l2: float = param(0.0, "L2 regularization of weights and embeddings")
    embedding_dim: int = param(0, "embedding size of categorical features; 0: chosen from the "
                               "vocabulary size")
    early_stopping_patience: int = param(3, "stop after this many epochs without a better "
                                         "validation loss; 0: never")
    validation_fraction: float = param(0.1, "share of the training split held out for "
                                       "validation and early stopping")
    drop_features: list[str] = param([], "columns to leave out of the model")
    bucketize: dict[str, Any] = param({}, 'numeric features to bucketize too: {"feature": '
                                      "number of buckets, or [boundaries]}")
    max_vocabulary: int = param(1000, "most frequent values kept per categorical feature")
    oov_buckets: int = param(1, "out-of-vocabulary buckets per categorical feature")
    positive_class: str = param("", "binary: the label value that is positive; empty: the "
                                "larger one")
    strategy: str = param("default", "distribution: default, mirrored, or multi_worker "
                          "(cluster in TF_CONFIG)",
                          choices=("default", "mirrored", "multi_worker"))
    precision: str = param("float32", "float32, mixed_float16 or mixed_bfloat16 (the output "
                           "stays float32)",
                           choices=("float32", "mixed_float16", "mixed_bfloat16"))
    jit_compile: bool = param(False, "compile the training step with XLA")
    seed: int = param(42, "seed of initialization, shuffling and dropout")
    cripple: str = param("", '"shuffle_labels": train on permuted labels, a deliberately worse '
                         "model (checks the blessing gate)", choices=tuple(CRIPPLES))
    histogram_freq: int = param(1, "weight and gradient histograms every this many epochs; "
                                "0: none")
    tensorboard: bool = param(False, "interactive sessions: start TensorBoard for this run and "
                              "link it below")

    def check(self) -> None:
        if self.epochs < 1:
            raise self.fail("epochs", "must be at least 1", "set epochs to 1 or more")
        if self.batch_size < 1:
            raise self.fail("batch_size", "must be at least 1", "e.g. batch_size=256")
        if not self.learning_rate > 0:
            raise self.fail("learning_rate", "must be positive", "e.g. learning_rate=0.001")
        if not 0 <= self.dropout < 1:
            raise self.fail("dropout", "must be in [0, 1)", "e.g. dropout=0.1")
        if not 0 < self.validation_fraction < 0.9:
            raise self.fail("validation_fraction", "must be in (0, 0.9)",
                            "e.g. validation_fraction=0.1")
        if any(u < 1 for u in self.hidden_units):
            raise self.fail("hidden_units", "must be a list of positive integers",
                            "e.g. [64, 32]")
        if self.histogram_freq < 0:
            raise self.fail("histogram_freq", "must be 0 (no histograms) or more",
                            "e.g. histogram_freq=1")
        if self.max_vocabulary < 1 or self.oov_buckets < 0:
            raise self.fail("max_vocabulary", "must be at least 1 (and oov_buckets 0 or more)",
                            "e.g. max_vocabulary=1000, oov_buckets=1")

    def hparams(self) -> dict[str, Any]:
        """The scalar values, for TensorBoard's HParams dashboard."""
        out = {k: v for k, v in self.values().items()
               if isinstance(v, (int, float, str, bool))}
        out["hidden_units"] = ",".join(str(u) for u in self.hidden_units)
        return out
