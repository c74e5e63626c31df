"""Widgets of the workbench (``workbench.widgets``): views over what the stages compute.

Widgets import the core; the core never imports them.
"""

from workbench.widgets.data_card import DataCardView
from workbench.widgets.gates import gate_banner

__all__ = ["DataCardView", "gate_banner"]
