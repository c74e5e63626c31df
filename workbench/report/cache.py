"""A run's report built once and kept, for the apps' "download report" button.

The report is cached in a folder of this user's temporary directory (not in the run folder: a
page that views a run never writes into it), under a key made of the run's record (states,
gates, metrics, every artifact's sha256), the workbench version and the report template. A run
that moves on (an unfinished run that finishes, a resumed one) gets a new key, so its report is
built again; older reports of the same run are removed then.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from workbench.report.build import TEMPLATES, Report, build_report
from workbench.runs.store import Run

__all__ = ["CACHE_ENV", "cache_folder", "cached_report", "report_key"]

log = logging.getLogger(__name__)

#: overrides where cached reports go
CACHE_ENV = "WORKBENCH_REPORT_CACHE"


def cache_folder() -> Path:
    """``$WORKBENCH_REPORT_CACHE``, else ``<tmp>/workbench-reports-<uid>`` (private)."""
    chosen = os.environ.get(CACHE_ENV)
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"workbench-reports-{uid}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def report_key(run: Run) -> str:
    """What the report depends on, hashed: the run's record, the workbench version and the
    report template."""
    from workbench import __version__

    digest = hashlib.sha256()
    digest.update(json.dumps(run.record().to_dict(), sort_keys=True, default=str).encode())
    digest.update(__version__.encode())
    for path in sorted((TEMPLATES).rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    digest.update(Path(__file__).with_name("build.py").read_bytes())
    digest.update(Path(__file__).with_name("cover.py").read_bytes())
    return digest.hexdigest()[:20]


def cached_report(run: Run) -> tuple[Report, bool]:
    """The run's whole report, built now or earlier; and whether it came from the cache."""
    started = time.monotonic()
    folder = cache_folder()
    path = folder / f"report_{run.id}_{report_key(run)}.html"
    if path.is_file():
        return Report(path, path.stat().st_size, time.monotonic() - started, []), True
    report = build_report(run, out=path)
    for old in folder.glob(f"report_{run.id}_*.html"):
        if old != path:
            old.unlink(missing_ok=True)
    log.info("report of run %s cached at %s", run.id, path)
    return report, False
