"""Plain sentences about a model, for readers who are not ML engineers.

The headline of a binary model is said at its decision threshold, in the reader's nouns:
"catches 7 in 10 frauds at one false alarm per 45 transactions". The nouns come from the
project's ``model_card.yaml`` (``wording``), else from the bundled dataset, else neutral ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.apps.html import details, esc, num, pct, table

__all__ = ["Wording", "decision_html", "headline", "metric_phrase"]

_BUNDLED = {
    "fraud": ("fraud", "frauds", "transaction", "transactions"),
    "breast_cancer": ("benign case", "benign cases", "case", "cases"),
}


@dataclass(frozen=True)
class Wording:
    positive: str = "positive case"
    positives: str = "positive cases"
    row: str = "row"
    rows: str = "rows"

    @classmethod
    def for_data(cls, dataset: str | None, card: Mapping[str, Any] | None = None) -> Wording:
        """The model card's ``wording`` if given, else the bundled dataset's nouns."""
        given = dict((card or {}).get("wording") or {})
        base = cls(*_BUNDLED[dataset]) if dataset in _BUNDLED else cls()
        return cls(**{k: str(given.get(k) or getattr(base, k)) for k in
                      ("positive", "positives", "row", "rows")})


def _in_ten(recall: float) -> str:
    n = round(recall * 10)
    if n == 0 and recall > 0:
        return "fewer than 1 in 10"
    return f"{n} in 10"


def headline(evaluation: Mapping[str, Any] | None, wording: Wording = Wording()) -> str:
    """One sentence: how good the model is, in the reader's terms, with the real numbers."""
    if not evaluation:
        return "This model has not been evaluated yet."
    task = evaluation.get("task")
    m = (evaluation.get("overall") or {}).get("metrics") or {}
    if task == "binary":
        point = (evaluation.get("operating_point") or {}).get("all")
        if point is None:  # an evaluation from before thresholds were chosen
            return (f"Ranks a random {wording.positive} above a random other {wording.row} "
                    f"{pct(m.get('auc'))} of the time.")
        recall = point.get("recall") or 0.0
        every = point.get("false_alarm_every")
        alarms = (f"one false alarm per {num(round(every))} {wording.rows}" if every
                  else "no false alarms")
        return (f"Catches {_in_ten(recall)} {wording.positives} "
                f"({point['tp']:,} of {point['positives']:,} in the test data) at {alarms}.")
    if task == "multiclass":
        return f"Names the right class for {pct(m.get('accuracy'))} of the {wording.rows}."
    if task == "regression":
        return (f"Is off by {num(m.get('mae'))} on average (mean absolute error; "
                f"typical error {num(m.get('rmse'))}).")
    return "This model has no headline metric."


def metric_phrase(name: str) -> str:
    """What a metric means, in a few words."""
    return {
        "auc": "how well it ranks cases (0.5 = chance, 1 = perfect)",
        "pr_auc": "ranking quality among the rare positives",
        "recall": "share of real positives it catches",
        "precision": "share of alerts that are real",
        "accuracy": "share of all decisions that are right",
        "macro_f1": "balance of precision and recall, averaged over classes",
        "mae": "average size of the error",
        "rmse": "typical size of the error, large misses weigh more",
        "r2": "share of the variation it explains",
    }.get(name, name)


def decision_html(evaluation: Mapping[str, Any] | None, wording: Wording = Wording()) -> str:
    """The decision threshold and what it trades off, as HTML (binary models)."""
    point = (evaluation or {}).get("operating_point")
    if not point:
        return ("<p class='wb-muted'>No decision threshold: this is not a yes/no model, or its "
                "evaluation predates chosen thresholds.</p>")
    chk, sel = point["check"], point["selection"]
    lines = [
        f"<p class='wb-lead'>The model flags a {esc(wording.row)} when its score is at least "
        f"<b>{point['threshold']:.3g}</b>.</p>",
        f"<p>Chosen by the rule <b>{esc(point['rule'])}</b>: {esc(point['describe'])}. "
        f"{esc(point['rows']['how'].capitalize())}.</p>",
    ]
    if point.get("note"):
        lines.append(f"<div class='wb-warnbox'>{esc(point['note'])}</div>")
    lines.append(
        f"<p>On the check rows it catches {pct(chk['recall'])} of the "
        f"{esc(wording.positives)}; {pct(chk['precision'])} of its alerts are real; it flags "
        f"{pct(chk['alert_rate'], 1)} of all {esc(wording.rows)} "
        f"(on the selection rows: {pct(sel['recall'])}, {pct(sel['precision'])}, "
        f"{pct(sel['alert_rate'], 1)}).</p>")
    rows = [(f"{r['threshold']:.3g}" + (" ← chosen" if r["chosen"] else ""),
             pct(r["recall"]), pct(r["precision"]), pct(r["alert_rate"], 1),
             f"{r['fn']:,}", f"{r['fp']:,}") for r in point.get("tradeoff", [])]
    lines.append(details(
        "What a higher or lower threshold trades (all eval rows)",
        table(["threshold", f"{wording.positives} caught", "alerts that are real",
               f"{wording.rows} flagged", f"{wording.positives} missed", "false alarms"],
              rows, cls="wb-tradeoff")
        + "<p class='wb-muted'>A lower threshold catches more but raises more false alarms; "
          "a higher one the reverse.</p>"))
    return "<div class='wb-decision'>" + "".join(lines) + "</div>"
