"""How the workbench writes a number for people: in messages, gate reasons and the CLI."""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["number"]


def number(x: Any, digits: int = 4, *, missing: str = "n/a") -> str:
    """``x`` to ``digits`` significant digits (``0.8123``, ``1.235e+05``; no trailing zeros);
    an integer in full (``1234567``, never ``1.23e+06``); ``missing`` for None; anything that is
    not a number (a bool, a string) as ``str(x)``."""
    if x is None:
        return missing
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return str(x)
    if isinstance(x, numbers.Integral):
        return str(int(x))
    return f"{float(x):.{digits}g}"
