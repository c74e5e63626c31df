"""Stage 01 end to end: the library functions on a real run store, and `workbench run`."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench.data.datasets import generate_fraud
from workbench.data.params import DataValidationParams
from workbench.data.stage import ingest, validate
from workbench.errors import DataError, ParameterError
from workbench.runs.step import Step
from workbench.runs.store import RunStore

from ..conftest import run_workbench

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_data_validation.ipynb"


def _step(root: Path, mode: str = "compute", run=None) -> Step:
    run = run or RunStore(root / "runs").create(state="interactive")
    return Step(run, "01_data_validation", mode)


def test_stage_functions_compute_then_view_the_same_result(tmp_path):
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(rows=1500, seed=5), project_root=tmp_path)
    seen = []
    result = validate(step, data, DataValidationParams(slice_by="channel"), project_root=tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert result.passed and seen[-1] == (1500, 1500)
    assert [d.name for d in result.stats_train.datasets][:2] == ["train", "channel_pos"]
    assert list(result.datasets)[:3] == ["train", "eval", "train channel_pos"]
    assert result.drift["drift_checked"] is False and result.drift["schema_source"] == "bundled"
    assert result.schema_save_path == str(tmp_path / "schemas" / "fraud.pbtxt")
    names = set(step.record.artifacts)
    assert {"train", "eval", "data_card", "stats_train", "stats_eval", "schema",
            "schema_inferred", "anomalies", "anomalies_table", "drift"} <= names
    view = validate(_step(tmp_path, "view", step.run), ingest(_step(tmp_path, "view", step.run)))
    assert view.stats_train == result.stats_train and view.schema == result.schema
    assert view.table == result.table and view.passed and not view.editable


def test_a_feature_in_the_schema_but_absent_and_serving_skew(tmp_path):
    data_path = tmp_path / "tx.parquet"
    pq.write_table(generate_fraud(1200, seed=2), data_path)
    serving = generate_fraud(600, seed=9).drop(["is_fraud"])
    serving = serving.set_column(serving.schema.get_field_index("channel"), "channel",
                                 pa.array(["online"] * 600))
    pq.write_table(serving, tmp_path / "serving.parquet")
    from workbench.data.baseline import bundled_schema_path

    schema = bundled_schema_path("fraud").read_text() + \
        'feature { name: "merchant_id" type: BYTES presence { min_count: 1 } }\n'
    (tmp_path / "schema.pbtxt").write_text(schema)
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(data_path="tx.parquet", label="is_fraud"), project_root=tmp_path)
    result = validate(step, data, DataValidationParams(schema_path="schema.pbtxt", serving_data_path="serving.parquet"), project_root=tmp_path)
    assert not result.passed
    reasons = result.gate["reasons"]
    assert any(r.startswith("merchant_id: the schema requires this column but "
                            f"{data_path} has no column 'merchant_id'") for r in reasons)
    assert any(r.startswith("channel: skew against serving data serving.parquet: L-infinity")
               for r in reasons)
    assert any(r.startswith("serving data, merchant_id:") for r in reasons)
    assert not any("is_fraud" in r for r in reasons)  # the label is not expected in serving
    assert result.drift["skew_checked"] and step.has("anomalies_serving")
    assert result.schema_save_path == str(tmp_path / "schema.pbtxt")


@pytest.mark.parametrize("kwargs,message", [
    ({"drift_threshold": 2.0}, "drift_threshold=2.0: must be between 0 and 1"),
    ({"warning_anomalies": ["NEW_COLUMN"]}, "unknown anomaly types: NEW_COLUMN"),
])
def test_bad_parameters_are_named(kwargs, message):
    with pytest.raises(ParameterError, match=message) as err:
        DataValidationParams(**kwargs)
    assert err.value.context["parameter"] == next(iter(kwargs))


def test_tfrecord_input_and_zero_rows_after_filtering(tmp_path):
    import workbench  # noqa: F401
    from workbench.data.tfrecord import write_tfrecord

    write_tfrecord(generate_fraud(300, seed=1), tmp_path / "tx.tfrecord")
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(data_path="tx.tfrecord", label="is_fraud", row_filter="amount > 10"), project_root=tmp_path)
    assert data.card["row_filter"] == "amount > 10" and data.card["rows"] < 300
    with pytest.raises(DataError, match=r"row_filter 'amount > 1e9' leaves 0 of 300 rows of "
                                        r".*tx.tfrecord"):
        ingest(_step(tmp_path), DataValidationParams(data_path="tx.tfrecord", label="is_fraud", row_filter="amount > 1e9"), project_root=tmp_path)


@pytest.mark.slow
def test_faulty_data_stops_the_pipeline_and_names_the_anomalies(tmp_path):
    (tmp_path / "workbench.yaml").write_text("runs_dir: runs\n")
    result = run_workbench("run", "--to", "01_data_validation", "-p", "rows=2500", "-p",
                           "faults=[negative_ages,unseen_categories,missing_values]",
                           cwd=tmp_path, env={"WORKBENCH_HOME": str(tmp_path)})
    assert result.code == 3, result.text
    err = result.err
    assert "gate 'data_validation' of stage 01_data_validation failed" in err
    assert "customer_age: " in err and "are below the schema minimum 18; the lowest is -" in err
    assert "merchant_category: " in err and "'crypto_exchange'" in err
    assert "country: " in err and "'XX'" in err
    assert "amount: present in " in err and "below the schema's minimum of 100%" in err
    assert "device: present in " in err


def test_clean_data_passes_and_a_shifted_amount_is_caught_as_drift(tmp_path):
    clean = _step(tmp_path)
    assert validate(clean, ingest(clean, DataValidationParams(rows=2500, seed=11), project_root=tmp_path),
                    project_root=tmp_path).passed
    clean.finish()
    shifted = _step(tmp_path)
    result = validate(shifted, ingest(shifted, DataValidationParams(rows=2500, seed=11, faults=["amount_shift"]), project_root=tmp_path), project_root=tmp_path)
    assert not result.passed
    (reason,) = result.gate["reasons"]  # nothing but the drift: every value is still valid
    assert reason.startswith(f"amount: drift against baseline run {clean.run.id}: approximate "
                             "Jensen-Shannon divergence")
    assert "above the threshold 0.1; mean " in reason
    assert result.drift["baseline"]["run"] == clean.run.id
    assert result.stats_baseline is not None and "baseline" in result.datasets


def test_labels_of_a_users_file_missing_values_and_too_many_classes(tmp_path):
    path = tmp_path / "labels.csv"
    rows = [f"{i};{i % 5},5;{['yes', 'no', ''][i % 3] if i < 90 else 'no'}" for i in range(120)]
    path.write_text("id;amount;outcome\n" + "\n".join(rows) + "\n", encoding="utf-8")
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(data_path=str(path), label="outcome"),
                  project_root=tmp_path)
    card = data.card
    assert card["task"] == "binary" and card["positive_class"]["value"] == "yes"
    (dropped,) = card["dropped_rows"]
    assert dropped["rows"] == 30 and dropped["why"] == "no value in label 'outcome'"
    assert any("30 of 120 rows have no value in the label 'outcome'" in w
               for w in card["warnings"])
    assert card["splits"]["train"] + card["splits"]["eval"] == 90

    three = tmp_path / "three.csv"
    three.write_text("x,y\n" + "".join(f"{i},{'abc'[i % 3]}\n" for i in range(60)))
    with pytest.raises(DataError, match=r"label 'y' has 3 different values but the task is "
                                        r"binary: 'a' \(20\)") as err:
        ingest(_step(tmp_path), DataValidationParams(data_path=str(three), label="y",
                                                     task="binary"), project_root=tmp_path)
    assert "task=multiclass" in err.value.hint and err.value.context["parameter"] == "task"


# -- serving_data_path: a folder of the model server's request logs -------------------------

def _request_logs(folder: Path, table: pa.Table, *, model: str = "fraud",
                  per_request: int = 4) -> Path:
    """``table``'s rows logged as the server logs predict requests (PredictionLog TFRecords
    written with the server's own encoding)."""
    import numpy as np
    import tensorflow as tf

    from workbench.serving.requestlog import _Entry, encode_predict_log

    folder.mkdir(parents=True, exist_ok=True)
    cols = {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names}
    path = folder / f"{model}-20260101T000000Z-1-00001.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i in range(0, table.num_rows, per_request):
            inputs = {k: v[i:i + per_request].astype(object if v.dtype == object else v.dtype)
                      for k, v in cols.items()}
            n = len(next(iter(inputs.values())))
            out = {"probabilities": np.zeros((n, 1), np.float32)}
            writer.write(encode_predict_log(_Entry("predict", model, 1, "serving_default",
                                                   inputs, out, n, 1_767_225_600)))
    return path


