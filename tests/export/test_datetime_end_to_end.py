"""A date/time feature end to end: a timestamp column (int64 epoch seconds, role ``datetime``)
trains a model that learns an hour-of-day pattern inside itself, and every exported form —
serving_default, Classify on tf.Examples, warmup records, a LiteRT float32 variant, the local
server's REST and gRPC APIs — answers the same as the in-process Keras model. The same run
carries non-ASCII categories ("Müller & Söhne", "東京商店", emoji) through all of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from tests.train.helpers import evaluate_step, make_project, table_run, train_step
from workbench.export.contract import MISSING_INT64, ModelInfo, feature_arrays, predict_keras
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore

pytestmark = pytest.mark.slow

DATA = "01_data_validation"
SHOPS = ["Müller & Söhne", "東京商店", "Café 🙂☕", "<script>alert(1)</script>", "plain shop"]
ROLES = {
    "txn": {"role": "id", "reason": "unique per row", "guessed": True},
    "booked": {"role": "datetime", "reason": "dd.mm.yyyy hh:mm", "guessed": True},
    "memo": {"role": "text", "reason": "many distinct multi-word values", "guessed": True},
    "amount": {"role": "numeric", "reason": "numbers", "guessed": True},
    "shop": {"role": "categorical", "reason": "few distinct values", "guessed": True},
    "is_fraud": {"role": "label", "reason": "the label parameter", "guessed": False},
}


def _seconds(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp())


def bank_table(n: int, seed: int) -> pa.Table:
    """Card transactions whose fraud happens at night (00:00-05:59 UTC), with a few missing
    booking times; amount and shop carry no signal."""
    rng = np.random.default_rng(seed)
    ts = rng.integers(_seconds(2023, 1, 1), _seconds(2025, 1, 1), n)
    night = (ts % 86_400) // 3600 < 6
    fraud = rng.random(n) < np.where(night, 0.6, 0.03)
    booked = [None if i % 25 == 3 else int(t) for i, t in enumerate(ts)]
    return pa.table({
        "txn": pa.array(np.arange(n) + seed * 100_000, pa.int64()),
        "booked": pa.array(booked, pa.int64()),
        "memo": [f"card payment {i} at terminal {i % 97}" for i in range(n)],
        "amount": rng.lognormal(3, 1, n),
        "shop": rng.choice(SHOPS, n).tolist(),
        "is_fraud": fraud.astype(np.int64),
    })


def data_run(store: RunStore, train: pa.Table, evals: pa.Table) -> Run:
    """Stage 01's artifacts as the contract says it writes them, roles included."""
    return table_run(store, train, evals, label="is_fraud", task="binary", name="bank",
                     roles=ROLES)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from workbench.evaluate.metrics import binary_metrics

    return binary_metrics(y, p)["auc"]


@dataclass
class Pipeline:
    run: Run
    model: Any
    info: ModelInfo
    evals: pa.Table
    arrays: dict[str, np.ndarray]
    keras: np.ndarray  # probabilities [n, 2] of the in-process model
    auc: float
    auc_without: float
    evaluation: dict[str, Any]
    export: Any
    tflite: Any


TRAIN = {"epochs": 8, "batch_size": 64, "hidden_units": [16], "seed": 7,
         "learning_rate": 0.01}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    from workbench.export.params import ExportParams, TFLiteParams
    from workbench.export.stage import export_model
    from workbench.export.tflite_stage import convert_tflite

    root = tmp_path_factory.mktemp("datetime")
    train, evals = bank_table(2400, seed=1), bank_table(600, seed=2)
    y = evals.column("is_fraud").to_numpy()

    blind = data_run(make_project(root / "blind"), train.drop_columns(["booked"]),
                     evals.drop_columns(["booked"]))
    trained = train_step(blind, **TRAIN)
    info = ModelInfo.from_dict(trained.info)
    without = predict_keras(trained.model, feature_arrays(evals, info), info)

    run = data_run(make_project(root / "project"), train, evals)
    trained = train_step(run, **TRAIN)
    info = ModelInfo.from_dict(trained.info)
    arrays = feature_arrays(evals, info)
    reference = predict_keras(trained.model, arrays, info)
    evaluation = evaluate_step(run, baseline="none").evaluation

    step = Step(run, "04_export", "compute")
    exported = export_model(step, ExportParams(allow_unblessed=True, warmup_records=16,
                                               override_reason="test", model_name="bank"))
    step.finish()
    step = Step(run, "05_tflite", "compute")
    lite = convert_tflite(step, TFLiteParams(variants=["float32", "int8"], representative=64,
                                             latency_runs=10))
    step.finish()
    return Pipeline(run, trained.model, info, evals, arrays, reference["probabilities"],
                    auc(y, reference["probabilities"][:, 1]),
                    auc(y, without["probabilities"][:, 1]), evaluation, exported, lite)


