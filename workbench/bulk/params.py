"""The parameters of the optional bulk-inference stage, declared once (see
:mod:`workbench.params`)."""

from __future__ import annotations

from workbench.params import StageParams, param

__all__ = ["BULK_INFERENCE", "BulkInferenceParams"]

#: the stage's name: optional, after 04_export (TFX's BulkInferrer position)
BULK_INFERENCE = "07_bulk_inference"


class BulkInferenceParams(StageParams):
    STAGE = BULK_INFERENCE

    step: str = param(BULK_INFERENCE, "step name inside the run")
    score_data_path: str = param("", "file, folder or glob to score; empty: the run's eval "
                                 "split (01_data_validation/eval)")
    output_format: str = param("parquet", "predictions file format",
                               choices=("parquet", "csv", "jsonl"))
    variant: str = param("savedmodel", 'model to score with: "savedmodel" or "tflite:NAME" (a '
                         "05_tflite variant)")
    keep_columns: list[str] = param([], "input columns copied into the predictions beside the "
                                    "key column")
    batch_size: int = param(8192, "rows per model call")
    allow_unblessed: bool = param(False, "score with a model 03_evaluate did not bless (the "
                                  "override is recorded)")
    reject_missing: bool = param(False, "reject rows with a missing feature value instead of "
                                 "letting the model impute it")
    max_rejected: float = param(1.0, "gate: the largest share of rows that may be rejected (0 "
                                "to 1; 1: the gate never fails)")

    def check(self) -> None:
        if not 0 <= self.max_rejected <= 1:
            raise self.fail("max_rejected", "is a share of rows, between 0 and 1",
                            "e.g. max_rejected=0.01 (at most 1 % rejected)")
        if self.batch_size < 1:
            raise self.fail("batch_size", "must be at least 1", "e.g. batch_size=8192")
        if self.variant != "savedmodel" and not self.variant.startswith("tflite:"):
            raise self.fail("variant", 'is neither "savedmodel" nor "tflite:NAME"',
                            'e.g. variant="tflite:float16"')
