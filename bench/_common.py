"""What every benchmark prints: one JSON line per figure, this project beside its peer.

    {"bench": "stats_1m", "figure": "wall_s", "unit": "s", "workbench": 0.41,
     "peer": 3.9, "peer_name": "pandas describe+value_counts+histograms",
     "ratio": 0.105, "target": "<= 0.5 s", "ok": true}

``ratio`` is workbench / peer (below 1: the workbench is faster or smaller). ``ok`` says whether
the issue's target holds (null where there is no target).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["emit", "timed"]


def emit(bench: str, figure: str, *, workbench: float, peer: float | None = None,
         peer_name: str | None = None, unit: str = "s", target: str | None = None,
         ok: bool | None = None, **extra: Any) -> dict[str, Any]:
    line: dict[str, Any] = {"bench": bench, "figure": figure, "unit": unit,
                            "workbench": round(workbench, 6)}
    if peer is not None:
        line.update(peer=round(peer, 6), peer_name=peer_name,
                    ratio=round(workbench / peer, 4) if peer else None)
    line.update(target=target, ok=ok, **extra)
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    return line


def timed(fn: Callable[[], Any], *, repeat: int = 3, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
