"""The decision threshold of a binary model: where it is, how it was chosen, what it trades."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.apps.words import Wording, decision_html
from workbench.widgets.panel import HtmlPanel

__all__ = ["DecisionThresholdView"]


def DecisionThresholdView(evaluation: Mapping[str, Any], *,  # noqa: N802 - reads as a widget
                          wording: Wording | None = None) -> HtmlPanel:
    """A panel over stage 03's ``evaluation`` (its ``operating_point``)."""
    return HtmlPanel(decision_html(evaluation, wording or Wording()), kind="decision")
