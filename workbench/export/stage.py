"""Stage 04: export the blessed model as a SavedModel TF Serving accepts.

:func:`export_model` is called by ``notebooks/04_export.ipynb`` with its parameters. In compute
mode it exports (signatures, metadata, warmup, integrity manifest and optional signature), runs
the checks and records the gate ``export_checks``; in view mode it loads what the step wrote
(and re-verifies the export's integrity, read-only).

Artifacts: ``saved_model`` (dir) and ``export_report`` (json).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import stages
from workbench.errors import ArtifactError, IntegrityError, WorkbenchError
from workbench.export.checks import LoaderCheck, run_export_checks
from workbench.export.contract import ModelInfo, feature_arrays, json_safe, predict_keras
from workbench.export.integrity import (
    load_private_key,
    sign_manifest,
    verify_export,
    write_manifest,
)
from workbench.export.metadata import (
    build_metadata,
    decision_threshold,
    schema_ranges,
    write_metadata,
)
from workbench.export.params import ExportParams
from workbench.export.signatures import (
    build_archive,
    describe_signatures,
    example_spec,
    set_method_names,
)
from workbench.export.tflite import quiet_tf_logging
from workbench.export.warmup import write_warmup
from workbench.runs.step import Step

__all__ = ["ExportParams", "ExportRefused", "ExportResult", "export_model", "load_trained"]

log = logging.getLogger(__name__)

TRAIN = stages.TRAIN
DATA = stages.DATA_VALIDATION
EVALUATE = stages.EVALUATE


class ExportRefused(WorkbenchError):
    """The model may not be exported (not blessed, or nothing to export)."""


@dataclass
class ExportResult:
    report: dict[str, Any]
    model_dir: Path | None
    integrity_now: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.report.get("checks", []))


def load_trained(step: Step) -> tuple[Any, ModelInfo, Path]:
    """The trained Keras model of the run and its model_info, with clear errors."""
    if not step.has(f"{TRAIN}/model"):
        raise ExportRefused(
            f"run {step.run.id} has no trained model: step {TRAIN} has not written "
            "artifact 'model'",
            hint=f"train first: workbench run --to {TRAIN} (or open the run that has one)",
            run=step.run.id, step=TRAIN)
    model_path = step.path(f"{TRAIN}/model")
    if not step.has(f"{TRAIN}/model_info"):
        raise ArtifactError(f"step {TRAIN} of run {step.run.id} wrote a model but no "
                            "model_info", hint=f"re-run {TRAIN}", run=step.run.id)
    info = ModelInfo.from_dict(step.load(f"{TRAIN}/model_info"),
                               source=f"{step.run.id}/{TRAIN}/model_info")
    import keras

    try:
        model = keras.saving.load_model(model_path)
    except Exception as err:  # noqa: BLE001 - Keras raises many kinds; say which file
        raise ArtifactError(f"cannot load the trained model {model_path}: "
                            f"{type(err).__name__}: {err}",
                            hint="custom layers must be registered with "
                                 "keras.saving.register_keras_serializable(package="
                                 "'workbench'); re-run 02_train", file=str(model_path)) from err
    info.check_model(model, source=str(model_path))
    return model, info, model_path


def _blessing(step: Step, allow_unblessed: bool, override_reason: str
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    blessing = step.load(f"{EVALUATE}/blessing") if step.has(f"{EVALUATE}/blessing") else None
    blessed = bool(blessing and blessing.get("blessed"))
    if blessed:
        return blessing, None
    why = ("step 03_evaluate did not bless it" if blessing is not None
           else "it has not been evaluated (no 03_evaluate/blessing)")
    if not allow_unblessed:
        raise ExportRefused(
            f"refusing to export the model of run {step.run.id}: {why}",
            hint="fix the model (see the 03_evaluate gate), or export anyway with "
                 "allow_unblessed=True and an override_reason; the override is recorded in "
                 "the export's metadata", run=step.run.id)
    override = {"unblessed_export": True, "reason": override_reason or "(no reason given)",
                "why_unblessed": why}
    log.warning("exporting an unblessed model of run %s: %s", step.run.id, why)
    return blessing, override


def _fingerprints(step: Step) -> tuple[dict[str, str], dict[str, int]]:
    digests: dict[str, str] = {}
    rows: dict[str, int] = {}
    for ref in (f"{DATA}/train", f"{DATA}/eval", f"{DATA}/schema", f"{DATA}/data_card",
                f"{TRAIN}/model", f"{TRAIN}/model_info"):
        if step.has(ref):
            art = step.artifact(ref)
            digests[ref] = art.sha256
            if "rows" in art.meta:
                rows[ref.split("/")[1]] = int(art.meta["rows"])
    return digests, rows


def _schema(step: Step) -> Any:
    if not step.has(f"{DATA}/schema"):
        return None
    from tensorflow_metadata.proto.v0 import schema_pb2

    return step.load(f"{DATA}/schema", message=schema_pb2.Schema)


def _verify_now(model_dir: Path, public_key: str | None) -> dict[str, Any]:
    try:
        return {"ok": True, **verify_export(model_dir, public_key or None).to_dict()}
    except IntegrityError as err:
        return {"ok": False, "error": err.message, "file": err.context.get("file")}


def export_model(step: Step, params: ExportParams | None = None) -> ExportResult:
    """Export the run's trained model; see the module docstring."""
    if not step.computing:
        report = step.load("export_report")
        model_dir = step.path("saved_model") if step.has("saved_model") else None
        now = _verify_now(model_dir, None) if model_dir else {}
        return ExportResult(report, model_dir, now)
    # relative key paths are relative to the project folder, wherever the notebook runs
    params = params or ExportParams()
    params = dataclasses.replace(params, signing_key=_project_path(params.signing_key),
                                 public_key=_project_path(params.public_key))
    if params.signing_key:
        load_private_key(params.signing_key)  # a bad key fails now, not after the export
    t0 = time.perf_counter()
    loader = LoaderCheck()  # TF Serving's loader path, in its own process; starts up meanwhile
    try:
        return _export(step, loader, params, t0)
    finally:
        loader.cancel()


