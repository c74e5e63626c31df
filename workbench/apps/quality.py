"""The data quality page: a run's anomalies in sentences; drift and skew per feature over the
last runs as small trend charts; two runs' statistics side by side (``?run=A&compare=B``)."""

from __future__ import annotations

from typing import Any

from workbench import stages
from workbench.apps.html import details, esc, num, pct, sparkline, status, table
from workbench.apps.page import PageProblem, page_run, run_banner
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.runs.step import Step
from workbench.runs.store import Run

__all__ = ["drift_history", "quality_html", "side_by_side"]

DATA = stages.DATA_VALIDATION


def _load(run: Run, name: str, message: Any = None) -> Any:
    record = run.step(DATA)
    if record is None or name not in record.artifacts:
        return None
    try:
        return Step(run, DATA, "view").load(name, message=message)
    except WorkbenchError:
        return None


def drift_history(project: Project, *, runs: int = 10) -> dict[str, Any]:
    """Per feature, oldest run first: the largest drift/skew value and its threshold."""
    ids: list[str] = []
    values: dict[str, list[float | None]] = {}
    thresholds: dict[str, float] = {}
    for run, record in list(project.store().newest_first())[:runs][::-1]:
        if not record.done(DATA) and not (record.step(DATA) and record.step(DATA).gates):
            continue
        drift = _load(run, "drift") or {}
        ids.append(run.id)
        seen: dict[str, float] = {}
        for c in drift.get("comparisons", []):
            key = f"{c['feature']} ({c['kind']})"
            seen[key] = max(seen.get(key, 0.0), float(c["value"]))
            thresholds[key] = float(c["threshold"])
        for key in set(values) | set(seen):
            values.setdefault(key, [None] * (len(ids) - 1)).append(seen.get(key))
    return {"runs": ids, "values": values, "thresholds": thresholds}


def _stats_rows(run: Run) -> dict[str, dict[str, Any]]:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from workbench.data.stats import dataset_statistics, feature_name

    stats = _load(run, "stats_train", message=statistics_pb2.DatasetFeatureStatisticsList)
    if stats is None:
        return {}
    ds = dataset_statistics(stats)
    out: dict[str, dict[str, Any]] = {}
    for f in ds.features:
        name = feature_name(f)
        if f.HasField("num_stats"):
            n = f.num_stats
            common = n.common_stats
            out[name] = {"mean": n.mean, "std": n.std_dev, "min": n.min, "max": n.max,
                         "missing": common.num_missing, "rows": common.num_non_missing
                         + common.num_missing}
        elif f.HasField("string_stats"):
            s = f.string_stats
            common = s.common_stats
            top = s.top_values[0].value if s.top_values else ""
            out[name] = {"unique": s.unique, "top": top, "missing": common.num_missing,
                         "rows": common.num_non_missing + common.num_missing}
    return out


def side_by_side(a: Run, b: Run) -> str:
    """The training statistics of two runs, feature by feature."""
    sa, sb = _stats_rows(a), _stats_rows(b)
    rows = []
    for name in sorted(set(sa) | set(sb)):
        x, y = sa.get(name, {}), sb.get(name, {})

        def cell(s: dict[str, Any]) -> str:
            if not s:
                return "absent"
            if "mean" in s:
                return (f"mean {num(s['mean'])}, {num(s['min'])} to {num(s['max'])}, "
                        f"{pct(s['missing'] / max(s['rows'], 1), 1)} missing")
            return (f"{s['unique']} values, most often {s['top']!s}, "
                    f"{pct(s['missing'] / max(s['rows'], 1), 1)} missing")

        changed = ("mean" in x and "mean" in y and x["std"]
                   and abs(x["mean"] - y["mean"]) > 0.25 * x["std"])
        rows.append((name, cell(x), cell(y), "changed" if changed else ""))
    return table(["feature", f"run {a.id}", f"run {b.id}", "note"], rows, cls="wb-compare")


def _previous_with_data(project: Project, run: Run) -> Run | None:
    later = False
    for other, record in project.store().newest_first():
        if other.path == run.path:
            later = True
            continue
        step = record.step(DATA)
        if later and step is not None and step.artifacts:
            return other
    return None


def quality_html(query: str | None, project: Project | None = None) -> str:
    page = page_run(query, project, allow_unfinished=True)
    project = page.project
    step = page.record.step(DATA)
    if step is None or not step.artifacts:
        raise PageProblem(f"Run {page.id} has no data validation results.",
                          hint="Pick a run that got through data validation.",
                          links=(("See every run", "voila/render/runs.ipynb"),))
    parts = [run_banner(page)]
    gate = step.gate("data_validation")
    findings = _load(page.run, "anomalies_table") or []
    errors = [f for f in findings if f.get("severity") == "ERROR"]
    if not findings:
        parts.append("<p class='wb-lead'>No problems found in this run's data.</p>")
    else:
        parts.append(f"<p class='wb-lead'>{len(findings)} problem(s) found in this run's data"
                     f" ({len(errors)} serious enough to stop the pipeline).</p>")
        items = "".join(
            f"<li class='wb-anomaly'>{status(f.get('severity') != 'ERROR', 'warning', 'error')}"
            f" <b>{esc(f['feature'])}</b>: {esc(f['description'])}</li>" for f in findings)
        parts.append(f"<ul>{items}</ul>")
    if gate is not None:
        verdict = status(gate.passed, "passed", "failed: the pipeline stopped here")
        parts.append(f"<p>Data check: {verdict}.</p>")
    drift = _load(page.run, "drift") or {}
    for note in drift.get("notes", []):
        parts.append(f"<p class='wb-muted'>{esc(note)}</p>")
    history = drift_history(project)
    if history["values"]:
        rows = []
        for key, vals in sorted(history["values"].items()):
            last = next((v for v in reversed(vals) if v is not None), None)
            limit = history["thresholds"].get(key)
            over = last is not None and limit is not None and last > limit
            rows.append((esc(key), sparkline(vals, label=key),
                         f"{num(last)} (limit {num(limit)}) "
                         + status(not over, "within the limit", "over the limit")))
        parts.append(f"<h3>Drift and skew over the last {len(history['runs'])} runs</h3>"
                     "<p class='wb-muted'>How far each feature's distribution moved from the "
                     "baseline run (L-infinity for categories, Jensen–Shannon divergence for "
                     "numbers).</p>"
                     + table(["feature", "oldest → newest", "latest"], rows, raw=True,
                             cls="wb-drift-trends"))
    else:
        parts.append("<p>No drift measured yet: drift needs a baseline run of the same data."
                     "</p>")
    other_ref = page.query.get("compare", "")
    other = None
    if other_ref:
        try:
            other = project.store().open(other_ref)
        except WorkbenchError:
            parts.append(f"<div class='wb-warnbox'>There is no run '{esc(other_ref)}' to "
                         "compare with.</div>")
    else:
        other = _previous_with_data(project, page.run)
    if other is not None:
        parts.append(f"<h3>Side by side with run {esc(other.id)}</h3>"
                     "<p class='wb-muted'>Training data statistics. Pick another run with "
                     "<code>&amp;compare=RUN</code> in the address.</p>"
                     + side_by_side(page.run, other))
    parts.append(details("For engineers: every finding with its numbers", table(
        ["feature", "severity", "type", "expected", "found", "rows"],
        [(f["feature"], f["severity"], f["type"], f.get("expected"), f.get("found"),
          f.get("count")) for f in findings])))
    return "".join(parts)
