"""Stage 02 in-process with real TensorFlow: artifacts and the model contract, reproducibility,
resuming an interrupted training, TensorBoard logs, strategies and precision, bad input."""

from __future__ import annotations

import json

import keras
import numpy as np
import pyarrow as pa
import pytest

from workbench.errors import DataError
from workbench.runs.step import Step
from workbench.train.params import TrainParams
from workbench.train.trainer import TrainingError, fit

from .helpers import data_run, make_project, table_run, train_step

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("train") / "project")


@pytest.fixture(scope="module")
def fraud_run(store):
    return data_run(store, "fraud", rows=3000, faults=("missing_values",))


@pytest.fixture(scope="module")
def trained(fraud_run):
    return train_step(fraud_run)


def test_artifacts_follow_the_stage_contract(fraud_run, trained) -> None:
    step = Step(fraud_run, "02_train", "view")
    info = step.load("model_info")
    assert info["task"] == "binary" and info["label"] == "is_fraud"
    assert info["classes"] == [0, 1] and info["builder"] == "dnn"
    assert {"name", "input", "dtype", "kind"} <= set(info["features"][0])
    assert {d["name"] for d in info["dropped"]} == set(), "the key is not a feature"
    assert step.path("model").name == "model.keras"
    history = step.load("history")
    assert history["epochs"] == [1, 2, 3] and "val_loss" in history["metrics"]
    model = keras.saving.load_model(step.path("model"))
    by_name = {i.name: i for i in model.inputs}
    for f in info["features"]:
        assert by_name[f["input"]].dtype == f["dtype"]
        assert tuple(by_name[f["input"]].shape) == (None, 1)
    assert tuple(model.output.shape) == (None, 1)
    # raw rows with missing values go straight in
    rows = {f["input"]: (np.array([[np.nan], [25.0]], np.float32) if f["dtype"] == "float32"
                         else np.array([[""], ["DE"]], object)) for f in info["features"]}
    import tensorflow as tf

    p = np.asarray(model({k: tf.constant(v) for k, v in rows.items()}))
    assert p.shape == (2, 1) and np.all((p >= 0) & (p <= 1))
    metrics = fraud_run.read()["steps"]["02_train"]["metrics"]
    assert metrics["val_auc"] > 0.6 and metrics["epochs_run"] == 3


def test_same_seed_and_data_give_the_same_metrics(fraud_run, trained) -> None:
    again = train_step(fraud_run)
    for name, values in trained.history["metrics"].items():
        assert np.allclose(values, again.history["metrics"][name], rtol=1e-4, atol=1e-5), name


def test_crippled_model_learns_nothing(fraud_run, trained) -> None:
    crippled = train_step(fraud_run, cripple="shuffle_labels")
    assert crippled.info["parameters"]["cripple"] == "shuffle_labels"
    good = max(trained.history["metrics"]["val_auc"])
    bad = max(crippled.history["metrics"]["val_auc"])
    assert bad < good - 0.1
    train_step(fraud_run)  # leave the good model in place for the next tests


def test_tensorboard_has_scalars_histograms_and_hparams(fraud_run, trained) -> None:
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

    logs = fraud_run.path / "tensorboard" / "02_train"
    mux = EventMultiplexer()
    mux.AddRunsFromDirectory(str(logs))
    mux.Reload()
    train_tags = mux.Runs()["train"]
    assert {"epoch_loss", "epoch_auc"} <= set(train_tags["scalars"]) | set(
        train_tags["tensors"])
    histograms = set(train_tags["histograms"]) | set(train_tags["tensors"])
    assert any(t.startswith("gradients/") for t in histograms), histograms
    assert any("kernel" in t and not t.startswith("gradients/") for t in histograms)
    assert "epoch_loss" in (set(mux.Runs()["validation"]["scalars"])
                            | set(mux.Runs()["validation"]["tensors"]))
    plugins = mux.PluginAssets("hparams") if hasattr(mux, "PluginAssets") else {}
    hparams_runs = [r for r, tags in mux.Runs().items()
                    if any("_hparams_" in t for t in tags["tensors"])]
    assert hparams_runs or plugins, "no HParams summary written"


