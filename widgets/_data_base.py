"""Base of the data-validation widgets: the shared stylesheet plus their own rules."""

from __future__ import annotations

from typing import Any

from workbench.widgets._base import STATIC, WorkbenchWidget

__all__ = ["DataWidget"]

_CSS = (STATIC / "workbench.css").read_text(encoding="utf-8") + "\n" + \
    (STATIC / "data_validation.css").read_text(encoding="utf-8")


class DataWidget(WorkbenchWidget):
    """A workbench widget styled with ``workbench.css`` and ``data_validation.css``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_module"):
            cls._css = _CSS
