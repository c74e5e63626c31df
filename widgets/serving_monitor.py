"""The serving monitor: versions and labels, request rate, latency and errors, refreshed every
few seconds by the page (it asks; Python scrapes the server's Prometheus endpoint)."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.apps.monitor import Monitor
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["ServingMonitorView"]


class ServingMonitorView(WorkbenchWidget):
    _module = "serving_monitor"
    _styles = ("apps.css",)
    state = traitlets.Dict().tag(sync=True)
    interval_s = traitlets.Float(3.0).tag(sync=True)

    def __init__(self, monitor: Monitor | None = None, *, interval_s: float = 3.0,
                 **kwargs: Any) -> None:
        self._monitor = monitor or Monitor()
        super().__init__(interval_s=interval_s, **kwargs)
        self.state = self._monitor.refresh()
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if content.get("type") == "refresh":
            self.state = self._monitor.refresh()

    def static_html(self) -> str:
        rows = "".join(f"<tr><td>{esc(v['model'])}</td><td>{v['version']}</td>"
                       f"<td>{esc(', '.join(v['labels']))}</td></tr>"
                       for v in self.state.get("versions", []))
        return ("<div class='wb'><div class='wb-title'>Serving</div><table class='wb-table'>"
                f"<tr><th>model</th><th>version</th><th>labels</th></tr>{rows}</table></div>")
