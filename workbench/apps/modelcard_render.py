"""The model card as HTML (the app's page and a self-contained file) and as Markdown.

Plain sentences first; the numbers with their 95 % intervals; details for engineers folded.
"""

from __future__ import annotations

from typing import Any

from workbench.apps.html import details, esc, num, pct, table
from workbench.apps.modelcard_spec import CARD_FILE
from workbench.apps.words import Wording, decision_html, metric_phrase

__all__ = ["card_html", "card_markdown", "downloads_html", "standalone_html"]

_SHARE_METRICS = {"auc", "pr_auc", "recall", "precision", "accuracy", "macro_f1",
                  "weighted_f1", "f1"}


def _value(name: str, v: Any) -> str:
    if v is None:
        return "–"
    return pct(v, 1) if name in _SHARE_METRICS else num(v)


def _ci(name: str, ci: dict[str, float] | None) -> str:
    if not ci:
        return "–"
    return f"{_value(name, ci['low'])} to {_value(name, ci['high'])}"


def _list(items: list[str], empty: str) -> str:
    if not items:
        return f"<p class='wb-muted'>{esc(empty)}</p>"
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def _missing(field: str) -> str:
    return f"not stated yet (add <code>{esc(field)}</code> to {CARD_FILE})"


def card_html(card: dict[str, Any]) -> str:
    """The card's body (no <html>): the app shows it, :func:`standalone_html` wraps it."""
    d, data, perf = card["details"], card["data"], card["performance"]
    wording = Wording(**card["wording"])
    owners = ", ".join(o["name"] + (f" ({o['contact']})" if o.get("contact") else "")
                       for o in d["owners"]) or None
    out = [f"<h2 class='wb-card-name'>{esc(d['name'])}</h2>"]
    if perf:
        out.append(f"<p class='wb-lead wb-headline'>{esc(perf['headline'])}</p>")
    out.append(f"<p>{esc(d['overview']) if d['overview'] else _missing('overview')}</p>")
    if not card.get("spec_file"):
        out.append(f"<div class='wb-warnbox'>The engineer has not filled in {CARD_FILE} yet: "
                   "owners, licence, intended use and limitations are missing. "
                   "docs/apps.md shows an example.</div>")
    # model details
    rows = [("Version", d["version"] or "not deployed"), ("Run", card["run_id"]),
            ("Owners", owners or None), ("Licence", d["license"]),
            ("Created", (d["created"] or "")[:19].replace("T", " ") + " UTC"),
            ("Predicts", f"{d['label']} ({d['task']}; classes {', '.join(map(str, d['classes']))})"
             if d["label"] else None)]
    out.append("<h3>Model details</h3>" + table(
        ["", ""], [(k, v if v is not None else "not stated") for k, v in rows], cls="wb-kv"))
    out.append("<h3>Intended use</h3><p>" + (esc(d["intended_use"]) if d["intended_use"]
                                            else _missing("intended_use")) + "</p>")
    if d["intended_users"]:
        out.append("<p>For: " + esc(", ".join(d["intended_users"])) + "</p>")
    out.append("<h4>Not made for</h4>" + _list(d["out_of_scope"], "not stated yet"))
    out.append("<h4>Known limitations</h4>" + _list(d["limitations"], "not stated yet"))
    out.append("<h4>Ethical considerations</h4>" + _list(
        [e["name"] + (f" — mitigation: {e['mitigation']}" if e.get("mitigation") else "")
         for e in d["ethical_considerations"]], "not stated yet"))
    # data
    splits = data["splits"]
    balance = data["label_balance"]
    sentences = [f"Trained on {num(splits.get('train'))} {wording.rows} and tested on "
                 f"{num(splits.get('eval'))} others, from {data['source'] or 'an unknown source'}."]
    if data["date_range"]:
        r = data["date_range"]
        sentences.append(f"Dates ({r['column']}) from {r['from']} to {r['to']}.")
    else:
        sentences.append("The data has no date column, so its period is not known.")
    for split, b in balance.items():
        parts = ", ".join(f"{c}: {num(n)} ({pct(n / max(b['rows'], 1), 1)})"
                          for c, n in b["counts"].items())
        sentences.append(f"Label balance in {split}: {parts}.")
    out.append("<h3>Data</h3><p>" + esc(" ".join(sentences)) + "</p>")
    out.append(details("Features, in plain words", table(
        ["feature", "what it means", "values"],
        [(f["name"], f["meaning"] or "–", f["values"]) for f in data["features"]])))
    # performance
    out.append("<h3>How well it works</h3>")
    if perf:
        out.append(table(["measure", "what it says", "value", "95 % interval"],
                         [(m["name"], metric_phrase(m["name"]), _value(m["name"], m["value"]),
                           _ci(m["name"], m["ci"])) for m in perf["metrics"]],
                         cls="wb-perf"))
        u = perf.get("uncertainty")
        if u:
            out.append(f"<p class='wb-muted'>Intervals: {esc(u['method'])}, {u['resamples']} "
                       f"resamples of the {num(perf['rows'])} test {esc(wording.rows)}.</p>")
        metric = perf["metric"]
        if perf["weakest"]:
            weak = "; ".join(f"{w['name']} ({_value(metric, w['value'])}, {num(w['count'])} "
                             f"{wording.rows})" for w in perf["weakest"])
            out.append(f"<p class='wb-weakest'><b>Weakest groups</b> by {esc(metric)}: "
                       f"{esc(weak)}.</p>")
        if perf["slice_gap"] is not None:
            out.append(f"<p>Gap between the best and the worst group: "
                       f"{esc(_value(metric, perf['slice_gap']))} of {esc(metric)}.</p>")
        out.append(details("Every group", table(
            ["group", wording.rows, metric],
            [(s["name"], num(s["count"]), _value(metric, s["value"]))
             for s in perf["slices"]])))
    else:
        out.append("<p class='wb-muted'>Not evaluated: the run stopped before 03_evaluate.</p>")
    comp = card.get("comparison")
    out.append("<h3>Compared with the model it replaces</h3>")
    if comp:
        out.append(table(["measure", "this model", "previous model"],
                         [(k, _value(k, v["candidate"]), _value(k, v["baseline"]))
                          for k, v in comp["metrics"].items()]))
        if comp.get("baseline_run"):
            out.append(f"<p class='wb-muted'>Previous model: run "
                       f"<code>{esc(comp['baseline_run'])}</code>, measured on the same test "
                       f"{esc(wording.rows)}.</p>")
    else:
        out.append("<p>This is the first model: there was none to compare with.</p>")
    out.append("<h3>Decision threshold</h3>")
    out.append(decision_html({"operating_point": card.get("decision")}, wording))
    tfl = card.get("tflite")
    out.append("<h3>On-device version</h3><p>" + (
        f"The recommended TFLite variant is <b>{esc(tfl['recommended'])}</b>."
        if tfl and tfl.get("recommended") else "No TFLite variant was built.") + "</p>")
    out.append("<h3>Where it came from</h3>" + _lineage(card["lineage"]))
    return "<div class='wb-model-card'>" + "".join(out) + "</div>"


