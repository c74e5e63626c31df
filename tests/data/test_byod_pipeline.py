"""Users' own files through all six stages (01 → 06), and the served model answering a request
built from a raw row of each file, over REST and gRPC, equal to the in-process prediction.

Every file of the "bring your own data" corpus (tests/data/fixtures/byod) is given with its
label and nothing else but small sizes; the stage functions run in this process (what the
notebooks call) against one local model server shared by the module. `workbench run` itself is
exercised on the bank export by :func:`test_the_bank_export_runs_headless_with_only_its_label`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from workbench.data.params import DataValidationParams
from workbench.evaluate.params import EvaluateParams
from workbench.export.params import ExportParams, TFLiteParams
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore
from workbench.serving.params import ServingParams
from workbench.train.params import TrainParams

from ..conftest import run_workbench
from .fixtures.byod.generate import write_corpus

pytestmark = pytest.mark.slow

#: each file of the corpus and its label, by its header in the file
LABELS = {"bank": "is_fraud", "cp1252": "churned", "utf16": "label", "excel": "Returned",
          "jsonl": "label", "parts": "label", "csv_parts": "label", "headers": "label",
          "free_text": "sentiment", "iso": "is_late"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_corpus(tmp_path_factory.mktemp("byod"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from workbench.serving.process import stop
    from workbench.serving.repository import Repository

    root = tmp_path_factory.mktemp("byod-project")
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(root)
    try:
        yield root
    finally:
        stop(Repository(root / "serving"))
        if old is None:
            os.environ.pop("WORKBENCH_HOME")
        else:
            os.environ["WORKBENCH_HOME"] = old


def _pipeline(project: Path, path: Path, label: str, model: str) -> Run:
    """Stages 01-06 in process with the file's label and small sizes, as the notebooks call
    them; every gate must pass."""
    from workbench.data.stage import ingest, validate
    from workbench.evaluate.stage import evaluate
    from workbench.export.stage import export_model
    from workbench.export.tflite_stage import convert_tflite
    from workbench.serving.stage import ServingStage
    from workbench.train.stage import train

    # each file its own run store: baselines are looked for among runs of the same file
    run = RunStore(project / "runs" / model).create(state="interactive")

    def step(name: str) -> Step:
        failed = {f"{s}.{g.name}": g.reasons for s, g in run.record().failed_gates()}
        assert not failed, failed  # a stage after a failed gate is not run, as `workbench run`
        run.update_step(name, state="running", executor="interactive", pid=os.getpid())
        return Step(run, name, "compute")

    data_params = DataValidationParams(data_path=str(path), label=label)
    s = step("01_data_validation")
    validate(s, ingest(s, data_params, project_root=project), data_params, project_root=project)
    s.finish()
    s = step("02_train")
    train(s, TrainParams(epochs=5, batch_size=32, hidden_units=[16], learning_rate=0.01,
                         histogram_freq=0))
    s.finish()
    s = step("03_evaluate")
    evaluate(s, EvaluateParams())
    s.finish()
    s = step("04_export")
    export_model(s, ExportParams(warmup_records=8, eval_rows=200))
    s.finish()
    s = step("05_tflite")
    convert_tflite(s, TFLiteParams(variants=["float32"], latency_runs=10, threshold=2.0,
                                   eval_rows=200))
    s.finish()
    s = step("06_serving")
    serving = ServingStage.open(s, ServingParams(
        model_name=model, repository=str(project / "serving"), rest_port=0, grpc_port=0,
        parity_rows=32, load_seconds=0,
        canary_requests=20, stop_server=False))
    for call in (serving.push, serving.smoke, serving.parity, serving.load_test,
                 serving.canary, serving.decide, serving.finish):
        call()
    s.finish()
    failed = {f"{name}.{g.name}": g.reasons for name, g in run.record().failed_gates()}
    assert not failed, failed
    return run


def _raw_rows(path: Path, run: Run, limit: int = 8) -> object:
    """Rows of the file as the user has them, read as stage 01 reads them; rows holding
    non-ASCII text first."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from workbench.data.intake import read_source, timestamps_as_seconds

    params = DataValidationParams(data_path=str(path))
    table = timestamps_as_seconds(read_source(path, params).table)
    wide = None
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_string(column.type):
            ascii_only = pc.fill_null(pc.string_is_ascii(column), True)
            wide = pc.invert(ascii_only) if wide is None else pc.or_(wide, pc.invert(ascii_only))
    if wide is not None and pc.any(wide).as_py():
        order = np.argsort(~np.asarray(wide.to_numpy(zero_copy_only=False)), kind="stable")
        table = table.take(pa.array(order))
    return table.slice(0, limit)