def test_the_model_learns_the_hour_inside_itself(pipeline: Pipeline) -> None:
    info = pipeline.info
    booked = next(f for f in info.features if f.column == "booked")
    assert (booked.dtype, booked.kind) == ("int64", "datetime")
    assert [f.column for f in info.features] == ["booked", "amount", "shop"]
    dropped = {d["name"]: d["reason"] for d in info.extra["dropped"]}
    assert "identifier" in dropped["txn"] and "free text" in dropped["memo"]
    assert pipeline.model.get_layer("preprocess").input["booked"].dtype == "int64"
    assert pipeline.auc > 0.8, pipeline.auc
    assert pipeline.auc > pipeline.auc_without + 0.2, (pipeline.auc, pipeline.auc_without)
    assert pipeline.evaluation["overall"]["metrics"]["auc"] == pytest.approx(pipeline.auc,
                                                                             abs=1e-6)
    assert pipeline.arrays["booked"].dtype == np.int64
    assert (pipeline.arrays["booked"] == MISSING_INT64).sum() == 24


def test_export_checks_pass_and_signatures_take_int64(pipeline: Pipeline) -> None:
    report = pipeline.export.report
    assert pipeline.export.passed, [c for c in report["checks"] if not c["passed"]]
    sig = report["signatures"]["serving_default"]["inputs"]
    assert sig["booked"]["dtype"] == "int64" and sig["shop"]["dtype"] == "string"
    spec = {e["key"]: e["type"] for e in report["example_spec"]}
    assert spec == {"booked": "int64", "amount": "float32", "shop": "string"}
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["warmup"]["replayed"] == 16 and checks["parity"]["max_abs_diff"] < 1e-5


def test_serving_default_classify_and_warmup_agree_with_keras(pipeline: Pipeline) -> None:
    import tensorflow as tf

    from workbench.export.signatures import example_spec, serialize_examples, to_examples
    from workbench.export.warmup import WARMUP_FILE, read_warmup

    model_dir = pipeline.export.model_dir
    loaded = tf.saved_model.load(str(model_dir))
    feed = {k: tf.constant(v) for k, v in pipeline.arrays.items()}
    out = loaded.signatures["serving_default"](**feed)
    np.testing.assert_allclose(out["probabilities"].numpy(), pipeline.keras, atol=1e-6)
    spec = example_spec(pipeline.info)
    examples = to_examples(pipeline.arrays, spec, pipeline.info)
    blank = examples[3].features.feature  # row 3 has no booking time: left out, not -2**63
    assert "booked" not in blank
    row = examples[0].features.feature
    assert row["booked"].int64_list.value[0] == pipeline.arrays["booked"][0]
    assert row["shop"].bytes_list.value[0].decode() in SHOPS
    scores = loaded.signatures["classify"](inputs=tf.constant(serialize_examples(examples)))
    np.testing.assert_allclose(scores["scores"].numpy(), pipeline.keras, atol=1e-6)

    logs = read_warmup(model_dir / WARMUP_FILE)
    predict = [e.predict_log.request for e in logs if e.HasField("predict_log")]
    classify = [e.classify_log.request for e in logs if e.HasField("classify_log")]
    assert predict and classify
    assert predict[0].inputs["booked"].dtype == tf.int64.as_datatype_enum
    shops = {v.decode() for r in predict for v in tf.make_ndarray(r.inputs["shop"]).tolist()}
    assert shops & set(SHOPS[:3]), shops
    features = classify[0].input.example_list.examples[0].features.feature
    assert features["booked"].int64_list.value or "booked" not in features


