"""Schema editor: value domains, ranges, required-ness and drift/skew thresholds of a schema,
saved back to ``schema.pbtxt`` by the Save button (read-only in view mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets
from tensorflow_metadata.proto.v0 import schema_pb2

from workbench.data.schema import write_schema
from workbench.data.views import apply_schema_rows, schema_rows
from workbench.errors import WorkbenchError
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["SchemaEditor"]


def _cell(x: Any) -> str:
    if x is None or x == "":
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, list):
        shown = ", ".join(str(v) for v in x[:12])
        return shown + (f" … (+{len(x) - 12})" if len(x) > 12 else "")
    return str(x)


class SchemaEditor(WorkbenchWidget):
    """Edit a schema's features; :meth:`save` (or the Save button) writes ``path``."""

    _module = "schema_editor"
    _styles = ("data_validation.css",)
    rows = traitlets.List().tag(sync=True)
    editable = traitlets.Bool(False).tag(sync=True)
    path = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    source = traitlets.Unicode("").tag(sync=True)

    def __init__(self, schema: schema_pb2.Schema, *, path: str | Path | None = None,
                 editable: bool = False, source: str = "", **kwargs: Any) -> None:
        super().__init__(rows=schema_rows(schema), editable=bool(editable and path),
                         path=str(path or ""), source=source, **kwargs)
        self.schema = schema
        self.on_msg(self._on_message)

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("event") == "save":
            self.save(content.get("rows"))

    def save(self, rows: list[dict[str, Any]] | None = None) -> Path | None:
        """Apply edited rows (default: the current ones) and write the schema to ``path``."""
        if not self.editable:
            self.status = "read-only: this view shows a finished run"
            return None
        try:
            schema = apply_schema_rows(self.schema, rows if rows is not None else self.rows)
            written = write_schema(schema, self.path)
        except WorkbenchError as err:
            self.status = f"not saved: {err.message}"
            return None
        except OSError as err:
            self.status = f"not saved: cannot write {self.path}: {err.strerror}"
            return None
        self.schema = schema
        self.rows = schema_rows(schema)
        self.status = f"saved to {written}; pass schema_path='{written}' to validate with it"
        return written

    def static_html(self) -> str:
        heads = ["feature", "type", "required", "min", "max", "values", "drift", "skew",
                 "environments"]
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in (
                r["name"], r["type"], r["required"], r["min"], r["max"], r["values"],
                r["drift"], r["skew"], r["environments"])) + "</tr>" for r in self.rows)
        where = f" · {esc(self.source)}" if self.source else ""
        return (f"<div class='wb wb-schema'><div class='wb-title'>Schema ({len(self.rows)} "
                f"features){where}</div><table class='wb-table'><tr>"
                + "".join(f"<th>{h}</th>" for h in heads) + f"</tr>{body}</table></div>")
