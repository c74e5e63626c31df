"""Try the model: a form from the schema and the statistics, an answer (from the model server
over REST when it serves this run's model, else in process from the run's export), how the
answer moves across one feature (an ICE curve), which features pushed it up or down, and
batch scoring of an uploaded CSV file.

Attribution method: **occlusion against the typical case**. For each feature, the feature's
value is replaced by its typical value (median, or most frequent category, from the training
split) and the change of the score is that feature's contribution. It needs nothing but the
exported ``serving_default`` signature (one batched call of ``features + 1`` rows), so it
explains exactly the model that is served, categorical inputs included. Integrated gradients
would need gradients through the in-model ``StringLookup`` vocabularies, which strings do not
have, so it could not attribute the categorical features at all.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench import stages
from workbench.errors import DataError, WorkbenchError
from workbench.export.contract import ModelInfo, feature_arrays
from workbench.project import Project
from workbench.runs.step import Step
from workbench.runs.store import Run

__all__ = ["MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS", "Field", "Tryout"]

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_ROWS = 20_000
ICE_POINTS = 25


@dataclass
class Field:
    column: str  # the data column (what the form and a CSV name it)
    input: str  # the model input
    kind: str  # numeric | categorical
    typical: Any
    choices: list[str] = field(default_factory=list)
    min: float | None = None  # the schema's domain (or the training data's range)
    max: float | None = None
    low: float | None = None  # 5th and 95th percentile of the training data
    high: float | None = None
    meaning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("column", "input", "kind", "typical", "choices",
                                              "min", "max", "low", "high", "meaning")}


def _schema_domains(step: Step) -> dict[str, dict[str, Any]]:
    """Per feature: the schema's min/max (int or float domain) or string values."""
    if not step.has(f"{stages.DATA_VALIDATION}/schema"):
        return {}
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = step.load(f"{stages.DATA_VALIDATION}/schema", message=schema_pb2.Schema)
    domains = {d.name: list(d.value) for d in schema.string_domain}
    out: dict[str, dict[str, Any]] = {}
    for f in schema.feature:
        d: dict[str, Any] = {}
        if f.HasField("int_domain"):
            if f.int_domain.HasField("min"):
                d["min"] = float(f.int_domain.min)
            if f.int_domain.HasField("max"):
                d["max"] = float(f.int_domain.max)
        if f.HasField("float_domain"):
            if f.float_domain.HasField("min"):
                d["min"] = float(f.float_domain.min)
            if f.float_domain.HasField("max"):
                d["max"] = float(f.float_domain.max)
        if f.HasField("domain") and f.domain in domains:
            d["choices"] = domains[f.domain]
        if f.HasField("string_domain"):
            d["choices"] = list(f.string_domain.value)
        out[f.name] = d
    return out


