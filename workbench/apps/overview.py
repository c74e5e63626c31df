"""The overview page: the live model in words, the latest runs as a timeline with their outcome
in a sentence, trends across runs, and what awaits approval."""

from __future__ import annotations

from typing import Any

from workbench import stages
from workbench.apps.html import details, esc, num, pct, sparkline, table
from workbench.apps.live import live_model, served_versions
from workbench.apps.page import PageProblem, page_run, run_banner
from workbench.apps.site import app_url
from workbench.apps.words import Wording, headline
from workbench.project import Project
from workbench.runs.record import RunRecord, RunState, StepState
from workbench.runs.step import Step
from workbench.runs.store import Run

__all__ = ["STAGE_WORDS", "overview_html", "run_outcome", "trends"]

STAGE_WORDS = {
    stages.DATA_VALIDATION: "data validation", stages.TRAIN: "training",
    stages.EVALUATE: "evaluation", stages.EXPORT: "export", stages.TFLITE: "TFLite conversion",
    stages.SERVING: "serving",
}
GATE_WORDS = {
    "data_validation": "problems in the data", "blessing": "the model is not better than the "
    "one before", "export_checks": "the exported model failed its checks",
    "tflite_accuracy": "the on-device model lost too much accuracy",
    "serving": "the deployed model failed its checks",
}


def _first_line(text: str, limit: int = 160) -> str:
    line = (text or "").strip().splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def run_outcome(record: RunRecord) -> str:
    """What happened in a run, in one sentence."""
    state = record.state
    for name, step in record.steps.items():
        where = STAGE_WORDS.get(name, name)
        if step.state == StepState.GATE_FAILED:
            gates = list(step.failed_gates.values())
            reasons = [r for g in gates for r in g.reasons]
            what = GATE_WORDS.get(gates[0].name, gates[0].name) if gates else "a check failed"
            count = f"{len(reasons)} " if len(reasons) > 1 else ""
            detail = ("; ".join(_first_line(r, 90) for r in reasons[:3])
                      + (" …" if len(reasons) > 3 else ""))
            return (f"Stopped at {where}: {count}{what}" + (f" — {detail}" if detail else "")
                    + ".")
        if step.state == StepState.FAILED:
            err = step.error or {}
            return f"Failed at {where}: {_first_line(str(err.get('evalue', 'an error')))}."
        if step.state == StepState.INTERRUPTED:
            return f"Interrupted during {where}."
    if state == RunState.SUCCEEDED:
        ev = record.step(stages.EVALUATE)
        blessed = ev.metrics.get("blessed") if ev else None
        tail = (" The model was blessed." if blessed else "") if ev else ""
        return f"Succeeded: every stage passed in {num(record.duration_s or 0.0)} s.{tail}"
    if state in (RunState.RUNNING, RunState.CREATED):
        done = [STAGE_WORDS.get(s, s) for s, r in record.steps.items() if r.done]
        return "Running now" + (f" (done: {', '.join(done)})" if done else "") + "."
    return f"{str(state).replace('_', ' ').capitalize()}."


def trends(records: list[tuple[Run, RunRecord]]) -> dict[str, list[Any]]:
    """Per run (oldest first): headline metric, rows, drifted features, serving latency."""
    out: dict[str, list[Any]] = {"run": [], "auc": [], "rows": [], "drifted": [], "p99_ms": []}
    for run, r in records:
        m = {s: st.metrics for s, st in r.steps.items()}
        out["run"].append(run.id)
        ev = m.get(stages.EVALUATE, {})
        out["auc"].append(ev.get("auc", ev.get("accuracy", ev.get("r2"))))
        out["rows"].append(m.get(stages.DATA_VALIDATION, {}).get("rows"))
        out["drifted"].append(m.get(stages.DATA_VALIDATION, {}).get("drifted_features"))
        sv = m.get(stages.SERVING, {})
        out["p99_ms"].append(next((v for k, v in sv.items()
                                   if "p99" in k and isinstance(v, (int, float))), None))
    return out


