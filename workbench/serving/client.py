"""Clients that speak only the TF Serving API (REST and gRPC), so they work unchanged against
the local server and the real ``tensorflow/serving`` image."""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import numpy as np

from workbench.serving import codec
from workbench.serving.status import HTTP_STATUS, ServingError

__all__ = ["GrpcClient", "RestClient", "model_path"]

_CODE_OF_HTTP = {v: k for k, v in reversed(list(HTTP_STATUS.items()))}


def model_path(name: str, version: int | None = None, label: str | None = None) -> str:
    path = f"/v1/models/{quote(name, safe='')}"
    if version is not None:
        path += f"/versions/{int(version)}"
    if label is not None:
        path += f"/labels/{quote(label, safe='')}"
    return path


def _non_finite_at(obj: Any, where: str) -> str | None:
    """Where the first Infinity of a JSON-ready object is (None: nowhere). NaN is a missing
    value and goes as null (orjson writes it so), which the model server takes."""
    if isinstance(obj, float) and math.isinf(obj):
        return f"{where}: {obj}"
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and np.isinf(obj).any():
        return f"{where}: {obj[np.isinf(obj)][0]}"
    if isinstance(obj, np.floating) and np.isinf(obj):
        return f"{where}: {obj}"
    if isinstance(obj, dict):
        for k, v in obj.items():
            found = _non_finite_at(v, f"{where}.{k}" if where else str(k))
            if found:
                return found
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found = _non_finite_at(v, f"{where}[{i}]")
            if found:
                return found
    return None


_SEND_NONE = ("the model server refuses Infinity (TF Serving's JSON accepts it); send a "
              "finite number, null (NaN) for a missing value, or drop the example")


def _finite_json(body: Any) -> bytes:
    """A request body without Infinity, NaN sent as null (a missing value): the workbench's
    clients send no non-finite number."""
    found = _non_finite_at(body, "")
    if found:
        raise ServingError("INVALID_ARGUMENT", f"not sent: the request holds a non-finite "
                           f"number at {found}", hint=_SEND_NONE)
    return codec.dumps(body)


class RestClient:
    """TF Serving REST API over keep-alive HTTP/1.1 (one connection per thread)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8501, *, token: str | None = None,
                 timeout: float = 30.0) -> None:
        self.host, self.port, self.token, self.timeout = host, int(port), token, timeout
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"RestClient(http://{self.host}:{self.port})"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """One raw request: (status, body bytes). Retries once on a dropped keep-alive."""
        data = None if body is None else (body if isinstance(body, bytes)
                                          else _finite_json(body))
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in (0, 1):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, payload
            except (ConnectionError, http.client.HTTPException, OSError) as err:
                self.close()
                if attempt:
                    raise ServingError("UNAVAILABLE", f"cannot reach the model server at "
                                       f"{self.url}: {err}",
                                       hint="start it with: workbench serve start") from err
        raise AssertionError("unreachable")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.request(method, path, body)
        try:
            doc = codec.loads(payload) if payload else {}
        except ServingError:
            doc = {"error": payload[:200].decode("utf-8", "replace")}
        if status != 200:
            message = doc.get("error", "") if isinstance(doc, dict) else str(doc)
            raise ServingError(_CODE_OF_HTTP.get(status, "UNKNOWN"),
                               f"{method} {path} answered {status}: {message}",
                               http_status=status)
        return doc

    # -- API -----------------------------------------------------------------------------------
    def status(self, name: str, version: int | None = None, label: str | None = None) -> Any:
        return self.call("GET", model_path(name, version, label))["model_version_status"]

    def metadata(self, name: str, version: int | None = None, label: str | None = None) -> Any:
        return self.call("GET", model_path(name, version, label) + "/metadata")

    def predict(self, name: str, *, instances: Sequence[Any] | None = None,
                inputs: Any = None, version: int | None = None, label: str | None = None,
                signature_name: str | None = None) -> Any:
        body: dict[str, Any] = {}
        if signature_name:
            body["signature_name"] = signature_name
        if instances is not None:
            body["instances"] = instances
        if inputs is not None:
            body["inputs"] = inputs
        doc = self.call("POST", model_path(name, version, label) + ":predict", body)
        return doc["predictions"] if instances is not None else doc["outputs"]

    def classify(self, name: str, examples: Sequence[Mapping[str, Any]], *,
                 signature_name: str | None = None, version: int | None = None,
                 label: str | None = None) -> Any:
        body: dict[str, Any] = {"examples": list(examples)}
        if signature_name:
            body["signature_name"] = signature_name
        return self.call("POST", model_path(name, version, label) + ":classify",
                         body)["results"]

    def regress(self, name: str, examples: Sequence[Mapping[str, Any]], *,
                signature_name: str | None = None, version: int | None = None,
                label: str | None = None) -> Any:
        body: dict[str, Any] = {"examples": list(examples)}
        if signature_name:
            body["signature_name"] = signature_name
        return self.call("POST", model_path(name, version, label) + ":regress",
                         body)["results"]

    def metrics(self, path: str = "/monitoring/prometheus/metrics") -> str:
        status, payload = self.request("GET", path)
        if status != 200:
            raise ServingError(_CODE_OF_HTTP.get(status, "UNKNOWN"),
                               f"GET {path} answered {status}")
        return payload.decode("utf-8")

    def available(self, name: str) -> list[int]:
        try:
            states = self.status(name)
        except ServingError:
            return []
        return sorted(int(s["version"]) for s in states if s["state"] == "AVAILABLE")

    def wait_available(self, name: str, version: int, *, timeout: float = 60.0) -> dict:
        """Wait until ``version`` is AVAILABLE; raise with its status if it ends instead."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = self.status(name, version)[0]
                if last["state"] == "AVAILABLE":
                    return last
                if last["state"] == "END" and last["status"]["error_code"] != "OK":
                    raise ServingError("FAILED_PRECONDITION",
                                       f"version {version} of model {name} was refused: "
                                       f"{last['status']['error_message']}",
                                       hint="push a verified export; the previous version "
                                            "keeps serving")
            except ServingError as err:
                if err.code not in ("NOT_FOUND", "UNAVAILABLE"):
                    raise
            time.sleep(0.1)
        raise ServingError("DEADLINE_EXCEEDED", f"version {version} of model {name} was not "
                           f"AVAILABLE within {timeout:g} s (last status: {last})",
                           hint="see the server log: workbench serve status")

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.request("GET", "/v1/models/__probe__")
                return
            except ServingError:
                time.sleep(0.1)
        raise ServingError("UNAVAILABLE", f"no model server answered at {self.url} within "
                           f"{timeout:g} s")