class Tryout:
    """The model of one run, ready to answer (load once per page)."""

    def __init__(self, run: Run, project: Project | None = None) -> None:
        import tensorflow as tf

        self.run = run
        self.project = project or Project.find()
        step = Step(run, stages.EVALUATE, "view")
        if not run.record().done(stages.EXPORT):
            raise WorkbenchError(f"run {run.id} has no exported model (04_export did not "
                                 "finish), so there is nothing to try",
                                 hint="pick a run that got through the export")
        self.info = ModelInfo.from_dict(step.load(f"{stages.TRAIN}/model_info"))
        self.export_dir = step.path(f"{stages.EXPORT}/saved_model")
        t0 = time.perf_counter()
        self._fn = tf.saved_model.load(str(self.export_dir)).signatures["serving_default"]
        self.load_seconds = time.perf_counter() - t0
        self.threshold = self._threshold(step)
        self.train = step.load(f"{stages.DATA_VALIDATION}/train")
        self.eval = step.load(f"{stages.DATA_VALIDATION}/eval")
        self.fields = self._fields(step)
        self._server = self._find_server()
        self.predict_rows({f.input: [f.typical] for f in self.fields}, by_input=True)  # warm up

    # -- the form ------------------------------------------------------------------------------
    def _threshold(self, step: Step) -> float | None:
        if self.info.task != "binary":
            return None
        from workbench.export.metadata import decision_threshold

        blessing = step.load("blessing") if step.has("blessing") else None
        evaluation = step.load("evaluation") if step.has("evaluation") else None
        return decision_threshold(blessing, evaluation, self.info)

    def _fields(self, step: Step) -> list[Field]:
        from workbench.apps.modelcard_spec import load_card_spec

        try:
            words = (load_card_spec(self.project)[0].get("features") or {})
        except WorkbenchError:
            words = {}
        domains = _schema_domains(step)
        out = []
        for f in self.info.features:
            col = self.train.column(f.column).to_numpy(zero_copy_only=False)
            dom = domains.get(f.column, {})
            if f.is_string or f.kind == "categorical":
                values, counts = np.unique(col.astype(str), return_counts=True)
                choices = dom.get("choices") or sorted(values.tolist())
                typical = str(values[np.argmax(counts)]) if len(values) else ""
                out.append(Field(f.column, f.name, "categorical", typical, choices,
                                 meaning=words.get(f.column)))
                continue
            x = col.astype(np.float64)
            x = x[np.isfinite(x)]
            if not len(x):
                x = np.zeros(1)
            typical = float(np.median(x))
            out.append(Field(f.column, f.name, "numeric", _round(typical),
                             min=dom.get("min", float(x.min())), max=dom.get("max", float(x.max())),
                             low=_round(float(np.percentile(x, 5))),
                             high=_round(float(np.percentile(x, 95))),
                             meaning=words.get(f.column)))
        return out

    def example(self, row: int | None = None) -> dict[str, Any]:
        """The typical case, or row ``row`` of the eval split (its values by column)."""
        if row is None:
            return {f.column: f.typical for f in self.fields}
        if not 0 <= row < self.eval.num_rows:
            raise DataError(f"row {row} is not in the eval split (rows 0 to "
                            f"{self.eval.num_rows - 1})", hint="pick a row in range")
        values = self.eval.slice(row, 1).to_pylist()[0]
        return {f.column: (_round(values[f.column]) if f.kind == "numeric"
                           else str(values[f.column])) for f in self.fields}

    def check(self, values: dict[str, Any]) -> list[str]:
        """Warnings for values outside what the schema allows or the model has seen."""
        warnings = []
        for f in self.fields:
            v = values.get(f.column)
            if f.kind == "numeric":
                try:
                    x = float(v)
                except (TypeError, ValueError):
                    warnings.append(f"{f.column}: {v!r} is not a number; treated as missing")
                    continue
                if (f.min is not None and x < f.min) or (f.max is not None and x > f.max):
                    warnings.append(f"{f.column} = {x:g} is outside the schema's range "
                                    f"{f.min:g} to {f.max:g}; the answer is less reliable")
            elif f.choices and str(v) not in f.choices:
                warnings.append(f"{f.column} = {v!r} is not a known value (known: "
                                f"{', '.join(f.choices[:8])}{' …' if len(f.choices) > 8 else ''})"
                                "; the model treats it as unknown")
        return warnings

    # -- predictions ---------------------------------------------------------------------------
    def _feed(self, values: dict[str, list[Any]], by_input: bool = False) -> dict[str, Any]:
        import tensorflow as tf

        out = {}
        for f in self.fields:
            raw = values[f.input if by_input else f.column]
            if f.kind == "numeric":
                arr = np.array([_float(v) for v in raw], dtype=np.float32)
            else:
                arr = np.array([str(v).encode() for v in raw], dtype=object)
            out[f.input] = tf.constant(arr)
        return out

    def predict_rows(self, values: dict[str, list[Any]], *, by_input: bool = False
                     ) -> np.ndarray:
        """Scores in process (binary: probability of the positive class; multiclass: the
        probabilities; regression: the value)."""
        out = self._fn(**self._feed(values, by_input))
        if "probabilities" in out:
            p = out["probabilities"].numpy()
            return p[:, 1] if self.info.task == "binary" else p
        return out["value"].numpy()

    def _find_server(self) -> dict[str, Any] | None:
        """The running server's REST address and the version that holds this run's model."""
        from workbench.apps.live import served_versions
        from workbench.serving.process import running
        from workbench.serving.repository import Repository

        try:
            handle = running(Repository(self.project.root / "serving"))
        except Exception as err:  # noqa: BLE001 - a broken pid file means: no server
            log.info("no server: %s", err)
            return None
        if handle is None:
            return None
        mine = [v for v in served_versions(self.project) if v["run_id"] == self.run.id]
        if not mine:
            return None
        return {"handle": handle, "model": mine[0]["model"], "version": mine[0]["version"]}

    def instance(self, values: dict[str, Any]) -> dict[str, Any]:
        """One REST instance: model inputs by name, typed as the signature takes them."""
        return {f.input: (_float(values.get(f.column)) if f.kind == "numeric"
                          else str(values.get(f.column, ""))) for f in self.fields}

    def answer(self, values: dict[str, Any]) -> dict[str, Any]:
        """The model's answer to one case, with how it was obtained."""
        t0 = time.perf_counter()
        warnings = self.check(values)
        instance = self.instance(values)
        scores = self.predict_rows({f.column: [values.get(f.column)] for f in self.fields})
        multi = self.info.task == "multiclass"
        local = None if multi else float(np.ravel(scores)[0])
        local_probs = scores[0].tolist() if multi else None
        body = {"instances": [instance]}
        source, served, request = "in process", None, None
        if self._server is not None:
            s = self._server
            path = f"/v1/models/{s['model']}/versions/{s['version']}:predict"
            request = {"url": s["handle"].rest_url + path, "body": body}
            try:
                rest = s["handle"].rest(timeout=5.0)
                served = rest.predict(s["model"], instances=[instance], version=s["version"])[0]
                source = f"the model server (REST, {s['model']} version {s['version']})"
            except WorkbenchError as err:
                warnings.append(f"the model server did not answer ({err.message}); answered "
                                "in process instead")
        else:
            warnings.append("No model server is serving this run's model right now, so the "
                            "page answers in process, from the run's exported model (the same "
                            "SavedModel the server would load).")
        score = local
        if isinstance(served, dict) and "probabilities" in served and self.info.task == "binary":
            score = float(served["probabilities"][1])
        elif isinstance(served, dict) and "value" in served:
            score = float(served["value"])
        url = (request or {}).get("url") or ("http://127.0.0.1:8501/v1/models/<model>:predict")
        return {
            "score": score, "local_score": local, "probabilities": local_probs,
            "served": served, "source": source, "warnings": warnings,
            "decision": self.decision(score),
            "request": json.dumps(body, indent=1),
            "curl": (f"curl -s -X POST {url} -H 'Content-Type: application/json' "
                     f"-d '{json.dumps(body)}'"),
            "ms": round((time.perf_counter() - t0) * 1e3, 1),
        }

    def decision(self, score: float | None) -> dict[str, Any]:
        if score is None:
            return {}
        if self.info.task == "binary" and self.threshold is not None:
            flagged = score >= self.threshold
            positive = str(self.info.classes[1])
            return {"flagged": bool(flagged), "threshold": self.threshold,
                    "class": positive if flagged else str(self.info.classes[0])}
        return {}

    def ice(self, values: dict[str, Any], column: str) -> dict[str, Any]:
        """How the score moves across ``column``'s range with the rest of the case fixed."""
        f = next((x for x in self.fields if x.column == column), None)
        if f is None:
            raise DataError(f"no feature '{column}'",
                            hint=f"features: {', '.join(x.column for x in self.fields)}")
        if f.kind == "numeric":
            lo = f.low if f.low is not None else f.min
            hi = f.high if f.high is not None else f.max
            grid = sorted(set(np.linspace(lo, hi, ICE_POINTS).round(6).tolist())
                          | {_float(values.get(column))} - {math.nan})
            grid = [g for g in grid if math.isfinite(g)]
        else:
            grid = list(f.choices)
        rows = {c.column: [values.get(c.column)] * len(grid) for c in self.fields}
        rows[column] = grid
        scores = self.predict_rows(rows)
        if self.info.task == "multiclass":
            scores = scores.max(axis=1)
        return {"feature": column, "kind": f.kind, "x": grid,
                "y": [float(s) for s in np.ravel(scores)],
                "current": values.get(column), "threshold": self.threshold}

    def attributions(self, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Occlusion against the typical case (see the module docstring), largest first."""
        n = len(self.fields)
        rows = {c.column: [values.get(c.column)] * (n + 1) for c in self.fields}
        for i, f in enumerate(self.fields):
            rows[f.column][i + 1] = f.typical
        scores = self.predict_rows(rows)
        if self.info.task == "multiclass":
            top = int(np.argmax(scores[0]))
            scores = scores[:, top]
        scores = np.ravel(scores)
        out = [{"feature": f.column, "value": values.get(f.column), "typical": f.typical,
                "contribution": float(scores[0] - scores[i + 1])}
               for i, f in enumerate(self.fields)]
        return sorted(out, key=lambda a: -abs(a["contribution"]))

    # -- batch ---------------------------------------------------------------------------------
    def score_csv(self, content: bytes, name: str = "upload.csv") -> dict[str, Any]:
        """Predictions for every row of an uploaded CSV (read like ingest reads files)."""
        from workbench.data.readers import read_data

        if len(content) > MAX_UPLOAD_BYTES:
            raise DataError(f"{name} is {len(content) / 1e6:.1f} MB; the page scores files up "
                            f"to {MAX_UPLOAD_BYTES / 1e6:.0f} MB",
                            hint="split the file, or score it with the model server's REST "
                                 "API")
        with tempfile.TemporaryDirectory(prefix="wb-upload-") as tmp:
            path = Path(tmp) / (Path(name).stem + ".csv")
            path.write_bytes(content)
            try:
                table = read_data(path)
            except DataError as err:
                raise DataError(f"{name} could not be read as a table: {err.message}",
                                hint=err.hint or "upload a CSV file with a header row") from err
        if table.num_rows == 0:
            raise DataError(f"{name} has no rows", hint="upload a CSV with a header and rows")
        if table.num_rows > MAX_UPLOAD_ROWS:
            raise DataError(f"{name} has {table.num_rows:,} rows; the page scores up to "
                            f"{MAX_UPLOAD_ROWS:,}", hint="split the file")
        missing = [f.column for f in self.fields if f.column not in table.column_names]
        if missing:
            raise DataError(f"{name} lacks the column(s) the model needs: "
                            f"{', '.join(missing)}",
                            hint="the header must name every feature: "
                                 + ", ".join(f.column for f in self.fields))
        arrays = feature_arrays(table, self.info, source=name)
        import tensorflow as tf

        out = self._fn(**{k: tf.constant(v) for k, v in arrays.items()})
        if self.info.task == "binary":
            scores = out["probabilities"].numpy()[:, 1]
        elif self.info.task == "multiclass":
            scores = out["probabilities"].numpy().max(axis=1)
        else:
            scores = out["value"].numpy()
        classes = [c.decode() for c in out["classes"].numpy()] if "classes" in out else None
        key = self.info.extra.get("key")
        key = key if key in table.column_names else None
        rows = []
        for i in range(table.num_rows):
            row = {"row": i + 1, "score": round(float(scores[i]), 6)}
            if key:
                row[key] = table.column(key)[i].as_py()
            if classes:
                row["decision"] = classes[i]
            rows.append(row)
        columns = list(rows[0])
        lines = [",".join(columns)] + [",".join(_csv_cell(r.get(c)) for c in columns)
                                       for r in rows]
        return {"name": name, "rows": rows[:200], "total": len(rows), "columns": columns,
                "csv": "\n".join(lines) + "\n",
                "flagged": sum(1 for r in rows if r.get("decision") == str(self.info.classes[-1]))
                if classes and self.info.task == "binary" else None}


def _csv_cell(v: Any) -> str:
    text = "" if v is None else str(v)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _round(x: Any) -> Any:
    if isinstance(x, float) and math.isfinite(x):
        return float(f"{x:.6g}")
    return x
