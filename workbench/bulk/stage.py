"""The optional ``07_bulk_inference`` stage: score ``score_data_path`` (default: the run's eval
split) with the run's exported model, as TFX's BulkInferrer does after the export.

Gate ``bulk_inference``: at most ``max_rejected`` of the rows rejected. Artifacts:
``predictions`` and ``rejects`` (files in ``output_format``), ``bulk_inference``
(json: the summary with rows, rows/s, the prediction distribution, reject reasons and the
model's version, run id and variant). Metrics: rows, scored, rejected, rows_per_s.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.bulk.core import predict
from workbench.bulk.params import BulkInferenceParams
from workbench.errors import WorkbenchError
from workbench.runs.step import Step
from workbench.stages import DATA_VALIDATION

__all__ = ["BulkInference", "BulkInferenceParams", "score_data"]


@dataclass
class BulkInference:
    """The stage's result: its summary and the rejected rows shown in the view."""

    summary: dict[str, Any]
    rejects_preview: list[dict[str, Any]]

    def html(self) -> str:
        from workbench.bulk.view import summary_html

        return summary_html(self.summary, self.rejects_preview)


def _preview(path: Path, fmt: str, rows: int = 20) -> list[dict[str, Any]]:
    import pyarrow as pa

    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        table = next(pf.iter_batches(batch_size=rows), None)
        table = pa.Table.from_batches([table]) if table is not None else None
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={"key": pa.string(), "reason": pa.string(), "values": pa.string()}))
    else:
        import pyarrow.json as pajson

        table = pajson.read_json(path) if path.stat().st_size else None
    return table.slice(0, rows).to_pylist() if table is not None else []


def score_data(step: Step, params: BulkInferenceParams | None = None) -> BulkInference:
    """Compute mode: score and register the artifacts. View mode: load what the step saved."""
    params = params or BulkInferenceParams()
    if not step.computing:
        return BulkInference(step.load("bulk_inference"), step.load("rejects_preview"))
    data = params.score_data_path or str(step.path(f"{DATA_VALIDATION}/eval"))
    if params.score_data_path and not Path(data).is_absolute() and not Path(data).exists():
        from workbench.project import Project

        try:  # a path relative to the project (workbench.yaml's folder)
            data = str(Project.find().root / data)
        except WorkbenchError:
            pass  # outside a project the path stays as given
    suffix = "." + params.output_format
    with tempfile.TemporaryDirectory(dir=step.run.path, prefix=".bulk-") as tmp:
        out = Path(tmp) / f"predictions{suffix}"
        result = predict(step.run.path, data, out, format=params.output_format,
                         variant=params.variant, keep_columns=params.keep_columns,
                         batch_size=params.batch_size, allow_unblessed=params.allow_unblessed,
                         on_missing="reject" if params.reject_missing else "impute",
                         step=step)
        preview = _preview(result.rejects, params.output_format)
        with step.writing("predictions", suffix=suffix, rows=result.scored) as path:
            shutil.move(result.out, path)
        with step.writing("rejects", suffix=suffix, rows=result.rejected) as path:
            shutil.move(result.rejects, path)
    summary = {**result.summary(), "out": f"{step.name}/predictions{suffix}",
               "rejects": f"{step.name}/rejects{suffix}",
               "data": params.score_data_path or f"{DATA_VALIDATION}/eval"}
    step.save("bulk_inference", summary)
    step.save("rejects_preview", preview)
    step.log_metrics(rows=result.rows, scored=result.scored, rejected=result.rejected,
                     rows_per_s=round(result.rows_per_s, 1),
                     unblessed_override=result.model.get("workbench.unblessed_override")
                     == "true")
    share = result.rejected / result.rows if result.rows else 0.0
    step.gate("bulk_inference", share <= params.max_rejected,
              [] if share <= params.max_rejected else
              [f"{result.rejected:,} of {result.rows:,} rows ({share:.2%}) could not be scored; "
               f"max_rejected allows {params.max_rejected:.2%} (reasons in "
               f"{step.name}/rejects{suffix})"], rejected=result.rejected, rows=result.rows)
    return BulkInference(summary, preview)
