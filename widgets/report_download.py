"""A "download report" button: the run's report (:mod:`workbench.report`), built on the first
click (then cached, :func:`workbench.report.cache.cached_report`) and handed to the browser as a
file download. The page asks for nothing but this run's report: the only message the button
sends is "build", and the run is fixed when the page is made."""

from __future__ import annotations

import logging
from typing import Any

import traitlets

from workbench.errors import WorkbenchError
from workbench.runs.store import Run
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["ReportDownload"]

log = logging.getLogger(__name__)


class ReportDownload(WorkbenchWidget):
    _module = "report_download"
    run_id = traitlets.Unicode("").tag(sync=True)
    #: "" (not asked yet), "building", "ready" or "error"
    state = traitlets.Unicode("").tag(sync=True)
    #: the file's name and size once built, or what went wrong
    message = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)

    def __init__(self, run: Run, **kwargs: Any) -> None:
        self._run = run
        super().__init__(run_id=run.id, filename=f"report_{run.id}.html", **kwargs)
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("event") != "build":
            return
        from workbench.report.cache import cached_report

        self.state, self.message = "building", ""
        try:
            report, cached = cached_report(self._run)
            data = report.path.read_bytes()
        except Exception as err:  # noqa: BLE001 - the page says why instead of waiting forever
            if isinstance(err, (WorkbenchError, OSError)):
                log.warning("report of run %s: %s", self._run.id, err)
            else:
                log.exception("report of run %s", self._run.id)
            self.state, self.message = "error", f"The report could not be built: {err}"
            return
        self.send({"event": "report", "name": self.filename, "bytes": len(data)},
                  buffers=[data])
        how = "cached" if cached else f"built in {report.seconds:.1f} s"
        self.state, self.message = "ready", f"{self.filename}, {len(data) / 1024:.0f} KiB ({how})"

    def static_html(self) -> str:
        return (f"<div class='wb wb-report-download'>The report of this run: "
                f"<code>workbench report {esc(self.run_id)}</code></div>")
