"""Requests that must not get an answer, against a real local server on 127.0.0.1: non-finite
numbers (400 naming the input, REST and gRPC), non-finite scores (no class), bodies over the
size limit (413 naming the limit, with Content-Length and chunked), values outside the schema's
ranges (counted per feature), and the clients that send no NaN."""

from __future__ import annotations

import http.client
import json
import math
import re

import numpy as np
import pytest

from tests.serving.conftest import MODEL
from tests.serving.demo_model import NUMERIC, columns, rows
from workbench.serving import codec
from workbench.serving.status import ServingError

pytestmark = pytest.mark.slow

RANGES = {"x0": (-3.0, 3.0), "x1": (-2.5, 2.5)}
LIMIT = 16 * 1024 * 1024  # the server's default --rest_api_max_body_bytes


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, exports):
    """The demo model exported with the schema's ranges of x0 and x1 in its metadata."""
    from tests.serving.conftest import copy_export
    from workbench.export.integrity import write_manifest
    from workbench.serving.control import Controller
    from workbench.serving.process import start_local, stop
    from workbench.serving.ranges import METADATA_FILE
    from workbench.serving.repository import Repository

    root = tmp_path_factory.mktemp("guards")
    export = copy_export(exports[1], root / "export")
    meta = {"model": {"features": [
        {"name": k, "dtype": "float32", "kind": "numeric",
         **({"range": {"min": RANGES[k][0], "max": RANGES[k][1]}} if k in RANGES else {})}
        for k in rows(1)[0]]}}
    (export / METADATA_FILE).write_text(json.dumps(meta))
    write_manifest(export)
    repo = Repository(root / "serving")
    repo.init()
    Controller(repo).deploy(MODEL, repo.push(export, MODEL).version, label="stable")
    handle = start_local(repo, rest_port=0, grpc_port=0, batching=False, poll_seconds=0.5)
    yield handle
    stop(repo)


def _post(handle, body: bytes, path: str = f"/v1/models/{MODEL}:predict"):
    conn = http.client.HTTPConnection("127.0.0.1", handle.rest_port, timeout=60)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, json.loads(payload)


def _instance(**values) -> bytes:
    """One instance with some values written as raw JSON text (NaN, Infinity, 1e400)."""
    row = rows(1, seed=1)[0]
    text = json.dumps({"instances": [{k: f"@{k}@" if k in values else v
                                      for k, v in row.items()}]})
    for k, raw in values.items():
        text = text.replace(f'"@{k}@"', raw)
    return text.encode()


@pytest.mark.parametrize(("raw", "said"), [
    ("Infinity", "Infinity"), ("-Infinity", "Infinity"), ("NaN", "NaN"),
    ("1e400", "Infinity"), ("1e39", "beyond the range of float32")])
def test_rest_refuses_non_finite_numbers_naming_the_input(guarded, raw, said):
    status, doc = _post(guarded, _instance(x4=raw))
    assert status == 400, doc
    assert "input 'x4'" in doc["error"] and said in doc["error"]
    assert "--allow_non_finite" in doc["error"]
    # columnar requests and tf.Example requests too
    cols = {k: [v] for k, v in rows(1)[0].items()}
    text = json.dumps({"inputs": {**cols, "x7": ["@"]}}).replace('"@"', raw)
    status, doc = _post(guarded, text.encode())
    assert status == 400 and "input 'x7'" in doc["error"], doc
    text = json.dumps({"signature_name": "classify",
                       "examples": [{**rows(1)[0], "x2": "@"}]}).replace('"@"', raw)
    status, doc = _post(guarded, text.encode(), f"/v1/models/{MODEL}:classify")
    if raw != "1e39":  # a finite double: tf.Example floats are parsed by the model
        assert status == 400 and "examples[0].x2" in doc["error"], doc