def _lineage(lin: dict[str, Any]) -> str:
    approval = lin["approval"] or {}
    who = approval.get("by") or "nobody yet"
    status = approval.get("status") or "not recorded"
    rows = [(k, (v or "")[:16] + "…") for k, v in lin["data"].items()]
    rows.append(("model (sha256)", (lin["model_sha256"] or "–")[:16] + "…"))
    rows.append(("export (sha256)", (lin["export_sha256"] or "–")[:16] + "…"))
    if lin.get("signatures"):
        rows.append(("export signatures", ", ".join(f"{k} ({v})"
                                                    for k, v in lin["signatures"].items())))
    for v in lin["served"]:
        rows.append(("served", f"{v['model']} version {v['version']} "
                     f"({', '.join(v['labels']) or 'no label'}) since {v['since']}"))
    if not lin["served"]:
        rows.append(("served", "not deployed"))
    text = (f"<p>Blessed by the evaluation: {'yes' if lin['blessed'] else 'no'}. Approval: "
            f"{esc(status)}, by {esc(who)}.</p>")
    if lin.get("override"):
        text += (f"<div class='wb-warnbox'>Exported although not blessed: "
                 f"{esc(lin['override'].get('reason'))}</div>")
    return text + table(["step", "fingerprint / fact"], rows, cls="wb-lineage")


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em;
  color: #1f2328; line-height: 1.45; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e1e4e8; text-align: left; }
