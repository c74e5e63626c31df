"""Keras preprocessing built from a :class:`~workbench.features.spec.FeaturePlan`.

:func:`raw_inputs` gives one ``keras.Input(shape=(1,), name=<input>, dtype=...)`` per feature
(float32 numbers, string categories, int64 epoch seconds for date/time features);
:func:`build_preprocessor` maps them to the encoded tensors a model builder consumes (normalized
numbers, missing flags, vocabulary and bucket indices, calendar parts of a timestamp). All
layers are configured from stored statistics (nothing is ``adapt``-ed), always in float32
whatever the training precision, and become part of the trained model. Only built-in layers and ``keras.ops`` are
used, so ``keras.saving.load_model`` restores the model in any process, without importing the
workbench, and the ops are ones TF Serving and plain TFLITE_BUILTINS run.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from workbench.features import calendar as cal
from workbench.features.spec import FeaturePlan, FeatureSpec

__all__ = ["build_preprocessor", "calendar_parts", "raw_inputs"]


def raw_inputs(plan: FeaturePlan) -> dict[str, Any]:
    """The model's raw inputs, keyed by input name."""
    return {f.input: keras.Input(shape=(1,), name=f.input, dtype=f.dtype)
            for f in plan.features}


def build_preprocessor(plan: FeaturePlan, inputs: dict[str, Any] | None = None) -> keras.Model:
    """A functional model: raw inputs (by input name) → encoded tensors (by encoded name)."""
    inputs = inputs or raw_inputs(plan)
    encoded: dict[str, Any] = {}
    for f in plan.features:
        x = inputs[f.input]
        if f.kind == "numeric":
            missing = ops.not_equal(x, x)  # NaN; TFLite has no IsNan builtin
            filled = ops.where(missing, float(f.fill), x)
            encoded[f.input] = keras.layers.Normalization(
                mean=f.mean, variance=f.variance, name=f"{f.input}__normalize",
                dtype="float32")(filled)
            if f.missing_indicator:
                encoded[f"{f.input}__missing"] = ops.cast(missing, "float32")
            if f.boundaries:
                encoded[f"{f.input}__bucket"] = keras.layers.Discretization(
                    bin_boundaries=list(f.boundaries), dtype="int64",
                    name=f"{f.input}__bucketize")(filled)
        elif f.kind == "datetime":
            encoded.update(calendar_parts(f, x))
        else:
            encoded[f.input] = keras.layers.StringLookup(
                vocabulary=list(f.vocabulary), num_oov_indices=f.oov_buckets,
                name=f"{f.input}__lookup")(x)
    return keras.Model(inputs, encoded, name="preprocess")


def calendar_parts(f: FeatureSpec, x: Any) -> dict[str, Any]:
    """The calendar parts of int64 epoch seconds ``x`` (shape ``(batch, 1)``), by encoded name:
    hour, weekday (Monday = 0), day of month - 1, month - 1 (int64 indices), weekend (0/1) and,
    with a missing indicator, missing (0/1). See :mod:`workbench.features.calendar` for the
    range and the algorithm; :func:`workbench.features.calendar.calendar_parts` is the same in
    NumPy.

    Every op has a LiteRT built-in kernel: int64 LESS/GREATER/SELECT_V2/SUB and CAST, then
    int32 FLOOR_DIV/FLOOR_MOD/ADD/SUB/MUL (FLOOR_DIV has no int64 kernel, hence the offset and
    the int32 range)."""
    missing = ops.logical_or(ops.less(x, cal.MIN_SECONDS), ops.greater(x, cal.MAX_SECONDS))
    filled = ops.where(missing, ops.cast(int(f.fill), "int64"), x)
    u = ops.cast(ops.subtract(filled, cal.EPOCH_OFFSET), "int32")
    days = ops.floor_divide(u, cal.SECONDS_PER_DAY)
    hour = ops.floor_divide(ops.subtract(u, ops.multiply(days, cal.SECONDS_PER_DAY)), 3600)
    days = ops.add(days, cal.EPOCH_OFFSET // cal.SECONDS_PER_DAY)  # days since 1970-01-01
    weekday = ops.mod(ops.add(days, cal.EPOCH_WEEKDAY), 7)
    doe = ops.mod(ops.add(days, cal.CIVIL_SHIFT), cal.DAYS_PER_ERA)  # day of the 400-y era
    yoe = ops.floor_divide(
        ops.add(ops.subtract(doe, ops.floor_divide(doe, 1460)),
                ops.subtract(ops.floor_divide(doe, 36524), ops.floor_divide(doe, 146096))),
        365)  # year of the era
    doy = ops.subtract(doe, ops.subtract(ops.add(ops.multiply(yoe, 365),
                                                 ops.floor_divide(yoe, 4)),
                                         ops.floor_divide(yoe, 100)))  # day from March 1
    mp = ops.floor_divide(ops.add(ops.multiply(doy, 5), 2), 153)  # month from March
    day = ops.subtract(doy, ops.floor_divide(ops.add(ops.multiply(mp, 153), 2), 5))
    month = ops.mod(ops.add(mp, 2), 12)
    parts = {"hour": hour, "weekday": weekday, "day": day, "month": month}
    out = {f"{f.input}__{name}": ops.cast(parts[name], "int64") for name, _ in cal.PARTS}
    out[f"{f.input}__weekend"] = ops.cast(ops.greater_equal(weekday, 5), "float32")
    if f.missing_indicator:
        out[f"{f.input}__missing"] = ops.cast(missing, "float32")
    return out
