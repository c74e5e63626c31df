"""The typed run record: what ``run.json`` holds, as classes.

This module is the only place that knows the JSON layout of a manifest. Everything else reads
a run through :class:`RunRecord` (``Run.record()``), a step through :class:`StepRecord`, a gate
through :class:`Gate` and an artifact through :class:`ArtifactRecord`, and changes one through
``Run.edit`` (a locked read-modify-write of the typed record).

Layout of ``run.json`` (schema version 1; keys not listed here are kept as they are)::

    {"schema_version": 1, "run_id": ..., "created": ..., "updated": ..., "state": ...,
     "pipeline": [...], "parameters": {...}, "environment": {...},
     "selection": [...], "overrides": {...}, "owner": {...}, "ended": ..., "duration_s": ...,
     "steps": {"<step>": {"state": ..., "executor": ..., "pid": ..., "host": ...,
                          "started": ..., "completed": ..., "ended": ..., "duration_s": ...,
                          "notebook": ..., "source_notebook": ..., "parameters": {...},
                          "overrides": {...}, "fingerprint": ..., "fingerprint_parts": {...},
                          "cached_from": ..., "linked": ..., "error": {...},
                          "gates": {"<gate>": {"passed": ..., "reasons": [...], "at": ...,
                                               <details>}},
                          "metrics": {...},
                          "artifacts": {"<name>": {"path": ..., "kind": ..., "sha256": ...,
                                                   "bytes": ..., "created": ..., "meta": {...},
                                                   "files": {...}, "seen": {...}}},
                          "inputs": {"<step>/<name>": "<sha256>"}}}}
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "DONE_STEP_STATES",
    "SCHEMA_VERSION",
    "ArtifactRecord",
    "Gate",
    "RunRecord",
    "RunState",
    "StepRecord",
    "StepState",
]

SCHEMA_VERSION = 1


class RunState(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GATE_FAILED = "gate_failed"
    INTERRUPTED = "interrupted"
    INTERACTIVE = "interactive"


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CACHED = "cached"
    FAILED = "failed"
    GATE_FAILED = "gate_failed"
    INTERRUPTED = "interrupted"


#: a step in one of these states has its artifacts and can be used by later steps
DONE_STEP_STATES = (StepState.SUCCEEDED, StepState.CACHED)
#: states of a step that stopped its run
STOPPED_STEP_STATES = (StepState.FAILED, StepState.GATE_FAILED, StepState.INTERRUPTED)


def _from_fields(cls: type, data: dict[str, Any], **fixed: Any) -> Any:
    """Build dataclass ``cls`` from a JSON mapping: known keys become fields, the rest ``extra``."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"} - set(fixed)
    known = {k: copy.deepcopy(v) for k, v in data.items() if k in names}
    extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in names and k not in fixed}
    return cls(**fixed, **known, extra=extra)


def _to_fields(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON mapping of a record: its fields (None left out) and the keys it did not know."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in ("extra", *skip):
            continue
        value = getattr(obj, f.name)
        if value is not None:
            out[f.name] = value
    out.update(obj.extra)
    return out


@dataclass
class Gate:
    """The result of one gate of a step."""

    name: str
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    at: str | None = None
    #: what the gate recorded besides (error and warning counts, the baseline run, …)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Gate:
        details = {k: copy.deepcopy(v) for k, v in data.items()
                   if k not in ("passed", "reasons", "at")}
        return cls(name, bool(data.get("passed")), list(data.get("reasons", [])),
                   data.get("at"), details)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": list(self.reasons), "at": self.at,
                **self.details}


