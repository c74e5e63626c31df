"""Try the model: the form, the answer in words and numbers, the what-if curve, the features
that pushed the answer, and batch scoring of a CSV file. The page sends messages ("answer",
"ice", "example", "score"); Python answers by setting traits (:class:`workbench.apps.tryit.
Tryout` does the work)."""

from __future__ import annotations

import base64
from typing import Any

import traitlets

from workbench.apps.tryit import MAX_UPLOAD_BYTES, Tryout
from workbench.errors import WorkbenchError
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["TryModelView"]


class TryModelView(WorkbenchWidget):
    _module = "try_model"
    _styles = ("apps.css",)
    fields = traitlets.List().tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    answer = traitlets.Dict().tag(sync=True)
    ice = traitlets.Dict().tag(sync=True)
    attributions = traitlets.List().tag(sync=True)
    batch = traitlets.Dict().tag(sync=True)
    info = traitlets.Dict().tag(sync=True)
    busy = traitlets.Unicode("").tag(sync=True)

    def __init__(self, tryout: Tryout, **kwargs: Any) -> None:
        self._try = tryout
        t = tryout.info
        values = tryout.example()
        first_numeric = next((f.column for f in tryout.fields if f.kind == "numeric"),
                             tryout.fields[0].column)
        super().__init__(
            fields=[f.to_dict() for f in tryout.fields], values=values,
            info={"task": t.task, "label": t.label, "classes": [str(c) for c in t.classes],
                  "threshold": tryout.threshold, "run": tryout.run.id,
                  "eval_rows": tryout.eval.num_rows, "max_upload": MAX_UPLOAD_BYTES,
                  "ice_feature": first_numeric},
            **kwargs)
        self.on_msg(self._on_msg)
        self._answer(values, first_numeric)

    def _answer(self, values: dict[str, Any], feature: str | None = None) -> None:
        self.values = values
        self.answer = self._try.answer(values)
        self.attributions = self._try.attributions(values)
        self.ice = self._try.ice(values, feature or self.ice.get("feature")
                                 or self.info["ice_feature"])

    def _on_msg(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type")
        try:
            if kind == "answer":
                self._answer(dict(content.get("values") or {}), content.get("feature"))
            elif kind == "ice":
                self.ice = self._try.ice(dict(content.get("values") or self.values),
                                         str(content.get("feature")))
            elif kind == "example":
                row = content.get("row")
                self._answer(self._try.example(None if row in (None, "") else int(row)))
            elif kind == "score":
                data = base64.b64decode(content.get("content") or "")
                result = self._try.score_csv(data, str(content.get("name") or "upload.csv"))
                self.batch = {**{k: v for k, v in result.items() if k != "csv"},
                              "csv_b64": base64.b64encode(result["csv"].encode()).decode()}
        except WorkbenchError as err:
            if kind == "score":
                self.batch = {"error": err.message, "hint": err.hint}
            else:
                self.answer = {**self.answer, "error": err.message, "hint": err.hint}
        except ValueError as err:
            self.answer = {**self.answer, "error": str(err)}

    def static_html(self) -> str:
        a = self.answer or {}
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>"
                       for k, v in self.values.items())
        score = a.get("score")
        return ("<div class='wb'><div class='wb-title'>Try the model</div>"
                f"<p>Score {esc(f'{score:.3f}' if isinstance(score, float) else '–')} for:</p>"
                f"<table class='wb-table'>{rows}</table></div>")
