"""Stage 05: TFLite variants compared side by side with the SavedModel.

:func:`convert_tflite` is called by ``notebooks/05_tflite.ipynb``. In compute mode it checks the
stage-04 export's integrity, converts the trained model into the requested variants
(:mod:`workbench.export.tflite`), runs each with LiteRT on the eval split's raw features,
measures size, latency (batch 1 and 64) and the task's metrics, picks the recommended variant
by the user's rule (:mod:`workbench.export.compare`) and records the gate ``tflite_accuracy``:
the chosen variant's metric drop versus the SavedModel stays within ``threshold`` points.
In view mode it loads the report.

Artifacts: ``tflite_<variant>`` (``.tflite`` files), ``tflite_report`` (json) and, when the
variants take preprocessed features, ``tflite_preprocessing`` (json constants).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench import stages
from workbench.errors import ArtifactError
from workbench.export.compare import (
    agreement,
    metric_drop,
    primary_metric,
    recommend,
    task_metrics,
)
from workbench.export.contract import (
    ModelInfo,
    batches,
    feature_arrays,
    json_safe,
    label_targets,
)
from workbench.export.litert import LiteRunner, latency_stats
from workbench.export.params import TFLiteParams
from workbench.export.preprocessed import (
    PreprocessingError,
    apply_preprocessing,
    split_preprocessing,
)
from workbench.export.stage import DATA, load_trained
from workbench.export.tflite import (
    ConversionError,
    convert_variant,
    representative_rows,
    write_lite_savedmodel,
)
from workbench.runs.step import Step

__all__ = ["EXPORT", "TFLiteParams", "TFLiteResult", "convert_tflite", "verified_export"]

log = logging.getLogger(__name__)

EXPORT = stages.EXPORT
BATCHES = (1, 64)


@dataclass
class TFLiteResult:
    report: dict[str, Any]

    @property
    def recommended(self) -> str | None:
        return self.report.get("recommended")

    @property
    def variants(self) -> list[dict[str, Any]]:
        return self.report.get("variants", [])


def verified_export(step: Step) -> Path:
    """The run's stage-04 SavedModel, checked against its recorded hash (once per content,
    see :mod:`workbench.runs.verify`; an IntegrityError names the file that changed)."""
    if not step.has(f"{EXPORT}/saved_model"):
        raise ArtifactError(f"run {step.run.id} has no exported SavedModel "
                            f"({EXPORT}/saved_model)",
                            hint=f"run the export first: workbench run --to {EXPORT}",
                            run=step.run.id, step=EXPORT)
    return step.path(f"{EXPORT}/saved_model")


def _savedmodel_outputs(path: Path, arrays: Mapping[str, np.ndarray], info: ModelInfo,
                        runs: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Outputs of the exported serving_default on eval, and its in-process latency."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    key = "probabilities" if info.is_classification else "value"
    parts = [fn(**{k: tf.constant(v) for k, v in chunk.items()})[key].numpy()
             for chunk in batches(arrays, 2048)]
    latency = {}
    for batch in BATCHES:
        rows = _rows(arrays, batch)
        feed = {k: tf.constant(v) for k, v in rows.items()}
        times = []
        for i in range(10 + runs):
            t0 = time.perf_counter()
            fn(**feed)[key].numpy()
            if i >= 10:
                times.append(time.perf_counter() - t0)
        latency[str(batch)] = latency_stats(times)
    return {key: np.concatenate(parts)}, latency


def _rows(arrays: Mapping[str, np.ndarray], batch: int) -> dict[str, np.ndarray]:
    n = len(next(iter(arrays.values())))
    reps = -(-batch // n)
    return {k: (np.concatenate([v] * reps) if reps > 1 else v)[:batch]
            for k, v in arrays.items()}


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return float(np.nanmax(d, initial=0.0))


def convert_tflite(step: Step, params: TFLiteParams | None = None) -> TFLiteResult:
    """Convert, run and compare the TFLite variants; see the module docstring."""
    if not step.computing:
        return TFLiteResult(step.load("tflite_report"))
    params = params or TFLiteParams()
    variants, tflite_inputs, int8_io = params.variants, params.tflite_inputs, params.int8_io
    threshold, recommend_rule, latency_runs = (params.threshold, params.recommend,
                                               params.latency_runs)
    t0 = time.perf_counter()
    export_dir = verified_export(step)
    model, info, _ = load_trained(step)
    name, higher = primary_metric(info, params.metric)

    eval_table = step.load(f"{DATA}/eval")
    if params.eval_rows and params.eval_rows < eval_table.num_rows:
        eval_table = eval_table.slice(0, params.eval_rows)
    arrays = feature_arrays(eval_table, info, source=f"{DATA}/eval")
    y = label_targets(eval_table, info, source=f"{DATA}/eval")
    rep = None
    if "int8" in variants:
        train = feature_arrays(step.load(f"{DATA}/train"), info, source=f"{DATA}/train")
        rep = representative_rows(train, params.representative, seed=params.seed,
                                  source=f"{DATA}/train")

    sm_out, sm_latency = _savedmodel_outputs(export_dir, arrays, info, latency_runs)
    sm_metrics = task_metrics(sm_out, y, info)
    notes: list[str] = []
    unsupported: list[str] = []
    spec = None
    threads = params.num_threads or None

    with tempfile.TemporaryDirectory(prefix="wb-tflite-") as tmp:
        raw_dir = write_lite_savedmodel(model, info, Path(tmp) / "raw")
        float_model = None
        mode = "raw"
        if tflite_inputs != "preprocessed":
            try:
                float_model = convert_variant(raw_dir, "float32")
            except ConversionError as err:
                if tflite_inputs == "raw" or not err.context.get("ops"):
                    raise
                unsupported = err.context["ops"].split(",")
                notes.append(f"raw-feature conversion failed: LiteRT built-ins lack "
                             f"{', '.join(unsupported)}; the variants take preprocessed "
                             "features (apply tflite_preprocessing first)")
        if float_model is None:
            mode = "preprocessed"
            try:
                core, spec = split_preprocessing(model, info)
            except PreprocessingError as err:
                lacking = f"LiteRT built-ins lack {', '.join(unsupported)}, and " \
                    if unsupported else ""
                raise ConversionError(
                    f"no TFLite variant can be made: {lacking}{err.message}", hint=err.hint,
                    ops=",".join(unsupported) or None, **err.context) from err
            inputs = {e["name"]: (e["dtype"], e["shape"]) for e in spec["inputs"]}
            src = write_lite_savedmodel(core, info, Path(tmp) / "core", inputs=inputs)
            rep = apply_preprocessing(spec, rep) if rep is not None else None
            step.save("tflite_preprocessing", spec)
        else:
            src = raw_dir

        def preprocess(a: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            return apply_preprocessing(spec, a)

        rows: list[dict[str, Any]] = []
        for variant in variants:
            row: dict[str, Any] = {"name": variant, "inputs": mode}
            try:
                if variant == "float32" and float_model is not None:
                    conv = float_model
                else:
                    conv = convert_variant(
                        src, variant, representative=rep, int8_io=int8_io,
                        dynamic_engine=params.dynamic_engine,
                        float_model=float_model.content if float_model else None)
                    if variant == "float32":
                        float_model = conv
            except ConversionError as err:
                row.update(error=err.message, hint=err.hint, ok=False)
                rows.append(row)
                continue
            with step.writing(f"tflite_{variant}", kind="file", suffix=".tflite",
                              variant=variant) as path:
                path.write_bytes(conv.content)
            runner = LiteRunner(conv.content, num_threads=threads,
                                preprocess=preprocess if mode == "preprocessed" else None)
            out = runner.predict(arrays)
            key = "probabilities" if info.is_classification else "value"
            metrics = task_metrics(out, y, info)
            row.update(
                ok=True, engine=conv.engine, notes=conv.notes, options=conv.options,
                size_bytes=conv.size, file=f"{step.name}/tflite_{variant}.tflite",
                input_types=runner.input_types, output_types=runner.output_types,
                metrics=metrics, drop=metric_drop(sm_metrics[name], metrics[name], higher),
                agreement=agreement(out, sm_out, info),
                max_abs_diff=_max_diff(out[key], sm_out[key]),
                latency={str(b): runner.latency(arrays, batch=b, runs=latency_runs)
                         for b in BATCHES})
            rows.append(row)
            log.info("tflite %s: %d bytes, %s %.4f", variant, conv.size, name, metrics[name])

    done = [r for r in rows if r.get("ok")]
    sizes = {r["name"]: r["size_bytes"] for r in done}
    for r in done:
        if "float32" in sizes:
            r["size_ratio"] = round(r["size_bytes"] / sizes["float32"], 4)
        sm1 = sm_latency["1"]["median_ms"]
        r["latency_ratio_b1"] = round(r["latency"]["1"]["median_ms"] / sm1, 4) if sm1 else None
    chosen, why = recommend(done, recommend_rule, threshold)
    failed = [r for r in rows if not r.get("ok")]
    equivalence = None
    if mode == "preprocessed":
        f32 = next((r for r in done if r["name"] == "float32"), None)
        if f32 is not None:
            equivalence = {"max_abs_diff": f32["max_abs_diff"],
                           "passed": f32["max_abs_diff"] <= 1e-4}
    reasons = []
    if chosen is None:
        reasons.append("no TFLite variant could be converted: "
                       + "; ".join(f"{r['name']}: {r['error']}" for r in failed))
    elif not (chosen["drop"] <= threshold):
        reasons.append(f"the chosen variant '{chosen['name']}' loses {chosen['drop']:.2f} "
                       f"points of {name} against the SavedModel ({sm_metrics[name]:.4f} → "
                       f"{chosen['metrics'][name]:.4f}); the threshold is {threshold:g}")
    if equivalence and not equivalence["passed"]:
        reasons.append("the exported preprocessing constants do not reproduce the SavedModel: "
                       f"max abs difference {equivalence['max_abs_diff']:.2e} > 1e-4")
    report = {
        "run_id": step.run.id, "task": info.task, "metric": name,
        "higher_is_better": higher, "threshold": threshold, "rule": recommend_rule,
        "recommended": chosen["name"] if chosen else None, "reason": why,
        "inputs": mode, "unsupported_ops": unsupported, "preprocessing_check": equivalence,
        "notes": notes, "num_threads": threads or "default", "eval_rows": len(y),
        "savedmodel": {"metrics": sm_metrics, "latency": sm_latency,
                       "path": f"{EXPORT}/saved_model"},
        "variants": rows, "seconds": round(time.perf_counter() - t0, 2),
    }
    report = json_safe(report)
    step.save("tflite_report", report)
    if chosen is not None:
        step.log_metrics(json_safe({"tflite_recommended": chosen["name"],
                                    f"tflite_{name}_drop": chosen["drop"],
                                    "tflite_size_bytes": chosen["size_bytes"],
                                    "tflite_latency_b1_ms": chosen["latency"]["1"]["median_ms"]}))
    step.gate("tflite_accuracy", not reasons, reasons, variant=report["recommended"])
    return TFLiteResult(report)
