"""The model a bulk scoring job uses: a run's exported SavedModel or one of its TFLite variants,
or a SavedModel folder (e.g. a version in a TF Serving model repository).

Everything the job needs to know about the model comes from the run store and the export's own
metadata (``assets.extra/workbench_metadata.json``): the features and the columns they are read
from, the key column, stage 01's reading parameters, the blessing, the decision threshold, the
run id and a version label for the output's metadata.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ArtifactError, ConfigError, ParameterError
from workbench.export.contract import Feature, ModelInfo
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore
from workbench.stages import DATA_VALIDATION, EXPORT, TFLITE, TRAIN

__all__ = ["SAVEDMODEL", "ScoringModel", "Scorer", "resolve_model"]

log = logging.getLogger(__name__)

SAVEDMODEL = "savedmodel"
#: a scorer: raw 1-D feature arrays by input name → canonical outputs (probabilities and
#: class_ids, or value)
Scorer = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass
class ScoringModel:
    """What scores the rows and what the output records about it."""

    info: ModelInfo
    saved_model: Path
    variant: str = SAVEDMODEL
    run_id: str | None = None
    version: str = ""
    sha256: str | None = None
    blessed: bool | None = None
    threshold: float | None = None
    key: str | None = None
    read_overrides: dict[str, Any] = field(default_factory=dict)
    tflite: Path | None = None
    tflite_preprocessing: dict[str, Any] | None = None

    @property
    def features(self) -> tuple[Feature, ...]:
        return self.info.features

    def metadata(self) -> dict[str, str]:
        """The output file's metadata (strings)."""
        return {"workbench.model_version": self.version, "workbench.run_id": self.run_id or "",
                "workbench.model_sha256": self.sha256 or "", "workbench.variant": self.variant,
                "workbench.task": self.info.task,
                "workbench.blessed": "unknown" if self.blessed is None else str(self.blessed)
                .lower()}

    def scorer(self) -> Scorer:
        """Load the model and return the function that scores a batch."""
        if self.variant == SAVEDMODEL:
            return _savedmodel_scorer(self.saved_model, self.info)
        return _tflite_scorer(self, self.info)