def test_tflite_float32_runs_the_calendar_in_litert(pipeline: Pipeline) -> None:
    from workbench.export.litert import LiteRunner

    report = pipeline.tflite.report
    variant, int8 = report["variants"]
    assert report["inputs"] == "raw" and variant["ok"], variant
    assert variant["input_types"]["booked"] == "int64"
    assert variant["max_abs_diff"] < 1e-5
    # int8 calibrates with the int64 timestamps as they are; they stay int64 inputs
    assert int8["ok"] and int8["input_types"]["booked"] == "int64", int8
    assert int8["agreement"] >= 0.95
    path = pipeline.run.path / pipeline.run.read()["steps"]["05_tflite"]["artifacts"][
        "tflite_float32"]["path"]
    lite = LiteRunner(Path(path).read_bytes()).predict(pipeline.arrays)
    np.testing.assert_allclose(lite["probabilities"], pipeline.keras, atol=1e-5)
    # str (not bytes) categories with non-ASCII letters are encoded as UTF-8 for LiteRT
    as_text = dict(pipeline.arrays, shop=np.array([s.decode() for s in pipeline.arrays["shop"]],
                                                  dtype=object))
    np.testing.assert_allclose(LiteRunner(Path(path).read_bytes()).predict(as_text)[
        "probabilities"], pipeline.keras, atol=1e-5)


def test_preprocessed_fallback_keeps_the_calendar_in_the_core(pipeline: Pipeline,
                                                              tmp_path) -> None:
    from workbench.export.litert import LiteRunner
    from workbench.export.preprocessed import apply_preprocessing, split_preprocessing
    from workbench.export.tflite import convert_variant, write_lite_savedmodel

    core, spec = split_preprocessing(pipeline.model, pipeline.info)
    booked = next(e for e in spec["inputs"] if e["feature"] == "booked")
    assert booked["dtype"] == "int64"
    inputs = {e["name"]: (e["dtype"], e["shape"]) for e in spec["inputs"]}
    src = write_lite_savedmodel(core, pipeline.info, tmp_path / "core", inputs=inputs)
    lite = LiteRunner(convert_variant(src, "float32").content,
                      preprocess=lambda a: apply_preprocessing(spec, a))
    np.testing.assert_allclose(lite.predict(pipeline.arrays)["probabilities"], pipeline.keras,
                               atol=1e-5)


def test_local_server_rest_and_grpc_agree_with_keras(pipeline: Pipeline, tmp_path) -> None:
    from workbench.serving.checks import examples_from_table, signature_inputs
    from workbench.serving.control import Controller
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository

    repo = Repository(tmp_path / "repo")
    repo.init()
    pushed = repo.push(pipeline.export.model_dir, "bank")
    Controller(repo).deploy("bank", pushed.version, label="stable")
    handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.2,
                         config_poll_seconds=0.2)
    rest, grpc = handle.rest(), handle.grpc()
    try:
        n = 40
        inputs = signature_inputs(rest, "bank")
        assert inputs == {"booked": "DT_INT64", "amount": "DT_FLOAT", "shop": "DT_STRING"}
        instances = examples_from_table(pipeline.evals, inputs, n)
        assert isinstance(instances[0]["booked"], int) and instances[3]["booked"] == MISSING_INT64
        assert {i["shop"] for i in instances} == set(SHOPS)
        want = pipeline.keras[:n]
        preds = rest.predict("bank", instances=instances)
        np.testing.assert_allclose([p["probabilities"] for p in preds], want, atol=1e-5)

        cols = {"booked": pipeline.arrays["booked"][:n], "amount": pipeline.arrays["amount"][:n],
                "shop": np.array([s.decode() for s in pipeline.arrays["shop"][:n]])}
        outs, _ = grpc.predict("bank", cols)
        np.testing.assert_allclose(outs["probabilities"], want, atol=1e-5)
        assert [c.decode() for c in outs["classes"]] == [p["classes"] for p in preds]

        # Classify from raw rows: the timestamp as a JSON integer (int64_list), the missing one
        # left out, the categories as UTF-8 text
        rows = [{k: v for k, v in row.items() if v != MISSING_INT64} for row in instances]
        assert "booked" not in rows[3]
        for results in (rest.classify("bank", rows, signature_name="classify"),
                        grpc.classify("bank", rows, signature_name="classify")):
            scores = [[s for _, s in r] for r in results]
            np.testing.assert_allclose(scores, want, atol=1e-5)
    finally:
        rest.close()
        grpc.close()
        stop(repo)
