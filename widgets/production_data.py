"""The serving page's production-data section (:mod:`workbench.apps.production`): checked in
a background thread when the page opens, so the page shows at once, and again on "Check
again"."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import traitlets

from workbench.apps.production import production_check
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["ProductionDataView"]


class ProductionDataView(WorkbenchWidget):
    _module = "production_data"
    _styles = ("apps.css",)
    state = traitlets.Dict().tag(sync=True)
    checking = traitlets.Bool(False).tag(sync=True)

    def __init__(self, check: Callable[[], dict[str, Any]] = production_check, *,
                 background: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._check = check
        self._lock = threading.Lock()
        self.on_msg(self._on_msg)
        self.refresh(background=background)

    def refresh(self, *, background: bool = True) -> None:
        if not self._lock.acquire(blocking=False):
            return  # a check is under way; its answer comes
        self.checking = True
        if background:
            threading.Thread(target=self._run, daemon=True, name="production-check").start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            self.state = self._check()
        except Exception as err:  # noqa: BLE001 - the page says it instead of a traceback
            self.state = {"models": [{"model": "", "status": "error",
                                      "lead": f"The check failed: {err}"}]}
        finally:
            self.checking = False
            self._lock.release()

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        if content.get("type") == "check":
            self.refresh()

    def static_html(self) -> str:
        parts = ["<div class='wb'><div class='wb-title'>Production data</div>"]
        for m in self.state.get("models", []):
            parts.append(f"<p>{esc(m.get('lead', ''))}</p>")
            parts += [f"<p>{esc(p)}</p>" for p in m.get("problems", [])]
        return "".join(parts) + "</div>"
