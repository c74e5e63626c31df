"""The serving monitor: versions and labels, and live request rate, latency percentiles and
error rate read from the model server's Prometheus endpoint (TF Serving's metric names), canary
against stable. Read-only: it only reads the repository and scrapes the endpoint.

Rates and percentiles are computed between two scrapes, as Prometheus' ``rate()`` and
``histogram_quantile()`` do: the counter and bucket differences over the time between them.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from workbench.apps.live import served_versions
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.serving.metrics import REQUEST_COUNT, REQUEST_LATENCY

__all__ = ["Monitor", "Scrape", "parse_exposition", "quantile"]

log = logging.getLogger(__name__)

LABEL_COUNT = "workbench_label_request_count"  # per version label (stable, canary)
LABEL_LATENCY = "workbench_label_request_latency"
_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Prometheus text format 0.0.4 as ``{metric: {labels: value}}`` (comments skipped)."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        try:
            out[m.group(1)][labels] = float(m.group(4))
        except ValueError:
            continue
    return out


@dataclass
class Scrape:
    at: float
    series: dict[str, dict[tuple[tuple[str, str], ...], float]] = field(default_factory=dict)

    def total(self, metric: str, **match: str) -> float:
        return sum(v for labels, v in self.series.get(metric, {}).items()
                   if all(dict(labels).get(k) == want for k, want in match.items()))

    def buckets(self, metric: str, **match: str) -> dict[float, float]:
        out: dict[float, float] = defaultdict(float)
        for labels, v in self.series.get(f"{metric}_bucket", {}).items():
            d = dict(labels)
            if all(d.get(k) == want for k, want in match.items()):
                le = d.get("le", "+Inf")
                out[float("inf") if le == "+Inf" else float(le)] += v
        return dict(out)


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding rank q."""
    if not buckets:
        return None
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        c = buckets[b]
        if c >= rank:
            if b == float("inf"):
                return prev_bound
            span = c - prev_count
            return prev_bound + (b - prev_bound) * ((rank - prev_count) / span if span else 0)
        prev_bound, prev_count = b, c
    return prev_bound


def _delta(a: dict[float, float], b: dict[float, float]) -> dict[float, float]:
    return {k: max(b.get(k, 0.0) - a.get(k, 0.0), 0.0) for k in b}


class Monitor:
    """Scrapes the project's running model server; :meth:`refresh` returns what the page
    shows and keeps a short history of the request rate."""

    def __init__(self, project: Project | None = None, *, history: int = 60) -> None:
        self.project = project or Project.find()
        self._last: Scrape | None = None
        self._history: list[tuple[float, float]] = []
        self._keep = history

    def _handle(self) -> Any:
        from workbench.serving.process import running
        from workbench.serving.repository import Repository

        return running(Repository(self.project.root / "serving"))

    def scrape(self) -> Scrape | None:
        handle = self._handle()
        if handle is None:
            return None
        try:
            text = handle.rest(timeout=3.0).metrics()
        except WorkbenchError as err:
            log.info("scrape failed: %s", err)
            return None
        return Scrape(time.time(), parse_exposition(text))

    def refresh(self) -> dict[str, Any]:
        versions = served_versions(self.project)
        now = self.scrape()
        state: dict[str, Any] = {"versions": versions, "running": now is not None,
                                 "at": time.strftime("%H:%M:%S")}
        if now is None:
            state["message"] = ("The model server is not running, so there is no live "
                                "traffic to show. Start it with `workbench serve start`.")
            self._last = None
            return state
        prev, self._last = self._last, now
        state["requests_total"] = now.total(REQUEST_COUNT)
        if prev is None or now.at <= prev.at:
            state["message"] = "Measuring: the rates appear after the next refresh."
            state["history"] = [r for _, r in self._history]
            return state
        dt = now.at - prev.at
        count = now.total(REQUEST_COUNT) - prev.total(REQUEST_COUNT)
        ok = now.total(REQUEST_COUNT, status="OK") - prev.total(REQUEST_COUNT, status="OK")
        rate = max(count, 0.0) / dt
        lat = _delta(prev.buckets(REQUEST_LATENCY), now.buckets(REQUEST_LATENCY))
        state.update({
            "rate": rate,
            "error_rate": (count - ok) / count if count > 0 else None,
            "latency_ms": {f"p{int(q * 100)}": (None if (v := quantile(q, lat)) is None
                                                 else v / 1000.0)
                           for q in (0.5, 0.95, 0.99)},
            "window_s": dt,
        })
        labels = {}
        for label in ("stable", "canary"):
            c = now.total(LABEL_COUNT, label=label) - prev.total(LABEL_COUNT, label=label)
            b = _delta(prev.buckets(LABEL_LATENCY, label=label),
                       now.buckets(LABEL_LATENCY, label=label))
            p95 = quantile(0.95, b)
            labels[label] = {"rate": max(c, 0.0) / dt,
                             "p95_ms": None if p95 is None else p95 / 1000.0}
        state["labels"] = labels
        self._history.append((now.at, rate))
        self._history = self._history[-self._keep:]
        state["history"] = [r for _, r in self._history]
        return state
