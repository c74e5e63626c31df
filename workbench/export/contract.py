"""The model contract (stage 02 → 04/05) seen from the export side.

A trained model is a Keras 3 functional model whose inputs are raw features by name, one
``keras.Input(shape=(1,), name=<feature>, dtype="float32" | "string" | "int64")`` each (int64:
a date/time as epoch seconds, UTC), with preprocessing inside; ``model_info`` (json) names the task, label, features and classes.
This module reads that description, turns Arrow tables into the 1-D arrays every exported
signature takes, and computes the canonical outputs all exported forms are compared on:

* classification — ``probabilities`` (n, K) in the order of ``classes`` (binary: K = 2,
  ``[1 - p, p]``) and ``class_ids`` (n,);
* regression — ``value`` (n,).

Missing values follow one convention everywhere (training data, warmup, examples, TFLite):
a null number is NaN, a null string is the empty string, a null timestamp is -2**63
(:data:`MISSING_INT64`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import ArtifactError, DataError
from workbench.features.arrays import DTYPES, MISSING_INT64, raw_feature_arrays

__all__ = [
    "MISSING_INT64",
    "TASKS",
    "Feature",
    "ModelInfo",
    "batches",
    "canonical_outputs",
    "feature_arrays",
    "json_safe",
    "label_targets",
    "predict_keras",
]

log = logging.getLogger(__name__)

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Feature:
    """One model input. ``name`` is the Keras input name (the key of every signature and
    array); ``column`` the data column it is read from (the tf.Example key)."""

    name: str
    dtype: str  # float32 | string | int64
    kind: str = "numeric"  # numeric | categorical | datetime
    column: str = ""
    #: how a client sends the value, when it is not plain (datetime: "epoch seconds (UTC), int64")
    format: str = ""

    def __post_init__(self) -> None:
        if not self.column:
            object.__setattr__(self, "column", self.name)

    @property
    def is_string(self) -> bool:
        return self.dtype == "string"

    @property
    def is_int64(self) -> bool:
        return self.dtype == "int64"

    @property
    def missing(self) -> Any:
        """The value that stands for a missing input of this dtype."""
        return "" if self.is_string else MISSING_INT64 if self.is_int64 else float("nan")


@dataclass(frozen=True)
class ModelInfo:
    """``02_train/model_info``: what the model takes and returns."""

    task: str
    label: str
    features: tuple[Feature, ...]
    classes: tuple[str, ...] = ()
    builder: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "model_info") -> ModelInfo:
        def bad(what: str) -> ArtifactError:
            return ArtifactError(f"{source} {what}",
                                 hint="re-run 02_train; model_info must follow the model "
                                      "contract in docs/stages.md", file=source)

        task = doc.get("task")
        if task not in TASKS:
            raise bad(f"has task {task!r}; expected one of {', '.join(TASKS)}")
        raw = doc.get("features")
        if not isinstance(raw, list) or not raw:
            raise bad("lists no features")
        features = []
        for i, f in enumerate(raw):
            if not isinstance(f, Mapping) or not f.get("name"):
                raise bad(f"feature #{i} has no name")
            dtype = str(f.get("dtype", "float32"))
            if dtype not in DTYPES:
                raise bad(f"feature '{f['name']}' has dtype {dtype!r}; expected "
                          + ", ".join(DTYPES))
            kind = f.get("kind") or {"string": "categorical", "int64": "datetime"}.get(
                dtype, "numeric")
            features.append(Feature(str(f.get("input") or f["name"]), dtype, str(kind),
                                    column=str(f["name"]), format=str(f.get("format") or "")))
        classes = tuple(str(c) for c in doc.get("classes") or ())
        if task == "binary" and len(classes) not in (0, 2):
            raise bad(f"is binary but lists {len(classes)} classes")
        if task == "binary" and not classes:
            classes = ("0", "1")
        if task == "multiclass" and len(classes) < 2:
            raise bad("is multiclass but lists fewer than 2 classes")
        known = {"task", "label", "features", "classes", "builder"}
        return cls(task, str(doc.get("label", "")), tuple(features), classes,
                   str(doc.get("builder", "")), {k: v for k, v in doc.items() if k not in known})

    def check_model(self, model: Any, *, source: str = "model") -> None:
        """The Keras model's inputs are the features of model_info, with matching dtypes."""
        inputs = {t.name: t for t in model.inputs}
        missing = [f.name for f in self.features if f.name not in inputs]
        if missing:
            raise ArtifactError(
                f"{source} has no input for feature(s) {', '.join(missing)} listed in "
                "model_info", hint="re-run 02_train so model and model_info agree",
                file=source)
        for f in self.features:
            got = str(inputs[f.name].dtype)
            if got != f.dtype:
                raise ArtifactError(
                    f"{source} input '{f.name}' is {got}; model_info says {f.dtype}",
                    hint="numeric inputs are float32, categorical inputs string, date/time "
                         "inputs int64 epoch seconds (docs/stages.md)", file=source)


