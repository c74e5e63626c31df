"""TF Serving's REST API on tornado (asyncio): status, metadata, predict, classify, regress,
Prometheus metrics. Every error is ``{"error": "..."}`` with the HTTP code of its gRPC status."""

from __future__ import annotations

import hmac
import logging
import re
import time
from typing import Any

import numpy as np
import tornado.web
from google.protobuf import json_format

from workbench.serving import codec
from workbench.serving.inference import (
    CLASSIFY,
    REGRESS,
    Inference,
    as_serving_error,
    classifications,
    example_input,
    regressions,
    require_method,
)
from workbench.serving.manager import ModelManager
from workbench.serving.metrics import Metrics
from workbench.serving.status import ServingError, invalid, not_found

__all__ = ["make_app"]

log = logging.getLogger(__name__)

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?:/labels/(?P<label>[^/:]+))?(?:/(?P<meta>metadata)|:(?P<verb>[A-Za-z]+))?/?$",
    re.IGNORECASE)
_LABEL = re.compile(r"^[a-zA-Z0-9_]+$")
_JSON = "application/json"


class _Handler(tornado.web.RequestHandler):
    """One handler for every route (regex dispatch is cheaper than tornado's per-rule match)."""

    def initialize(self, server: Any) -> None:
        self.srv = server
        self._chunks: list[bytes] = []
        self._size = 0
        self._too_big = False

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", _JSON)

    def compute_etag(self) -> None:
        return None

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        self._started = time.perf_counter()
        token = self.srv.token
        if token:
            given = self.request.headers.get("Authorization", "")
            if not (given.startswith("Bearer ")
                    and hmac.compare_digest(given[7:].strip().encode(), token.encode())):
                self.set_header("WWW-Authenticate", 'Bearer realm="workbench"')
                self._error(ServingError("UNAUTHENTICATED",
                                         "missing or wrong bearer token (Authorization: Bearer "
                                         "<token>)"))
                return
        length = self.request.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.srv.max_body_bytes:
            self.set_header("Connection", "close")
            self._error(ServingError("INVALID_ARGUMENT",
                                     f"request body of {int(length):,} bytes is larger than "
                                     f"the limit of {self.srv.max_body_bytes:,} bytes"),
                        status=413)
            return
        self.request.connection.set_max_body_size(self.srv.max_body_bytes + 1)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.srv.max_body_bytes:
            self._too_big = True
            return
        self._chunks.append(chunk)

    def _error(self, err: ServingError, status: int | None = None) -> None:
        self.set_status(status or err.http_status)
        self.finish(codec.dumps({"error": err.message}))

    def _send(self, obj: Any) -> None:
        self.finish(codec.dumps(obj, non_finite=getattr(self, "_non_finite", False)))

    # -- GET -----------------------------------------------------------------------------------
    def get(self, path: str) -> None:
        if path == self.srv.prometheus_path:
            self.set_header("Content-Type", "text/plain; version=0.0.4")
            self.finish(self.srv.metrics.exposition())
            return
        try:
            name, version, label, meta, verb = self._route(path)
            if verb:
                raise ServingError("NOT_FOUND", f"Malformed request: GET {path} "
                                   f"(:{verb} takes POST)")
            if meta:
                self._send(self._metadata(name, version, label))
            else:
                states = self.srv.manager.status(name, version, label)
                self._send({"model_version_status": [s.to_dict() for s in states]})
        except ServingError as err:
            self._error(err)

    def _route(self, path: str) -> tuple[str, int | None, str | None, bool, str | None]:
        m = _ROUTE.match(path)
        if not m:
            raise not_found(f"Malformed request: {self.request.method} {path}")
        version = m["version"]
        if version is not None and not version.isdigit():
            raise not_found(f"Malformed request: {self.request.method} {path} (version "
                            f"'{version}' is not an integer)")
        label = m["label"]
        if label is not None and not _LABEL.match(label):
            raise invalid(f"label '{label}' is not valid: labels match [a-zA-Z0-9_]+")
        if version is not None and label is not None:
            raise invalid("a request may name a version or a label, not both")
        verb = m["verb"].lower() if m["verb"] else None
        return m["name"], int(version) if version else None, label, bool(m["meta"]), verb

    def _metadata(self, name: str, version: int | None, label: str | None) -> dict[str, Any]:
        vs = self.srv.manager.resolve(name, version, label)
        sig_map = json_format.MessageToDict(vs.servable.metadata_map(),
                                            preserving_proto_field_name=True)
        return {"model_spec": {"name": name, "signature_name": "",
                               "version": str(vs.version)},
                "metadata": {"signature_def": sig_map}}

    # -- POST ----------------------------------------------------------------------------------
    async def post(self, path: str) -> None:
        name, api, status = "", "unknown", "OK"
        try:
            name, version, label, meta, verb = self._route(path)
            if meta or verb not in ("predict", "classify", "regress"):
                raise not_found(f"Malformed request: POST {path}")
            api = verb
            if self._too_big:
                raise ServingError("INVALID_ARGUMENT",
                                   f"request body is larger than the limit of "
                                   f"{self.srv.max_body_bytes:,} bytes")
            body = codec.loads(b"".join(self._chunks))
            if not isinstance(body, dict):
                raise invalid("the request body must be a JSON object")
            vs = self.srv.manager.resolve(name, version, label)
            sig_name = body.get("signature_name")
            if sig_name is not None and not isinstance(sig_name, str):
                raise invalid("'signature_name' must be a string")
            sig = vs.servable.signature(sig_name)
            if verb == "predict":
                self._send(await self._predict(vs, sig, body))
            else:
                require_method(sig, CLASSIFY if verb == "classify" else REGRESS)
                examples = codec.examples_from_json(body)
                arrays = {example_input(sig): np.array(examples, dtype=object)}
                outputs = await self.srv.inference.run_async(vs, sig, arrays, len(examples))
                results = (classifications(outputs) if verb == "classify"
                           else regressions(outputs))
                self._send({"results": results})
        except Exception as err:  # noqa: BLE001 - every failure becomes an error body
            serr = as_serving_error(err)
            status = serr.code
            if serr.code in ("INTERNAL", "UNKNOWN"):
                log.exception("request %s failed", path)
            self._error(serr)
        finally:
            self.srv.metrics.request(name, api, "REST", status,
                                     (time.perf_counter() - self._started) * 1e6)

    async def _predict(self, vs: Any, sig: Any, body: dict[str, Any]) -> dict[str, Any]:
        has_rows, has_cols = "instances" in body, "inputs" in body
        if has_rows == has_cols:
            raise invalid("Missing 'inputs' or 'instances' key" if not has_rows else
                          "Request body must have either 'inputs' or 'instances', not both")
        extra = set(body) - {"instances", "inputs", "signature_name"}
        if extra:
            raise invalid(f"unknown key(s) {sorted(extra)} in the request body; allowed: "
                          "signature_name, instances, inputs")
        if has_rows:
            arrays, n = codec.arrays_from_instances(body["instances"], sig.inputs)
        else:
            arrays, n = codec.arrays_from_columns(body["inputs"], sig.inputs)
        outputs = await self.srv.inference.run_async(vs, sig, arrays, n)
        self._non_finite = codec.non_finite(outputs)
        return codec.rows_response(outputs, n) if has_rows else codec.columns_response(outputs)

    async def put(self, path: str) -> None:
        self._error(not_found(f"Malformed request: PUT {path}"))

    async def delete(self, path: str) -> None:
        self._error(not_found(f"Malformed request: DELETE {path}"))


_Handler = tornado.web.stream_request_body(_Handler)


class RestContext:
    """What the handlers need from the server."""

    def __init__(self, manager: ModelManager, inference: Inference, metrics: Metrics, *,
                 token: str | None, max_body_bytes: int, prometheus_path: str | None) -> None:
        self.manager = manager
        self.inference = inference
        self.metrics = metrics
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.prometheus_path = prometheus_path


def make_app(context: RestContext) -> tornado.web.Application:
    return tornado.web.Application([(r"(.*)", _Handler, {"server": context})],
                                   compress_response=False, autoreload=False,
                                   log_function=_quiet_log)


def _quiet_log(handler: tornado.web.RequestHandler) -> None:
    status = handler.get_status()
    if status >= 500:
        log.warning("%d %s %s", status, handler.request.method, handler.request.uri)
