"""Keras preprocessing built from a :class:`~workbench.features.spec.FeaturePlan`.

:func:`raw_inputs` gives one ``keras.Input(shape=(1,), name=<input>, dtype=float32|string)`` per
feature; :func:`build_preprocessor` maps them to the encoded tensors a model builder consumes
(normalized numbers, missing flags, vocabulary and bucket indices). All layers are configured
from stored statistics (nothing is ``adapt``-ed), always in float32 whatever the training
precision, and become part of the trained model. Only built-in layers and ``keras.ops`` are
used, so ``keras.saving.load_model`` restores the model in any process, without importing the
workbench, and the ops are ones TF Serving and plain TFLITE_BUILTINS run.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from workbench.features.spec import FeaturePlan

__all__ = ["build_preprocessor", "raw_inputs"]


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
        else:
            encoded[f.input] = keras.layers.StringLookup(
                vocabulary=list(f.vocabulary), num_oov_indices=f.oov_buckets,
                name=f"{f.input}__lookup")(x)
    return keras.Model(inputs, encoded, name="preprocess")
