"""From the Parquet splits to tensors: columns, labels, checks, and the tf.data pipeline.

Columns go from Arrow to NumPy column by column (never as Python lists of rows): numbers as
float32 ``(n, 1)`` with NaN where missing, strings as ``(n, 1)`` with ``""`` where missing,
date/times as int64 epoch seconds ``(n, 1)`` with -2**63 where missing. The
training pipeline is an index dataset shuffled with a seed, batched, and mapped to a gather of
each batch from the encoded columns, then prefetched: one op per batch, not per row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DataError
from workbench.features.arrays import raw_feature_arrays
from workbench.features.spec import FeaturePlan

__all__ = [
    "MIN_ROWS",
    "check_encoded",
    "check_finite",
    "encode_labels",
    "feature_arrays",
    "label_classes",
    "make_dataset",
    "require_label",
]

log = logging.getLogger(__name__)

#: fewer training rows than this (or than 5 per class) cannot train a model worth evaluating
MIN_ROWS = 20


def require_label(table: pa.Table, label: str, split: str) -> None:
    if label not in table.column_names:
        raise DataError(f"the {split} split has no label column '{label}'",
                        hint=f"its columns: {', '.join(table.column_names)}; re-run stage "
                        "01_data_validation with the right label parameter",
                        column=label, split=split)


def feature_arrays(table: pa.Table, plan: FeaturePlan, *, split: str = "train"
                   ) -> dict[str, np.ndarray]:
    """Raw feature columns by input name, each ``(n, 1)`` (a Keras input of shape (1,)): float32
    with NaN, str with ``""``, or int64 epoch seconds
    (:func:`workbench.features.arrays.raw_feature_arrays`)."""
    arrays = raw_feature_arrays(
        table, ((f.input, f.name, f.dtype) for f in plan.features),
        where=f"the {split} split", split=split,
        hint="evaluate and serve with data that has the training columns")
    return {name: values.reshape(-1, 1) for name, values in arrays.items()}


def check_finite(arrays: Mapping[str, np.ndarray], plan: FeaturePlan, *,
                 split: str = "train") -> None:
    """Infinite numbers are not missing values: name the feature and the first rows. Date/times
    outside the range the model computes calendar parts for are treated as missing: logged."""
    from workbench.features import calendar

    for f in plan.features:
        if f.kind == "datetime":
            values = arrays[f.input].ravel()
            out = calendar.is_missing(values) & (values != calendar.MISSING_SECONDS)
            if out.any():
                span = calendar.describe_range()
                log.warning("feature %s of the %s split has %d timestamp(s) outside %s .. %s "
                            "(first rows: %s); the model treats them as missing", f.name,
                            split, int(out.sum()), span["min_utc"], span["max_utc"],
                            np.flatnonzero(out)[:5].tolist())
            continue
        if f.kind != "numeric":
            continue
        values = arrays[f.input].ravel()
        bad = np.isinf(values)
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise DataError(
                f"feature '{f.name}' of the {split} split has {int(bad.sum()):,} infinite "
                f"value(s) (first rows: {rows})",
                hint="replace them with a finite value or null (nulls are imputed inside the "
                "model) before stage 01", column=f.name, split=split)


def check_encoded(encoded: Mapping[str, np.ndarray], names: Mapping[str, str]) -> None:
    """After preprocessing: every number that reaches training must be finite."""
    for key, values in encoded.items():
        if values.dtype.kind != "f":
            continue
        finite = np.isfinite(values)
        if not finite.all():
            rows = np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))[:5].tolist()
            feature = names.get(key, key)
            raise DataError(
                f"feature '{feature}' is not finite after preprocessing on "
                f"{int((~finite).sum()):,} row(s) (first rows: {rows}); NaN or infinity would "
                "reach training",
                hint="its values overflow float32 after normalization, or the statistics are "
                "wrong; fix the data or drop the feature (drop_features)", column=feature)


def label_classes(table: pa.Table, label: str, task: str, *,
                  positive_class: str = "") -> list[Any]:
    """The classes in output order (binary: [negative, positive]); [] for regression."""
    require_label(table, label, "train")
    col = table.column(label).drop_null()
    if task == "regression":
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
            raise DataError(f"label '{label}' is {col.type}; regression needs numbers",
                            hint="set task to binary or multiclass", column=label)
        return []
    values = pc.unique(col).to_pylist()
    values = sorted(values, key=lambda v: (str(type(v)), v))
    if len(values) < 2:
        raise DataError(f"label '{label}' has only one class in the training split "
                        f"({values[0] if values else 'no values'!r})",
                        hint="a classifier needs examples of at least two classes; check the "
                        "data or the split", column=label)
    if task == "binary":
        if len(values) > 2:
            raise DataError(f"label '{label}' has {len(values)} classes, but the task is binary",
                            hint="set task to multiclass", column=label)
        if positive_class:
            match = [v for v in values if str(v) == str(positive_class)]
            if not match:
                raise DataError(f"positive_class '{positive_class}' is not a value of label "
                                f"'{label}'", hint=f"values: {values}", column=label)
            values = [v for v in values if v != match[0]] + match
    return values


def encode_labels(table: pa.Table, label: str, task: str, classes: list[Any], *,
                  split: str = "train") -> np.ndarray:
    """Labels as the model's targets: class index (float32 for binary, int64 for multiclass) or
    the value (regression)."""
    require_label(table, label, split)
    col = table.column(label)
    if col.null_count:
        rows = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[:5].tolist()
        raise DataError(f"label '{label}' is missing on {col.null_count:,} row(s) of the "
                        f"{split} split (first rows: {rows})",
                        hint="drop or fix unlabeled rows before stage 01", column=label,
                        split=split)
    if task == "regression":
        y = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float32)
        bad = ~np.isfinite(y)
        if bad.any():
            raise DataError(f"label '{label}' has {int(bad.sum())} NaN or infinite value(s) in "
                            f"the {split} split (first rows: {np.flatnonzero(bad)[:5].tolist()})",
                            hint="fix or drop those rows", column=label, split=split)
        return y.reshape(-1, 1)
    codes = _codes(col, classes)
    unseen = codes < 0
    if unseen.any():
        new = sorted({str(v) for v in col.to_numpy(zero_copy_only=False)[unseen]})[:5]
        raise DataError(f"label '{label}' of the {split} split has value(s) {', '.join(new)} "
                        "that training never saw",
                        hint=f"the model knows the classes {classes}", column=label, split=split)
    if task == "binary":
        return codes.astype(np.float32).reshape(-1, 1)
    return codes.reshape(-1, 1)


def _codes(column: Any, classes: list[Any]) -> np.ndarray:
    """Index of each value in ``classes`` (-1 when absent), vectorized by Arrow."""
    value_set = pa.array(classes)
    if not column.type.equals(value_set.type):
        try:
            value_set = value_set.cast(column.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            column = pc.cast(column, pa.string())
            value_set = pa.array([str(c) for c in classes])
    index = pc.index_in(column, value_set=value_set)
    return pc.fill_null(index, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def make_dataset(arrays: Mapping[str, np.ndarray], y: np.ndarray | None, *, batch_size: int,
                 shuffle: bool, seed: int) -> Any:
    """A tf.data pipeline over in-memory columns: shuffled indices (seeded, reshuffled every
    epoch), batched, gathered per batch, prefetched."""
    import tensorflow as tf

    n = len(next(iter(arrays.values())))
    columns = {k: tf.constant(v) for k, v in arrays.items()}
    labels = tf.constant(y) if y is not None else None
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def gather(idx: Any) -> Any:
        x = {k: tf.gather(v, idx) for k, v in columns.items()}
        return x if labels is None else (x, tf.gather(labels, idx))

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = \
        tf.data.experimental.AutoShardPolicy.DATA
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) \
        .prefetch(tf.data.AUTOTUNE).with_options(options)
