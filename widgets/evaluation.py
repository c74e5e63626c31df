"""Evaluation widgets: metrics by slice, confusion matrix, curves, and the blessing (candidate
against baseline). Each takes the stage's ``evaluation`` / ``blessing`` documents."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.evaluate.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from workbench.widgets._base import COLORS, WorkbenchWidget, esc, fmt, png_img

__all__ = ["BlessingView", "ConfusionMatrixView", "CurvesView", "MetricsTable"]

KEY_METRICS = {
    "binary": ["auc", "pr_auc", "accuracy", "precision", "recall", "log_loss", "calibration"],
    "multiclass": ["accuracy", "top_k_accuracy", "log_loss", "macro_f1"],
    "regression": ["mae", "rmse", "r2", "prediction_mean"],
}


def _rows(evaluation: dict[str, Any]) -> list[dict[str, Any]]:
    base = evaluation.get("baseline") or {}
    base_by_name = {}
    if base.get("overall"):
        base_by_name["overall"] = base["overall"]["metrics"]
        base_by_name.update({s["name"]: s["metrics"] for s in base.get("slices", [])})
    overall = evaluation["overall"]
    rows = [{"name": "overall", "feature": None, "count": overall["count"],
             "metrics": overall["metrics"], "baseline": base_by_name.get("overall")}]
    rows += [{"name": s["name"], "feature": s["feature"], "count": s["count"],
              "metrics": s["metrics"], "baseline": base_by_name.get(s["name"])}
             for s in evaluation.get("slices", [])]
    return rows


class MetricsTable(WorkbenchWidget):
    """Overall and per-slice metrics with example counts; Δ against the baseline."""

    _module = "metrics_table"
    _styles = ("model.css",)
    rows = traitlets.List().tag(sync=True)
    columns = traitlets.List().tag(sync=True)
    higher_is_better = traitlets.Dict().tag(sync=True)

    def __init__(self, evaluation: dict[str, Any], *, metrics: list[str] | None = None,
                 **kwargs: Any) -> None:
        task = evaluation["task"]
        overall = evaluation["overall"]["metrics"]
        columns = [m for m in (metrics or KEY_METRICS[task]) if m in overall]
        better = {m: True for m in columns if m in HIGHER_IS_BETTER}
        better.update({m: False for m in columns if m in LOWER_IS_BETTER})
        super().__init__(rows=_rows(evaluation), columns=columns, higher_is_better=better,
                         **kwargs)

    def static_html(self) -> str:
        head = "".join(f"<th>{esc(c)}</th>" for c in ["slice", "examples", *self.columns])
        body = []
        for r in self.rows:
            cells = []
            for c in self.columns:
                v, b = r["metrics"].get(c), (r.get("baseline") or {}).get(c)
                delta = (f" <span class='wb-muted'>(Δ{v - b:+.4g})</span>"
                         if v is not None and b is not None and abs(v - b) > 1e-12 else "")
                cells.append(f"<td class='wb-num'>{fmt(v)}{delta}</td>")
            name = f"<b>{esc(r['name'])}</b>" if r["feature"] is None else esc(r["name"])
            body.append(f"<tr><td>{name}</td><td class='wb-num'>{r['count']:,}</td>"
                        f"{''.join(cells)}</tr>")
        return ("<div class='wb wb-metrics'><div class='wb-title'>Metrics by slice</div>"
                f"<table class='wb-table'><tr>{head}</tr>{''.join(body)}</table></div>")


class ConfusionMatrixView(WorkbenchWidget):
    """Rows: actual class; columns: predicted class (at the decision threshold for binary)."""

    _module = "confusion"
    _styles = ("model.css",)
    labels = traitlets.List().tag(sync=True)
    matrix = traitlets.List().tag(sync=True)
    baseline_matrix = traitlets.List().tag(sync=True)
    threshold = traitlets.Float(None, allow_none=True).tag(sync=True)

    def __init__(self, evaluation: dict[str, Any], **kwargs: Any) -> None:
        cm = evaluation.get("confusion_matrix") or {}
        base = ((evaluation.get("baseline") or {}).get("confusion_matrix") or {})
        super().__init__(labels=cm.get("labels", []), matrix=cm.get("matrix", []),
                         baseline_matrix=base.get("matrix", []), threshold=cm.get("threshold"),
                         **kwargs)

    def static_html(self) -> str:
        if not self.matrix:
            return ("<div class='wb wb-confusion'><div class='wb-title'>Confusion matrix</div>"
                    "<div class='wb-muted'>none for regression</div></div>")
        head = "".join(f"<th>{esc(label)}</th>" for label in self.labels)
        body = "".join(
            f"<tr><th>{esc(self.labels[i])}</th>"
            + "".join(f"<td class='wb-num'>{v:,}</td>" for v in row) + "</tr>"
            for i, row in enumerate(self.matrix))
        note = (f"<div class='wb-muted'>decision threshold {self.threshold}</div>"
                if self.threshold is not None else "")
        return ("<div class='wb wb-confusion'><div class='wb-title'>Confusion matrix</div>"
                f"{note}<table class='wb-table'><tr><th>actual \\ predicted</th>{head}</tr>"
                f"{body}</table></div>")


class CurvesView(WorkbenchWidget):
    """ROC, precision-recall and calibration curves (binary) or residuals (regression), with
    the baseline model's curves beside the candidate's."""

    _module = "curves"
    _styles = ("model.css",)
    curves = traitlets.Dict().tag(sync=True)
    baseline_curves = traitlets.Dict().tag(sync=True)
    baseline_run = traitlets.Unicode("").tag(sync=True)

    def __init__(self, evaluation: dict[str, Any], *, baseline_run: str | None = None,
                 **kwargs: Any) -> None:
        base = evaluation.get("baseline") or {}
        super().__init__(curves=evaluation.get("curves") or {},
                         baseline_curves=base.get("curves") or {},
                         baseline_run=baseline_run or "", **kwargs)

    def static_html(self) -> str:
        c, b = self.curves, self.baseline_curves
        panels = [(k, t) for k, t in (("roc", "ROC"), ("pr", "Precision-recall"),
                                      ("calibration", "Calibration"),
                                      ("residuals", "Residuals")) if k in c]
        if not panels:
            return ("<div class='wb wb-curves'><div class='wb-title'>Curves</div>"
                    "<div class='wb-muted'>no curves for this task</div></div>")
        axes_keys = {"roc": ("fpr", "tpr"), "pr": ("recall", "precision"),
                     "calibration": ("predicted", "observed")}

        def draw(fig: Any) -> None:
            axes = fig.subplots(1, len(panels), squeeze=False)[0]
            for ax, (key, title) in zip(axes, panels, strict=True):
                ax.set_title(title, fontsize=9)
                ax.tick_params(labelsize=7)
                if key == "residuals":
                    edges, counts = c[key]["edges"], c[key]["count"]
                    ax.bar(edges[:-1], counts, width=[edges[i + 1] - edges[i]
                                                      for i in range(len(counts))],
                           align="edge", color=COLORS[0])
                    continue
                xk, yk = axes_keys[key]
                for i, (name, src) in enumerate((("candidate", c), ("baseline", b))):
                    if key in src:
                        pts = [(x, y) for x, y in zip(src[key][xk], src[key][yk], strict=True)
                               if x is not None and y is not None]
                        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=COLORS[i],
                                label=name, marker="o" if key == "calibration" else None,
                                ms=3)
                if key != "pr":
                    ax.plot([0, 1], [0, 1], color="#c8ccd0", ls="--", lw=1)
                ax.legend(fontsize=7)

        picture = png_img(draw, width=3.0 * len(panels), height=2.8, alt="evaluation curves")
        return (f"<div class='wb wb-curves'><div class='wb-title'>Curves</div>{picture}</div>")


class BlessingView(WorkbenchWidget):
    """Blessed or not, against which baseline, with every threshold check and its numbers."""

    _module = "blessing"
    _styles = ("model.css",)
    blessing = traitlets.Dict().tag(sync=True)
    baseline_run = traitlets.Unicode("").tag(sync=True)

    def __init__(self, blessing: dict[str, Any], *, baseline_run: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(blessing=blessing, baseline_run=baseline_run or "", **kwargs)

    def static_html(self) -> str:
        b = self.blessing
        verdict = ("<span class='wb-ok' style='color:#1a7f37'>&#10004; blessed</span>"
                   if b.get("blessed") else
                   "<span class='wb-bad' style='color:#cf222e'>&#10008; not blessed</span>")
        base = b.get("baseline")
        against = ((f"against the baseline model of run {esc(self.baseline_run)}"
                    if self.baseline_run else "against the baseline model") if base else
                   "no baseline (first blessed model)")
        rows = "".join(
            f"<tr><td>{'&#10004;' if c['passed'] else '&#10008;'}</td><td>{esc(c['metric'])}"
            f"</td><td>{esc(c['slice'])}</td><td>{esc(c['kind'])}</td>"
            f"<td class='wb-num'>{fmt(c.get('value'))}</td>"
            f"<td class='wb-num'>{fmt(c.get('baseline'))}</td><td>{esc(c['reason'])}</td></tr>"
            for c in sorted(b.get("checks", []), key=lambda c: c["passed"]))
        return (f"<div class='wb wb-blessing'><div class='wb-title'>Blessing</div>"
                f"<div class='wb-verdict'>{verdict}</div><div class='wb-muted'>{against}</div>"
                "<table class='wb-table'><tr><th></th><th>metric</th><th>slice</th>"
                f"<th>check</th><th>candidate</th><th>baseline</th><th>why</th></tr>{rows}"
                "</table></div>")
