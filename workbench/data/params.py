"""The parameters of stage 01 (data validation), declared once (see :mod:`workbench.params`)."""

from __future__ import annotations

from workbench.params import StageParams, param
from workbench.stages import DATA_VALIDATION

__all__ = ["DataValidationParams"]


class DataValidationParams(StageParams):
    STAGE = DATA_VALIDATION

    step: str = param(DATA_VALIDATION, "step name inside the run")
    dataset: str = param("fraud", "bundled dataset used when data_path is empty")
    data_path: str = param("", "a CSV, Parquet or TFRecord (tf.Example) file to ingest instead")
    rows: int = param(20000, "rows to generate (generated datasets only)")
    faults: list[str] = param([], "fraud generator faults: negative_ages, unseen_categories, "
                              "missing_values, amount_shift")
    fault_fraction: float = param(0.05, "share of rows a fault touches")
    label: str = param("", "label column; empty: the bundled dataset's own")
    task: str = param("", "binary, multiclass or regression; empty: inferred from the label",
                      choices=("", "binary", "multiclass", "regression"))
    key_column: str = param("", "split by the hash of this column; empty: the dataset's key or "
                            "row order")
    eval_fraction: float = param(0.2, "share of rows in the eval split")
    seed: int = param(42, "seed of generation and split")
    row_filter: str = param("", 'keep only rows where this SQL condition holds, e.g. '
                            '"amount > 0"; empty: all rows')
    schema_path: str = param("", "curated schema.pbtxt (e.g. written by TFDV) to validate "
                             "against; empty: bundled, baseline or inferred")
    serving_data_path: str = param("", "serving data file to check for training/serving skew; "
                                   "empty: no skew check")
    slice_by: str = param("", "categorical column whose values get their own statistics; "
                          "empty: no slices")
    drift_threshold: float = param(0.1, "drift threshold of inferred schemas (L-infinity "
                                   "categorical, Jensen-Shannon numeric)")
    skew_threshold: float = param(0.1, "skew threshold of inferred schemas (same metrics)")
    infer_ranges: bool = param(False, "add observed min/max ranges to the inferred schema")
    warning_anomalies: list[str] = param([], "anomaly types reported as warnings instead of "
                                         'errors, e.g. ["SCHEMA_NEW_COLUMN"]')

    def check(self) -> None:
        from tensorflow_metadata.proto.v0 import anomalies_pb2

        for name in ("drift_threshold", "skew_threshold"):
            if not 0 <= getattr(self, name) <= 1:
                raise self.fail(name, "must be between 0 and 1",
                                "L-infinity and Jensen-Shannon distances lie in [0, 1]; "
                                "0.1 is a common threshold")
        known = set(anomalies_pb2.AnomalyInfo.Type.keys())
        unknown = [w for w in self.warning_anomalies if w not in known]
        if unknown:
            raise self.fail("warning_anomalies",
                            f"names unknown anomaly types: {', '.join(unknown)}",
                            "use TFDV's type names, e.g. SCHEMA_NEW_COLUMN, "
                            "ENUM_TYPE_UNEXPECTED_STRING_VALUES, COMPARATOR_L_INFTY_HIGH")
