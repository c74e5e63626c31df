"""The parameters of stages 04 (export) and 05 (TFLite), declared once (see
:mod:`workbench.params`)."""

from __future__ import annotations

from workbench.params import StageParams, param
from workbench.stages import EXPORT, TFLITE

__all__ = ["ExportParams", "TFLiteParams"]

#: TF Serving reads at most this many warmup records
MAX_WARMUP_RECORDS = 1000
TFLITE_VARIANTS = ("float32", "dynamic", "float16", "int8")
MIN_REPRESENTATIVE_ROWS = 20


class ExportParams(StageParams):
    STAGE = EXPORT

    step: str = param(EXPORT, "step name inside the run")
    allow_unblessed: bool = param(False, "export a model 03_evaluate did not bless (the "
                                  "override is recorded)")
    override_reason: str = param("", "why an unblessed model is exported anyway (written into "
                                 "the metadata)")
    approval: str = param("pending", 'approval status written into the metadata, e.g. '
                          '"approved"')
    approved_by: str = param("", "who approved the model (written into the metadata)")
    signing_key: str = param("", "Ed25519 private key from `workbench keygen` to sign the "
                             "manifest; empty: unsigned")
    public_key: str = param("", "public key to check the signature with; empty: derived from "
                            "signing_key")
    warmup_records: int = param(100, "TF Serving warmup records drawn from eval rows (1 to "
                                "1000)")
    warmup_max_batch: int = param(8, "largest batch size among the warmup requests (1, 2, 4 "
                                  "... up to it)")
    model_name: str = param("", "model name in the warmup requests; empty: the dataset's name")
    tolerance: float = param(1e-05, "largest absolute difference allowed between the export "
                             "and the in-memory model")
    eval_rows: int = param(0, "eval rows for the parity check; 0: all")
    seed: int = param(0, "seed for drawing warmup rows")

    def check(self) -> None:
        if not 1 <= self.warmup_records <= MAX_WARMUP_RECORDS:
            raise self.fail("warmup_records", f"TF Serving reads 1 to {MAX_WARMUP_RECORDS} "
                            "warmup records",
                            f"set warmup_records between 1 and {MAX_WARMUP_RECORDS}")
        if self.warmup_max_batch < 1:
            raise self.fail("warmup_max_batch", "must be at least 1", "e.g. 8")
        if self.eval_rows < 0:
            raise self.fail("eval_rows", "must be 0 (all) or more", "e.g. eval_rows=0")


class TFLiteParams(StageParams):
    STAGE = TFLITE

    step: str = param(TFLITE, "step name inside the run")
    variants: list[str] = param(list(TFLITE_VARIANTS), "TFLite variants to build and compare")
    tflite_inputs: str = param("auto", '"auto": raw features unless LiteRT lacks an op; "raw"; '
                               '"preprocessed"', choices=("auto", "raw", "preprocessed"))
    int8_io: bool = param(True, "int8: numeric inputs and outputs in int8 where the model "
                          "allows")
    dynamic_engine: str = param("ai_edge_quantizer", 'dynamic range made by '
                                '"ai_edge_quantizer" or "converter"',
                                choices=("ai_edge_quantizer", "converter"))
    representative: int = param(200, "train rows that calibrate int8 (at least 20)")
    threshold: float = param(1.0, "gate: the chosen variant may lose at most this many points "
                             "of the metric")
    metric: str = param("", "metric compared; empty: auc (binary), accuracy (multiclass), rmse "
                        "(regression)")
    recommend: str = param("smallest", "rule: smallest, fastest, fastest_batch64, "
                           "most_accurate, or a variant name")
    latency_runs: int = param(200, "timed calls per batch size (median and p95)")
    num_threads: int = param(0, "LiteRT interpreter threads; 0: LiteRT's default")
    eval_rows: int = param(0, "eval rows to score; 0: all")
    seed: int = param(0, "seed of the representative sample")

    def check(self) -> None:
        from workbench.export.compare import rules

        unknown = [v for v in self.variants if v not in TFLITE_VARIANTS]
        if unknown or not self.variants:
            raise self.fail("variants", f"unknown TFLite variant(s) {unknown}" if unknown
                            else "no TFLite variant requested",
                            f"use some of: {', '.join(TFLITE_VARIANTS)}")
        if "int8" in self.variants and self.representative < MIN_REPRESENTATIVE_ROWS:
            raise self.fail("representative", f"int8 calibration needs at least "
                            f"{MIN_REPRESENTATIVE_ROWS} rows to estimate activation ranges",
                            f"set representative to {MIN_REPRESENTATIVE_ROWS} or more "
                            "(200-500 is typical)")
        if self.recommend not in rules() and self.recommend not in self.variants:
            raise self.fail("recommend", "is neither a recommendation rule nor a variant",
                            f"use a rule ({', '.join(rules())}) or one of the variants "
                            f"({', '.join(self.variants)})")
        if self.latency_runs < 10:
            raise self.fail("latency_runs", "a p95 needs at least 10 runs",
                            "set latency_runs to 100 or more")
