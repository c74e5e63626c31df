"""Widgets of the workbench (``workbench.widgets``): views over what the stages compute.

Widgets import the core; the core never imports them.
"""

from workbench.widgets.data_card import DataCardView
from workbench.widgets.gates import gate_banner
from workbench.widgets.runs_view import RunsView

__all__ = ["DataCardView", "RunsView", "gate_banner"]
