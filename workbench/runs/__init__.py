"""The run store: run folders, manifests, steps and their artifacts."""

from workbench.runs.step import Artifact, Step, open_step
from workbench.runs.store import Run, RunStore

__all__ = ["Artifact", "Run", "RunStore", "Step", "open_step"]
