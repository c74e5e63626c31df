"""Gate results as a banner: what passed, what failed and why."""

from __future__ import annotations

from collections.abc import Mapping

from IPython.display import HTML

from workbench.runs.record import Gate, StepRecord
from workbench.widgets._base import esc

__all__ = ["gate_banner"]


def gate_banner(gates: StepRecord | Mapping[str, Gate]) -> HTML:
    """A static banner (no interaction needed), the same in JupyterLab, Voila and saved files.
    Takes a step's record (what ``Step.finish()`` returns) or its gates."""
    if isinstance(gates, StepRecord):
        gates = gates.gates
    if not gates:
        return HTML("<div class='wb wb-muted'>No gate recorded yet.</div>")
    parts = []
    for name, result in gates.items():
        if result.passed:
            parts.append(f"<div class='wb'><span class='wb-ok' style='color:#1a7f37'>&#10004; gate {esc(name)} "
                         "passed</span></div>")
            continue
        reasons = "".join(f"<li>{esc(r)}</li>" for r in result.reasons)
        parts.append(f"<div class='wb'><span class='wb-bad' style='color:#cf222e'>&#10008; gate {esc(name)} "
                     f"failed</span><ul>{reasons}</ul></div>")
    return HTML("".join(parts))
