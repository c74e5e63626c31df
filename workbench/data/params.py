"""The parameters of stage 01 (data validation), declared once (see :mod:`workbench.params`)."""

from __future__ import annotations

from typing import Any, ClassVar

from workbench.params import StageParams, param
from workbench.stages import DATA_VALIDATION

__all__ = ["DataValidationParams"]


class DataValidationParams(StageParams):
    STAGE = DATA_VALIDATION

    step: str = param(DATA_VALIDATION, "step name inside the run")
    dataset: str = param("fraud", "bundled dataset used when data_path is empty")
    data_path: str = param("", "a file (CSV, TSV, .gz/.zst, JSON Lines, .xlsx, Parquet, TFRecord), "
                           "folder or glob of part files to ingest instead")
    delimiter: str = param("", "CSV field delimiter: , ; | or tab; empty: detected")
    quote_char: str = param("", "CSV quote character; empty: detected")
    encoding: str = param("", "text encoding, e.g. utf-8, utf-16, cp1252; empty: detected")
    decimal: str = param("", "decimal separator of numbers: . or ,; empty: detected")
    thousands: str = param("", "thousands separator: . , ' space or none; empty: detected")
    null_values: list[str] = param([], "tokens that mean a missing value; empty: detected "
                                   "(empty, NA, N/A, null, -, ?)")
    true_values: list[str] = param([], "tokens that mean true, e.g. [\"yes\"]; empty: detected")
    false_values: list[str] = param([], "tokens that mean false, e.g. [\"no\"]; empty: "
                                    "detected")
    sheet: str = param("", "Excel sheet to read (name or 1-based number); empty: the only sheet "
                       "with data")
    date_format: str = param("", "format of date columns, e.g. dd/mm/yyyy or %d/%m/%Y; empty: "
                             "detected")
    feature_roles: dict[str, str] = param({}, 'column roles, e.g. {"Transaction ID": "id", '
                                          '"notes": "ignore"} (id, ignore, numeric, '
                                          "categorical, datetime, text); empty: inferred")
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
    time_split: str = param("", 'a datetime column: older rows train, the newest eval_fraction '
                            'evaluate; "auto": the only datetime column; empty: by key or at '
                            "random")
    seed: int = param(42, "seed of generation and split")
    row_filter: str = param("", 'keep only rows where this SQL condition holds, e.g. '
                            '"amount > 0"; empty: all rows')
    schema_path: str = param("", "curated schema.pbtxt (e.g. written by TFDV) to validate "
                             "against; empty: bundled, baseline or inferred")
    serving_data_path: str = param("", "serving data (a file, or a folder of the model "
                                   "server's request logs) to check for training/serving "
                                   "skew; empty: no skew check")
    serving_model: str = param("", "model whose request logs serving_data_path holds; empty: "
                               "the model 06_serving serves this data as")
    engine: str = param("local", "where statistics are computed: local (this process) or beam "
                        "(an Apache Beam pipeline; pip install 'tf-workbench[beam]')",
                        choices=("local", "beam"))
    beam_options: dict[str, str] = param({}, 'Beam pipeline options for engine "beam", e.g. '
                                         '{"runner": "FlinkRunner", "flink_master": '
                                         '"host:8081"}; empty: the DirectRunner, one worker per '
                                         "core")
    splits: str = param("memory", 'how the splits are made: "memory" (the data read whole and '
                        'split here, one Parquet file each) or "shards" (engine "beam": each '
                        "worker splits its part files by the key's hash into Parquet part "
                        "files, for data larger than memory; training streams them)",
                        choices=("memory", "shards"))
    slice_by: str = param("", "categorical column whose values get their own statistics; "
                          "empty: no slices")
    max_slices: int = param(20, "most frequent slice_by values that get statistics")
    drift_threshold: float = param(0.1, "drift threshold of inferred schemas (L-infinity "
                                   "categorical, Jensen-Shannon numeric)")
    skew_threshold: float = param(0.1, "skew threshold of inferred schemas (same metrics)")
    infer_ranges: bool = param(False, "add observed min/max ranges to the inferred schema")
    warning_anomalies: list[str] = param([], "anomaly types reported as warnings instead of "
                                         'errors, e.g. ["SCHEMA_NEW_COLUMN"]')

    #: the parameters that say how a file is read (workbench.data.reading.read_table)
    READ: ClassVar[tuple[str, ...]] = ("delimiter", "quote_char", "encoding", "decimal",
                                       "thousands", "null_values", "true_values",
                                       "false_values", "sheet", "date_format", "feature_roles")

    def read_overrides(self) -> dict[str, Any]:
        """The reading parameters as :func:`~workbench.data.reading.read_table` takes them
        (empty: detect)."""
        return {name: getattr(self, name) for name in self.READ}

    def check(self) -> None:
        from tensorflow_metadata.proto.v0 import anomalies_pb2

        if self.splits == "shards" and self.engine != "beam":
            raise self.fail("splits", 'splits "shards" are made by the Beam workers',
                            'set engine="beam", or splits="memory"')
        if self.splits == "shards" and self.time_split:
            raise self.fail("time_split", "orders all rows, which split shards cannot",
                            "split shards by key (key_column), or use splits=\"memory\"")
        if self.splits == "shards" and not self.data_path:
            raise self.fail("splits", '"shards" splits the files data_path names',
                            "set data_path, or splits=\"memory\" for a bundled dataset")
        if self.beam_options and self.engine != "beam":
            raise self.fail("beam_options", 'applies to engine "beam" only',
                            'set engine="beam", or leave beam_options empty')
        if self.engine == "beam":
            from workbench.data.beam_stats import import_beam, pipeline_options

            import_beam()
            pipeline_options(self.beam_options)  # an unknown option fails before any work

        if self.max_slices < 1:
            raise self.fail("max_slices", "must be at least 1", "e.g. max_slices=20")
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
