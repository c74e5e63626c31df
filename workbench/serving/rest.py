"""TF Serving's REST API: status, metadata, predict, classify, regress, Prometheus metrics.
Every error is ``{"error": "..."}`` with the HTTP code of its gRPC status.

:class:`RestApi` answers (method, path, body); tornado's HTTP/1.1 connection layer parses the
wire, with a bare message delegate instead of ``RequestHandler`` (whose per-request machinery —
routing, cookies, etags, output transforms — would cost more than the model call).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from typing import Any

import numpy as np
import tornado.httputil
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
from workbench.serving.ranges import count_out_of_range
from workbench.serving.status import ServingError, invalid, not_found

__all__ = ["RestApi", "RestRouter"]

log = logging.getLogger(__name__)

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?:/labels/(?P<label>[^/:]+))?(?:/(?P<meta>metadata)|:(?P<verb>[A-Za-z]+))?/?$",
    re.IGNORECASE)
_LABEL = re.compile(r"^[a-zA-Z0-9_]+$")
_JSON = "application/json"

Reply = tuple[int, str, bytes]


def _error(err: ServingError, status: int | None = None) -> Reply:
    return status or err.http_status, _JSON, codec.dumps({"error": err.message})


class RestApi:
    """The REST routes, independent of the HTTP server."""

    def __init__(self, manager: ModelManager, inference: Inference, metrics: Metrics, *,
                 token: str | None, max_body_bytes: int, prometheus_path: str | None,
                 request_logs: Any = None, allow_non_finite: bool = False) -> None:
        self.manager = manager
        self.allow_non_finite = allow_non_finite
        self.request_logs = request_logs
        self.inference = inference
        self.metrics = metrics
        self.token = token
        self.max_body_bytes = max_body_bytes
        self.prometheus_path = prometheus_path

    def precheck(self, headers: Any) -> Reply | None:
        """Refuse before the body is read: a missing token (401); a declared body larger than
        the drain cap (413, the connection closed at once; smaller bodies over the limit are
        read and dropped first, so the client reads the 413 instead of a reset)."""
        if self.token:
            given = headers.get("Authorization", "")
            if not (given.startswith("Bearer ")
                    and hmac.compare_digest(given[7:].strip().encode(), self.token.encode())):
                return _error(ServingError("UNAUTHENTICATED", "missing or wrong bearer token "
                                           "(Authorization: Bearer <token>)"))
        length = headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.drain_cap:
            return self.too_big(int(length))
        return None

    @property
    def drain_cap(self) -> int:
        """How much of a too-large body is read (and dropped) before the 413 is sent."""
        return max(4 * self.max_body_bytes, 256 << 20)

    def too_big(self, size: int | None = None) -> Reply:
        what = f"of {size:,} bytes " if size else ""
        return _error(ServingError("INVALID_ARGUMENT", f"request body {what}is larger than the "
                                   f"limit of {self.max_body_bytes:,} bytes "
                                   "(--rest_api_max_body_bytes)"), status=413)

    def route(self, method: str, path: str) -> tuple[str, int | None, str | None, bool,
                                                     str | None]:
        m = _ROUTE.match(path)
        if not m:
            raise not_found(f"Malformed request: {method} {path}")
        version = m["version"]
        if version is not None and not version.isdigit():
            raise not_found(f"Malformed request: {method} {path} (version '{version}' is not "
                            "an integer)")
        label = m["label"]
        if label is not None and not _LABEL.match(label):
            raise invalid(f"label '{label}' is not valid: labels match [a-zA-Z0-9_]+")
        if version is not None and label is not None:
            raise invalid("a request may name a version or a label, not both")
        verb = m["verb"].lower() if m["verb"] else None
        return m["name"], int(version) if version else None, label, bool(m["meta"]), verb

    async def handle(self, method: str, path: str, body: bytes) -> Reply:
        if method in ("GET", "HEAD"):
            return self.get(path)
        if method == "POST":
            return await self.post(path, body)
        return _error(not_found(f"Malformed request: {method} {path}"))

    # -- GET -----------------------------------------------------------------------------------
    def get(self, path: str) -> Reply:
        if path == self.prometheus_path:
            return 200, "text/plain; version=0.0.4", self.metrics.exposition().encode()
        try:
            name, version, label, meta, verb = self.route("GET", path)
            if verb:
                raise not_found(f"Malformed request: GET {path} (:{verb} takes POST)")
            if meta:
                return 200, _JSON, codec.dumps(self._metadata(name, version, label))
            states = self.manager.status(name, version, label)
            return 200, _JSON, codec.dumps({"model_version_status":
                                            [s.to_dict() for s in states]})
        except ServingError as err:
            return _error(err)

    def _metadata(self, name: str, version: int | None, label: str | None) -> dict[str, Any]:
        vs = self.manager.resolve(name, version, label)
        sig_map = json_format.MessageToDict(vs.servable.metadata_map(),
                                            preserving_proto_field_name=True)
        return {"model_spec": {"name": name, "signature_name": "", "version": str(vs.version)},
                "metadata": {"signature_def": sig_map}}

    # -- POST ----------------------------------------------------------------------------------
    async def post(self, path: str, raw: bytes) -> Reply:
        started = time.perf_counter()
        name, api, status, label = "", "unknown", "OK", None
        try:
            name, version, label, meta, verb = self.route("POST", path)
            if meta or verb not in ("predict", "classify", "regress"):
                raise not_found(f"Malformed request: POST {path}")
            api = verb
            body = codec.loads(raw)
            if not isinstance(body, dict):
                raise invalid("the request body must be a JSON object")
            vs = self.manager.resolve(name, version, label)
            sig_name = body.get("signature_name")
            if sig_name is not None and not isinstance(sig_name, str):
                raise invalid("'signature_name' must be a string")
            sig = vs.servable.signature(sig_name)
            if verb == "predict":
                return await self._predict(vs, sig, body)
            require_method(sig, CLASSIFY if verb == "classify" else REGRESS)
            examples = codec.examples_from_json(body, allow_non_finite=self.allow_non_finite)
            arrays = {example_input(sig): np.array(examples, dtype=object)}
            outputs = await self.inference.run_async(vs, sig, arrays, len(examples))
            codec.require_finite_outputs(outputs)
            results = classifications(outputs) if verb == "classify" else regressions(outputs)
            if self.request_logs is not None:
                self.request_logs.offer(verb, vs.servable.name, vs.version, sig.name, arrays,
                                        outputs, len(examples))
            return 200, _JSON, codec.dumps({"results": results})
        except Exception as err:  # noqa: BLE001 - every failure becomes an error body
            serr = as_serving_error(err)
            status = serr.code
            if serr.code in ("INTERNAL", "UNKNOWN"):
                log.exception("request %s failed", path)
            return _error(serr)
        finally:
            self.metrics.request(name, api, "REST", status,
                                 (time.perf_counter() - started) * 1e6, label or "")

    async def _predict(self, vs: Any, sig: Any, body: dict[str, Any]) -> Reply:
        has_rows, has_cols = "instances" in body, "inputs" in body
        if has_rows == has_cols:
            raise invalid("Missing 'inputs' or 'instances' key" if not has_rows else
                          "Request body must have either 'inputs' or 'instances', not both")
        if len(body) > 2 or (len(body) == 2 and "signature_name" not in body):
            extra = set(body) - {"instances", "inputs", "signature_name"}
            raise invalid(f"unknown key(s) {sorted(extra)} in the request body; allowed: "
                          "signature_name, instances, inputs")
        if has_rows:
            arrays, n = codec.arrays_from_instances(body["instances"], sig.inputs,
                                                    allow_non_finite=self.allow_non_finite)
        else:
            arrays, n = codec.arrays_from_columns(body["inputs"], sig.inputs,
                                                  allow_non_finite=self.allow_non_finite)
        if vs.servable.ranges:
            count_out_of_range(self.metrics, vs.servable.name, vs.servable.ranges, arrays)
        outputs = await self.inference.run_async(vs, sig, arrays, n)
        codec.require_finite_outputs(outputs)
        if self.request_logs is not None:
            self.request_logs.offer("predict", vs.servable.name, vs.version, sig.name, arrays,
                                    outputs, n)
        doc = codec.rows_response(outputs, n) if has_rows else codec.columns_response(outputs)
        return 200, _JSON, codec.dumps(doc, non_finite=codec.non_finite(outputs))


class _Exchange(tornado.httputil.HTTPMessageDelegate):
    """One request on a connection: collect the body, answer from :class:`RestApi`."""

    __slots__ = ("_api", "_body", "_closed", "_conn", "_done", "_method", "_path", "_size",
                 "_too_big")

    def __init__(self, api: RestApi, conn: Any) -> None:
        self._api = api
        self._conn = conn
        self._body: list[bytes] = []
        self._size = 0
        self._too_big = False
        self._done = False
        self._closed = False
        self._method = self._path = ""

    def headers_received(self, start_line: Any, headers: Any) -> None:
        self._method = start_line.method
        self._path = start_line.path.split("?", 1)[0]
        early = self._api.precheck(headers)
        if early is not None:
            self._reply(early, close=True)
            return
        self._conn.set_max_body_size(self._api.drain_cap)
        length = headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self._api.max_body_bytes:
            self._refuse_body(int(length))

    def _refuse_body(self, size: int | None) -> None:
        """Answer 413 at once, then read (and drop) the rest of the body before closing, up
        to the drain cap: closing while the client still sends would reset the connection,
        and a client that sends its whole body before reading would never see the answer."""
        self._too_big = True
        self._body = []
        self._write(self._api.too_big(size), close=True)

    def data_received(self, chunk: bytes) -> None:
        if self._done:
            return
        self._size += len(chunk)
        if self._size > self._api.max_body_bytes:
            self._refuse_body(None)
        else:
            self._body.append(chunk)

    def finish(self) -> None:
        if self._too_big:
            self._conn.finish()  # the body is read: the 413 went out, now close
            return
        if self._done:
            return
        asyncio.ensure_future(self._answer())

    async def _answer(self) -> None:
        try:
            reply = await self._api.handle(self._method, self._path, b"".join(self._body))
        except Exception as err:  # noqa: BLE001 - never leave a request without an answer
            log.exception("REST %s %s failed", self._method, self._path)
            reply = _error(as_serving_error(err))
        if not self._closed:
            self._reply(reply)

    def on_connection_close(self) -> None:
        self._closed = True

    def _reply(self, reply: Reply, *, close: bool = False) -> None:
        self._write(reply, close=close)
        self._conn.finish()

    def _write(self, reply: Reply, *, close: bool = False) -> None:
        status, content_type, payload = reply
        self._done = True
        headers = tornado.httputil.HTTPHeaders({"Content-Type": content_type,
                                                "Content-Length": str(len(payload))})
        if close:
            headers["Connection"] = "close"
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="workbench"'
        if status >= 500:
            log.warning("%d %s %s", status, self._method, self._path)
        line = tornado.httputil.ResponseStartLine(
            "HTTP/1.1", status, tornado.httputil.responses.get(status, "Unknown"))
        self._conn.write_headers(line, headers, None if self._method == "HEAD" else payload)


class RestRouter(tornado.httputil.HTTPServerConnectionDelegate):
    def __init__(self, api: RestApi) -> None:
        self.api = api

    def start_request(self, server_conn: object, request_conn: Any) -> _Exchange:
        return _Exchange(self.api, request_conn)
