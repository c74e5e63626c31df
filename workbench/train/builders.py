"""Model builders: ``linear``, ``dnn`` (default), ``wide_and_deep``, or your own.

A builder is a function ``build(spec: BuildSpec) -> keras.Model``. It receives the encoded
features as Keras inputs (``spec.inputs``) and must return a model over exactly those inputs whose
output comes from ``spec.head(x)`` (right units, activation and float32 dtype for the task).
The workbench puts the preprocessing in front of it, so the trained model takes raw features.
Helpers on :class:`BuildSpec` give the usual encodings::

    # mypackage/models.py              → builder = "mypackage.models:two_towers"
    def two_towers(spec):
        deep = spec.deep_features()                       # numbers + embeddings
        for units in spec.hidden_units:
            deep = keras.layers.Dense(units, activation="relu")(deep)
        wide = spec.wide_features()                       # numbers + one-hot codes
        x = keras.layers.Concatenate()([deep, wide])
        return spec.model(spec.head(x))

Register one under a short name with :func:`register_builder`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras

from workbench.errors import ConfigError
from workbench.features.spec import EncodedInput
from workbench.registry import Registry, load_object

__all__ = ["BuildSpec", "build_core", "builders", "get_builder", "register_builder"]

Builder = Callable[["BuildSpec"], keras.Model]

_BUILDERS: Registry[Builder] = Registry("model builder")


def register_builder(name: str, builder: Builder, *, replace: bool = False) -> Builder:
    return _BUILDERS.register(name, builder, replace=replace)


def builders() -> list[str]:
    return _BUILDERS.names()


@dataclass
class BuildSpec:
    """What a builder gets: encoded inputs, the task's head, and the hyper-parameters."""

    inputs: dict[str, Any]
    encoded: list[EncodedInput]
    task: str
    n_outputs: int
    hidden_units: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.0
    l2: float = 0.0
    embedding_dim: int = 0
    seed: int = 0
    #: for regression: the label's mean and standard deviation (the head rescales to them)
    label_mean: float = 0.0
    label_std: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)

    # -- encodings ---------------------------------------------------------------------------
    def _regularizer(self) -> Any:
        return keras.regularizers.L2(self.l2) if self.l2 > 0 else None

    def dense(self) -> list[Any]:
        """Normalized numbers and missing flags, each ``(batch, 1)``."""
        return [self.inputs[e.name] for e in self.encoded if e.kind == "dense"]

    def embeddings(self) -> list[Any]:
        """One embedding per index input (vocabulary or bucket), each ``(batch, dim)``."""
        out = []
        for e in self.encoded:
            if e.kind != "index":
                continue
            dim = self.embedding_dim or max(2, min(16, math.ceil(1.6 * e.size ** 0.56)))
            flat = keras.layers.Reshape((), name=f"{e.name}__flat")(self.inputs[e.name])
            out.append(keras.layers.Embedding(
                e.size, dim, name=f"{e.name}__embed",
                embeddings_regularizer=self._regularizer())(flat))
        return out

    def one_hots(self) -> list[Any]:
        """One-hot codes of the index inputs, each ``(batch, size)``."""
        return [keras.layers.CategoryEncoding(e.size, output_mode="one_hot",
                                              name=f"{e.name}__onehot")(self.inputs[e.name])
                for e in self.encoded if e.kind == "index"]

    @staticmethod
    def _concat(parts: list[Any], name: str) -> Any:
        return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name=name)(parts)

    def deep_features(self) -> Any:
        return self._concat(self.dense() + self.embeddings(), "deep_features")

    def wide_features(self) -> Any:
        return self._concat(self.dense() + self.one_hots(), "wide_features")

    # -- layers ------------------------------------------------------------------------------
    def hidden(self, x: Any, prefix: str = "hidden") -> Any:
        """``hidden_units`` Dense+ReLU layers with dropout."""
        for i, units in enumerate(self.hidden_units):
            x = keras.layers.Dense(units, activation="relu", name=f"{prefix}_{i}",
                                   kernel_regularizer=self._regularizer())(x)
            if self.dropout > 0:
                x = keras.layers.Dropout(self.dropout, seed=self.seed + i,
                                         name=f"{prefix}_{i}_dropout")(x)
        return x

    def head(self, x: Any) -> Any:
        """The task's output layer, in float32 (also under mixed precision)."""
        if self.task == "binary":
            return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="head")(x)
        if self.task == "multiclass":
            return keras.layers.Dense(self.n_outputs, activation="softmax", dtype="float32",
                                      name="head")(x)
        y = keras.layers.Dense(1, dtype="float32", name="head")(x)
        return keras.layers.Rescaling(self.label_std, offset=self.label_mean, dtype="float32",
                                      name="head_rescale")(y)

    def model(self, outputs: Any) -> keras.Model:
        return keras.Model(self.inputs, outputs, name="core")


def _linear(spec: BuildSpec) -> keras.Model:
    return spec.model(spec.head(spec.wide_features()))


def _dnn(spec: BuildSpec) -> keras.Model:
    return spec.model(spec.head(spec.hidden(spec.deep_features())))


def _wide_and_deep(spec: BuildSpec) -> keras.Model:
    deep = spec.hidden(spec.deep_features(), prefix="deep")
    both = keras.layers.Concatenate(name="wide_and_deep")([spec.wide_features(), deep])
    return spec.model(spec.head(both))


register_builder("linear", _linear)
register_builder("dnn", _dnn)
register_builder("wide_and_deep", _wide_and_deep)


def get_builder(ref: str) -> Builder:
    """A registered builder by name, or ``module:function`` imported from the Python path."""
    if ":" not in ref:
        try:
            return _BUILDERS.get(ref)
        except ConfigError as err:
            raise ConfigError(f"unknown model builder '{ref}'",
                              hint=f"use one of: {', '.join(builders())}, or "
                              "'module:function' for your own", parameter="builder") from err
    return load_object(ref, what="model builder", parameter="builder")


def build_core(ref: str, spec: BuildSpec) -> keras.Model:
    """Call the builder and check that what it returns fits the task and the inputs."""
    builder = get_builder(ref)
    try:
        model = builder(spec)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"builder '{ref}' failed: {type(err).__name__}: {err}",
                          hint="see the builder contract in workbench.train.builders",
                          parameter="builder") from err
    if not isinstance(model, keras.Model):
        raise ConfigError(f"builder '{ref}' returned {type(model).__name__}, not a keras.Model",
                          hint="return spec.model(spec.head(x))", parameter="builder")
    outputs = model.outputs or []
    want = spec.n_outputs
    if len(outputs) != 1 or tuple(outputs[0].shape[1:]) != (want,):
        got = [tuple(o.shape) for o in outputs]
        raise ConfigError(f"builder '{ref}' returned a model with outputs {got}; the "
                          f"{spec.task} task needs one output of shape (batch, {want})",
                          hint="end the model with spec.head(x)", parameter="builder")
    return model