def _savedmodel_scorer(path: Path, info: ModelInfo) -> Scorer:
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    names = set(fn.structured_input_signature[1])
    lacking = [f.name for f in info.features if f.name not in names]
    if lacking:
        raise ArtifactError(f"the SavedModel at {path} takes no input {', '.join(lacking)} that "
                            "its model_info lists", hint="export the model again (04_export)",
                            file=str(path))
    keys = ("probabilities", "class_ids") if info.is_classification else ("value",)

    def score(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = fn(**{k: tf.constant(v) for k, v in arrays.items()})
        return {k: out[k].numpy() for k in keys}

    return score


def _tflite_scorer(model: ScoringModel, info: ModelInfo) -> Scorer:
    from workbench.export.litert import LiteRunner

    preprocess = None
    if model.tflite_preprocessing is not None:
        from workbench.export.preprocessed import apply_preprocessing

        spec = model.tflite_preprocessing

        def preprocess(a: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            return apply_preprocessing(spec, a)

    runner = LiteRunner(model.tflite.read_bytes(), preprocess=preprocess)
    threshold = model.threshold

    def score(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(arrays.values())))
        out = runner.predict(arrays, batch_size=n)
        if not info.is_classification:
            return {"value": np.asarray(out["value"], dtype=np.float32).reshape(-1)}
        probs = np.asarray(out["probabilities"], dtype=np.float32).reshape(n, -1)
        if info.task == "binary" and threshold is not None:
            ids = (probs[:, 1] >= threshold).astype(np.int64)
        else:
            ids = probs.argmax(axis=1).astype(np.int64)
        return {"probabilities": probs, "class_ids": ids}

    return score


# -- resolving MODEL_OR_RUN --------------------------------------------------------------------

def resolve_model(ref: str | Path, *, variant: str = SAVEDMODEL, store: RunStore | None = None,
                  step: Step | None = None) -> ScoringModel:
    """The model named by ``ref``: a SavedModel folder, or a run (id, id prefix or folder) of
    ``store`` whose ``04_export`` finished. ``step`` (a stage's own step) reads the run's
    artifacts as recorded inputs."""
    if variant != SAVEDMODEL and not variant.startswith("tflite:"):
        raise ParameterError(f"variant '{variant}' is neither 'savedmodel' nor 'tflite:NAME'",
                             hint="e.g. --variant savedmodel or --variant tflite:float16",
                             parameter="variant")
    if step is not None:
        return _from_run(step.run, step, variant)
    path = Path(ref)
    if (path / "saved_model.pb").is_file():
        run = _owning_run(path, store)
        if run is not None and variant == SAVEDMODEL and _is_run_export(run, path):
            return _from_run(run, Step(run, EXPORT, "view"), variant)
        if variant != SAVEDMODEL:
            if run is None:
                raise ParameterError(
                    f"{path} is a SavedModel folder outside any run; a TFLite variant is "
                    "found through its run", hint="pass the run id instead of the folder, "
                    "or --variant savedmodel", parameter="variant")
            return _from_run(run, Step(run, EXPORT, "view"), variant)
        return _from_folder(path, run)
    if store is None:
        raise ConfigError(f"'{ref}' is not a SavedModel folder (it has no saved_model.pb) and "
                          "no run store is open", hint="pass a run id inside a project, or an "
                          "exported SavedModel folder")
    run = store.open(str(ref))
    return _from_run(run, Step(run, EXPORT, "view"), variant)


def _owning_run(path: Path, store: RunStore | None) -> Run | None:
    from workbench.export.metadata import METADATA_FILE, read_metadata

    for parent in path.resolve().parents:
        if (parent / "run.json").is_file():
            return Run(parent)
    if store is None or not (path / METADATA_FILE).is_file():
        return None
    run_id = read_metadata(path).get("run_id")
    if run_id and (store.root / run_id / "run.json").is_file():
        return Run(store.root / run_id)
    return None


def _is_run_export(run: Run, path: Path) -> bool:
    art = run.record().artifact(EXPORT, "saved_model")
    return art is not None and art.location(run.path).resolve() == path.resolve()


def _from_run(run: Run, step: Step, variant: str) -> ScoringModel:
    from workbench.export.metadata import decision_threshold, read_metadata
    from workbench.runs.lineage import is_blessed

    record = run.record()
    if not step.has(f"{EXPORT}/saved_model"):
        raise ArtifactError(f"run {run.id} has no exported SavedModel ({EXPORT}/saved_model)",
                            hint=f"export it first: workbench run --to {EXPORT}", run=run.id)
    art = step.artifact(f"{EXPORT}/saved_model")
    info = ModelInfo.from_dict(step.load(f"{TRAIN}/model_info"),
                               source=f"run {run.id} {TRAIN}/model_info")
    card = step.load(f"{DATA_VALIDATION}/data_card") if step.has(
        f"{DATA_VALIDATION}/data_card") else {}
    data_step = record.step(DATA_VALIDATION)
    from workbench.data.params import DataValidationParams

    overrides = {k: v for k, v in (data_step.parameters if data_step else {}).items()
                 if k in DataValidationParams.READ}
    meta = read_metadata(art.path)
    threshold = meta.get("evaluation", {}).get("decision_threshold")
    if threshold is None:
        threshold = decision_threshold(None, None, info)
    model = ScoringModel(info, art.path, variant, run.id, _version(art.path, art.sha256),
                         art.sha256, is_blessed(run, record), threshold,
                         card.get("key") or None, overrides)
    if variant != SAVEDMODEL:
        name = variant.split(":", 1)[1]
        tflite = record.step(TFLITE)
        have = sorted(a.removeprefix("tflite_") for a in (tflite.artifacts if tflite else {})
                      if a.startswith("tflite_") and a not in ("tflite_report",
                                                               "tflite_preprocessing"))
        if name not in have:
            raise ParameterError(
                f"run {run.id} has no TFLite variant '{name}'",
                hint=(f"its variants: {', '.join('tflite:' + h for h in have)}" if have else
                      f"convert first: workbench run --only {TFLITE} (or use --variant "
                      "savedmodel)"), parameter="variant", run=run.id)
        lite = step.artifact(f"{TFLITE}/tflite_{name}")
        model.tflite = lite.path
        model.sha256 = lite.sha256
        model.version = f"{model.version}+tflite:{name}"
        if step.has(f"{TFLITE}/tflite_preprocessing"):
            model.tflite_preprocessing = step.load(f"{TFLITE}/tflite_preprocessing")
    return model


def _from_folder(path: Path, run: Run | None) -> ScoringModel:
    """A SavedModel folder outside the run store: its own metadata describes it."""
    from workbench.export.metadata import METADATA_FILE, read_metadata
    from workbench.runs.atomic import sha256_tree

    if not (path / METADATA_FILE).is_file():
        raise ArtifactError(f"{path} has no {METADATA_FILE}: it was not exported by the "
                            "workbench, so its features and columns are unknown",
                            hint="score a run's export (pass the run id), or export the model "
                            "with 04_export", file=str(path))
    meta = read_metadata(path)
    m = meta.get("model", {})
    info = ModelInfo.from_dict({"task": m.get("task"), "label": m.get("label", ""),
                                "features": m.get("features"), "classes": m.get("classes"),
                                "builder": m.get("builder", "")}, source=str(path / METADATA_FILE))
    digest = sha256_tree(path)
    ev = meta.get("evaluation", {})
    return ScoringModel(info, path, SAVEDMODEL, meta.get("run_id") or (run.id if run else None),
                        _version(path, digest), digest, bool(ev.get("blessed", False)),
                        ev.get("decision_threshold"), None, {})


def _version(path: Path, sha256: str | None) -> str:
    """A TF Serving version number when the folder is one (``models/fraud/3``), else the
    first 12 hex digits of the export's sha256."""
    if path.name.isdigit():
        return path.name
    return (sha256 or "").removeprefix("sha256:")[:12]
