"""Run store: manifests, atomic writes, locks, interrupted runs, artifacts and their hashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from workbench.errors import (
    ArtifactError,
    IntegrityError,
    NotARunError,
    RunLockedError,
    RunStoreError,
    WorkbenchError,
)
from workbench.runs import Run, RunStore, open_step
from workbench.runs.atomic import atomic_dir, atomic_write_json, sha256_tree
from workbench.runs.step import Step


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_create_and_read_manifest(store: RunStore) -> None:
    run = store.create(parameters={"rows": 10}, pipeline=["a", "b"])
    m = run.read()
    assert m["run_id"] == run.id and m["state"] == "created"
    assert m["parameters"] == {"rows": 10} and m["pipeline"] == ["a", "b"]
    assert (run.path / "run.json").is_file()
    run.update(lambda m: m.update(state="running"))
    # nobody owns it, so a "running" run reads as interrupted
    assert run.state == "interrupted"


def test_open_by_id_prefix_and_path(store: RunStore) -> None:
    run = store.create(state="succeeded")
    assert store.open(run.id).path == run.path
    assert store.open(run.id[:-2]).path == run.path
    assert store.open(str(run.path)).path == run.path


def test_folder_that_is_not_a_run(store: RunStore, tmp_path: Path) -> None:
    store.create(state="succeeded")
    other = tmp_path / "not-a-run"
    other.mkdir()
    with pytest.raises(NotARunError, match="has no run.json"):
        store.open(str(other))
    with pytest.raises(NotARunError, match="no run 'nope'") as info:
        store.open("nope")
    assert "latest runs" in (info.value.hint or "")


def test_damaged_manifest_is_reported(store: RunStore) -> None:
    run = store.create()
    (run.path / "run.json").write_text("{ half")
    with pytest.raises(RunStoreError, match="not valid JSON"):
        run.read()


def test_owner_lock_excludes_a_second_writer(store: RunStore) -> None:
    run = store.create(state="running")
    with run.owned():
        assert run.read()["state"] == "running"
        other = Run(run.path)
        assert other.is_owned()
        with pytest.raises(RunLockedError, match="is being executed by pid"):
            with other.owned():
                pass
    assert not Run(run.path).is_owned()


def test_owner_lock_is_released_when_the_owner_dies(store: RunStore) -> None:
    run = store.create(state="running")
    code = textwrap.dedent(f"""
        import time
        from workbench.runs import Run
        run = Run({str(run.path)!r})
        with run.owned():
            run.update_step("s", state="running", executor="runner")
            print("owned", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "owned"
    assert run.read()["state"] == "running"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    m = run.read()
    assert m["state"] == "interrupted"
    assert m["steps"]["s"]["state"] == "interrupted"


def test_killed_writer_never_leaves_a_corrupt_manifest(store: RunStore) -> None:
    """SIGKILL a process that rewrites the manifest as fast as it can, many times over; every
    read in between and after sees valid JSON."""
    run = store.create()
    code = textwrap.dedent(f"""
        from workbench.runs import Run
        run = Run({str(run.path)!r})
        i = 0
        print("go", flush=True)
        while True:
            i += 1
            run.update(lambda m: m.update(counter=i, payload="x" * (i % 5000)))
    """)
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "go"
        deadline = time.monotonic() + 0.4
        while time.monotonic() < deadline:
            json.loads((run.path / "run.json").read_text())  # never a torn file
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert run.read()["counter"] >= 1
    leftovers = [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")]
    # a killed writer may leave its temp file, never a damaged manifest
    assert len(leftovers) <= 5


def test_concurrent_writers_lose_no_update(store: RunStore) -> None:
    run = store.create()
    code = textwrap.dedent(f"""
        import sys
        from workbench.runs import Run
        run = Run({str(run.path)!r})
        key = sys.argv[1]
        for i in range(40):
            run.update(lambda m: m.setdefault("hits", {{}}).__setitem__(
                key, m.get("hits", {{}}).get(key, 0) + 1))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, k]) for k in "ab"]
    for p in procs:
        assert p.wait() == 0
    assert run.read()["hits"] == {"a": 40, "b": 40}


def test_atomic_dir_keeps_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    before = sha256_tree(target)
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text("two")
            raise RuntimeError("boom")
    assert sha256_tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_json_rejects_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "x.json", {"v": float("nan")})
    assert not (tmp_path / "x.json").exists()


def test_step_artifacts_round_trip_and_hash_checks(store: RunStore) -> None:
    run = store.create(state="interactive")
    step = Step(run, "01_data", "compute")
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    art = step.save("table", table)
    assert art.path.name == "table.parquet" and len(art.sha256) == 64
    step.save("card", {"rows": 3})
    with step.writing("model", kind="dir") as tmp:
        (tmp / "weights.bin").write_bytes(b"\x00" * 10)
    later = Step(run, "02_use", "compute")
    assert later.load("01_data/table").equals(table)
    assert later.load("card") == {"rows": 3}  # unique name resolves across steps
    assert later.load("data/card") == {"rows": 3}  # short step name
    assert (later.path("model") / "weights.bin").exists()
    assert later.record.inputs["01_data/table"] == art.sha256
    # a changed byte is caught on read
    path = run.path / "01_data" / "card.json"
    path.write_text('{"rows": 4}\n')
    with pytest.raises(IntegrityError, match="has changed since it was written"):
        later.load("01_data/card")
    (run.path / "01_data" / "model" / "weights.bin").write_bytes(b"\x01" * 10)
    (run.path / "01_data" / "model" / "extra.txt").write_text("sneaked in")
    with pytest.raises(IntegrityError, match="changed: weights.bin; added: extra.txt"):
        later.path("01_data/model")
    with pytest.raises(ArtifactError, match="has no artifact 'nope'"):
        later.load("01_data/nope")
    with pytest.raises(ArtifactError, match="has no step 'zz'"):
        later.load("zz/table")


def test_failed_write_leaves_no_artifact(store: RunStore) -> None:
    run = store.create(state="interactive")
    step = Step(run, "s", "compute")
    with pytest.raises(RuntimeError):
        with step.writing("half", kind="file", suffix=".bin") as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("killed")
    assert not step.has("half")
    assert not any(p.name.startswith(".half") for p in step.dir.iterdir())


def test_view_mode_is_read_only(store: RunStore) -> None:
    run = store.create(state="interactive")
    Step(run, "s", "compute").save("x", {"a": 1})
    view = Step(run, "s", "view")
    assert view.load("x") == {"a": 1}
    for call in (lambda: view.save("y", {}), lambda: view.gate("g", True),
                 lambda: view.log_metrics(a=1)):
        with pytest.raises(WorkbenchError, match="view mode"):
            call()
    view.finish()  # a no-op in view mode


def test_interactive_open_attaches_to_latest_run(store: RunStore) -> None:
    assert store.runs() == []
    step = open_step("01_x", store=store)  # no run yet: starts an interactive one
    assert step.run.read()["state"] == "interactive"
    assert not step.headless
    step.gate("g", False, ["too small"])
    record = step.finish()
    assert record.state == "gate_failed" and record.failed_gates["g"].reasons == ["too small"]
    view = open_step("01_x", mode="view", store=store)  # a failed gate is still viewable
    assert view.mode == "view" and view.run.path == step.run.path
    again = open_step("01_x", store=store)
    assert again.run.path == step.run.path
    assert again.record.state == "running" and again.record.gates == {}


def test_interactive_step_of_a_dead_kernel_reads_interrupted(store: RunStore) -> None:
    run = store.create(state="interactive")
    run.update_step("s", state="running", executor="interactive", pid=2 ** 22 + 12345,
                    host=os.uname().nodename)
    assert run.read()["steps"]["s"]["state"] == "interrupted"
