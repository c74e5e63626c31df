"""The report's cover: the run, its outcome in a sentence, gates, headline metrics, lineage.

Built from the typed run record only; :func:`cover_html` returns one HTML fragment (escaped,
no scripts, no external resources) that :mod:`workbench.report.build` puts before the stages.
"""

from __future__ import annotations

import html
from typing import Any

from workbench._format import number
from workbench.runs.record import RunRecord, RunState, StepRecord
from workbench.stages import DATA_VALIDATION, EVALUATE

__all__ = ["HEADLINE_METRICS", "cover_html", "outcome"]

#: the metrics the cover shows first when a step logged them (others follow, up to a few)
HEADLINE_METRICS = ("auc", "pr_auc", "accuracy", "precision", "recall", "f1", "rmse", "mae",
                    "blessed")
_MAX_METRICS = 12


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def outcome(record: RunRecord) -> tuple[bool, str]:
    """Whether the run went through, and its outcome as one sentence."""
    steps = record.steps
    done = sum(1 for s in steps.values() if s.done)
    total = len(record.pipeline) or len(steps)
    took = f" in {_seconds(record.duration_s)}" if record.duration_s else ""
    if record.state == RunState.SUCCEEDED:
        return True, f"Run {record.run_id} succeeded: all {done} stages passed{took}."
    failed = record.failed_gates()
    if record.state == RunState.GATE_FAILED and failed:
        step, gate = failed[0]
        why = f": {gate.reasons[0]}" if gate.reasons else ""
        return False, (f"Run {record.run_id} stopped at {step}: its gate '{gate.name}' "
                       f"failed{why}")
    errored = [s for s in steps.values() if s.error]
    if errored:
        s = errored[0]
        err = s.error or {}
        return False, (f"Run {record.run_id} failed in {s.name}: {err.get('ename', 'error')}: "
                       f"{err.get('evalue', '')}".rstrip(": "))
    return False, (f"Run {record.run_id} is {record.state}: {done} of {total} stages done; "
                   "this report shows what exists.")


def _step_rows(record: RunRecord) -> str:
    rows = []
    for name in dict.fromkeys([*record.pipeline, *record.steps]):
        s = record.steps.get(name)
        if s is None:
            rows.append(f"<tr><td>{_e(name)}</td><td class='wb-muted-text'>not run</td>"
                        "<td></td><td></td><td></td></tr>")
            continue
        gates = ", ".join(
            f"<span class='{'wb-ok' if g.passed else 'wb-bad'}'>{_e(g.name)}: "
            f"{'pass' if g.passed else 'FAIL'}</span>" for g in s.gates.values())
        state_class = "wb-ok" if s.done else ("wb-bad" if s.state in ("failed", "gate_failed")
                                             else "wb-muted-text")
        note = f"reused from {_e(s.cached_from)}" if s.cached_from else ""
        link = f"<a href='#step-{_e(name)}'>{_e(name)}</a>" if s.notebook else _e(name)
        rows.append(f"<tr><td>{link}</td><td class='{state_class}'>{_e(s.state)}</td>"
                    f"<td>{_seconds(s.duration_s)}</td><td>{gates}</td><td>{note}</td></tr>")
    return ("<table><tr><th>stage</th><th>state</th><th>time</th><th>gates</th><th>lineage</th>"
            "</tr>" + "".join(rows) + "</table>")


def _headline(record: RunRecord) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for step_name in (EVALUATE, *record.steps):
        s = record.steps.get(step_name)
        if s is None:
            continue
        plain = {k: v for k, v in s.metrics.items() if isinstance(v, (int, float, bool))}
        for key in [k for k in HEADLINE_METRICS if k in plain]:
            if all(key != k.rpartition(".")[2] for k, _ in found):
                found.append((f"{step_name}.{key}", plain[key]))
    return found[:_MAX_METRICS]


def _gate_reasons(record: RunRecord) -> str:
    parts = []
    for step, gate in record.gates():
        if gate.passed or not gate.reasons:
            continue
        items = "".join(f"<li>{_e(r)}</li>" for r in gate.reasons)
        parts.append(f"<p class='wb-bad'>{_e(step)}: gate {_e(gate.name)} failed</p><ul>{items}</ul>")
    return "".join(parts)


def _error_blocks(steps: dict[str, StepRecord]) -> str:
    parts = []
    for s in steps.values():
        if not s.error:
            continue
        err = s.error
        where = f" (cell {err['cell']})" if err.get("cell") is not None else ""
        source = f"\n\n{err['source']}" if err.get("source") else ""
        parts.append(f"<p class='wb-bad'>{_e(s.name)} failed{_e(where)}</p>"
                     f"<pre class='wb-error'>{_e(err.get('ename'))}: {_e(err.get('evalue'))}"
                     f"{_e(source)}</pre>")
    return "".join(parts)


def _lineage(record: RunRecord) -> str:
    env = record.environment
    items = []
    git = env.get("git") or {}
    if git.get("commit"):
        dirty = " with local changes" if git.get("dirty") else ""
        items.append(f"code: git commit <code>{_e(str(git['commit'])[:12])}</code>{dirty}")
    packages = env.get("packages") or {}
    shown = [f"{k} {packages[k]}" for k in ("tf-workbench", "tensorflow", "keras") if k in packages]
    if shown:
        items.append("packages: " + _e(", ".join(shown)))
    evaluate = record.steps.get(EVALUATE)
    blessing = evaluate.gate("blessing") if evaluate else None
    baseline = blessing.details.get("baseline") if blessing else None
    items.append(f"baseline model: run <code>{_e(baseline)}</code>" if baseline
                 else "baseline model: none (first blessed model)" if evaluate else "")
    data = record.steps.get(DATA_VALIDATION)
    if data and data.metrics.get("baseline_run"):
        items.append(f"data compared with run <code>{_e(data.metrics['baseline_run'])}</code>")
    cached = [f"{_e(s.name)} from <code>{_e(s.cached_from)}</code>"
              for s in record.steps.values() if s.cached_from]
    if cached:
        items.append("reused: " + ", ".join(cached))
    if record.parameters:
        items.append("parameters: " + ", ".join(
            f"<code>{_e(k)}={_e(v)}</code>" for k, v in record.parameters.items()))
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items if i) + "</ul>"


def cover_html(record: RunRecord, *, stages: list[str] | None = None) -> str:
    """The cover of a run's report as one HTML fragment."""
    ok, sentence = outcome(record)
    metrics = _headline(record)
    metric_table = ("<table><tr><th>metric</th><th>value</th></tr>" + "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(number(v, 4))}</td></tr>" for k, v in metrics)
        + "</table>") if metrics else "<p class='wb-muted-text'>no metrics logged</p>"
    only = (f"<p class='wb-muted-text'>stages in this report: {_e(', '.join(stages))}</p>"
            if stages else "")
    return (
        "<section class='wb-cover' id='cover'>"
        f"<h1>Run {_e(record.run_id)}</h1>"
        f"<p class='wb-muted-text'>created {_e(record.created)} · state "
        f"<b>{_e(record.state)}</b>{' · ' + _seconds(record.duration_s) if record.duration_s else ''}</p>"
        f"<p class='wb-outcome {'wb-ok' if ok else 'wb-bad'}'>{_e(sentence)}</p>"
        f"{_error_blocks(record.steps)}{_gate_reasons(record)}"
        f"<h2>Stages</h2>{_step_rows(record)}{only}"
        f"<h2>Headline metrics</h2>{metric_table}"
        f"<h2>Lineage</h2>{_lineage(record)}"
        "</section>"
    )
