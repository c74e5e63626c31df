"""The serving page's production-data section: what the server received in the last hours,
checked against the training data by ``workbench monitor`` (:func:`workbench.serving.monitor.monitor`:
stage 01's statistics and checks on the request logs), in sentences. Read-only: it reads the
logs and writes nothing (no gauges; the cron job's ``workbench monitor`` writes those)."""

from __future__ import annotations

import time
from typing import Any

from workbench.errors import WorkbenchError
from workbench.project import Project

__all__ = ["production_check"]

PERIOD_HOURS = 24.0


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def production_check(project: Project | None = None, *,
                     hours: float = PERIOD_HOURS) -> dict[str, Any]:
    """One entry per served model: ``status`` (ok, problems, off, none, error), a lead
    sentence, the problems in sentences, the skew/drift scores against their thresholds."""
    from workbench.serving.monitor import logging_target, monitor
    from workbench.serving.repository import Repository

    project = project or Project.find()
    repo = Repository(project.root / "serving")
    checked = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    if not repo.config_path.is_file() or not repo.model_names():
        return {"checked_at": checked, "models": [{
            "model": "", "status": "none",
            "lead": "No model is deployed yet, so there is no production traffic to check."}]}
    out = []
    for model in repo.model_names():
        entry: dict[str, Any] = {"model": model}
        if logging_target(repo, model) is None:
            entry.update(status="off", lead=(
                f"The server does not keep a log of the requests for {model}, so what it "
                "receives cannot be compared with the training data."),
                hint=f"An engineer turns it on with `workbench monitor enable --model {model}`.")
            out.append(entry)
            continue
        try:
            report = monitor(repo, model, since=time.time() - hours * 3600,
                             write_gauges=False)
        except WorkbenchError as err:
            entry.update(status="error", lead=err.message, hint=err.hint or "")
            out.append(entry)
            continue
        n = report.logs.rows
        head = (f"In the last {hours:g} hours the server logged {_plural(n, 'case')} for "
                f"{model} version {report.reference.version} (trained in run "
                f"{report.reference.run_id}).")
        errors = report.errors
        if errors:
            lead = (f"{head} They differ from the training data: "
                    f"{_plural(len(errors), 'problem')}.")
        else:
            lead = f"{head} They look like the training data: no problem found."
        entry.update(
            status="problems" if errors else "ok", lead=lead, instances=n,
            version=report.reference.version, run=report.reference.run_id,
            problems=[f.sentence() for f in errors],
            warnings=[f.sentence() for f in report.findings if f.severity != "ERROR"],
            scores=[{"feature": c.feature,
                     "against": "training data" if c.kind == "skew" else "the day before",
                     "metric": c.metric, "value": c.value, "threshold": c.threshold,
                     "over": bool(c.exceeded)}
                    for c in sorted(report.comparisons,
                                    key=lambda c: (not c.exceeded, c.kind, c.feature))],
            notes=list(report.notes))
        out.append(entry)
    return {"checked_at": checked, "models": out}
