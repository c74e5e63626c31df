"""SHA-256 work and wall time of one `workbench run`: this version beside an earlier one.

Peer: the workbench at an earlier git revision (``BENCH_HASH_PEER``, default ``a2c480c``, the
last commit before artifacts were verified once), checked out in a temporary worktree and run
with the same Python environment. Both are instrumented the same way: a ``sitecustomize`` on
``PYTHONPATH`` wraps ``workbench.runs.atomic.sha256_file`` in every process of the run (the
runner, each stage's kernel, the model server) and logs the bytes, digest and path of every
hash.

Two pipelines: the default pipeline with the test suite's small parameters, and the same with a
model of more than 500 MB (``hidden_units=[11500, 11500]``: 132 M float32 weights), which
``BENCH_HASH_LARGE=0`` leaves out (``BENCH_HASH_SMALL=0`` leaves out the small one).

Figures: bytes hashed, the largest number of times one file's bytes were hashed (inside the run
folder, and counting the copy the model repository serves), and the wall time.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench._common import emit

REPO = Path(__file__).resolve().parent.parent
SMALL = REPO / "tests" / "fixtures" / "small.yaml"
LOG_ENV = "WB_BENCH_HASH_LOG"

_SITECUSTOMIZE = '''
import importlib.abc, importlib.util, os, sys

_LOG = os.environ.get("WB_BENCH_HASH_LOG")


class _Wrap(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "workbench.runs.atomic":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            inner = module.sha256_file

            def sha256_file(path):
                digest = inner(path)
                with open(_LOG, "a", encoding="utf-8") as out:
                    out.write(f"{os.path.getsize(path)}\\t{digest}\\t{os.path.abspath(path)}\\n")
                return digest

            module.sha256_file = sha256_file

        spec.loader.exec_module = exec_module
        return spec


if _LOG:
    sys.meta_path.insert(0, _Wrap())
'''


def _peer_checkout(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), rev],
                   check=True, capture_output=True)
    for folder in ("widgets", "notebooks", "templates"):  # the package-dir mapping, by hand
        (where / "workbench" / folder).symlink_to(where / folder)
    return where


def _run(code: Path | None, project: Path, params: dict, log: Path, hooks: Path) -> float:
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    path = [str(hooks)] + ([str(code)] if code else [])
    env = {**os.environ, LOG_ENV: str(log), "WORKBENCH_HOME": str(project),
           "PYTHONPATH": os.pathsep.join(path + [os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from workbench.cli import main; main()",
                           "run", "--force", "--params", str(project / "params.yaml")],
                          cwd=project, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"workbench run failed ({code or 'this version'}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def _tally(log: Path, project: Path) -> dict[str, float]:
    """Bytes hashed, and the most hashes of one content (in the run folder / anywhere)."""
    rows = [line.split("\t", 2) for line in log.read_text().splitlines()]
    runs = str(project / "runs")
    in_run = collections.Counter(digest for size, digest, path in rows
                                 if path.startswith(runs) and int(size) > 0)
    anywhere = collections.Counter(digest for size, digest, _ in rows if int(size) > 0)
    sizes = {digest: int(size) for size, digest, _ in rows}
    big = max(sizes, key=sizes.get)
    return {"bytes": sum(int(size) for size, _, _ in rows), "hashes": len(rows),
            "max_in_run": max(in_run.values()), "max_anywhere": max(anywhere.values()),
            "largest_file_bytes": sizes[big], "largest_file_hashes": anywhere[big]}


def measure(name: str, params: dict, peer: Path, tmp: Path, hooks: Path) -> None:
    figures = {}
    for who, code in (("workbench", None), ("peer", peer)):
        project = tmp / f"{name}-{who}"
        project.mkdir()
        (project / "workbench.yaml").write_text("runs_dir: runs\n")
        log = tmp / f"{name}-{who}.log"
        seconds = _run(code, project, params, log, hooks)
        figures[who] = {**_tally(log, project), "wall_s": seconds}
        shutil.rmtree(project, ignore_errors=True)
    ours, theirs = figures["workbench"], figures["peer"]
    peer_name = f"workbench at {os.environ.get('BENCH_HASH_PEER', 'a2c480c')}"
    emit("hashing", f"{name}_bytes_hashed", workbench=ours["bytes"], peer=theirs["bytes"],
         peer_name=peer_name, unit="bytes", hashes=ours["hashes"], peer_hashes=theirs["hashes"])
    emit("hashing", f"{name}_max_hashes_per_file_in_run", workbench=ours["max_in_run"],
         peer=theirs["max_in_run"], peer_name=peer_name, unit="hashes",
         target="<= 2 (written, verified once)", ok=ours["max_in_run"] <= 2)
    emit("hashing", f"{name}_largest_file_hashes", workbench=ours["largest_file_hashes"],
         peer=theirs["largest_file_hashes"], peer_name=peer_name, unit="hashes",
         bytes=ours["largest_file_bytes"], max_anywhere=ours["max_anywhere"],
         note="anywhere: counts the copy in the model repository the server loads")
    emit("hashing", f"{name}_wall_s", workbench=ours["wall_s"], peer=theirs["wall_s"],
         peer_name=peer_name, unit="s")


def main() -> None:
    rev = os.environ.get("BENCH_HASH_PEER", "a2c480c")
    small = yaml.safe_load(SMALL.read_text())
    large = {**small, "01_data_validation": {"rows": 2000},
             # no weight histograms: one of a 132M-weight kernel does not fit in memory
             "02_train": {**small["02_train"], "epochs": 1, "batch_size": 128,
                          "hidden_units": [11500, 11500], "histogram_freq": 0},
             "05_tflite": {**small["05_tflite"], "variants": ["float32"]}}
    with tempfile.TemporaryDirectory(prefix="bench-hash-") as tmp_name:
        tmp = Path(tmp_name)
        hooks = tmp / "hooks"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(_SITECUSTOMIZE)
        peer = _peer_checkout(rev, tmp / "peer")
        try:
            if os.environ.get("BENCH_HASH_SMALL", "1") != "0":
                measure("default_small", small, peer, tmp, hooks)
            if os.environ.get("BENCH_HASH_LARGE", "1") != "0":
                measure("model_over_500MB", large, peer, tmp, hooks)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(peer)],
                           capture_output=True)


if __name__ == "__main__":
    main()
