"""Serving view: versions and labels, smoke and parity, the load test with its latency plot, the
canary against stable, and promote / roll back buttons while the stage runs interactively."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc, figure_data_uri

__all__ = ["ServingView", "latency_png"]

log = logging.getLogger(__name__)


def latency_png(report: dict[str, Any]) -> str:
    """The load test's latency percentiles (and the canary's split) as a PNG data URI."""
    load = report.get("load_test")
    if not load or not load.get("curve"):
        return ""

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        xs = [p for p, _ in load["curve"]]
        ys = [v for _, v in load["curve"]]
        ax.plot(range(len(xs)), ys, marker="o", color="#1f6feb",
                label=f"{load['throughput']:,.0f} req/s, {load['concurrency']} clients")
        ax.set_xticks(range(len(xs)), [f"p{p:g}" for p in xs], fontsize=8)
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"load test: {load['requests']:,} requests in {load['seconds']:g} s, "
                     f"{load['errors']} errors", fontsize=10)
        canary = report.get("canary") or {}
        for label, color in (("stable", "#1a7f37"), ("canary", "#9a6700")):
            stats = (canary.get("latency_ms") or {}).get(label) or {}
            if stats.get("p95") is not None:
                ax.axhline(stats["p95"], color=color, linestyle="--", linewidth=1,
                           label=f"{label} p95 (canary split) {stats['p95']:.1f} ms")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")

    return figure_data_uri(draw, width=6.4, height=2.8, dpi=100)


class ServingView(WorkbenchWidget):
    _module = "serving"
    report = traitlets.Dict().tag(sync=True)
    plot = traitlets.Unicode("").tag(sync=True)
    actions = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, report: dict[str, Any], *,
                 on_action: Callable[[str], dict[str, Any]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(report=report, plot=latency_png(report),
                         actions=on_action is not None and bool((report or {}).get("push")),
                         **kwargs)
        self._on_action = on_action
        self.on_msg(self._handle)

    def _handle(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action not in ("promote", "rollback") or self._on_action is None:
            return
        try:
            change = self._on_action(action)
            self.message = (f"{change['action']}: labels {change['labels_before']} → "
                            f"{change['labels_after']} in {change['seconds']:.2f} s")
        except Exception as err:  # noqa: BLE001 - shown in the widget, not raised into JS
            self.message = f"{action} failed: {err}"
            log.warning("%s failed: %s", action, err)

    def static_html(self) -> str:
        r = self.report or {}
        parts = [f"<div class='wb wb-serving'><div class='wb-title'>Serving "
                 f"{esc(r.get('model', ''))}</div>"]
        push = r.get("push") or {}
        if push:
            parts.append(f"<div>pushed version {esc(push.get('version'))} as "
                         f"<b>{esc(push.get('label'))}</b></div>")
        for key in ("smoke", "parity"):
            sec = r.get(key) or {}
            if sec:
                ok = "wb-ok'>passed" if sec.get("passed") else "wb-bad'>failed"
                parts.append(f"<div>{key}: <span class='{ok}</span></div>")
        load = r.get("load_test") or {}
        if load:
            lat = load["latency_ms"]
            parts.append(f"<div>load test: {load['throughput']:,.0f} req/s, p50 "
                         f"{lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} "
                         f"ms, {load['errors']} errors</div>")
        if self.plot:
            parts.append(f"<img alt='latency percentiles' src='{self.plot}'/>")
        decision = r.get("decision") or {}
        if decision:
            parts.append(f"<div>decision: {esc(decision.get('action'))} "
                         f"({esc(decision.get('why'))})</div>")
        parts.append("</div>")
        return "".join(parts)
