"""Request logs read back (workbench.data.predictionlog): the vectorised decoding gives what the
protobuf classes give, the odd shapes fall back to them, and bad folders are refused with the
same messages stage 01 and `workbench monitor` show."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from workbench.data import predictionlog as pl
from workbench.data import predictlog_columns as cols
from workbench.data.wire import Irregular
from workbench.errors import DataError

MODEL = "fraud"


def _entry(inputs: dict, n: int, *, model: str = MODEL, kind: str = "predict",
           timestamp: float = 1_750_000_000.0):
    from workbench.serving.requestlog import _Entry

    outputs = {"probabilities": np.full((n, 1), 0.5, np.float32)}
    return _Entry(kind, model, 3, "serving_default", inputs, outputs, n, timestamp)


def _inputs(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {"amount": rng.normal(size=n).astype(np.float32),
            "count": rng.integers(0, 9, size=(n, 1)).astype(np.int64),
            "ratio": rng.normal(size=n),  # float64
            "flag": rng.random(n) > 0.5,
            "country": np.array([["de", "fr", "ü-land", "a country name longer than 16"][(i + seed) % 4] for i in range(n)],
                                dtype=object)}


def _write(path: Path, records: list[bytes]) -> Path:
    import tensorflow as tf

    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as w:
        for r in records:
            w.write(r)
    return path


def _both(path: Path, model: str | None = MODEL, since: float | None = None):
    data = path.read_bytes()
    frames, _ = pl._framing(data)
    buf = np.frombuffer(data, np.uint8)
    fast, kept = cols.predict_columns(buf, frames, model, since, collections.Counter())
    slow, kept_slow, _ = pl._decode_records(path, [data[a:b] for a, b in frames.tolist()], 0,
                                            model, since, [], collections.Counter())
    assert kept == kept_slow
    return fast, slow


def _same(fast, slow) -> None:
    assert sorted(fast.column_names) == sorted(slow.column_names)
    for name in slow.column_names:
        assert fast[name].to_pylist() == slow[name].to_pylist(), name


def test_field_numbers_are_the_protos_own():
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
    from tensorflow_serving.apis import logging_pb2, model_pb2, predict_pb2, prediction_log_pb2

    def number(message, name):
        return message.DESCRIPTOR.fields_by_name[name].number

    log = prediction_log_pb2.PredictionLog
    assert (cols.LOG_METADATA, cols.CLASSIFY_LOG, cols.REGRESS_LOG, cols.PREDICT_LOG) == (
        number(log, "log_metadata"), number(log, "classify_log"), number(log, "regress_log"),
        number(log, "predict_log"))
    meta, spec = logging_pb2.LogMetadata, model_pb2.ModelSpec
    assert (cols.META_SPEC, cols.META_TIME) == (number(meta, "model_spec"),
                                              number(meta, "timestamp_secs"))
    assert (cols.SPEC_NAME, cols.SPEC_VERSION, cols.SPEC_SIGNATURE) == (
        number(spec, "name"), number(spec, "version"), number(spec, "signature_name"))
    assert cols.PREDICT_REQUEST == number(prediction_log_pb2.PredictLog, "request")
    assert cols.REQUEST_INPUTS == number(predict_pb2.PredictRequest, "inputs")
    t = tensor_pb2.TensorProto
    assert (cols.T_DTYPE, cols.T_SHAPE, cols.T_CONTENT, cols.T_FLOAT, cols.T_DOUBLE, cols.T_STRING) \
        == tuple(number(t, f) for f in ("dtype", "tensor_shape", "tensor_content",
                                        "float_val", "double_val", "string_val"))
    assert cols.SHAPE_DIM == number(tensor_shape_pb2.TensorShapeProto, "dim")
    assert cols.DIM_SIZE == number(tensor_shape_pb2.TensorShapeProto.Dim, "size")


def test_one_instance_per_request_takes_the_alike_path_and_matches_protobuf(tmp_path,
                                                                           monkeypatch):
    from workbench.serving.requestlog import encode_predict_log

    records = [encode_predict_log(_entry(_inputs(1, i), 1, timestamp=1_750_000_000 + i))
               for i in range(300)]
    path = _write(tmp_path / "fraud-1.tfrecord", records)
    general = cols._inputs
    monkeypatch.setattr(cols, "_inputs", lambda *a: pytest.fail("took the general path"))
    fast, slow = _both(path)
    _same(fast, slow)
    assert fast.num_rows == 300 and fast["country"].to_pylist()[2] == "ü-land"
    monkeypatch.setattr(cols, "_inputs", general)
    # the same inputs in another order in some requests: names are matched, not positions
    shuffled = [encode_predict_log(_entry(dict(reversed(_inputs(1, i).items())) if i % 3
                                          else _inputs(1, i), 1)) for i in range(30)]
    fast, slow = _both(_write(tmp_path / "fraud-1b.tfrecord", shuffled))
    _same(fast, slow)
    assert fast["amount"].to_pylist() == [_inputs(1, i)["amount"][0] for i in range(30)]


def test_batches_missing_inputs_and_protobuf_encodings_match_record_by_record(tmp_path):
    """Batches of several instances, [n, 1] columns, a request without an input, values in
    packed float_val (as a client's make_tensor_proto may send), another model, a period."""
    from tensorflow_serving.apis import prediction_log_pb2

    from workbench.serving.requestlog import encode_predict_log, prediction_log

    records = []
    for i in range(60):
        n = 1 + i % 4
        inputs = _inputs(n, i)
        if i % 7 == 3:
            del inputs["ratio"]
        e = _entry(inputs, n, model="churn" if i % 11 == 5 else MODEL,
                   timestamp=1_750_000_000 + i)
        if i % 5 == 0:  # float_val instead of tensor_content
            msg = prediction_log(e)
            tp = msg.predict_log.request.inputs["amount"]
            values = np.frombuffer(tp.tensor_content, np.float32).tolist()
            tp.ClearField("tensor_content")
            tp.float_val.extend(values)
            records.append(msg.SerializeToString())
        else:
            records.append(encode_predict_log(e))
    path = _write(tmp_path / "fraud-2.tfrecord", records)
    fast, slow = _both(path)
    _same(fast, slow)
    assert set(fast["__model"].to_pylist()) == {MODEL}
    assert fast["ratio"].null_count > 0
    fast, slow = _both(path, model=None, since=1_750_000_030)
    _same(fast, slow)
    assert min(fast["__timestamp"].to_pylist()) == 1_750_000_030
    # a classify log in the chunk: the chunk is read record by record, same result
    classify = prediction_log_pb2.PredictionLog()
    classify.log_metadata.model_spec.name = MODEL
    ex = classify.classify_log.request.input.example_list.examples.add()
    ex.features.feature["amount"].float_list.value.append(2.5)
    _write(path, [*records, classify.SerializeToString()])
    with pytest.raises(Irregular):
        _both(path)
    got = pl.read_request_logs(path, model=MODEL)
    assert got.rows == sum(1 + i % 4 for i in range(60) if i % 11 != 5) + 1
    assert got.other_models == {"churn": 5}
    assert got.table["amount"].to_pylist()[-1] == 2.5


def test_cut_records_are_skipped_counted_and_said(tmp_path):
    from workbench.serving.requestlog import encode_predict_log

    records = [encode_predict_log(_entry(_inputs(2, i), 2)) for i in range(10)]
    path = _write(tmp_path / "logs" / "fraud-3.tfrecord", records)
    path.write_bytes(path.read_bytes()[:-7])
    got = pl.read_request_logs(tmp_path / "logs", model=MODEL)
    assert got.rows == 18 and got.records == 9 and got.skipped == 1
    assert got.notes == ["fraud-3.tfrecord: the last record is cut short after 9 records (file "
                         "still being written, or the writer was killed); skipped it"]


def test_request_log_folders_are_recognised_by_their_records(tmp_path):
    from workbench.data.tfrecord import write_tfrecord
    from workbench.serving.requestlog import encode_predict_log

    logs = _write(tmp_path / "logs" / "fraud-4.tfrecord",
                  [encode_predict_log(_entry(_inputs(1, 0), 1))])
    assert pl.is_request_log(logs.parent) and pl.is_request_log(logs)
    (tmp_path / "logs" / "fraud-5.tfrecord").write_bytes(b"")  # just opened
    assert pl.is_request_log(tmp_path / "logs")
    import pyarrow as pa

    examples = write_tfrecord(pa.table({"amount": [1.0, 2.0]}), tmp_path / "ex" / "a.tfrecord")
    assert not pl.is_request_log(examples.parent) and not pl.is_request_log(examples)
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("a\n1\n")
    assert not pl.is_request_log(tmp_path / "csv")
    (tmp_path / "csv" / "renamed.tfrecord").write_text("amount,country\n1.5,de\n")
    assert not pl.is_request_log(tmp_path / "csv" / "renamed.tfrecord")


def test_empty_folders_and_other_models_are_refused_naming_both_models(tmp_path):
    from workbench.serving.requestlog import encode_predict_log

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no request log files under"):
        pl.read_request_logs(tmp_path / "empty", model=MODEL)
    _write(tmp_path / "churn" / "churn-1.tfrecord",
           [encode_predict_log(_entry(_inputs(1, i), 1, model="churn")) for i in range(4)])
    with pytest.raises(DataError) as err:
        pl.read_request_logs(tmp_path / "churn", model=MODEL, model_fix="serving_model={}")
    assert "hold no requests of model 'fraud'; they are of model 'churn', not of 'fraud'" in err.value.message
    assert "serving_model=churn" in err.value.hint
