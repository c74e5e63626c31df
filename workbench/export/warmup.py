"""Warmup records: ``assets.extra/tf_serving_warmup_requests``.

A TFRecord file of ``tensorflow_serving.apis.prediction_log_pb2.PredictionLog``; TF Serving
replays it when it loads a version, so the first real request does not pay for graph
initialization. Records are drawn from eval rows, at most 1000 (TF Serving's limit), in batch
sizes 1, 2, 4 … up to ``max_batch`` so each batch size a client sends is warmed up; one record in
eight is a Classify/Regress request on the example signature.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ParameterError
from workbench.export.contract import ModelInfo
from workbench.export.params import MAX_WARMUP_RECORDS as MAX_RECORDS
from workbench.export.signatures import CLASSIFY, REGRESS, SERVING_DEFAULT, to_examples

__all__ = ["MAX_RECORDS", "WARMUP_FILE", "read_warmup", "request_inputs", "write_warmup"]

log = logging.getLogger(__name__)

WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"


def _batch_sizes(n_records: int, max_batch: int) -> list[int]:
    sizes = [1]
    while sizes[-1] * 2 <= max_batch:
        sizes.append(sizes[-1] * 2)
    return [sizes[i % len(sizes)] for i in range(n_records)]


def write_warmup(model_dir: str | Path, arrays: Mapping[str, np.ndarray], info: ModelInfo,
                 spec: Mapping[str, str], *, records: int = 100, model_name: str = "model",
                 max_batch: int = 8, seed: int = 0) -> dict[str, Any]:
    """Write the warmup file; returns a summary (records, rows, batch sizes, signatures)."""
    import tensorflow as tf
    from tensorflow_serving.apis import (
        classification_pb2,
        input_pb2,
        model_pb2,
        predict_pb2,
        prediction_log_pb2,
        regression_pb2,
    )

    if not 1 <= records <= MAX_RECORDS:
        raise ParameterError(f"warmup_records is {records}; TF Serving reads 1 to "
                             f"{MAX_RECORDS} warmup records",
                             hint=f"set warmup_records between 1 and {MAX_RECORDS}")
    n_rows = len(next(iter(arrays.values())))
    if n_rows == 0:
        raise ParameterError("the eval split is empty: no rows to draw warmup records from",
                             hint="re-run 01_data_validation with a non-zero eval_fraction")
    rng = np.random.default_rng(seed)
    path = Path(model_dir) / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    example_sig = CLASSIFY if info.is_classification else REGRESS
    counts = {SERVING_DEFAULT: 0, example_sig: 0}
    rows_used = 0
    with tf.io.TFRecordWriter(str(path)) as writer:
        for i, size in enumerate(_batch_sizes(records, max_batch)):
            size = min(size, n_rows)
            idx = rng.choice(n_rows, size, replace=False)
            rows = {k: v[idx] for k, v in arrays.items()}
            rows_used += size
            if i % 8 == 7:
                examples = to_examples(rows, spec, info)
                spec_msg = model_pb2.ModelSpec(name=model_name, signature_name=example_sig)
                request_input = input_pb2.Input(
                    example_list=input_pb2.ExampleList(examples=examples))
                if info.is_classification:
                    log_entry = prediction_log_pb2.PredictionLog(
                        classify_log=prediction_log_pb2.ClassifyLog(
                            request=classification_pb2.ClassificationRequest(
                                model_spec=spec_msg, input=request_input)))
                else:
                    log_entry = prediction_log_pb2.PredictionLog(
                        regress_log=prediction_log_pb2.RegressLog(
                            request=regression_pb2.RegressionRequest(
                                model_spec=spec_msg, input=request_input)))
                counts[example_sig] += 1
            else:
                request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(
                    name=model_name, signature_name=SERVING_DEFAULT))
                for name, values in rows.items():
                    request.inputs[name].CopyFrom(tf.make_tensor_proto(values))
                log_entry = prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request))
                counts[SERVING_DEFAULT] += 1
            writer.write(log_entry.SerializeToString(deterministic=True))
    log.info("wrote %d warmup records to %s", records, path)
    return {"file": WARMUP_FILE, "records": records, "rows": rows_used,
            "batch_sizes": sorted(set(_batch_sizes(records, max_batch))),
            "signatures": counts, "bytes": path.stat().st_size}


def read_warmup(path: str | Path) -> list[Any]:
    """Every ``PredictionLog`` of a warmup file (raises on a damaged record)."""
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    logs = []
    for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
        entry = prediction_log_pb2.PredictionLog()
        entry.ParseFromString(raw)
        logs.append(entry)
    return logs


def request_inputs(entry: Any) -> tuple[str, dict[str, np.ndarray]]:
    """The signature a warmup record calls and its inputs as arrays."""
    import tensorflow as tf

    kind = entry.WhichOneof("log_type")
    if kind == "predict_log":
        request = entry.predict_log.request
        return (request.model_spec.signature_name or SERVING_DEFAULT,
                {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
    if kind in ("classify_log", "regress_log"):
        request = getattr(entry, kind).request
        examples = request.input.example_list.examples
        return (request.model_spec.signature_name,
                {"inputs": np.array([e.SerializeToString() for e in examples], dtype=object)})
    raise ValueError(f"unsupported warmup record type {kind!r}")
