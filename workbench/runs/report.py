"""Summaries of runs for people: one row per run, and the details of one run. The CLI
(`workbench runs ...`) and the runs app show the same summaries."""

from __future__ import annotations

from typing import Any

from workbench.errors import RunStoreError
from workbench.runs.record import RunRecord
from workbench.runs.store import Run, RunStore

__all__ = ["run_details", "run_row", "runs_overview"]


def run_row(run: Run, record: RunRecord | None = None) -> dict[str, Any]:
    """One line about a run: state, when, how long, how far, where it stopped."""
    m = record or run.record()
    return {
        "run_id": run.id,
        "state": str(m.state),
        "created": m.created,
        "duration_s": m.duration_s,
        "steps": {s: str(r.state) for s, r in m.steps.items()},
        "done": sum(1 for r in m.steps.values() if r.done),
        "stopped_at": m.stopped_at(),
        "failed_gates": [f"{s}.{g.name}" for s, g in m.failed_gates()],
    }


def runs_overview(store: RunStore) -> list[dict[str, Any]]:
    """Every readable run, newest first."""
    rows = []
    for run in reversed(store.runs()):
        try:
            rows.append(run_row(run))
        except RunStoreError:
            continue
    return rows


def run_details(run: Run) -> dict[str, Any]:
    """A run's parameters, environment and steps with gates, metrics and artifacts."""
    m = run.record()
    steps = []
    for name, r in m.steps.items():
        steps.append({
            "name": name,
            "state": str(r.state),
            "duration_s": r.duration_s,
            "cached_from": r.cached_from,
            "gates": {g: gate.to_dict() for g, gate in r.gates.items()},
            "metrics": {k: v for k, v in r.metrics.items()
                        if isinstance(v, (int, float, str, bool))},
            "artifacts": {k: {"kind": a.kind, "bytes": a.bytes, "sha256": a.sha256}
                          for k, a in r.artifacts.items()},
            "error": r.error,
            "parameters": r.parameters,
        })
    env = m.environment
    return {
        **run_row(run, m),
        "path": str(run.path),
        "parameters": m.parameters,
        "git": env.get("git"),
        "packages": env.get("packages", {}),
        "python": env.get("python"),
        "step_details": steps,
    }
