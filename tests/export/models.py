"""Small trained models that follow the model contract (docs/stages.md), and runs that hold
them with the artifacts stages 01-03 write, made through the real run store and step API.

Stage 02/03 of a real pipeline write the same artifacts; these let the export tests run
without training through the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import workbench  # noqa: F401 - before TensorFlow
from workbench.data.datasets import load_dataset
from workbench.data.ingest import split_table
from workbench.runs.step import open_step
from workbench.runs.store import Run, RunStore

__all__ = ["Trained", "build_model", "make_run", "train"]

FRAUD_NUMERIC = ["amount", "card_present", "hour", "customer_age", "account_tenure_days",
                 "distance_from_home_km", "transactions_last_24h"]
FRAUD_CATEGORICAL = ["merchant_category", "country", "channel", "device"]


@dataclass
class Trained:
    task: str
    model: Any
    info: dict[str, Any]
    train: pa.Table
    eval: pa.Table
    path: Path


def _features(table: pa.Table, info: dict[str, Any]) -> dict[str, np.ndarray]:
    from workbench.export.contract import ModelInfo, feature_arrays

    return feature_arrays(table, ModelInfo.from_dict(info))


def build_model(train: pa.Table, info: dict[str, Any], *, lookup: str = "string",
                hidden: int = 16) -> Any:
    """Raw-feature dict inputs; Normalization and StringLookup (or IntegerLookup) inside."""
    import keras

    arrays = _features(train, info)
    inputs, parts = {}, []
    for f in info["features"]:
        name = f["name"]
        if f["dtype"] == "string":
            inp = keras.Input(shape=(1,), name=name, dtype="string")
            layer = keras.layers.StringLookup(output_mode="one_hot", name=f"lookup_{name}")
            layer.adapt(arrays[name].astype(str))
            parts.append(layer(inp))
        elif f.get("kind") == "categorical" and lookup == "integer":
            inp = keras.Input(shape=(1,), name=name, dtype="float32")
            layer = keras.layers.IntegerLookup(output_mode="one_hot", name=f"lookup_{name}")
            layer.adapt(arrays[name].astype("int64"))
            parts.append(layer(keras.ops.cast(inp, "int64")))
        else:
            inp = keras.Input(shape=(1,), name=name, dtype="float32")
            layer = keras.layers.Normalization(name=f"norm_{name}")
            layer.adapt(np.nan_to_num(arrays[name]).reshape(-1, 1))
            parts.append(layer(inp))
        inputs[name] = inp
    x = keras.layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
    x = keras.layers.Dense(hidden, activation="relu")(x)
    if info["task"] == "binary":
        out = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    elif info["task"] == "multiclass":
        out = keras.layers.Dense(len(info["classes"]), activation="softmax", name="probs")(x)
    else:
        out = keras.layers.Dense(1, name="value")(x)
    return keras.Model(inputs, out)


def _targets(table: pa.Table, info: dict[str, Any]) -> np.ndarray:
    from workbench.export.contract import ModelInfo, label_targets

    y = label_targets(table, ModelInfo.from_dict(info))
    return y.astype("float32")


def train(task: str, folder: Path, *, rows: int = 1500, epochs: int = 2,
          lookup: str = "string") -> Trained:
    """Train a small contract model for ``task`` and save it to ``folder/model.keras``."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    if task == "binary":
        table = load_dataset("fraud", rows=rows, seed=1).drop_columns(["transaction_id"])
        feats = [{"name": n, "dtype": "float32", "kind": "numeric"} for n in FRAUD_NUMERIC]
        if lookup == "integer":  # hour as an integer category: IntegerLookup inside
            feats = [dict(f, kind="categorical") if f["name"] == "hour" else f for f in feats]
        feats += [{"name": n, "dtype": "string", "kind": "categorical"}
                  for n in FRAUD_CATEGORICAL]
        info = {"task": task, "label": "is_fraud", "features": feats, "classes": [0, 1],
                "builder": "test_dnn"}
    elif task == "multiclass":
        table = load_dataset("wine")  # Keras input names cannot hold "/"
        table = table.rename_columns([n.replace("/", "_") for n in table.column_names])
        feats = [{"name": n, "dtype": "float32", "kind": "numeric"}
                 for n in table.column_names if n != "target"]
        info = {"task": task, "label": "target", "features": feats, "classes": [0, 1, 2],
                "builder": "test_dnn"}
    else:
        table = load_dataset("diabetes")
        feats = [{"name": n, "dtype": "float32", "kind": "numeric"}
                 for n in table.column_names if n != "target"]
        info = {"task": task, "label": "target", "features": feats, "classes": [],
                "builder": "test_dnn"}
    tr, ev = split_table(table, eval_fraction=0.25, seed=0, key=None)
    model = build_model(tr, info, lookup=lookup)
    x = {k: v.reshape(-1, 1) for k, v in _features(tr, info).items()}
    y = _targets(tr, info)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    loss = {"binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy",
            "regression": "mse"}[task]
    model.compile(keras.optimizers.Adam(0.01), loss)
    model.fit(ds, epochs=epochs, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.keras"
    model.save(path)
    return Trained(task, model, info, tr, ev, path)


def make_run(root: Path, trained: Trained, *, blessed: bool | None = True,
             with_model: bool = True) -> Run:
    """A run whose steps 01-03 hold what those stages write (``blessed=None``: no 03)."""
    store = RunStore(root / "runs")
    run = store.create(parameters={"test": True})
    s1 = open_step("01_data_validation", str(run.path), "compute")
    s1.save("train", trained.train, rows=trained.train.num_rows)
    s1.save("eval", trained.eval, rows=trained.eval.num_rows)
    s1.save("data_card", {"name": f"test-{trained.task}", "label": trained.info["label"],
                          "task": trained.task})
    s1.finish()
    if with_model:
        s2 = open_step("02_train", str(run.path), "compute")
        s2.save("model", trained.path, kind="file", suffix=".keras")
        s2.save("model_info", trained.info)
        s2.finish()
    if blessed is not None:
        s3 = open_step("03_evaluate", str(run.path), "compute")
        s3.save("evaluation", {"overall": {"accuracy": 0.9, "auc": 0.8, "count": 100}})
        s3.save("blessing", {"blessed": blessed, "baseline": None, "checks": []})
        s3.gate("blessing", blessed, [] if blessed else ["auc 0.8 below threshold 0.9"])
        s3.finish()
    return run