def test_grpc_refuses_non_finite_numbers_naming_the_input(guarded):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    client = guarded.grpc()
    req = predict_pb2.PredictRequest()
    req.model_spec.name = MODEL
    for k, v in columns(rows(2)).items():
        if k == "x3":
            v = np.array([0.5, np.inf], np.float32)
        req.inputs[k].CopyFrom(tf.make_tensor_proto(v))
    with pytest.raises(grpc.RpcError) as err:
        client.predictions.Predict(req, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input 'x3'" in err.value.details() and "[1]" in err.value.details()


def test_a_non_finite_score_gets_no_class(guarded):
    # finite float32 inputs this large overflow inside the model: its score is NaN
    status, doc = _post(guarded, _instance(**{k: "3e38" for k in NUMERIC}))
    assert status == 400, doc
    assert "output 'probabilities'" in doc["error"] and "no class" in doc["error"]
    assert "class_ids" not in json.dumps(doc)


def test_a_finite_request_still_answers(guarded):
    status, doc = _post(guarded, _instance())
    assert status == 200
    assert math.isfinite(doc["predictions"][0]["probabilities"][0])


def test_bodies_over_the_limit_get_413_naming_the_limit(guarded):
    many = json.dumps({"instances": rows(1)[0:1] * 200_000}).encode()
    huge = json.dumps({"instances": [{**rows(1)[0], "country": "x" * 60_000_000}]}).encode()
    assert len(many) > LIMIT and len(huge) > LIMIT
    for body in (many, huge):
        status, doc = _post(guarded, body)  # Content-Length
        assert status == 413, doc
        assert f"limit of {LIMIT:,} bytes" in doc["error"]

    def chunks():
        for i in range(0, len(huge), 1 << 20):
            yield huge[i:i + (1 << 20)]

    conn = http.client.HTTPConnection("127.0.0.1", guarded.rest_port, timeout=60)
    conn.request("POST", f"/v1/models/{MODEL}:predict", body=chunks(),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    resp = conn.getresponse()
    doc = json.loads(resp.read())
    assert resp.status == 413 and f"limit of {LIMIT:,} bytes" in doc["error"], doc
    assert _post(guarded, _instance())[0] == 200  # the server is fine


def _out_of_range(handle) -> dict[str, float]:
    text = handle.rest().metrics()
    return {m[1]: float(m[2]) for m in re.finditer(
        r'^workbench_input_out_of_range\{model_name="fraud",feature="(\w+)"\} (\S+)$', text,
        re.M)}


def test_values_outside_the_schemas_ranges_are_counted_per_feature(guarded):
    before = _out_of_range(guarded)
    data = rows(3, seed=2)
    data[0]["x0"], data[1]["x0"], data[2]["x1"] = 1e30, -4.0, 2.0  # x1 = 2.0 is inside
    data[1]["x5"] = 1e30  # no range for x5: not counted
    guarded.rest().predict(MODEL, instances=data)
    guarded.grpc().predict(MODEL, columns([{**rows(1)[0], "x1": 7.5}]))
    after = _out_of_range(guarded)
    assert after.get("x0", 0) - before.get("x0", 0) == 2
    assert after.get("x1", 0) - before.get("x1", 0) == 1
    assert "x5" not in after
    assert "# TYPE workbench_input_out_of_range counter" in guarded.rest().metrics()


def test_null_is_refused_for_a_model_that_does_not_say_it_imputes(guarded):
    """JSON has no NaN: null is a missing value, taken only where the export's metadata says
    the model imputes it (every numeric feature of a workbench model; the byod pipeline test
    checks one). This test model would turn it into a meaningless finite score."""
    status, doc = _post(guarded, _instance(x4="null"))
    assert status == 400 and "input 'x4'" in doc["error"], doc
    assert "imputes" in doc["error"]


def test_null_is_taken_for_an_imputed_float_input_only():
    import tensorflow as tf

    spec = codec.InputSpec("hour", tf.TensorSpec([None], tf.int64))
    spec.imputed = True
    with pytest.raises(ServingError, match="float input whose missing value the model"):
        codec.arrays_from_instances([{"hour": 3}, {"hour": None}], {"hour": spec})
    spec = codec.InputSpec("amount", tf.TensorSpec([None], tf.float32))
    with pytest.raises(ServingError, match="imputes"):
        codec.arrays_from_instances([{"amount": 3.5}, {"amount": None}], {"amount": spec})
    spec.imputed = True
    arrays, _ = codec.arrays_from_instances([{"amount": 3.5}, {"amount": None}],
                                            {"amount": spec})
    assert arrays["amount"][0] == 3.5 and np.isnan(arrays["amount"][1])
    with pytest.raises(ServingError, match="Infinity"):  # a null does not let Infinity in
        codec.arrays_from_instances([{"amount": math.inf}, {"amount": None}],
                                    {"amount": spec})


def test_the_clients_send_no_non_finite_number(guarded):
    data = rows(2)
    data[1]["x6"] = float("inf")
    with pytest.raises(ServingError) as err:
        guarded.rest().predict(MODEL, instances=data)
    assert err.value.code == "INVALID_ARGUMENT" and "not sent" in err.value.message
    assert "instances[1].x6" in err.value.message
    data[1]["x6"] = float("nan")  # a missing value: sent as null, so the server decides
    with pytest.raises(ServingError) as err:
        guarded.rest().predict(MODEL, instances=data)
    assert "not sent" not in err.value.message and "imputes" in err.value.message
    cols = columns(rows(2))
    cols["x8"] = np.array([1.0, np.inf], np.float32)
    with pytest.raises(ServingError) as err:
        guarded.grpc().predict(MODEL, cols)
    assert "not sent" in err.value.message and "'x8'" in err.value.message
    with pytest.raises(ServingError):
        guarded.rest().classify(MODEL, [{**rows(1)[0], "x0": float("inf")}],
                                signature_name="classify")


def test_the_option_accepts_what_tf_serving_accepts():
    """--allow_non_finite: the decoding lets NaN and Infinity through, as TF Serving's JSON."""
    import tensorflow as tf

    spec = codec.InputSpec("amount", tf.TensorSpec([None], tf.float32))
    arrays, n = codec.arrays_from_instances([{"amount": math.inf}, {"amount": math.nan}],
                                            {"amount": spec}, allow_non_finite=True)
    assert n == 2 and np.isinf(arrays["amount"][0]) and np.isnan(arrays["amount"][1])
    with pytest.raises(ServingError, match="input 'amount' holds a non-finite number at"):
        codec.arrays_from_instances([{"amount": 1.0}, {"amount": math.inf}], {"amount": spec})


def test_the_export_records_the_schemas_ranges_of_numeric_features():
    from tensorflow_metadata.proto.v0 import schema_pb2

    from workbench.export.contract import Feature, ModelInfo
    from workbench.export.metadata import schema_ranges

    schema = schema_pb2.Schema()
    amount = schema.feature.add(name="Amount (EUR)")
    amount.float_domain.min, amount.float_domain.max = 0.0, 2500.0
    hour = schema.feature.add(name="hour")
    hour.int_domain.min, hour.int_domain.max = 0, 23
    schema.feature.add(name="open").float_domain.min = 1.0  # no max: not bounded
    schema.feature.add(name="shop").string_domain.value.extend(["a", "b"])
    info = ModelInfo("binary", "y", (Feature("amount_eur", "float32", column="Amount (EUR)"),
                                     Feature("hour", "int64"), Feature("open", "float32"),
                                     Feature("shop", "string", kind="categorical")))
    assert schema_ranges(schema, info) == {"amount_eur": (0.0, 2500.0), "hour": (0.0, 23.0)}
    assert schema_ranges(None, info) == {}


def test_allow_non_finite_lets_nan_in_but_never_answers_a_nan_score(tmp_path, exports):
    """The server option reaches the front ends: NaN passes the input check (the demo model's
    ReLUs turn it into a finite score, which is answered), while a NaN score still is not."""
    from tests.serving.conftest import new_repository
    from workbench.serving.process import start_local, stop

    repo = new_repository(tmp_path / "serving", exports)
    handle = start_local(repo, rest_port=0, grpc_port=0, batching=False,
                         allow_non_finite=True)
    try:
        status, doc = _post(handle, _instance(x0="NaN"))
        assert status == 200 and math.isfinite(doc["predictions"][0]["probabilities"][0])
        text = json.dumps({"signature_name": "classify",
                           "examples": [{**rows(1)[0], "x2": "@"}]}).replace('"@"', "NaN")
        assert _post(handle, text.encode(), f"/v1/models/{MODEL}:classify")[0] == 200
        status, doc = _post(handle, _instance(**{k: "3e38" for k in NUMERIC}))
        assert status == 400 and "output 'probabilities'" in doc["error"], doc
    finally:
        stop(repo)


def test_the_serving_checks_send_only_rows_without_a_missing_number():
    import pyarrow as pa

    from workbench.errors import DataError
    from workbench.serving.checks import examples_from_table

    table = pa.table({"a": [1.0, None, 3.0, float("nan"), 5.0, 1e39],
                      "s": ["x", None, "y", "z", "w", "v"]})
    inputs = {"a": "DT_FLOAT", "s": "DT_STRING"}
    assert examples_from_table(table, inputs, 2) == [{"a": 1.0, "s": "x"}, {"a": 3.0, "s": "y"}]
    assert [r["a"] for r in examples_from_table(table, inputs, 10)] == [1.0, 3.0, 5.0]
    with pytest.raises(DataError, match="every row of the eval split has a missing"):
        examples_from_table(pa.table({"a": [None, float("nan")]}), {"a": "DT_FLOAT"}, 5)
