"""Checks of a served model, through the TF Serving API only: smoke test, parity with the
exported SavedModel, and a canary compared with stable."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import DataError
from workbench.serving.client import GrpcClient, RestClient
from workbench.serving.status import ServingError

__all__ = ["canary_compare", "examples_from_table", "finite", "json_body", "parity",
           "signature_inputs", "smoke"]

log = logging.getLogger(__name__)


def json_body(obj: Any) -> bytes:
    """A request body; NaN/Infinity written as TF Serving accepts them."""
    return json.dumps(obj, allow_nan=True).encode("utf-8")


def finite(obj: Any) -> Any:
    """``obj`` with non-finite floats replaced by their names (strict JSON for reports)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def signature_inputs(rest: RestClient, name: str, label: str | None = None,
                     signature: str = "serving_default") -> dict[str, str]:
    """Input name → TF dtype (``DT_FLOAT``, ``DT_STRING`` …) from the served metadata."""
    meta = rest.metadata(name, label=label)
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    if signature not in sigs:
        raise ServingError("NOT_FOUND", f"model {name} has no signature '{signature}'",
                           hint=f"its signatures: {', '.join(sorted(sigs))}")
    return {k: v["dtype"] for k, v in sigs[signature]["inputs"].items()}


#: NumPy dtypes of the served signature's numeric input types (others are sent as float32)
_NUMPY = {"DT_INT64": np.int64, "DT_INT32": np.int32, "DT_DOUBLE": np.float64,
          "DT_FLOAT": np.float32}


def examples_from_table(table: Any, inputs: Mapping[str, str], limit: int) -> list[dict]:
    """Rows of an Arrow table as JSON-ready instances for the signature's inputs (floats as
    float32 values, missing strings as empty strings; ``DT_INT64`` inputs — date/times — as
    exact integers, epoch seconds, -2**63 when missing). Rows with a missing or non-finite
    number are left out: the model server refuses NaN and Infinity, the clients send none."""
    missing = [k for k in inputs if k not in table.column_names]
    if missing:
        raise DataError(f"the eval split has no column(s) {missing} that the served "
                        f"signature takes", hint="serve the model trained on this data",
                        column=missing[0])
    keep = np.ones(table.num_rows, dtype=bool)
    for name, dtype in inputs.items():
        if dtype not in ("DT_STRING", "DT_INT64", "DT_INT32"):
            values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
            with np.errstate(over="ignore"):
                keep &= np.isfinite(values.astype(np.float32))
    chosen = np.flatnonzero(keep)[:limit]
    if table.num_rows and not len(chosen):
        raise DataError("every row of the eval split has a missing or non-finite number in "
                        "an input the served signature takes; the model server refuses NaN",
                        hint="fill the missing numbers in the data: the workbench's "
                             "clients send no NaN or Infinity")
    table = table.take(chosen)
    cols: dict[str, list] = {}
    for name, dtype in inputs.items():
        col = table.column(name)
        if dtype == "DT_STRING":
            cols[name] = ["" if v is None else str(v) for v in col.to_pylist()]
        elif dtype in ("DT_INT64", "DT_INT32"):
            from workbench.features.arrays import int64_seconds

            cols[name] = [int(v) for v in int64_seconds(col, column=name,
                                                        where="the eval split")]
        else:
            arr = col.to_numpy(zero_copy_only=False).astype(np.float64)
            cols[name] = [float(v) for v in arr.astype(np.float32)]
    return [{k: cols[k][i] for k in inputs} for i in range(table.num_rows)]


def _columns(examples: list[dict], inputs: Mapping[str, str]) -> dict[str, np.ndarray]:
    out = {}
    for k, dtype in inputs.items():
        values = [e[k] for e in examples]
        out[k] = (np.array(values, dtype=object) if dtype == "DT_STRING"
                  else np.array(values, dtype=_NUMPY.get(dtype, np.float32)))
    return out


def _dtype_of(value: Any) -> str:
    """The TF dtype an instance's JSON value is sent as over gRPC."""
    if isinstance(value, str):
        return "DT_STRING"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return "DT_INT64"
    return "DT_FLOAT"


def _float_outputs(pred: Any) -> dict[str, np.ndarray]:
    """Per-example predictions (a list of dicts or values) as arrays by output name."""
    if pred and isinstance(pred[0], dict):
        keys = pred[0].keys()
        return {k: np.array([p[k] for p in pred], dtype=np.float64) for k in keys
                if not isinstance(pred[0][k], (str, dict))}
    return {"output": np.array(pred, dtype=np.float64)}