def test_a_request_log_folder_is_serving_data_and_its_skew_is_found(tmp_path):
    served = generate_fraud(800, seed=4, faults=["amount_shift"], fault_fraction=1.0)
    path = _request_logs(tmp_path / "requests", served.drop(["is_fraud", "transaction_id"]))
    path.write_bytes(path.read_bytes()[:-9])  # the server is still writing the last record
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(rows=2000, seed=3), project_root=tmp_path)
    result = validate(step, data, DataValidationParams(serving_data_path="requests"),
                      project_root=tmp_path)
    assert not result.passed
    reasons = result.gate["reasons"]
    assert any(r.startswith("amount: skew against the request logs of fraud: ")
               for r in reasons), reasons
    assert not any(r.startswith(("channel:", "country:")) for r in reasons), reasons
    notes = " ".join(result.notes)
    assert f"{path.name}: the last record is cut short after 199 records" in notes
    assert "Skew measured on 796 logged instances (199 requests of model 'fraud' in 1 files " \
           "under" in notes and "1 records skipped" in notes
    assert result.stats_serving.datasets[0].num_examples == 796
    assert result.drift["skew_checked"] and step.has("anomalies_serving")


def test_request_logs_of_another_model_or_none_are_refused_as_the_monitor_refuses_them(
        tmp_path):
    from workbench.data.predictionlog import read_request_logs

    _request_logs(tmp_path / "churn-logs", generate_fraud(40, seed=1).drop(["is_fraud"]),
                  model="churn")
    (tmp_path / "empty").mkdir()
    step = _step(tmp_path)
    data = ingest(step, DataValidationParams(rows=600, seed=3), project_root=tmp_path)
    for folder, says in (("churn-logs", "hold no requests of model 'fraud'; they are of "
                                        "model 'churn', not of 'fraud'"),
                         ("empty", "no request log files under")):
        with pytest.raises(DataError) as err:
            validate(step, data, DataValidationParams(serving_data_path=folder),
                     project_root=tmp_path)
        assert says in err.value.message
        with pytest.raises(DataError) as monitor_err:  # the monitor's reader says the same
            read_request_logs(tmp_path / folder, model="fraud")
        assert monitor_err.value.message == err.value.message
    assert "serving_model=churn" in DataError.__str__(
        pytest.raises(DataError, validate, step, data,
                      DataValidationParams(serving_data_path="churn-logs"),
                      project_root=tmp_path).value)
    result = validate(step, data, DataValidationParams(serving_data_path="churn-logs",
                                                       serving_model="churn"),
                      project_root=tmp_path)
    assert "Skew measured on 40 logged instances (10 requests of model 'churn'" in \
        " ".join(result.notes)