class GrpcClient:
    """TF Serving gRPC API with the ``tensorflow-serving-api`` stubs."""

    def __init__(self, target: str = "127.0.0.1:8500", *, token: str | None = None,
                 timeout: float = 30.0) -> None:
        import grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.target, self.timeout = target, timeout
        self.channel = grpc.insecure_channel(
            target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None

    def close(self) -> None:
        self.channel.close()

    def _spec(self, spec: Any, name: str, version: int | None, label: str | None,
              signature_name: str | None = None) -> None:
        spec.name = name
        if version is not None:
            spec.version.value = int(version)
        if label is not None:
            spec.version_label = label
        if signature_name:
            spec.signature_name = signature_name

    def _invoke(self, method: Any, request: Any) -> Any:
        import grpc

        try:
            return method(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            code = err.code().name if err.code() else "UNKNOWN"
            raise ServingError(code, f"gRPC {code}: {err.details()}") from err

    def predict(self, name: str, inputs: Mapping[str, Any], *, version: int | None = None,
                label: str | None = None, signature_name: str | None = None
                ) -> tuple[dict[str, np.ndarray], int]:
        """Outputs as arrays and the version that answered."""
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        req = predict_pb2.PredictRequest()
        self._spec(req.model_spec, name, version, label, signature_name)
        for k, v in inputs.items():
            arr = np.asarray(v)
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                raise ServingError("INVALID_ARGUMENT", f"not sent: input '{k}' holds a "
                                   f"non-finite number ({arr[~np.isfinite(arr)][0]})",
                                   hint=_SEND_NONE)
            req.inputs[k].CopyFrom(tf.make_tensor_proto(arr))
        resp = self._invoke(self.predictions.Predict, req)
        return ({k: tf.make_ndarray(v) for k, v in resp.outputs.items()},
                int(resp.model_spec.version.value))

    def classify(self, name: str, examples: Sequence[Mapping[str, Any]], *,
                 signature_name: str | None = None, version: int | None = None,
                 label: str | None = None) -> list[list[tuple[str, float]]]:
        from tensorflow_serving.apis import classification_pb2

        req = classification_pb2.ClassificationRequest()
        self._spec(req.model_spec, name, version, label, signature_name)
        for blob in codec.examples_from_json({"examples": list(examples)}):
            req.input.example_list.examples.add().ParseFromString(blob)
        resp = self._invoke(self.predictions.Classify, req)
        return [[(c.label, c.score) for c in cl.classes] for cl in resp.result.classifications]

    def metadata(self, name: str, *, version: int | None = None,
                 label: str | None = None) -> Any:
        from tensorflow_serving.apis import get_model_metadata_pb2

        req = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        self._spec(req.model_spec, name, version, label)
        resp = self._invoke(self.predictions.GetModelMetadata, req)
        out = get_model_metadata_pb2.SignatureDefMap()
        resp.metadata["signature_def"].Unpack(out)
        return out

    def status(self, name: str, *, version: int | None = None) -> Any:
        from tensorflow_serving.apis import get_model_status_pb2

        req = get_model_status_pb2.GetModelStatusRequest()
        self._spec(req.model_spec, name, version, None)
        return self._invoke(self.models.GetModelStatus, req).model_version_status

    def reload_config(self, config: Any) -> None:
        """ModelService.HandleReloadConfigRequest with a ModelServerConfig."""
        from tensorflow_serving.apis import model_management_pb2

        req = model_management_pb2.ReloadConfigRequest()
        req.config.CopyFrom(config)
        self._invoke(self.models.HandleReloadConfigRequest, req)