def _check_served(run: Run, path: Path, model: str, repository: Path, name: str) -> None:
    """A REST and a gRPC request built from raw rows of the file answer what the trained
    Keras model answers in this process."""
    import keras
    import tensorflow as tf

    from workbench.serving.checks import examples_from_table, signature_inputs
    from workbench.serving.process import running
    from workbench.serving.repository import Repository

    handle = running(Repository(repository))
    assert handle is not None, "the model server is not running"
    rest, grpc = handle.rest(), handle.grpc()
    inputs = signature_inputs(rest, model)
    rows = _raw_rows(path, run)
    instances = examples_from_table(rows, inputs, rows.num_rows)
    served = rest.predict(model, instances=instances)
    keras_model = keras.saving.load_model(Step(run, "02_train", "view").path("model"))
    dtypes = {k: tf.string if v == "DT_STRING" else tf.int64 if v == "DT_INT64" else tf.float32
              for k, v in inputs.items()}
    feed = {k: tf.constant([[i[k]] for i in instances], dtype=dtypes[k]) for k in inputs}
    local = np.asarray(keras_model(feed, training=False), dtype=np.float64).reshape(len(rows), -1)
    key = "probabilities" if "probabilities" in served[0] else "value"
    rest_out = np.array([np.ravel(p[key]) for p in served], dtype=np.float64)
    if key == "probabilities" and local.shape[1] == 1:  # binary: [1 - p, p]
        local = np.hstack([1 - local, local])
    np.testing.assert_allclose(rest_out, local, atol=1e-5)
    columns = {k: np.array([i[k] for i in instances], dtype=object if v == "DT_STRING" else
                           np.int64 if v == "DT_INT64" else np.float32)
               for k, v in inputs.items()}
    outputs, _version = grpc.predict(model, columns)
    grpc_out = np.asarray(outputs[key], dtype=np.float64)
    np.testing.assert_allclose(grpc_out.reshape(len(rows), -1), rest_out, atol=1e-6)
    # a missing number travels as null and is imputed by the model, as NaN is in process
    floats = [k for k, v in inputs.items() if v == "DT_FLOAT"]
    if floats:
        missing = {**instances[0], floats[0]: None}
        (answer,) = rest.predict(model, instances=[missing])
        feed = {k: tf.constant([[np.nan if missing[k] is None else missing[k]]],
                               dtype=dtypes[k]) for k in inputs}
        want = np.asarray(keras_model(feed, training=False), dtype=np.float64).ravel()
        got = np.ravel(answer[key]).astype(np.float64)
        np.testing.assert_allclose(got[-want.size:], want, atol=1e-5)
    if name in ("bank", "cp1252", "utf16", "headers"):
        texts = [v for i in instances for v in i.values() if isinstance(v, str)]
        assert any(not t.isascii() for t in texts), "rows with non-ASCII values were sent"


@pytest.mark.parametrize("name", sorted(set(LABELS) - {"bank"}))
def test_a_users_file_runs_through_every_stage_and_is_served(corpus, project, name) -> None:
    run = _pipeline(project, corpus[name], LABELS[name], f"byod_{name}")
    record = run.record()
    assert all(record.done(s) for s in ("01_data_validation", "02_train", "03_evaluate",
                                        "04_export", "05_tflite", "06_serving"))
    _check_served(run, corpus[name], f"byod_{name}", project / "serving", name)


def test_the_bank_export_runs_headless_with_only_its_label(corpus, tmp_path) -> None:
    """The issue's example, as a newcomer runs it with `workbench run`: the file and its label,
    nothing else but small sizes for the test's time (and the server left up to be asked)."""
    from workbench.serving.process import stop
    from workbench.serving.repository import Repository

    (tmp_path / "workbench.yaml").write_text("runs_dir: runs\n")
    result = run_workbench(
        "run", "-p", f"data_path={corpus['bank']}", "-p", "label=is_fraud", "-p", "epochs=4",
        "-p", "load_seconds=1", "-p", "rest_port=0", "-p", "grpc_port=0",
        "-p", "latency_runs=20", "-p", "variants=[float32,dynamic]", "-p", "stop_server=false",
        cwd=tmp_path, env={"WORKBENCH_HOME": str(tmp_path)})
    try:
        assert result.code == 0, result.text
        run = RunStore(tmp_path / "runs").runs()[-1]
        _check_served(run, corpus["bank"], "bank_export", tmp_path / "serving", "bank")
    finally:
        stop(Repository(tmp_path / "serving"))
    card = Step(run, "01_data_validation", "view").load("data_card")
    assert card["key"] == "transaction_id" and card["positive_class"]["value"] == "yes"
    assert {c["original"]: c["name"] for c in card["columns"]}["Amount (EUR)"] == "amount_eur"
    assert card["roles"]["booking_date"]["role"] == "datetime"
    decided = {d["field"]: d["value"] for d in card["reading"]["dialect"]["decisions"]}
    assert decided["delimiter"] == ";" and decided["decimal"] == ","
