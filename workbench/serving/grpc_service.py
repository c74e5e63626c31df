"""TF Serving's gRPC API with the ``tensorflow-serving-api`` stubs: PredictionService
(Predict, Classify, Regress, MultiInference, GetModelMetadata) and ModelService
(GetModelStatus, HandleReloadConfigRequest)."""

from __future__ import annotations

import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import numpy as np
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

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
from workbench.serving.manager import STATE_CODES, ModelManager
from workbench.serving.metrics import Metrics
from workbench.serving.ranges import count_out_of_range
from workbench.serving.status import ServingError, invalid

__all__ = ["start_grpc"]

log = logging.getLogger(__name__)


class _Base:
    def __init__(self, manager: ModelManager, inference: Inference, metrics: Metrics,
                 token: str | None, request_logs: Any = None,
                 allow_non_finite: bool = False) -> None:
        self.manager = manager
        self.allow_non_finite = allow_non_finite
        self.inference = inference
        self.metrics = metrics
        self.token = token
        self.request_logs = request_logs

    def _log(self, kind: str, vs: Any, sig: Any, arrays: dict, outputs: dict, n: int) -> None:
        if self.request_logs is not None:
            self.request_logs.offer(kind, vs.servable.name, vs.version, sig.name, arrays,
                                    outputs, n)

    def _auth(self, context: grpc.ServicerContext) -> None:
        if not self.token:
            return
        given = dict(context.invocation_metadata()).get("authorization", "")
        if not (given.startswith("Bearer ")
                and hmac.compare_digest(given[7:].strip().encode(), self.token.encode())):
            raise ServingError("UNAUTHENTICATED", "missing or wrong bearer token "
                               "(metadata authorization: Bearer <token>)")

    def _resolve(self, spec: Any) -> Any:
        version = spec.version.value if spec.HasField("version") else None
        label = spec.version_label or None
        if not spec.name:
            raise invalid("model_spec.name is empty")
        return self.manager.resolve(spec.name, version, label)

    def _call(self, context: grpc.ServicerContext, api: str, spec: Any, fn: Any) -> Any:
        started = time.perf_counter()
        status = "OK"
        try:
            self._auth(context)
            return fn()
        except Exception as err:  # noqa: BLE001 - every failure becomes a gRPC status
            serr = as_serving_error(err)
            status = serr.code
            if serr.code in ("INTERNAL", "UNKNOWN"):
                log.exception("gRPC %s failed", api)
            context.abort(serr.grpc_code(), serr.message)
        finally:
            self.metrics.request(getattr(spec, "name", ""), api, "GRPC", status,
                                 (time.perf_counter() - started) * 1e6,
                                 getattr(spec, "version_label", ""))

    @staticmethod
    def _fill_spec(out: Any, name: str, version: int, signature: str) -> None:
        out.name = name
        out.version.value = version
        out.signature_name = signature


