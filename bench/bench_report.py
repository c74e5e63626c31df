"""The run report of a demo-sized run: its size and build time, against nbconvert's stock HTML
export of the same executed notebooks (one file per stage, JupyterLab's stylesheet, the
widget state embedded, scripts from the web).

* ``report_bytes``: ``workbench report RUN``'s one file (cover + every stage). Peer: the sum
  of ``jupyter nbconvert --to html`` of each stage notebook. Target: <= 1 MB.
* ``report_build_s``: :func:`workbench.report.build.build_report`, median of 3 after one warm
  run (in process: the CLI adds its interpreter start). Peer: nbconvert's exporter on the
  same notebooks, in process, median of 3. Target: <= 5 s.
* ``report_cached_s``: the apps' "download report" on a second click
  (:func:`workbench.report.cache.cached_report`, from the cache).

Project: ``$BENCH_REPORT_PROJECT`` (a folder with runs; the newest that succeeded is used), else a
temporary project where ``workbench run -p rows=3000 -p epochs=3`` runs first (about 2 min).

Run: ``.venv/bin/python -m bench.bench_report``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import emit, timed

BENCH = "report"


def _run():  # noqa: ANN202 - a workbench Run
    from workbench.runs import RunStore
    from workbench.runs.record import RunState

    given = os.environ.get("BENCH_REPORT_PROJECT")
    if given:
        root = Path(given)
    else:
        root = Path(tempfile.mkdtemp(prefix="bench-report-"))
        (root / "workbench.yaml").write_text("runs_dir: runs\n")
        workbench = str(Path(sys.executable).with_name("workbench"))
        subprocess.run([workbench, "run", "-p", "rows=3000", "-p", "epochs=3"], cwd=root,
                       env={**os.environ, "WORKBENCH_HOME": str(root)}, check=True,
                       stdout=subprocess.DEVNULL)
    store = RunStore(root / "runs")
    run = store.latest(lambda r: r.state == RunState.SUCCEEDED)
    if run is None:
        raise SystemExit(f"no run succeeded in {root / 'runs'}: run the pipeline there first")
    return run


def main() -> None:
    from nbconvert import HTMLExporter

    from workbench.report.build import build_report
    from workbench.report.cache import CACHE_ENV, cached_report

    run = _run()
    notebooks = [run.path / s.notebook for s in run.record().steps.values()
                 if s.notebook and (run.path / s.notebook).is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        build_s = timed(lambda: build_report(run, out=out))
        size = out.stat().st_size

        def stock() -> int:
            exporter = HTMLExporter()
            return sum(len(exporter.from_filename(str(p))[0].encode()) for p in notebooks)

        peer_size = stock()
        peer_s = timed(stock)
        os.environ[CACHE_ENV] = str(Path(tmp) / "cache")
        cached_report(run)  # the first click builds
        cached_s = timed(lambda: cached_report(run), warmup=0)
    extra = {"run": run.id, "stages": len(notebooks)}
    emit(BENCH, "report_bytes", workbench=size, peer=peer_size, unit="bytes",
         peer_name="nbconvert --to html of each stage notebook", target="<= 1 MB",
         ok=size <= 1_000_000, **extra)
    emit(BENCH, "report_build_s", workbench=build_s, peer=peer_s,
         peer_name="nbconvert HTMLExporter on each stage notebook", target="<= 5 s",
         ok=build_s <= 5, **extra)
    emit(BENCH, "report_cached_s", workbench=cached_s, **extra)


if __name__ == "__main__":
    main()
