"""The local server against the TF Serving contract: REST and gRPC routes, formats, status
codes, bad input and a fuzzing run, against one real server process."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serving.conftest import MODEL
from tests.serving.demo_model import FEATURES, columns, rows
from workbench.serving.status import ServingError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rest(served):
    client = served.rest()
    yield client
    client.close()


@pytest.fixture(scope="module")
def grpc_client(served):
    client = served.grpc()
    yield client
    client.close()


def _raw(rest, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    status, payload = rest.request(method, path, body)
    return status, json.loads(payload)


def test_status_and_metadata_follow_the_contract(rest):
    assert rest.status(MODEL) == [{"version": "1", "state": "AVAILABLE",
                                   "status": {"error_code": "OK", "error_message": ""}}]
    assert rest.status(MODEL, version=1)[0]["version"] == "1"
    assert rest.status(MODEL, label="stable")[0]["version"] == "1"
    meta = rest.metadata(MODEL)
    assert meta["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    assert sigs["classify"]["method_name"] == "tensorflow/serving/classify"
    assert set(sigs["serving_default"]["inputs"]) == set(FEATURES)
    # model names match case-insensitively
    assert rest.status(MODEL.upper())[0]["state"] == "AVAILABLE"


def test_row_and_columnar_predict_agree_with_the_saved_model(rest, exports):
    import tensorflow as tf

    data = rows(5, seed=7)
    expected = tf.saved_model.load(str(exports[1])).signatures["serving_default"](
        **{k: tf.constant(v) for k, v in columns(data).items()})["probabilities"].numpy()
    preds = rest.predict(MODEL, instances=data)
    assert [sorted(p) for p in preds] == [["class_ids", "probabilities"]] * 5
    got = np.array([p["probabilities"] for p in preds])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    cols = {k: v.tolist() if v.dtype != object else list(v) for k, v in
            columns(data).items()}
    out = rest.predict(MODEL, inputs=cols, label="stable")
    np.testing.assert_allclose(np.array(out["probabilities"]), expected, atol=1e-6)
    by_version = rest.predict(MODEL, instances=data[:1], version=1)
    assert by_version[0]["probabilities"] == preds[0]["probabilities"]


def test_b64_strings_are_accepted_and_nan_refused_by_default(rest):
    row = rows(1, seed=3)[0]
    plain = rest.predict(MODEL, instances=[row])
    encoded = dict(row, country={"b64": base64.b64encode(row["country"].encode()).decode()})
    assert rest.predict(MODEL, instances=[encoded]) == plain
    body = json.dumps({"instances": [dict(row, x0=float("nan"))]}).encode()
    assert b"NaN" in body
    status, doc = _raw(rest, "POST", f"/v1/models/{MODEL}:predict", body)
    assert status == 400 and "input 'x0'" in doc["error"]  # --allow_non_finite accepts it


def test_classify_over_rest_and_grpc(rest, grpc_client):
    examples = [dict(r) for r in rows(3, seed=5)]
    results = rest.classify(MODEL, examples, signature_name="classify")
    assert len(results) == 3 and [c for c, _ in results[0]] == ["0", "1"]
    assert abs(sum(s for _, s in results[0]) - 1) < 1e-5
    grpc_results = grpc_client.classify(MODEL, examples, signature_name="classify")
    np.testing.assert_allclose([[s for _, s in r] for r in grpc_results],
                               [[s for _, s in r] for r in results], atol=1e-6)
    # predict signature through :classify is refused with the method named
    with pytest.raises(ServingError, match="classify") as err:
        rest.classify(MODEL, examples)
    assert err.value.context["http_status"] == 400


def test_regress_over_rest_and_grpc(rest, grpc_client):
    from tensorflow_serving.apis import regression_pb2

    from workbench.serving.codec import examples_from_json

    examples = rows(3, seed=6)
    values = rest.regress(MODEL, examples, signature_name="regress")
    classes = rest.classify(MODEL, examples, signature_name="classify")
    np.testing.assert_allclose(values, [c[1][1] for c in classes], atol=1e-6)
    req = regression_pb2.RegressionRequest()
    req.model_spec.name = MODEL
    req.model_spec.signature_name = "regress"
    for blob in examples_from_json({"examples": examples}):
        req.input.example_list.examples.add().ParseFromString(blob)
    resp = grpc_client.predictions.Regress(req, timeout=10)
    np.testing.assert_allclose([r.value for r in resp.result.regressions], values, atol=1e-6)
    assert resp.model_spec.version.value == 1


def test_grpc_predict_metadata_status_and_multi_inference(grpc_client):
    from tensorflow_serving.apis import inference_pb2

    outputs, version = grpc_client.predict(MODEL, columns(rows(4)))
    assert version == 1 and outputs["probabilities"].shape == (4, 1)
    assert grpc_client.predict(MODEL, columns(rows(1)), label="stable")[1] == 1
    sigs = grpc_client.metadata(MODEL)
    assert "serving_default" in sigs.signature_def
    status = grpc_client.status(MODEL)
    assert status[0].state == 30 and status[0].version == 1
    req = inference_pb2.MultiInferenceRequest()
    task = req.tasks.add(method_name="tensorflow/serving/classify")
    task.model_spec.name = MODEL
    task.model_spec.signature_name = "classify"
    from workbench.serving.codec import examples_from_json
    for blob in examples_from_json({"examples": rows(2)}):
        req.input.example_list.examples.add().ParseFromString(blob)
    resp = grpc_client.predictions.MultiInference(req, timeout=10)
    assert len(resp.results[0].classification_result.classifications) == 2


def test_grpc_errors_carry_tf_serving_codes(grpc_client):
    with pytest.raises(ServingError) as err:
        grpc_client.predict("nope", columns(rows(1)))
    assert err.value.code == "NOT_FOUND"
    with pytest.raises(ServingError) as err:
        grpc_client.predict(MODEL, {"x0": np.array([1.0], np.float32)})
    assert err.value.code == "INVALID_ARGUMENT"
    with pytest.raises(ServingError) as err:
        grpc_client.predict(MODEL, columns(rows(1)), label="nolabel")
    assert err.value.code == "INVALID_ARGUMENT"


ROW = json.dumps(rows(1)[0])
FAULTS = [
    ("malformed JSON", "POST", f"/v1/models/{MODEL}:predict", b'{"instances": [', 400),
    ("not an object", "POST", f"/v1/models/{MODEL}:predict", b"[1, 2]", 400),
    ("neither instances nor inputs", "POST", f"/v1/models/{MODEL}:predict", b"{}", 400),
    ("both instances and inputs", "POST", f"/v1/models/{MODEL}:predict",
     b'{"instances": [], "inputs": {}}', 400),
    ("missing input", "POST", f"/v1/models/{MODEL}:predict", b'{"instances": [{"x0": 1.0}]}',
     400),
    ("unknown input", "POST", f"/v1/models/{MODEL}:predict",
     f'{{"instances": [{ROW[:-1]}, "bogus": 1}}]}}'.encode(), 400),
    ("wrong dtype", "POST", f"/v1/models/{MODEL}:predict",
     ROW.replace('"x0": ', '"x0": "text", "_": ').join(['{"instances": [', "]}"]).encode(),
     400),
    ("wrong shape", "POST", f"/v1/models/{MODEL}:predict",
     ROW.replace('"x1": ', '"x1": [[1.0, 2.0]], "_": ').join(['{"instances": [', "]}"])
     .encode(), 400),
    ("number for a string input", "POST", f"/v1/models/{MODEL}:predict",
     ROW.replace('"country": ', '"country": 7, "_": ').join(['{"instances": [', "]}"])
     .encode(), 400),
    ("invalid b64", "POST", f"/v1/models/{MODEL}:predict",
     ROW.replace('"country": ', '"country": {"b64": "@@@"}, "_": ')
     .join(['{"instances": [', "]}"]).encode(), 400),
    ("unknown model", "POST", "/v1/models/nope:predict", f'{{"instances": [{ROW}]}}'.encode(),
     404),
    ("unknown version", "POST", f"/v1/models/{MODEL}/versions/99:predict",
     f'{{"instances": [{ROW}]}}'.encode(), 404),
    ("unknown label", "POST", f"/v1/models/{MODEL}/labels/nolabel:predict",
     f'{{"instances": [{ROW}]}}'.encode(), 400),
    ("version plus label", "POST", f"/v1/models/{MODEL}/versions/1/labels/stable:predict",
     f'{{"instances": [{ROW}]}}'.encode(), 400),
    ("bad label characters", "GET", f"/v1/models/{MODEL}/labels/no-way", None, 400),
    ("unknown signature", "POST", f"/v1/models/{MODEL}:predict",
     f'{{"signature_name": "nope", "instances": [{ROW}]}}'.encode(), 400),
    ("unknown verb", "POST", f"/v1/models/{MODEL}:explain", b"{}", 404),
    ("unknown route", "GET", "/v2/anything", None, 404),
    ("status of unknown model", "GET", "/v1/models/nope", None, 404),
    ("too many examples for one batch", "POST", f"/v1/models/{MODEL}:predict",
     json.dumps({"instances": rows(65)}).encode(), 400),
    ("empty examples", "POST", f"/v1/models/{MODEL}:classify",
     b'{"signature_name": "classify", "examples": []}', 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"),
                         [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_bad_requests_get_the_right_status_and_an_error_body(rest, method, path, body, status):
    got, doc = _raw(rest, method, path, body)
    assert got == status, doc
    assert set(doc) == {"error"} and doc["error"]


def test_head_and_other_methods_get_answers_not_dropped_connections(rest):
    status, payload = rest.request("HEAD", f"/v1/models/{MODEL}")
    assert status == 200 and payload == b""
    status, doc = _raw(rest, "DELETE", f"/v1/models/{MODEL}")
    assert status == 404 and "Malformed request" in doc["error"]
    assert rest.status(MODEL)[0]["state"] == "AVAILABLE"      # same keep-alive connection


def test_garbage_on_the_wire_does_not_hurt_the_server(served, rest):
    import socket

    for junk in (b"\x00\xff" * 100 + b"\r\n\r\n", b"POST / HTTP/9.9\r\n\r\n",
                 b"GET /v1/models/fraud HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                 b"POST /v1/models/fraud:predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                 b"\r\nzz\r\n"):
        with socket.create_connection(("127.0.0.1", served.rest_port), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            reply = sock.recv(4096)
        assert not reply or reply.startswith(b"HTTP/1.1 4")
    assert rest.predict(MODEL, instances=rows(1))[0]["probabilities"]


def test_oversized_body_is_refused_with_413(served):
    import socket

    size = 64 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", served.rest_port), timeout=30) as sock:
        sock.sendall(f"POST /v1/models/{MODEL}:predict HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
                     .encode() + b'{"instances": [' + b"1.0, " * 1000)
        reply = b""
        while b"}" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert "larger than the limit" in json.loads(body)["error"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=8), lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(st.sampled_from(FEATURES + ["b64", "x"]), kids, max_size=4),
    max_leaves=12)
_bodies = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda v: json.dumps(v).encode(), _json_values),
    st.builds(lambda k, v: json.dumps({k: v}).encode(),
              st.sampled_from(["instances", "inputs", "examples", "signature_name"]),
              _json_values),
    st.builds(lambda v: json.dumps({"instances": [v]}).encode(),
              st.dictionaries(st.sampled_from(FEATURES), _json_values, max_size=12)),
)
_paths = st.sampled_from([f"/v1/models/{MODEL}:predict", f"/v1/models/{MODEL}:classify",
                          f"/v1/models/{MODEL}:regress", f"/v1/models/{MODEL}/labels/stable"
                          ":predict", f"/v1/models/{MODEL}/versions/1:classify",
                          "/v1/models/x%00y:predict"])


def test_fuzzing_1000_malformed_requests_never_gets_a_5xx(rest):
    seen = []

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(path=_paths, body=_bodies)
    def one(path, body):
        status, payload = rest.request("POST", path, body)
        seen.append(status)
        assert status < 500, (path, body, payload)
        if status != 200:
            assert "error" in json.loads(payload)

    one()
    assert len(seen) >= 1000
    # still serving
    assert rest.predict(MODEL, instances=rows(1))[0]["probabilities"]


def test_prometheus_metrics_use_tf_serving_names(rest):
    rest.predict(MODEL, instances=rows(2))
    text = rest.metrics()
    assert f':tensorflow:serving:request_count{{model_name="{MODEL}",status="OK"}}' in text
    for name in (":tensorflow:serving:request_latency_bucket",
                 ":tensorflow:serving:runtime_latency_count",
                 ":tensorflow:serving:batching_session:queuing_latency_count",
                 ":tensorflow:serving:batching_session:processed_batch_size_bucket"):
        assert name in text
    assert 'API="predict",entrypoint="REST"' in text
    assert ":tensorflow:serving:model_warmup_latency_count" in text   # warmup was replayed