class PredictionService(_Base, prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            vs = self._resolve(request.model_spec)
            sig = vs.servable.signature(request.model_spec.signature_name or None)
            given = set(request.inputs)
            if given != set(sig.inputs):
                missing, extra = sorted(set(sig.inputs) - given), sorted(given - set(sig.inputs))
                raise invalid(f"input names do not match the signature '{sig.name}': missing "
                              f"{missing}, unknown {extra}")
            arrays = {k: codec.from_tensor_proto(request.inputs[k], spec, k,
                                                 allow_non_finite=self.allow_non_finite)
                      for k, spec in sig.inputs.items()}
            sizes = {a.shape[0] for a in arrays.values() if a.ndim}
            if len(sizes) > 1:
                raise invalid(f"inputs have different batch sizes {sorted(sizes)}")
            n = sizes.pop() if sizes else 1
            if vs.servable.ranges:
                count_out_of_range(self.metrics, vs.servable.name, vs.servable.ranges, arrays)
            outputs = self.inference.run_sync(vs, sig, arrays, n)
            codec.require_finite_outputs(outputs)
            self._log("predict", vs, sig, arrays, outputs, n)
            wanted = list(request.output_filter) or list(outputs)
            unknown = [k for k in wanted if k not in outputs]
            if unknown:
                raise invalid(f"output_filter names unknown output(s) {unknown}")
            resp = predict_pb2.PredictResponse()
            self._fill_spec(resp.model_spec, vs.servable.name, vs.version, sig.name)
            for k in wanted:
                resp.outputs[k].CopyFrom(codec.tensor_proto(np.asarray(outputs[k])))
            return resp

        return self._call(context, "predict", request.model_spec, run)

    def _examples(self, request: Any, method: str) -> tuple[Any, Any, dict]:
        vs = self._resolve(request.model_spec)
        sig = vs.servable.signature(request.model_spec.signature_name or None)
        require_method(sig, method)
        examples = codec.examples_from_input(request.input,
                                             allow_non_finite=self.allow_non_finite)
        arrays = {example_input(sig): np.array(examples, dtype=object)}
        outputs = self.inference.run_sync(vs, sig, arrays, len(examples))
        codec.require_finite_outputs(outputs)
        self._log("classify" if method == CLASSIFY else "regress", vs, sig, arrays, outputs,
                  len(examples))
        return vs, sig, outputs

    def Classify(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            vs, sig, outputs = self._examples(request, CLASSIFY)
            resp = classification_pb2.ClassificationResponse()
            self._fill_spec(resp.model_spec, vs.servable.name, vs.version, sig.name)
            _fill_classes(resp.result, outputs)
            return resp

        return self._call(context, "classify", request.model_spec, run)

    def Regress(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            vs, sig, outputs = self._examples(request, REGRESS)
            resp = regression_pb2.RegressionResponse()
            self._fill_spec(resp.model_spec, vs.servable.name, vs.version, sig.name)
            for v in regressions(outputs):
                resp.result.regressions.add(value=v)
            return resp

        return self._call(context, "regress", request.model_spec, run)

    def MultiInference(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            if not request.tasks:
                raise invalid("MultiInference needs at least one task")
            names = {t.model_spec.name for t in request.tasks}
            if len(names) > 1:
                raise invalid("all MultiInference tasks must name the same model")
            resp = inference_pb2.MultiInferenceResponse()
            for task in request.tasks:
                if task.method_name not in (CLASSIFY, REGRESS):
                    raise invalid(f"unsupported MultiInference method '{task.method_name}'")
                sub = type("R", (), {"model_spec": task.model_spec, "input": request.input})
                vs, sig, outputs = self._examples(sub, task.method_name)
                result = resp.results.add()
                self._fill_spec(result.model_spec, vs.servable.name, vs.version, sig.name)
                if task.method_name == CLASSIFY:
                    _fill_classes(result.classification_result, outputs)
                else:
                    for v in regressions(outputs):
                        result.regression_result.regressions.add(value=v)
            return resp

        spec = request.tasks[0].model_spec if request.tasks else None
        return self._call(context, "multi_inference", spec, run)

    def GetModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            fields = list(request.metadata_field)
            if fields != ["signature_def"]:
                raise invalid(f"metadata_field must be ['signature_def'], got {fields}")
            vs = self._resolve(request.model_spec)
            resp = get_model_metadata_pb2.GetModelMetadataResponse()
            self._fill_spec(resp.model_spec, vs.servable.name, vs.version, "")
            resp.metadata["signature_def"].Pack(vs.servable.metadata_map())
            return resp

        return self._call(context, "get_model_metadata", request.model_spec, run)


def _fill_classes(result: Any, outputs: dict) -> None:
    for row in classifications(outputs):
        c = result.classifications.add()
        for label, score in row:
            c.classes.add(label=label, score=score)


class ModelService(_Base, model_service_pb2_grpc.ModelServiceServicer):
    def GetModelStatus(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        def run() -> Any:
            spec = request.model_spec
            version = spec.version.value if spec.HasField("version") else None
            states = self.manager.status(spec.name, version, spec.version_label or None)
            resp = get_model_status_pb2.GetModelStatusResponse()
            for s in states:
                entry = resp.model_version_status.add(version=s.version,
                                                      state=STATE_CODES[s.state])
                entry.status.error_code = _code_number(s.error_code)
                entry.status.error_message = s.error_message
            return resp

        return self._call(context, "get_model_status", request.model_spec, run)

    def HandleReloadConfigRequest(self, request: Any,  # noqa: N802
                                  context: grpc.ServicerContext) -> Any:
        def run() -> Any:
            if request.config.WhichOneof("config") != "model_config_list":
                raise invalid("only model_config_list configs are supported")
            self.manager.apply_config(request.config)
            return model_management_pb2.ReloadConfigResponse()

        return self._call(context, "reload_config", None, run)


def _code_number(code: str) -> int:
    return getattr(grpc.StatusCode, code, grpc.StatusCode.UNKNOWN).value[0]


def start_grpc(manager: ModelManager, inference: Inference, metrics: Metrics, *, host: str,
               port: int, token: str | None, threads: int = 64,
               request_logs: Any = None, allow_non_finite: bool = False
               ) -> tuple[grpc.Server, int]:
    server = grpc.server(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="grpc"),
                         options=[("grpc.max_receive_message_length", 64 * 1024 * 1024),
                                  ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager, inference, metrics, token, request_logs,
                          allow_non_finite), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelService(manager, inference, metrics, token), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise ServingError("UNAVAILABLE", f"cannot bind gRPC to {host}:{port}",
                           hint="choose a free port with --port")
    server.start()
    return server, bound