def _live_html(project: Project) -> str:
    live = live_model(project)
    if live is None:
        return ("<div class='wb-card'><h3>Live model</h3><p>No model is deployed yet. The "
                "serving stage of a successful run deploys one.</p></div>")
    evaluation = None
    wording = Wording()
    if live.run_id:
        try:
            run = project.store().open(live.run_id)
            evaluation = Step(run, stages.EVALUATE, "view").load("evaluation")
            card = Step(run, stages.DATA_VALIDATION, "view").load("data_card")
            wording = Wording.for_data(card.get("dataset"))
        except Exception:  # noqa: BLE001 - the live version's run may be gone
            evaluation = None
    labels = ", ".join(live.label_names) or "no label"
    served = ("a server is answering requests now" if live.server
              else "no server is running right now")
    return (f"<div class='wb-card wb-live'><h3>Live model</h3>"
            f"<p class='wb-lead'>{esc(headline(evaluation, wording))}</p>"
            f"<p><b>{esc(live.name)}</b> version {live.version} ({esc(labels)}), deployed "
            f"{esc((live.since or '?').replace('T', ' '))} UTC, from run "
            f"<a href='{esc(app_url('model_card', live.run_id))}'><code>"
            f"{esc(live.run_id or '?')}</code></a>; {served}.</p></div>")


def _approvals(project: Project) -> str:
    pending = [v for v in served_versions(project)
               if (v["approval"] or {}).get("status") not in ("approved",)]
    if not pending:
        return "<p>Nothing awaits approval.</p>"
    rows = [(f"{v['model']} v{v['version']}", ", ".join(v["labels"]) or "–",
             v["run_id"] or "–", (v["approval"] or {}).get("status") or "not recorded")
            for v in pending]
    return (f"<p>{len(pending)} deployed version(s) await approval (the export records who "
            "approved it; <code>-p approval=approved -p approved_by=NAME</code>).</p>"
            + table(["version", "labels", "run", "approval"], rows))


def overview_html(query: str | None, project: Project | None = None, *,
                  runs: int = 10) -> str:
    project = project or Project.find()
    store = project.store()
    records = list(store.newest_first())
    if not records:
        raise PageProblem("This project has no runs yet.",
                          hint="Run the pipeline once: `make demo` (or `workbench run`) in "
                               f"{project.root}, then reload this page.")
    parts = []
    try:
        parts.append(run_banner(page_run(query, project, allow_unfinished=True)))
    except PageProblem as problem:
        parts.append(problem.html())
    parts.append(_live_html(project))
    items = []
    for run, r in records[:runs]:
        when = (r.created or "")[:16].replace("T", " ")
        ok = r.state == RunState.SUCCEEDED
        mark = "✓" if ok else ("…" if r.state in (RunState.RUNNING, RunState.CREATED) else "✗")
        items.append(f"<li class='wb-run-item' data-run='{esc(run.id)}'><span class="
                     f"'{'wb-ok' if ok else 'wb-bad' if mark == '✗' else 'wb-warn'}'>{mark} "
                     f"{esc(str(r.state).replace('_', ' '))}</span> {esc(when)} UTC · "
                     f"<a href='{esc(app_url('runs', run.id))}'>{esc(run.id)}</a>: "
                     f"{esc(run_outcome(r))}</li>")
    parts.append("<h3>Latest runs</h3><ul class='wb-timeline'>" + "".join(items) + "</ul>")
    t = trends(list(reversed(records[:20])))
    rows = [("headline metric (AUC)", sparkline(t["auc"], label="auc"),
             num(next((v for v in reversed(t["auc"]) if v is not None), None))),
            ("rows of data", sparkline(t["rows"], label="rows"),
             num(next((v for v in reversed(t["rows"]) if v is not None), None))),
            ("features that drifted", sparkline(t["drifted"], label="drifted"),
             num(next((v for v in reversed(t["drifted"]) if v is not None), None))),
            ("serving latency p99 (ms)", sparkline(t["p99_ms"], label="p99 ms"),
             num(next((v for v in reversed(t["p99_ms"]) if v is not None), None)))]
    parts.append(f"<h3>Trends over the last {len(t['run'])} runs</h3>"
                 + table(["", "oldest → newest", "latest"], rows, raw=True, cls="wb-trends"))
    parts.append("<h3>Awaiting approval</h3>" + _approvals(project))
    ok_share = sum(1 for _, r in records if r.state == RunState.SUCCEEDED) / len(records)
    parts.append(details("For engineers: numbers behind the trends", table(
        ["run", "auc", "rows", "drifted", "p99 ms"],
        [(t["run"][i], num(t["auc"][i]), num(t["rows"][i]), num(t["drifted"][i]),
          num(t["p99_ms"][i])) for i in range(len(t["run"]))])
        + f"<p>{pct(ok_share)} of all {len(records)} runs succeeded.</p>"))
    return "".join(parts)
