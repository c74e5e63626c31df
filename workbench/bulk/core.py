"""``workbench.predict``: score a file of any size with an exported model, in bounded memory.

One pass over the input in batches: read (the stage-01 readers and names), convert each
feature per row, score the rows that convert, write their predictions, and write every other
row to the rejects file with its reason. Reading and converting the next batch runs in a
thread while the model scores the current one. A batch the model fails on is split until the
failing rows are found, so one bad row costs its own rejection and never the job.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.bulk.model import SAVEDMODEL, Scorer, ScoringModel, resolve_model
from workbench.bulk.source import ScoringSource, coerce_features
from workbench.bulk.writing import TableWriter, check_output, format_for, rejects_path
from workbench.errors import DataError, ParameterError
from workbench.runs.atomic import atomic_write_json
from workbench.runs.step import Step
from workbench.runs.store import RunStore

__all__ = ["PredictResult", "predict"]

log = logging.getLogger(__name__)

DEFAULT_BATCH = 8192
#: output columns the job adds; an input column of the same name cannot be kept
ROW = "row"
REJECT_COLUMNS = ("row", "key", "reason", "values")
Progress = Callable[[int, int | None], None]


@dataclass
class PredictResult:
    """What a bulk scoring job wrote and measured."""

    out: Path
    rejects: Path
    meta: Path
    rows: int
    scored: int
    rejected: int
    seconds: float
    distribution: dict[str, Any]
    reject_reasons: dict[str, int]
    model: dict[str, str]
    columns: list[str] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {"out": str(self.out), "rejects": str(self.rejects), "rows": self.rows,
                "scored": self.scored, "rejected": self.rejected,
                "seconds": round(self.seconds, 3), "rows_per_s": round(self.rows_per_s, 1),
                "distribution": self.distribution, "reject_reasons": self.reject_reasons,
                "model": self.model, "columns": self.columns}

    def lines(self) -> list[str]:
        """The summary as text lines (CLI and notebook)."""
        out = [f"scored {self.scored:,} of {self.rows:,} rows in {self.seconds:.1f} s "
               f"({self.rows_per_s:,.0f} rows/s) → {self.out}",
               f"rejected {self.rejected:,} rows → {self.rejects}"]
        out += [f"  {n:,} × {why}" for why, n in self.reject_reasons.items()]
        d = self.distribution
        if "classes" in d:
            shares = ", ".join(f"{c}: {n:,} ({n / max(self.scored, 1):.1%})"
                               for c, n in d["classes"].items())
            out.append(f"predicted classes: {shares}")
        if "value" in d:
            v = d["value"]
            out.append("predicted value: " + ", ".join(f"{k} {v[k]:.4g}" for k in
                                                       ("min", "p50", "mean", "max") if
                                                       v.get(k) is not None))
        model = self.model
        out.append(f"model version {model['workbench.model_version']} (run "
                   f"{model['workbench.run_id'] or 'unknown'}, {model['workbench.variant']})")
        return out


def predict(model: str | Path, data: str | Path, out: str | Path, *, format: str | None = None,
            variant: str = SAVEDMODEL, keep_columns: Sequence[str] = (),
            batch_size: int = DEFAULT_BATCH, allow_unblessed: bool = False,
            on_missing: str = "impute", store: RunStore | None = None,
            step: Step | None = None, progress: Progress | None = None) -> PredictResult:
    """Score ``data`` (a file, folder or glob) with ``model`` (a run id, run folder or
    SavedModel folder; ``step``: the run of a stage's own step) into ``out``.

    ``variant``: ``"savedmodel"`` or ``"tflite:NAME"`` (a variant of the run's 05_tflite).
    ``keep_columns``: input columns copied into the output (beside ``row`` and the key column).
    ``on_missing``: ``"impute"`` feeds a missing value as the model contract says (the model
    imputes it, as in training); ``"reject"`` rejects the row. A model 03_evaluate did not
    bless is refused unless ``allow_unblessed`` (recorded in the output's metadata)."""
    out = Path(out)
    fmt = format_for(out, format)
    if batch_size < 1:
        raise ParameterError(f"batch size {batch_size} is not positive",
                             hint="e.g. --batch-size 8192", parameter="batch_size")
    if on_missing not in ("impute", "reject"):
        raise ParameterError(f"on_missing '{on_missing}' is neither 'impute' nor 'reject'",
                             hint="e.g. on_missing='impute'", parameter="on_missing")
    check_output(out)
    if store is None and step is None and not (Path(model) / "saved_model.pb").is_file():
        from workbench.project import Project

        store = Project.find().store()
    resolved = resolve_model(model, variant=variant, store=store, step=step)
    meta = resolved.metadata()
    if resolved.blessed is not True:
        who = f"run {resolved.run_id}" if resolved.run_id else str(model)
        if not allow_unblessed:
            raise ParameterError(
                f"the model of {who} is not blessed: 03_evaluate did not bless it"
                + (" (or never ran)" if resolved.blessed is None else ""),
                hint="score a blessed run, or pass --allow-unblessed (allow_unblessed=True) to "
                "score it anyway; the override is recorded in the output's metadata",
                parameter="allow_unblessed")
        log.warning("scoring with the unblessed model of %s (allow_unblessed)", who)
        meta["workbench.unblessed_override"] = "true"
    src = ScoringSource.open(data, resolved.read_overrides)
    plan = _plan(src, resolved, keep_columns)
    scorer = resolved.scorer()
    return _run(src, resolved, plan, scorer, out, fmt, meta, batch_size, on_missing,
                progress)


@dataclass
class _Plan:
    features: tuple  # Features with the source's safe column names
    key: str | None
    keep: list[str]


def _plan(src: ScoringSource, model: ScoringModel, keep_columns: Sequence[str]) -> _Plan:
    import dataclasses

    features, missing = [], []
    for f in model.features:
        try:
            features.append(dataclasses.replace(f, column=src.resolve(f.column, "data")))
        except ParameterError:
            missing.append(f.column)
    if missing:
        have = ", ".join(c.original for c in src.columns)
        raise DataError(f"{src.source.display} lacks {len(missing)} of the model's "
                        f"{len(model.features)} input column(s): {', '.join(missing)}",
                        hint=f"add them to the file (it has: {have})",
                        file=src.source.display, column=missing[0])
    key = None
    if model.key:
        try:
            key = src.resolve(model.key, "key")
        except ParameterError:
            log.warning("%s has no key column '%s': rows are identified by their number",
                        src.source.display, model.key)
    keep = [src.resolve(name, "keep_columns") for name in keep_columns]
    taken = {ROW, *_prediction_names(model)}
    clash = sorted(taken & set(keep + ([key] if key else [])))
    if clash:
        raise ParameterError(f"input column(s) {', '.join(clash)} have the names of output "
                             "columns", hint="rename them in the file, or do not keep them",
                             parameter="keep_columns")
    keep = [k for k in dict.fromkeys(keep) if k != key]
    return _Plan(tuple(features), key, keep)


def _prediction_names(model: ScoringModel) -> list[str]:
    info = model.info
    if not info.is_classification:
        return ["prediction"]
    return ["predicted_class"] + [f"probability_{c}" for c in info.classes]


def _predictions(model: ScoringModel, outputs: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    info = model.info
    if not info.is_classification:
        return {"prediction": pa.array(np.asarray(outputs["value"], np.float32).reshape(-1))}
    probs = np.asarray(outputs["probabilities"], np.float32)
    classes = np.array(info.classes, dtype=object)
    cols = {"predicted_class": pa.array(classes[np.asarray(outputs["class_ids"])],
                                        pa.string())}
    for i, c in enumerate(info.classes):
        cols[f"probability_{c}"] = pa.array(probs[:, i])
    return cols


def _score(scorer: Scorer, arrays: dict[str, np.ndarray], rows: np.ndarray,
           failed: dict[int, str]) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """Score ``rows`` (indices into ``arrays``); a failing call is split in halves until the
    failing rows are isolated (their reasons go to ``failed``). Returns the rows scored and
    their outputs."""
    if len(rows) == 0:
        return rows, None
    try:
        return rows, scorer({k: v[rows] for k, v in arrays.items()})
    except Exception as err:  # noqa: BLE001 - any model failure rejects rows, not the job
        if len(rows) == 1:
            text = str(getattr(err, "message", err)).strip().splitlines()
            failed[int(rows[0])] = f"the model failed on this row: {type(err).__name__}: " \
                f"{(text[0] if text else '')[:200]}"
            return rows[:0], None
        half = len(rows) // 2
        parts = [_score(scorer, arrays, part, failed) for part in (rows[:half], rows[half:])]
        kept = [(r, o) for r, o in parts if o is not None]
        if not kept:
            return rows[:0], None
        return (np.concatenate([r for r, _ in kept]),
                {k: np.concatenate([o[k] for _, o in kept]) for k in kept[0][1]})


def _prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``items`` produced in a thread, at most ``depth`` ahead (memory stays bounded)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", end))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            q.put(("error", err))

    thread = threading.Thread(target=produce, name="workbench-predict-read", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)


class _Distribution:
    def __init__(self, model: ScoringModel) -> None:
        self.info = model.info
        self.classes: Counter = Counter()
        self.hist = np.zeros(20, dtype=np.int64)
        self.sample: list[np.ndarray] = []
        self.n = 0
        self.total = 0.0
        self.lo = np.inf
        self.hi = -np.inf
        self.rng = np.random.default_rng(0)

    def add(self, outputs: dict[str, np.ndarray]) -> None:
        if self.info.is_classification:
            ids = np.asarray(outputs["class_ids"])
            for i, n in zip(*np.unique(ids, return_counts=True), strict=True):
                self.classes[self.info.classes[int(i)]] += int(n)
            if self.info.task == "binary":
                p = np.asarray(outputs["probabilities"])[:, 1]
                self.hist += np.histogram(p, bins=20, range=(0.0, 1.0))[0]
            return
        v = np.asarray(outputs["value"], np.float64).reshape(-1)
        finite = v[np.isfinite(v)]
        if len(finite):
            self.n += len(finite)
            self.total += float(finite.sum())
            self.lo, self.hi = min(self.lo, finite.min()), max(self.hi, finite.max())
            keep = max(1, int(len(finite) * 0.05))
            self.sample.append(self.rng.choice(finite, size=min(keep, len(finite)),
                                               replace=False))

    def to_dict(self) -> dict[str, Any]:
        if self.info.is_classification:
            out: dict[str, Any] = {"classes": {c: self.classes.get(c, 0)
                                               for c in self.info.classes}}
            if self.info.task == "binary":
                out["probability_histogram"] = {
                    "class": self.info.classes[1], "edges": np.linspace(0, 1, 21).round(2)
                    .tolist(), "counts": self.hist.tolist()}
            return out
        if not self.n:
            return {"value": {"count": 0}}
        sample = np.concatenate(self.sample)
        return {"value": {"count": self.n, "mean": self.total / self.n, "min": float(self.lo),
                          "p10": float(np.quantile(sample, 0.1)),
                          "p50": float(np.quantile(sample, 0.5)),
                          "p90": float(np.quantile(sample, 0.9)), "max": float(self.hi)}}


def _reason_kind(reason: str) -> str:
    return re.sub(r" is (b?'.*?'|\S+), ", " is …, ", reason)


def _values_json(table: pa.Table, features: tuple, rows: np.ndarray) -> list[str]:
    cols = {f.column: table.column(f.column).take(pa.array(rows)).to_pylist() for f in features}
    return [json.dumps({c: v[i] for c, v in cols.items()}, default=str, ensure_ascii=False)
            for i in range(len(rows))]


def _run(src: ScoringSource, model: ScoringModel, plan: _Plan, scorer: Scorer, out: Path,
         fmt: str, meta: dict[str, str], batch_size: int, on_missing: str,
         progress: Progress | None) -> PredictResult:
    started = time.perf_counter()
    rejects_file = rejects_path(out, fmt)
    total = src.rows_hint()
    writer: TableWriter | None = None
    rejects = TableWriter(rejects_file, fmt, pa.schema(
        [(ROW, pa.int64()), ("key", pa.string()), ("reason", pa.string()),
         ("values", pa.string())]), meta)
    dist = _Distribution(model)
    reasons: Counter = Counter()
    rows = scored = 0
    pred_names = _prediction_names(model)

    def prepared() -> Iterator[Any]:
        for batch in src.batches(batch_size):
            arrays, good, why = coerce_features(
                batch.table, plan.features, number_format=src.number_format,
                null_values=src.null_values, on_missing=on_missing,
                date_formats=src.date_formats)
            yield batch, arrays, good, why

    try:
        for batch, arrays, good, why in _prefetch(prepared()):
            table = batch.table
            n = table.num_rows
            failed: dict[int, str] = {}
            done, outputs = _score(scorer, arrays, np.flatnonzero(good), failed)
            if outputs is not None:
                cols = {ROW: pa.array(np.arange(n, dtype=np.int64)[done] + batch.first_row)}
                take = pa.array(done)
                for name in ([plan.key] if plan.key else []) + plan.keep:
                    cols[name] = table.column(name).take(take)
                cols.update(_predictions(model, outputs))
                part = pa.table(cols)
                if writer is None:
                    writer = TableWriter(out, fmt, part.schema, meta)
                writer.write(part)
                dist.add(outputs)
                scored += len(done)
            bad = np.flatnonzero(~good)
            for r, text in failed.items():
                why[r] = text
            bad = np.sort(np.concatenate([bad, np.fromiter(failed, dtype=np.int64,
                                                           count=len(failed))]))
            if len(bad):
                texts = [why[r] or "not scored" for r in bad]
                reasons.update(_reason_kind(t) for t in texts)
                keys = (table.column(plan.key).take(pa.array(bad)).cast(pa.string())
                        if plan.key else pa.nulls(len(bad), pa.string()))
                rejects.write(pa.table({ROW: pa.array(bad + batch.first_row, pa.int64()),
                                        "key": keys, "reason": pa.array(texts, pa.string()),
                                        "values": pa.array(_values_json(table, plan.features,
                                                                        bad), pa.string())}))
            rows += n
            if progress is not None:
                progress(rows, total)
        if writer is None:  # no row scored: an empty file with the output's columns
            schema = pa.schema([(ROW, pa.int64())] + [(c, pa.string()) for c in
                                                      ([plan.key] if plan.key else [])
                                                      + plan.keep]
                               + [(c, pa.string() if c == "predicted_class" else pa.float32())
                                  for c in pred_names])
            writer = TableWriter(out, fmt, schema, meta)
    except BaseException:
        if writer is not None:
            writer.abort()
        rejects.abort()
        raise
    seconds = time.perf_counter() - started
    result = PredictResult(out, rejects_file, out.with_name(out.name + ".meta.json"), rows,
                           scored, rows - scored, seconds, dist.to_dict(),
                           dict(reasons.most_common(20)), meta, writer.schema.names)
    writer.commit()
    rejects.commit()
    atomic_write_json(result.meta, {**result.summary(), "model": meta})
    log.info("scored %d of %d rows in %.1f s", scored, rows, seconds)
    return result
