"""Progress of a statistics pass over large data: rows done of rows in total."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["StatisticsProgress"]


class StatisticsProgress(WorkbenchWidget):
    """Pass :meth:`update` as the ``progress`` callback of a statistics computation."""

    _module = "stats_progress"
    _styles = ("data_validation.css",)
    done = traitlets.Int(0).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)  # 0: unknown
    label = traitlets.Unicode("statistics").tag(sync=True)

    def __init__(self, label: str = "statistics", **kwargs: Any) -> None:
        super().__init__(label=label, **kwargs)
        self._handle: Any = None

    def show(self) -> StatisticsProgress:
        """Display the bar now (before the work starts); its saved picture is refreshed when
        the work ends, so an executed notebook shows the final count."""
        from IPython.display import display

        self._handle = display(self, display_id=True)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        self.total = int(total or 0)
        self.done = int(done)
        if self._handle is not None and self.total and self.done >= self.total:
            self._handle.update(self)

    def static_html(self) -> str:
        if self.total:
            pct = 100.0 * self.done / self.total
            text = f"{self.done:,} of {self.total:,} rows ({pct:.0f}%)"
        else:
            pct, text = (100.0 if self.done else 0.0), f"{self.done:,} rows"
        return (f"<div class='wb wb-progress'>{esc(self.label)}: {text} "
                f"<span style='display:inline-block;width:200px;height:8px;"
                f"background-color:#eaeef2'><span style='display:inline-block;height:8px;"
                f"width:{round(2 * pct)}px;background-color:#4c78a8'></span></span></div>")