@dataclass
class ArtifactRecord:
    """A registered artifact: where it is (relative to the run folder) and its hash."""

    name: str
    path: str
    kind: str
    sha256: str
    bytes: int = 0
    created: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    #: per-file sha256 of a directory artifact (names the file that changed)
    files: dict[str, str] | None = None
    #: stat identities at which the content was last hashed and found equal (see
    #: :mod:`workbench.runs.verify`)
    seen: dict[str, list[int]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> ArtifactRecord:
        return _from_fields(cls, data, name=name)

    def to_dict(self) -> dict[str, Any]:
        return _to_fields(self, skip=("name",))

    def location(self, run_path: Path) -> Path:
        return run_path / self.path


@dataclass
class StepRecord:
    """One step of a run: its state, how it was executed, and what it produced."""

    name: str
    state: StepState = StepState.PENDING
    executor: str | None = None  # "runner" | "interactive"
    pid: int | None = None
    host: str | None = None
    started: str | None = None
    completed: str | None = None  # the notebook reached Step.finish()
    ended: str | None = None
    duration_s: float | None = None
    notebook: str | None = None  # the executed notebook, relative to the run folder
    source_notebook: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    fingerprint_parts: dict[str, str] = field(default_factory=dict)
    cached_from: str | None = None
    linked: str | None = None
    error: dict[str, Any] | None = None
    gates: dict[str, Gate] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, ArtifactRecord] = field(default_factory=dict)
    #: ``{"<step>/<artifact>": sha256}`` of every artifact of another step this one read
    inputs: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> StepRecord:
        record = _from_fields(cls, {k: v for k, v in data.items()
                                    if k not in ("gates", "artifacts", "state")}, name=name)
        record.state = StepState(data.get("state", StepState.PENDING))
        record.gates = {g: Gate.from_dict(g, r) for g, r in data.get("gates", {}).items()}
        record.artifacts = {a: ArtifactRecord.from_dict(a, r)
                            for a, r in data.get("artifacts", {}).items()}
        return record

    def to_dict(self) -> dict[str, Any]:
        out = _to_fields(self, skip=("name", "gates", "artifacts"))
        # empty collections a step never wrote stay out of the file, as they always did
        for key in ("parameters", "overrides", "fingerprint_parts", "metrics", "inputs"):
            if not out.get(key):
                out.pop(key, None)
        if self.gates:
            out["gates"] = {g: r.to_dict() for g, r in self.gates.items()}
        if self.artifacts:
            out["artifacts"] = {a: r.to_dict() for a, r in self.artifacts.items()}
        return out

    @property
    def done(self) -> bool:
        """Finished with its artifacts in place (succeeded or reused from the cache)."""
        return self.state in DONE_STEP_STATES

    @property
    def failed_gates(self) -> dict[str, Gate]:
        return {n: g for n, g in self.gates.items() if not g.passed}

    def gate(self, name: str) -> Gate | None:
        return self.gates.get(name)


@dataclass
class RunRecord:
    """A run's manifest."""

    run_id: str
    schema_version: int = SCHEMA_VERSION
    created: str = ""
    updated: str = ""
    state: RunState = RunState.CREATED
    pipeline: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    selection: list[str] | None = None
    overrides: dict[str, Any] | None = None
    owner: dict[str, Any] | None = None
    ended: str | None = None
    duration_s: float | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        record = _from_fields(cls, {k: v for k, v in data.items()
                                    if k not in ("steps", "state", "run_id")},
                              run_id=data["run_id"])
        record.state = RunState(data.get("state", RunState.CREATED))
        record.steps = {s: StepRecord.from_dict(s, r) for s, r in data.get("steps", {}).items()}
        return record

    def to_dict(self) -> dict[str, Any]:
        out = _to_fields(self, skip=("steps",))
        out["steps"] = {s: r.to_dict() for s, r in self.steps.items()}
        return out

    # -- questions every reader asks -----------------------------------------------------------
    def step(self, name: str) -> StepRecord | None:
        return self.steps.get(name)

    def step_or_new(self, name: str, state: StepState = StepState.RUNNING) -> StepRecord:
        """The step's record, created (in ``state``) when the run has none yet."""
        if name not in self.steps:
            self.steps[name] = StepRecord(name, state)
        return self.steps[name]

    def done(self, step: str) -> bool:
        record = self.steps.get(step)
        return record is not None and record.done

    def artifact(self, step: str, name: str) -> ArtifactRecord | None:
        record = self.steps.get(step)
        return record.artifacts.get(name) if record else None

    def artifact_hashes(self) -> dict[str, str]:
        """``{"step/name": sha256}`` of every artifact in the run."""
        return {f"{s}/{a}": art.sha256 for s, r in self.steps.items()
                for a, art in r.artifacts.items()}

    def failed_gates(self) -> list[tuple[str, Gate]]:
        return [(s, g) for s, r in self.steps.items() for g in r.failed_gates.values()]

    def gates(self) -> list[tuple[str, Gate]]:
        return [(s, g) for s, r in self.steps.items() for g in r.gates.values()]

    def stopped_at(self) -> list[str]:
        return [s for s, r in self.steps.items() if r.state in STOPPED_STEP_STATES]
