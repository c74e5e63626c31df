"""Summaries of runs for people: one row per run, and the details of one run. The CLI
(`workbench runs ...`) and the runs app show the same summaries."""

from __future__ import annotations

from typing import Any

from workbench.errors import RunStoreError
from workbench.runs.store import DONE_STEP_STATES, Run, RunStore

__all__ = ["run_details", "run_row", "runs_overview"]

_STOPPED = ("failed", "gate_failed", "interrupted")


def run_row(run: Run, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """One line about a run: state, when, how long, how far, where it stopped."""
    m = manifest or run.read()
    steps = m.get("steps", {})
    failed_gates = [f"{s}.{g}" for s, r in steps.items()
                    for g, x in r.get("gates", {}).items() if not x.get("passed")]
    return {
        "run_id": run.id,
        "state": m["state"],
        "created": m["created"],
        "duration_s": m.get("duration_s"),
        "steps": {s: r.get("state") for s, r in steps.items()},
        "done": sum(1 for r in steps.values() if r.get("state") in DONE_STEP_STATES),
        "stopped_at": [s for s, r in steps.items() if r.get("state") in _STOPPED],
        "failed_gates": failed_gates,
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
    m = run.read()
    steps = []
    for name, r in m.get("steps", {}).items():
        steps.append({
            "name": name,
            "state": r.get("state"),
            "duration_s": r.get("duration_s"),
            "cached_from": r.get("cached_from"),
            "gates": r.get("gates", {}),
            "metrics": {k: v for k, v in r.get("metrics", {}).items()
                        if isinstance(v, (int, float, str, bool))},
            "artifacts": {k: {"kind": a["kind"], "bytes": a["bytes"], "sha256": a["sha256"]}
                          for k, a in r.get("artifacts", {}).items()},
            "error": r.get("error"),
            "parameters": r.get("parameters", {}),
        })
    env = m.get("environment", {})
    return {
        **run_row(run, m),
        "path": str(run.path),
        "parameters": m.get("parameters", {}),
        "git": env.get("git"),
        "packages": env.get("packages", {}),
        "python": env.get("python"),
        "step_details": steps,
    }
