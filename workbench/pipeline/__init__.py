"""Pipelines of stage notebooks, and the runner that executes them with papermill."""

from workbench.pipeline.runner import Reporter, Runner, RunOptions
from workbench.pipeline.spec import Pipeline, Stage

__all__ = ["Pipeline", "Reporter", "RunOptions", "Runner", "Stage"]