def feature_arrays(table: pa.Table, info: ModelInfo, *, source: str = "table"
                   ) -> dict[str, np.ndarray]:
    """One 1-D array per feature: float32 (null → NaN), UTF-8 bytes ``S`` (null → b"") or int64
    epoch seconds (null → -2**63), as the exported signatures take them
    (:func:`workbench.features.arrays.raw_feature_arrays`, the conversion training used too)."""
    return raw_feature_arrays(
        table, ((f.name, f.column, f.dtype) for f in info.features), where=source,
        strings="bytes", file=source, hint="export with the splits the model was trained on")


def label_targets(table: pa.Table, info: ModelInfo, *, source: str = "table") -> np.ndarray:
    """Class index (classification) or float value (regression) of every row's label."""
    if info.label not in table.column_names:
        raise DataError(f"{source} has no label column '{info.label}'",
                        hint="evaluate on the split written by 01_data_validation",
                        file=source, column=info.label)
    col = table.column(info.label)
    if not info.is_classification:
        return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    values = [_label_text(v) for v in col.to_pylist()]
    index = {c: i for i, c in enumerate(info.classes)}
    unknown = sorted({v for v in values if v not in index})
    if unknown:
        raise DataError(f"label column '{info.label}' of {source} has values "
                        f"{unknown[:5]} that are not among the model's classes "
                        f"{list(info.classes)}", file=source, column=info.label,
                        hint="the eval split and the model come from different runs")
    return np.array([index[v] for v in values], dtype=np.int64)


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        value = int(value)
    return str(value)


def batches(arrays: Mapping[str, np.ndarray], size: int) -> Iterator[dict[str, np.ndarray]]:
    n = len(next(iter(arrays.values())))
    for start in range(0, n, size):
        yield {k: v[start:start + size] for k, v in arrays.items()}


def canonical_outputs(raw: np.ndarray, info: ModelInfo) -> dict[str, np.ndarray]:
    """The Keras model's output in the exported form (see the module docstring)."""
    raw = np.asarray(raw, dtype=np.float32)
    if not info.is_classification:
        return {"value": raw.reshape(-1)}
    if info.task == "binary":
        p = raw.reshape(-1)
        probs = np.stack([1.0 - p, p], axis=1)
    else:
        probs = raw.reshape(len(raw), -1)
    return {"probabilities": probs, "class_ids": probs.argmax(axis=1).astype(np.int64)}


def predict_keras(model: Any, arrays: Mapping[str, np.ndarray], info: ModelInfo, *,
                  batch_size: int = 2048) -> dict[str, np.ndarray]:
    """The in-memory model's canonical outputs (called directly: ``predict`` refuses
    string arrays)."""
    import tensorflow as tf

    parts = []
    for chunk in batches(arrays, batch_size):
        feed = {n: tf.constant(v.reshape(-1, 1)) for n, v in chunk.items()}
        parts.append(np.asarray(model(feed, training=False)))
    return canonical_outputs(np.concatenate(parts, axis=0), info)


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN and infinities as None and NumPy scalars as Python numbers (run
    artifacts are strict JSON)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