def _export(step: Step, loader: LoaderCheck, params: ExportParams, t0: float
            ) -> ExportResult:
    model, info, _ = load_trained(step)
    blessing, override = _blessing(step, params.allow_unblessed, params.override_reason)
    evaluation = step.load(f"{EVALUATE}/evaluation") if step.has(f"{EVALUATE}/evaluation") \
        else None

    eval_table = step.load(f"{DATA}/eval")
    if params.eval_rows and params.eval_rows < eval_table.num_rows:
        eval_table = eval_table.slice(0, params.eval_rows)
    arrays = feature_arrays(eval_table, info, source=f"{DATA}/eval")
    reference = predict_keras(model, arrays, info)
    threshold = decision_threshold(blessing, evaluation, info)
    if threshold is not None:  # served classes follow stage 03's decision threshold
        reference["class_ids"] = (reference["probabilities"][:, 1] >= threshold).astype("int64")
    import pyarrow.parquet as pq

    schema = _schema(step)
    spec = example_spec(info, schema=schema,
                        arrow_schema=pq.read_schema(step.path(f"{DATA}/train")))
    fingerprints, rows = _fingerprints(step)
    run_manifest = step.run.record()
    card = step.load(f"{DATA}/data_card") if step.has(f"{DATA}/data_card") else {}
    name = params.model_name or str(card.get("name") or "model")

    with step.writing("saved_model", kind="dir") as tmp:
        with quiet_tf_logging():
            build_archive(model, info, spec, threshold=threshold).write_out(str(tmp),
                                                                             verbose=False)
        set_method_names(tmp)
        signatures = describe_signatures(tmp)
        warmup = write_warmup(tmp, arrays, info, spec, records=params.warmup_records,
                              model_name=name, max_batch=params.warmup_max_batch,
                              seed=params.seed)
        metadata = build_metadata(
            run_id=step.run.id, step=step.name, parameters=params.values(),
            run_parameters=run_manifest.parameters, info=info,
            fingerprints=fingerprints, evaluation=evaluation, blessing=blessing,
            override=override, approval=params.approval, approved_by=params.approved_by,
            environment=run_manifest.environment, signatures=signatures,
            rows=rows, decision_threshold=threshold, ranges=schema_ranges(schema, info))
        write_metadata(tmp, metadata)
        write_manifest(tmp)
        if params.signing_key:
            sign_manifest(tmp, params.signing_key)
        checks = run_export_checks(tmp, info, arrays, reference, spec,
                                   tolerance=params.tolerance, loader=loader,
                                   threshold=threshold)
        try:
            with tempfile.TemporaryDirectory(prefix="wb-key-") as keys:
                integrity = verify_export(tmp, params.public_key
                                          or _public_of(params.signing_key, Path(keys)))
            checks.append({"name": "integrity", "passed": True,
                           "detail": f"all {integrity.files} files match the sha256 manifest"
                                     + (f"; signature valid ({integrity.key_fingerprint})"
                                        if integrity.signature_checked else "; unsigned"),
                           **integrity.to_dict()})
        except IntegrityError as err:
            integrity = None
            checks.append({"name": "integrity", "passed": False, "detail": err.message})
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())

    failed = [c for c in checks if not c["passed"]]
    exported = step.artifact("saved_model")  # checks the hash once
    report = {
        "run_id": step.run.id, "model_name": name,
        "saved_model": exported.path.relative_to(step.run.path).as_posix(),
        "sha256": exported.sha256,
        "task": info.task, "classes": list(info.classes), "signatures": signatures,
        "example_spec": [{"key": f.column, "input": f.name, "type": spec[f.name]}
                         for f in info.features],
        "metadata": metadata, "warmup": warmup,
        "integrity": integrity.to_dict() if integrity else None,
        "blessed": bool(blessing and blessing.get("blessed")), "override": override,
        "checks": checks, "size_bytes": size, "files": files,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    report = json_safe(report)
    step.save("export_report", report)
    parity = next((c for c in checks if c["name"] == "parity"), {})
    step.log_metrics(json_safe({
        "export_size_bytes": size, "export_files": len(files),
        "export_parity_max_abs_diff": parity.get("max_abs_diff"),
        "warmup_records": warmup["records"], "export_signed": bool(params.signing_key),
        "export_unblessed_override": bool(override)}))
    step.gate("export_checks", not failed,
              [f"{c['name']}: {c['detail']}" for c in failed])
    return ExportResult(report, exported.path,
                        {"ok": integrity is not None, **(integrity.to_dict() if integrity
                                                         else {})})


def _project_path(path: str) -> str:
    """A relative key path is relative to the project folder (where `workbench run` runs the
    notebooks), wherever the notebook itself runs."""
    if not path or Path(path).expanduser().is_absolute():
        return path
    from workbench.project import Project

    try:
        return str(Project.find().root / path)
    except WorkbenchError:
        return path


def _public_of(signing_key: str, folder: Path) -> str | None:
    """The public half of the signing key as a PEM file, so the stage checks its signature."""
    if not signing_key:
        return None
    from cryptography.hazmat.primitives import serialization

    public = load_private_key(signing_key).public_key()
    path = folder / "signing_key.pub"
    path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)
