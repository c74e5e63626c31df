"""Builders of a user's own, for the tuning tests (``tests.tune.builders:towers``)."""

from __future__ import annotations

from typing import Any

import keras


def towers(spec: Any) -> keras.Model:
    x = spec.deep_features()
    for i in range(int(spec.options.get("layers", 1))):
        x = keras.layers.Dense(int(spec.options.get("units", 16)), activation="relu",
                               name=f"tower_{i}")(x)
    return spec.model(spec.head(x))


towers.hyperparameters = {
    "units": {"type": "int", "min": 8, "max": 32, "step": 8, "default": 16},
    "layers": {"type": "choice", "values": [1, 2]},
}


def plain(spec: Any) -> keras.Model:
    return spec.model(spec.head(spec.deep_features()))
