"""Stage 02: train a model on stage 01's splits, with preprocessing from its statistics.

In compute mode :func:`train` plans the features from ``stats_train`` and ``schema``, trains
(TensorBoard logs in the run's ``tensorboard/02_train``, a resumable backup in
``checkpoints/02_train``) and saves ``model`` (``model.keras``), ``model_info`` and ``history``.
In view mode it loads them. Either way it returns a :class:`TrainResult`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import DataError
from workbench.features.spec import FeaturePlan, plan_features
from workbench.features.stats import column_stats, schema_domains
from workbench.runs.step import Step
from workbench.stages import DATA_VALIDATION
from workbench.train.data import (
    check_finite,
    encode_labels,
    feature_arrays,
    label_classes,
    require_label,
)
from workbench.train.params import TrainParams
from workbench.train.shards import ShardedTable, fit_shards
from workbench.train.trainer import FitResult, fit

__all__ = ["TrainParams", "TrainResult", "fit_inputs", "load_inputs", "model_info", "save_model",
           "train"]

log = logging.getLogger(__name__)

DATA_STEP = DATA_VALIDATION


@dataclass
class TrainResult:
    info: dict[str, Any]
    history: dict[str, Any]
    model_path: Path | None = None
    _model: Any = field(default=None, repr=False)

    @property
    def model(self) -> Any:
        """The trained Keras model (loaded from ``model.keras`` on first use in view mode)."""
        if self._model is None and self.model_path is not None:
            import keras

            self._model = keras.saving.load_model(self.model_path)
        return self._model

    @property
    def task(self) -> str:
        return self.info["task"]


@dataclass
class TrainInputs:
    card: dict[str, Any]
    table: Any  # pyarrow.Table of the training split, or its part files (ShardedTable)
    plan: FeaturePlan
    label_stats: tuple[float, float]
    hashes: dict[str, str]


def load_inputs(step: Step, params: TrainParams) -> TrainInputs:
    """Read stage 01's data card, training split, statistics and schema; plan the features."""
    import pyarrow.parquet as pq
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

    card = step.load(f"{DATA_STEP}/data_card")
    label, key = card["label"], card.get("key")
    if step.artifact(f"{DATA_STEP}/train").kind == "parquet_shards":  # streamed, not loaded
        table = ShardedTable(step.path(f"{DATA_STEP}/train"))
        eval_schema = ShardedTable(step.path(f"{DATA_STEP}/eval")).schema
    else:
        table = step.load(f"{DATA_STEP}/train")
        eval_schema = pq.read_schema(step.path(f"{DATA_STEP}/eval"))
    require_label(table, label, "train")
    if label not in eval_schema.names:
        raise DataError(f"the eval split has no label column '{label}', so the model could not "
                        "be evaluated", hint="re-run stage 01_data_validation; both splits need "
                        "the label", column=label, split="eval")
    stats = step.load(f"{DATA_STEP}/stats_train",
                      message=statistics_pb2.DatasetFeatureStatisticsList)
    schema = step.load(f"{DATA_STEP}/schema", message=schema_pb2.Schema)
    columns = column_stats(stats)
    plan = plan_features({f.name: f.type for f in table.schema}, columns,
                         schema_domains(schema), label=label, key=key,
                         drop=params.drop_features, bucketize=params.bucketize,
                         max_vocabulary=params.max_vocabulary, oov_buckets=params.oov_buckets,
                         roles=card.get("roles"))
    label_col = columns.get(label)
    label_stats = (0.0, 1.0)
    if label_col is not None and label_col.type == "numeric":
        label_stats = (label_col.mean if label_col.mean == label_col.mean else 0.0,
                       label_col.std_dev if label_col.std_dev > 0 else 1.0)
    hashes = {ref: step.artifact(f"{DATA_STEP}/{ref}").sha256
              for ref in ("train", "stats_train", "schema", "data_card")}
    return TrainInputs(card, table, plan, label_stats, hashes)


def fit_inputs(inputs: TrainInputs, classes: list[Any], config: TrainParams, **kw: Any
               ) -> FitResult:
    """Train on the inputs: from columns in memory, or streamed from the split's part files
    (stage 01 with ``splits="shards"``)."""
    task, label = inputs.card["task"], inputs.card["label"]
    common = {"task": task, "n_outputs": len(classes) if task == "multiclass" else 1,
              "config": config, "label_stats": inputs.label_stats, **kw}
    if isinstance(inputs.table, ShardedTable):
        return fit_shards(inputs.plan, inputs.table, label=label, classes=classes, **common)
    y = encode_labels(inputs.table, label, task, classes)
    x = feature_arrays(inputs.table, inputs.plan)
    check_finite(x, inputs.plan)
    return fit(inputs.plan, x, y, **common)