def _inputs(run):
    from workbench.train.data import encode_labels, feature_arrays, label_classes
    from workbench.train.stage import load_inputs

    inputs = load_inputs(Step(run, "02_train", "view"), TrainParams())
    classes = label_classes(inputs.table, "is_fraud", "binary")
    return (inputs.plan, feature_arrays(inputs.table, inputs.plan),
            encode_labels(inputs.table, "is_fraud", "binary", classes))


def test_an_interrupted_training_resumes_from_its_backup(fraud_run, tmp_path) -> None:
    plan, x, y = _inputs(fraud_run)
    backup = tmp_path / "ckpt" / "backup"
    config = TrainParams(epochs=4, batch_size=64, hidden_units=[16], seed=3,
                         early_stopping_patience=0)

    class Interrupt(Exception):
        pass

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise Interrupt

    seen: list[int] = []
    with pytest.raises(Interrupt):
        fit(plan, x, y, task="binary", n_outputs=1, config=config, backup_dir=backup,
            callbacks=[StopAfterTwo()], on_epoch=lambda e, logs: seen.append(e))
    assert seen == [1, 2] and (backup / "latest.weights.h5").exists()
    first = json.loads((backup.parent / "epochs.json").read_text())
    resumed: list[int] = []
    result = fit(plan, x, y, task="binary", n_outputs=1, config=config, backup_dir=backup,
                 on_epoch=lambda e, logs: resumed.append(e))
    assert resumed == [3, 4], "epochs 1-2 were not trained again"
    assert result.history["epochs"] == [1, 2, 3, 4]
    assert result.history["metrics"]["loss"][:2] == pytest.approx([e["loss"] for e in first])
    assert not backup.parent.exists(), "the backup is removed once training finished"


def test_mirrored_strategy_mixed_precision_and_xla_train_a_float32_model(fraud_run) -> None:
    plan, x, y = _inputs(fraud_run)
    config = TrainParams(epochs=1, batch_size=128, hidden_units=[16], strategy="mirrored",
                         precision="mixed_bfloat16", jit_compile=True)
    result = fit(plan, x, y, task="binary", n_outputs=1, config=config)
    assert result.strategy["name"] == "mirrored" and result.strategy["replicas"] >= 1
    assert result.core.layers[-1].dtype_policy.name == "float32"
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in result.core.layers)
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored"
    import tensorflow as tf

    out = result.model({k: tf.constant(v[:5]) for k, v in x.items()})
    assert out.dtype == tf.float32 and out.shape == (5, 1)


def test_too_few_rows_and_a_diverging_loss_are_clear_errors(store) -> None:
    tiny = pa.table({"x": [0.1, 0.5, 0.9, 0.3] * 3, "y": [0, 1, 1, 0] * 3})
    run = table_run(store, tiny, tiny, label="y", task="binary")
    with pytest.raises(DataError, match="only 12 training rows; at least 20"):
        train_step(run)
    diabetes = data_run(store, "diabetes")
    with pytest.raises(TrainingError, match="loss became NaN or infinite in epoch 1") as err:
        train_step(diabetes, learning_rate=1e12, early_stopping_patience=0)
    assert "learning_rate" in err.value.hint
    assert not Step(diabetes, "02_train", "view").has("model"), "no model saved"


def test_eval_split_without_the_label_stops_training_early(store) -> None:
    train = pa.table({"x": np.linspace(0, 1, 40), "y": [0, 1] * 20})
    run = table_run(store, train, pa.table({"x": np.linspace(0, 1, 10)}), label="y",
                    task="binary")
    with pytest.raises(DataError, match="the eval split has no label column 'y'"):
        train_step(run)
