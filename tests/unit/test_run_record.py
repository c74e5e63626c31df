"""The typed run record, runs written by earlier versions, and verifying artifacts once."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from workbench.errors import IntegrityError
from workbench.runs import atomic
from workbench.runs.record import Gate, RunRecord, RunState, StepState
from workbench.runs.step import Step, verify_step
from workbench.runs.store import Run, RunStore

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "20261130-120000-abcd"


@pytest.fixture
def legacy(tmp_path: Path) -> Run:
    """A run folder written by the code before the record was typed (kept in the tests)."""
    target = tmp_path / "runs" / LEGACY.name
    shutil.copytree(LEGACY, target)
    return Run(target)


@pytest.fixture
def hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every content hash of this process, as (bytes, path)."""
    log = tmp_path / "hashes.log"
    monkeypatch.setenv(atomic.HASH_LOG_ENV, str(log))
    atomic._memo.clear()
    out: list[tuple[int, str]] = []

    class View(list):
        def __iter__(self):  # noqa: ANN204
            out.clear()
            if log.exists():
                for line in log.read_text().splitlines():
                    size, path = line.split("\t", 1)
                    out.append((int(size), path))
            return iter(out)

    return View()


def _without_nulls(value):  # noqa: ANN001, ANN202
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def test_a_run_written_by_earlier_code_opens_typed(legacy: Run) -> None:
    raw = json.loads((legacy.path / "run.json").read_text())
    record = legacy.record()
    assert record.state == RunState.GATE_FAILED and record.pipeline == ["01_a", "02_b"]
    a, b = record.step("01_a"), record.step("02_b")
    assert a.done and a.state == StepState.SUCCEEDED and a.metrics == {"auc": 0.9, "blessed": True}
    assert a.gate("data_validation") == Gate("data_validation", True, [], a.gates[
        "data_validation"].at, {"errors": 0, "warnings": 1})
    assert set(a.artifacts) == {"table", "model"} and a.artifacts["model"].files
    assert b.failed_gates["blessing"].reasons == ["not blessed: auc 0.5 < 0.7"]
    assert b.failed_gates["blessing"].details["baseline"] == "20261129-000000-0000"
    assert b.inputs == {"01_a/table": a.artifacts["table"].sha256}
    assert record.failed_gates() == [("02_b", b.gates["blessing"])]
    again = json.loads(json.dumps(RunRecord.from_dict(raw).to_dict()))
    assert again == _without_nulls(raw), "reading and writing loses nothing but nulls"
    view = Step(legacy, "02_b", "view")
    assert view.load("01_a/table") == {"rows": [1, 2, 3]}
    assert (view.path("01_a/model") / "sub" / "v.data").read_bytes() == b"weights"


def test_a_changed_file_of_an_old_run_is_still_named(legacy: Run) -> None:
    (legacy.path / "01_a" / "model" / "sub" / "v.data").write_bytes(b"WEIGHTS")
    with pytest.raises(IntegrityError, match=r"changed: sub/v\.data"):
        Step(legacy, "02_b", "view").artifact("01_a/model")
    with pytest.raises(IntegrityError, match=r"01_a/model \(changed: sub/v\.data\)"):
        verify_step(legacy, "01_a")


def test_keys_a_run_did_not_know_are_kept(tmp_path: Path) -> None:
    run = RunStore(tmp_path / "runs").create()
    run.update(lambda m: m.update(counter=1))
    run.update_step("s", state="running", custom={"x": 1})
    run.set(state=RunState.RUNNING)
    raw = run.read()
    assert raw["counter"] == 1 and raw["steps"]["s"]["custom"] == {"x": 1}
    assert raw["state"] == "interrupted"  # running, but no process owns it
    assert run.record().steps["s"].state == StepState.INTERRUPTED


def test_an_artifact_is_hashed_when_written_and_verified_once(
        tmp_path: Path, hashed: list, monkeypatch: pytest.MonkeyPatch) -> None:
    run = RunStore(tmp_path / "runs").create(state="interactive")
    writer = Step(run, "01_w", "compute")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(os.urandom(1 << 16))
    monkeypatch.setattr(atomic, "RACY_NS", 10**18)  # everything counts as just written
    writer.save("model", folder, kind="dir")
    weights = str(run.path / "01_w" / "model" / "weights.bin")
    assert [p for _, p in hashed].count(weights) == 0  # hashed under its temporary name
    assert len(list(hashed)) == 1
    monkeypatch.setattr(atomic, "RACY_NS", 0)
    for _ in range(3):  # three readers, in new handles as in new processes
        Step(Run(run.path), "02_r", "compute").artifact("01_w/model")
        verify_step(Run(run.path), "01_w")
    assert [p for _, p in hashed].count(weights) == 1, "one verification after the write"
    Step(Run(run.path), "02_r", "view").artifact("01_w/model", full=True)
    assert [p for _, p in hashed].count(weights) == 2, "a full check always hashes"


def test_an_edit_that_keeps_size_and_mtime_is_still_caught(tmp_path: Path, hashed) -> None:
    run = RunStore(tmp_path / "runs").create(state="interactive")
    step = Step(run, "01_w", "compute")
    step.save("table", {"v": 1})
    step.artifact("table")  # verified, identities recorded
    path = run.path / "01_w" / "table.json"
    st = path.stat()
    path.write_text(path.read_text().replace("1", "2"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: ctime moved
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(IntegrityError, match="has changed since it was written"):
        Step(Run(run.path), "02_r", "view").artifact("01_w/table")


def test_manifest_reads_parse_the_file_once_until_it_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = RunStore(tmp_path / "runs").create(state="interactive")
    Step(run, "01_w", "compute").save("table", {"v": 1})
    parsed = []
    original = Run._read_raw
    monkeypatch.setattr(Run, "_read_raw", lambda self: parsed.append(1) or original(self))
    monkeypatch.setattr("workbench.runs.store._FRESH_NS", 0)
    reader = Run(run.path)
    step = Step(reader, "02_r", "view")
    for _ in range(5):
        step.artifact("01_w/table")
        reader.record()
    assert len(parsed) == 1
    Run(run.path).update_step("02_r", state="running")  # another handle writes
    assert reader.step("02_r").state == StepState.RUNNING
    assert len(parsed) == 3  # the write read it inside its lock; the reader once more


def test_a_view_never_writes_to_the_run(tmp_path: Path) -> None:
    run = RunStore(tmp_path / "runs").create(state="interactive")
    Step(run, "01_w", "compute").save("table", {"v": 1})
    before = (run.path / "run.json").read_bytes()
    assert Step(Run(run.path), "02_r", "view").load("01_w/table") == {"v": 1}
    assert (run.path / "run.json").read_bytes() == before