def positive_class(params: TrainParams, card: dict[str, Any]) -> str:
    """The positive class of a binary label: the parameter, else stage 01's guess (shown in
    the data card with its reason)."""
    return params.positive_class or (card.get("positive_class") or {}).get("value", "")


def save_model(step: Step, model: Any) -> Path:
    """``model.keras`` as artifact ``model``, written atomically."""
    with step.writing("model", kind="file", suffix=".keras", format="keras") as tmp, \
            tempfile.TemporaryDirectory(dir=step.dir, prefix=".model-") as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        os.replace(path, tmp)
    return step.dir / "model.keras"


def model_info(inputs: TrainInputs, classes: list[Any], config: TrainParams,
               result: FitResult, rows: int) -> dict[str, Any]:
    """The ``model_info`` artifact: the contract with evaluation, export and serving."""
    import keras
    import tensorflow as tf

    card, plan = inputs.card, inputs.plan
    task = card["task"]
    if task == "binary":
        output = {"shape": [None, 1], "meaning": f"probability of class {classes[1]!r}"}
    elif task == "multiclass":
        output = {"shape": [None, len(classes)],
                  "meaning": "class probabilities in the order of classes"}
    else:
        output = {"shape": [None, 1], "meaning": f"predicted {card['label']}"}
    return {
        "task": task,
        "label": card["label"],
        "key": card.get("key"),
        "classes": classes,
        "positive_class": classes[1] if task == "binary" else None,
        "features": [f.info() for f in plan.features],
        "dropped": plan.dropped,
        "builder": config.builder,
        "output": output,
        "label_stats": ({"mean": inputs.label_stats[0], "std": inputs.label_stats[1]}
                        if task == "regression" else None),
        "parameters": config.values(),
        "preprocessing": plan.to_dict(),
        "strategy": result.strategy,
        "rows": {"train": rows},
        "inputs": inputs.hashes,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }


def _fingerprint(inputs: TrainInputs, config: TrainParams) -> str:
    material = {"inputs": inputs.hashes, "config": config.values(),
                "plan": inputs.plan.to_dict()}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def train(step: Step, params: TrainParams | None = None, *,
          on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> TrainResult:
    """Train (compute mode) or load (view mode) the stage's model. ``on_epoch`` is called
    after every epoch with its number and logs (the live widget)."""
    if not step.computing:
        return TrainResult(step.load("model_info"), step.load("history"), step.path("model"))
    params = params or TrainParams()
    from workbench.tune.stage import apply_tuning

    params, tuning = apply_tuning(step, params)  # the run's 02_tune/best_hparams, when present
    inputs = load_inputs(step, params)
    card = inputs.card
    task, label = card["task"], card["label"]
    classes = label_classes(inputs.table, label, task,
                            positive_class=positive_class(params, card))
    for d in inputs.plan.dropped:
        log.info("feature %s dropped: %s", d["name"], d["reason"])
    backup = step.run.path / "checkpoints" / step.name / _fingerprint(inputs, params) / "backup"
    result = fit_inputs(inputs, classes, params, log_dir=step.tensorboard_dir,
                        backup_dir=backup, on_epoch=on_epoch)
    info = model_info(inputs, classes, params, result, inputs.table.num_rows)
    if tuning is not None:
        info["tuning"] = tuning  # which values came from 02_tune
    path = save_model(step, result.model)
    step.save("model_info", info)
    step.save("history", result.history)
    last = {k: v[-1] for k, v in result.history["metrics"].items() if v and v[-1] is not None}
    best = result.history.get("best_epoch")
    if best is not None:
        at = result.history["epochs"].index(best)
        last = {k: v[at] for k, v in result.history["metrics"].items() if v[at] is not None}
    step.log_metrics({f"train_{k}" if not k.startswith("val_") else k: v
                      for k, v in last.items()},
                     epochs_run=result.history["epochs_run"], train_seconds=result.seconds,
                     features=len(inputs.plan.features),
                     **({"tuned": sorted(tuning["values"])} if tuning is not None else {}))
    return TrainResult(info, result.history, path, result.model)
