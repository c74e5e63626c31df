"""Widgets of the workbench (``workbench.widgets``): views over what the stages compute.

Widgets import the core; the core never imports them.
"""

from workbench.widgets.anomalies import AnomaliesView
from workbench.widgets.data_card import DataCardView
from workbench.widgets.decision import DecisionThresholdView
from workbench.widgets.drift import DriftView
from workbench.widgets.evaluation import (
    BlessingView,
    ConfusionMatrixView,
    CurvesView,
    MetricsTable,
)
from workbench.widgets.export import ExportView, TFLiteView
from workbench.widgets.gates import gate_banner
from workbench.widgets.panel import HtmlPanel
from workbench.widgets.runs_view import RunsView
from workbench.widgets.schema_editor import SchemaEditor
from workbench.widgets.serving import ServingView
from workbench.widgets.statistics import StatisticsView
from workbench.widgets.stats_progress import StatisticsProgress
from workbench.widgets.training import TrainingView, model_summary, tensorboard_panel

__all__ = [
    "AnomaliesView",
    "BlessingView",
    "ConfusionMatrixView",
    "CurvesView",
    "DataCardView",
    "DecisionThresholdView",
    "DriftView",
    "ExportView",
    "HtmlPanel",
    "MetricsTable",
    "RunsView",
    "SchemaEditor",
    "ServingView",
    "StatisticsProgress",
    "StatisticsView",
    "TFLiteView",
    "TrainingView",
    "gate_banner",
    "model_summary",
    "tensorboard_panel",
]
