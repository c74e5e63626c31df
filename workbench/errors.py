"""One exception tree for the workbench.

Every error a user can cause derives from :class:`WorkbenchError` and says three things: what was
wrong, where (file, column, row, stage, parameter — as structured fields), and how to fix it. The
CLI turns these into a readable message and a non-zero exit code; servers turn them into an error
body.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "EXIT_ERROR",
    "EXIT_GATE",
    "EXIT_INTERRUPTED",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "GateFailed",
    "IntegrityError",
    "NotARunError",
    "ParameterError",
    "RunLockedError",
    "RunStoreError",
    "carried_error",
    "carry",
    "StageFailed",
    "WorkbenchError",
]

EXIT_ERROR = 1
EXIT_GATE = 3
EXIT_INTERRUPTED = 130


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose.

    ``message`` says what is wrong, ``hint`` how to fix it; keyword ``context`` fields
    (``file=``, ``column=``, ``row=``, ``stage=`` …) say where and are kept for programs.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = {k: v for k, v in context.items() if v is not None}

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, as recorded in manifests and error bodies."""
        out: dict[str, Any] = {"type": type(self).__name__, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        out.update({k: v if isinstance(v, (str, int, float, bool)) else str(v)
                    for k, v in self.context.items()})
        return out


class ConfigError(WorkbenchError):
    """A configuration file or option is malformed or inconsistent."""


class ParameterError(ConfigError):
    """A stage parameter is unknown or has a value of the wrong kind."""


class DataError(WorkbenchError):
    """Input data cannot be used: unreadable, empty, wrong columns, bad values."""


class RunStoreError(WorkbenchError):
    """Something is wrong with a run folder or its manifest."""


class NotARunError(RunStoreError):
    """A path or id does not name a run."""


class RunLockedError(RunStoreError):
    """Another live process is writing the run."""


class ArtifactError(RunStoreError):
    """An artifact is missing or cannot be read."""


class IntegrityError(ArtifactError):
    """An artifact's content does not match the hash recorded for it."""


class StageFailed(WorkbenchError):
    """A stage notebook raised; the executed notebook holds the traceback."""


class GateFailed(WorkbenchError):
    """A stage's gate did not pass; the pipeline stops there."""

    exit_code = EXIT_GATE

    def __init__(self, stage: str, gate: str, reasons: list[str], **context: Any) -> None:
        shown = "\n".join(f"  - {r}" for r in reasons) or "  (no reason recorded)"
        super().__init__(f"gate '{gate}' of stage {stage} failed:\n{shown}",
                         stage=stage, gate=gate, **context)
        self.stage = stage
        self.gate = gate
        self.reasons = reasons


# A runner carries a worker's exception to the driver as text; the workbench error rides in
# it as JSON between these markers, so the driver raises the same error, not a traceback.
_MARK = "<<workbench-error>>"


def carry(err: WorkbenchError) -> str:
    """``err`` as text that survives a runner's transport (raise ``RuntimeError(carry(err))``
    where only text crosses, :func:`carried_error` on the other side)."""
    return _MARK + json.dumps({"type": type(err).__name__, "message": err.message,
                               "hint": err.hint, "context": {
                                   k: v for k, v in err.context.items()
                                   if isinstance(v, (str, int, float, bool))}}) + _MARK


def carried_error(err: BaseException) -> WorkbenchError | None:
    """The workbench error :func:`carry` put into ``err``'s text, if any."""
    found = re.search(re.escape(_MARK) + "(.*?)" + re.escape(_MARK), str(err), re.S)
    if not found:
        return None
    got = json.loads(found.group(1))
    kind = globals().get(got["type"])
    if not (isinstance(kind, type) and issubclass(kind, WorkbenchError)):
        kind = DataError
    return kind(got["message"], hint=got["hint"], **got["context"])