.wb-lead { font-size: 1.2em; } .wb-muted { color: #656d76; }
.wb-warnbox { border-left: 4px solid #9a6700; padding: 4px 8px; background: #fff8e5; }
details > summary { cursor: pointer; color: #0969da; }
"""


def standalone_html(card: dict[str, Any]) -> str:
    """A self-contained HTML file (inline style, no scripts, no external links)."""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>Model card: {esc(card['details']['name'])}</title><style>{_CSS}</style>"
            f"</head><body>{card_html(card)}</body></html>\n")


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown (for a repository or a wiki)."""
    d, data, perf = card["details"], card["data"], card["performance"]
    md = [f"# Model card: {d['name']}", ""]
    if perf:
        md += [f"**{perf['headline']}**", ""]
    md += [d["overview"] or f"_Overview not stated yet (add it to {CARD_FILE})._", "",
           "## Model details", "",
           f"- Version: {d['version'] or 'not deployed'}", f"- Run: `{card['run_id']}`",
           f"- Owners: {', '.join(o['name'] for o in d['owners']) or 'not stated'}",
           f"- Licence: {d['license'] or 'not stated'}",
           f"- Predicts: {d['label']} ({d['task']})", "",
           "## Intended use", "", d["intended_use"] or "_not stated_", ""]
    for title, items in (("Not made for", d["out_of_scope"]),
                         ("Known limitations", d["limitations"])):
        md += [f"### {title}", ""] + ([f"- {i}" for i in items] or ["_not stated_"]) + [""]
    md += ["### Ethical considerations", ""]
    md += [f"- {e['name']}" + (f" — mitigation: {e['mitigation']}" if e.get("mitigation")
                               else "") for e in d["ethical_considerations"]] or ["_not stated_"]
    md += ["", "## Data", "", f"- Source: {data['source']}",
           f"- Rows: train {data['splits'].get('train')}, eval {data['splits'].get('eval')}", ""]
    md += ["## Performance", ""]
    if perf:
        md += ["| measure | value | 95 % interval |", "|---|---|---|"]
        md += [f"| {m['name']} | {_value(m['name'], m['value'])} | {_ci(m['name'], m['ci'])} |"
               for m in perf["metrics"]]
        if perf["weakest"]:
            md += ["", "Weakest groups by " + perf["metric"] + ": " + "; ".join(
                f"{w['name']} ({_value(perf['metric'], w['value'])}, {w['count']} rows)"
                for w in perf["weakest"])]
    else:
        md += ["_not evaluated_"]
    point = card.get("decision")
    md += ["", "## Decision threshold", ""]
    if point:
        chk = point["check"]
        md += [f"Flags from a score of **{point['threshold']:.3g}** (rule `{point['rule']}`: "
               f"{point['describe']}); {point['rows']['how']}. On the check rows: recall "
               f"{pct(chk['recall'])}, precision {pct(chk['precision'])}, alert rate "
               f"{pct(chk['alert_rate'], 1)}."]
    else:
        md += ["_none (not a yes/no model)_"]
    lin = card["lineage"]
    md += ["", "## Lineage", ""] + [f"- {k}: `{v}`" for k, v in lin["data"].items()]
    md += [f"- model sha256: `{lin['model_sha256']}`", f"- export sha256: `{lin['export_sha256']}`"]
    md += [f"- served: {v['model']} version {v['version']} ({', '.join(v['labels'])})"
           for v in lin["served"]]
    approval = lin["approval"] or {}
    md += [f"- approval: {approval.get('status') or 'not recorded'} by "
           f"{approval.get('by') or 'nobody yet'}", ""]
    return "\n".join(md)


def downloads_html(card: dict[str, Any]) -> str:
    """Links that download the card as HTML, Markdown and MCT JSON (data URIs: no server
    route, nothing leaves the page)."""
    import base64
    import json

    from workbench.apps.modelcard_mct import to_mct

    stem = f"model_card_{card['run_id']}"
    files = (("HTML", f"{stem}.html", "text/html", standalone_html(card)),
             ("Markdown", f"{stem}.md", "text/markdown", card_markdown(card)),
             ("Model Card Toolkit JSON", f"{stem}.mct.json", "application/json",
              json.dumps(to_mct(card), indent=1) + "\n"))
    links = " · ".join(
        f"<a class='wb-download' download='{esc(name)}' data-format='{esc(label)}' "
        f"href='data:{mime};charset=utf-8;base64,"
        f"{base64.b64encode(text.encode()).decode('ascii')}'>{esc(label)}</a>"
        for label, name, mime, text in files)
    return f"<p class='wb-downloads'>Download this card: {links}</p>"