def smoke(rest: RestClient, grpc: GrpcClient | None, name: str, example: dict,
          label: str | None = None) -> dict[str, Any]:
    """Status AVAILABLE, metadata readable, one prediction over REST (and gRPC) that is finite."""
    checks: list[dict[str, Any]] = []

    def check(what: str, fn: Any) -> Any:
        started = time.perf_counter()
        try:
            value = fn()
            checks.append({"check": what, "passed": True,
                           "ms": round((time.perf_counter() - started) * 1e3, 2)})
            return value
        except Exception as err:  # noqa: BLE001 - a smoke test reports, it does not raise
            checks.append({"check": what, "passed": False, "error": str(err)[:300]})
            return None

    status = check("status", lambda: rest.status(name, label=label))
    version = None
    if status:
        version = int(status[0]["version"])
        if status[0]["state"] != "AVAILABLE":
            checks.append({"check": "available", "passed": False,
                           "error": f"version {version} is {status[0]['state']}"})
    check("metadata", lambda: rest.metadata(name, label=label))

    def rest_predict() -> Any:
        pred = rest.predict(name, instances=[example], label=label)
        values = _float_outputs(pred)
        if not values or not all(np.isfinite(v).all() for v in values.values()):
            raise ValueError(f"non-finite or empty prediction {pred}")
        return pred

    prediction = check("REST predict", rest_predict)
    if grpc is not None:
        try:  # the served signature's dtypes: an int64 timestamp must not go as a float
            inputs = {k: v for k, v in signature_inputs(rest, name, label).items()
                      if k in example}
        except Exception:  # noqa: BLE001 - the metadata check above reports why
            inputs = {k: _dtype_of(v) for k, v in example.items()}
        check("gRPC predict", lambda: grpc.predict(name, _columns([example], inputs),
                                                   label=label))
    return {"passed": all(c["passed"] for c in checks), "version": version, "checks": checks,
            "prediction": prediction[0] if prediction else None}


def parity(rest: RestClient, name: str, export_dir: str | Path, examples: list[dict],
           inputs: Mapping[str, str], *, tolerance: float = 1e-5, label: str | None = None,
           batch: int = 32, grpc: GrpcClient | None = None) -> dict[str, Any]:
    """Served outputs against the exported SavedModel called in process, per example."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    served: dict[str, list[np.ndarray]] = {}
    local: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(examples), batch):
        part = examples[start:start + batch]
        pred = _float_outputs(rest.predict(name, instances=part, label=label))
        cols = _columns(part, inputs)
        ref = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in cols.items()})
               .items()}
        for k, v in pred.items():
            served.setdefault(k, []).append(v.reshape(len(part), -1))
            key = k if k in ref else next(iter(ref))
            local.setdefault(k, []).append(ref[key].astype(np.float64).reshape(len(part), -1))
    worst: dict[str, float] = {}
    bad_rows: set[int] = set()
    for k in served:
        s, r = np.concatenate(served[k]), np.concatenate(local[k])
        diff = np.where(np.isnan(s) & np.isnan(r), 0.0, np.abs(s - r))
        diff = np.nan_to_num(diff, nan=np.inf)
        worst[k] = float(diff.max()) if diff.size else 0.0
        bad_rows |= set(np.flatnonzero(diff.max(axis=1) > tolerance).tolist())
    grpc_diff = None
    if grpc is not None and examples:
        part = examples[:batch]
        cols = _columns(part, inputs)
        outs, _ = grpc.predict(name, cols, label=label)
        ref = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in cols.items()})
               .items()}
        grpc_diff = max(float(np.max(np.abs(outs[k].astype(np.float64) - ref[k])))
                        for k in outs if k in ref and outs[k].dtype.kind in "fi")
    passed = not bad_rows and (grpc_diff is None or grpc_diff <= tolerance)
    return {"passed": passed, "examples": len(examples), "tolerance": tolerance,
            "max_abs_diff": worst, "mismatched_examples": len(bad_rows),
            "first_mismatches": sorted(bad_rows)[:10], "grpc_max_abs_diff": grpc_diff}


def canary_compare(rest: RestClient, name: str, examples: list[dict], *, share: float = 0.2,
                   seed: int = 0) -> dict[str, Any]:
    """Split the examples between ``stable`` and ``canary`` from the client (``share`` to the
    canary), time each request, then compare both labels' predictions on every example."""
    if not examples:
        raise DataError("no examples to send to the canary", hint="raise canary_requests")
    rng = np.random.default_rng(seed)
    to_canary = rng.random(len(examples)) < share
    latency: dict[str, list[float]] = {"stable": [], "canary": []}
    errors = {"stable": 0, "canary": 0}
    for example, canary in zip(examples, to_canary, strict=True):
        label = "canary" if canary else "stable"
        started = time.perf_counter()
        try:
            rest.predict(name, instances=[example], label=label)
            latency[label].append((time.perf_counter() - started) * 1e3)
        except ServingError as err:
            errors[label] += 1
            log.warning("%s request failed: %s", label, err)
    both = {}
    for label in ("stable", "canary"):
        preds = []
        for start in range(0, len(examples), 32):
            preds.extend(rest.predict(name, instances=examples[start:start + 32], label=label))
        both[label] = _float_outputs(preds)
    diffs = {k: float(np.mean(np.abs(both["stable"][k] - both["canary"][k])))
             for k in both["stable"] if k in both["canary"]}
    agreement = None
    for key in ("class_ids", "classes"):
        if key in both["stable"] and key in both["canary"]:
            agreement = float(np.mean(np.all(both["stable"][key].reshape(len(examples), -1)
                                             == both["canary"][key].reshape(len(examples), -1),
                                             axis=1)))

    def stats(values: list[float]) -> dict[str, float | int]:
        if not values:
            return {"requests": 0}
        v = np.array(values)
        return {"requests": len(values), "p50": float(np.percentile(v, 50)),
                "p95": float(np.percentile(v, 95)), "mean": float(v.mean())}

    return {"share": share, "examples": len(examples), "errors": errors,
            "latency_ms": {k: stats(v) for k, v in latency.items()},
            "mean_abs_diff": diffs, "agreement": agreement}
