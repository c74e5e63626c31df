"""Prometheus metrics under TF Serving's names.

TF Serving exports its internal metric names with every character outside ``[A-Za-z0-9_]``
replaced by ``:`` (``/tensorflow/serving/request_count`` → ``:tensorflow:serving:request_count``).
``prometheus_client`` appends ``_total`` to counters, which would change those names, so the
exposition here is written directly (text format 0.0.4); it is a few counters and histograms
updated under one lock.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import defaultdict
from typing import Any

__all__ = ["Metrics", "prometheus_name"]

# microseconds, as TF Serving's latency histograms
LATENCY_BUCKETS = tuple(float(b) for b in (
    10, 18, 32, 58, 104, 188, 340, 612, 1100, 1980, 3570, 6420, 11600, 20800, 37500, 67500,
    122000, 219000, 394000, 710000, 1280000, 2300000, 4140000, 7450000))
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0)


def prometheus_name(internal: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", ":", internal)


REQUEST_COUNT = prometheus_name("/tensorflow/serving/request_count")
REQUEST_LATENCY = prometheus_name("/tensorflow/serving/request_latency")
RUNTIME_LATENCY = prometheus_name("/tensorflow/serving/runtime_latency")
QUEUING_LATENCY = prometheus_name("/tensorflow/serving/batching_session/queuing_latency")
BATCH_SIZE = prometheus_name("/tensorflow/serving/batching_session/processed_batch_size")
LOAD_ATTEMPTS = prometheus_name("/tensorflow/serving/model_load_attempt_count")
WARMUP_COUNT = prometheus_name("/tensorflow/serving/model_warmup_latency")
# TF Serving counts requests per model only; the canary alert needs them per version label.
# These two are the local server's own (workbench_ prefix), beside TF Serving's names.
LABEL_REQUEST_COUNT = "workbench_label_request_count"
LABEL_REQUEST_LATENCY = "workbench_label_request_latency"
# request logging (logging_config): records written, and records dropped to never block
REQUEST_LOG_RECORDS = "workbench_request_log_records"
REQUEST_LOG_DROPPED = "workbench_request_log_dropped"
# predict input values outside the schema's range of their feature (workbench.serving.ranges)
INPUT_OUT_OF_RANGE = "workbench_input_out_of_range"

_HELP = {
    REQUEST_COUNT: ("counter", "The total number of requests."),
    REQUEST_LATENCY: ("histogram", "Distribution of wall time (in microseconds) for "
                                   "Tensorflow Serving request."),
    RUNTIME_LATENCY: ("histogram", "Distribution of wall time (in microseconds) for "
                                   "Tensorflow runtime."),
    QUEUING_LATENCY: ("histogram", "Tracks the latency (in microseconds) of requests waiting "
                                   "in the batching queue."),
    BATCH_SIZE: ("histogram", "Tracks the batch size distribution on processed batches."),
    LOAD_ATTEMPTS: ("counter", "The number of times a model version load was attempted."),
    WARMUP_COUNT: ("histogram", "Distribution of wall time (in microseconds) of model warmup."),
    LABEL_REQUEST_COUNT: ("counter", "Requests addressed by a version label (stable, canary)."),
    LABEL_REQUEST_LATENCY: ("histogram", "Wall time (in microseconds) of requests addressed "
                                         "by a version label."),
    REQUEST_LOG_RECORDS: ("counter", "PredictionLog records written by logging_config."),
    REQUEST_LOG_DROPPED: ("counter", "Sampled requests not logged because the log queue was "
                                     "full or the disk budget is spent."),
    INPUT_OUT_OF_RANGE: ("counter", "Predict input values outside the range of their feature "
                                    "in the schema the model was trained with."),
}

_BUCKETS = {REQUEST_LATENCY: LATENCY_BUCKETS, RUNTIME_LATENCY: LATENCY_BUCKETS,
            QUEUING_LATENCY: LATENCY_BUCKETS, BATCH_SIZE: BATCH_BUCKETS,
            WARMUP_COUNT: LATENCY_BUCKETS, LABEL_REQUEST_LATENCY: LATENCY_BUCKETS}

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Counters and histograms keyed by (metric, labels)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._hist: dict[str, dict[Labels, list[Any]]] = defaultdict(dict)

    def inc(self, metric: str, labels: Labels, by: float = 1.0) -> None:
        with self._lock:
            series = self._counters[metric]
            series[labels] = series.get(labels, 0.0) + by

    def observe(self, metric: str, labels: Labels, value: float) -> None:
        bounds = _BUCKETS[metric]
        with self._lock:
            h = self._hist[metric].get(labels)
            if h is None:
                h = self._hist[metric][labels] = [[0] * (len(bounds) + 1), 0.0, 0]
            h[0][bisect.bisect_left(bounds, value)] += 1
            h[1] += value
            h[2] += 1

    def request(self, model: str, api: str, entrypoint: str, status: str,
                latency_us: float, label: str = "") -> None:
        with self._lock:
            series = self._counters[REQUEST_COUNT]
            key = (("model_name", model), ("status", status))
            series[key] = series.get(key, 0.0) + 1
        self.observe(REQUEST_LATENCY, (("model_name", model), ("API", api),
                                       ("entrypoint", entrypoint)), latency_us)
        if label:
            self.inc(LABEL_REQUEST_COUNT, (("model_name", model), ("label", label),
                                           ("status", status)))
            self.observe(LABEL_REQUEST_LATENCY, (("model_name", model), ("label", label)),
                         latency_us)

    def value(self, metric: str, **labels: str) -> float:
        """A counter's value (for tests and status pages)."""
        with self._lock:
            return self._counters.get(metric, {}).get(tuple(labels.items()), 0.0)

    def exposition(self) -> str:
        lines: list[str] = []
        with self._lock:
            for metric in sorted(set(self._counters) | set(self._hist)):
                kind, help_text = _HELP.get(metric, ("untyped", metric))
                lines.append(f"# HELP {metric} {help_text}")
                lines.append(f"# TYPE {metric} {kind}")
                for labels, value in sorted(self._counters.get(metric, {}).items()):
                    lines.append(f"{metric}{_fmt(labels)} {_num(value)}")
                bounds = _BUCKETS.get(metric, ())
                for labels, (counts, total, n) in sorted(self._hist.get(metric, {}).items()):
                    cumulative = 0
                    for bound, c in zip((*bounds, float("inf")), counts, strict=True):
                        cumulative += c
                        le = "+Inf" if bound == float("inf") else _num(bound)
                        lines.append(f"{metric}_bucket{_fmt((*labels, ('le', le)))} "
                                     f"{cumulative}")
                    lines.append(f"{metric}_sum{_fmt(labels)} {_num(total)}")
                    lines.append(f"{metric}_count{_fmt(labels)} {n}")
        return "\n".join(lines) + "\n"


def _fmt(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
