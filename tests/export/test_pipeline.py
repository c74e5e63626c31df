"""Stages 04 and 05 in the default pipeline (after 01-03, small parameters), and a tampered
export failing `workbench verify` and the pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..conftest import run_workbench

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(small_runs) -> tuple[Path, str]:
    return small_runs.upto("05_tflite")


def test_default_pipeline_exports_and_converts(finished) -> None:
    root, run_id = finished
    manifest = json.loads((root / "runs" / run_id / "run.json").read_text())
    steps = manifest["steps"]
    for stage, gate in (("04_export", "export_checks"), ("05_tflite", "tflite_accuracy")):
        assert steps[stage]["state"] in ("succeeded", "cached"), steps[stage]
        assert steps[stage]["gates"][gate]["passed"], steps[stage]["gates"]
    assert {"saved_model", "export_report"} <= set(steps["04_export"]["artifacts"])
    assert {"tflite_float32", "tflite_dynamic", "tflite_float16", "tflite_int8",
            "tflite_report"} <= set(steps["05_tflite"]["artifacts"])
    report = json.loads((root / "runs" / run_id / "05_tflite" / "tflite_report.json")
                        .read_text())
    assert [v["name"] for v in report["variants"] if v["ok"]] == ["float32", "dynamic",
                                                                  "float16", "int8"]
    assert report["recommended"] in ("float32", "dynamic", "float16", "int8")
    model_dir = root / "runs" / run_id / "04_export" / "saved_model"
    ok = run_workbench("verify", str(model_dir), cwd=root)
    assert ok.code == 0 and "match the integrity manifest" in ok.out, ok.text


def test_tampered_export_fails_verify_and_the_pipeline(finished, tmp_path: Path) -> None:
    root, run_id = finished
    copy = tmp_path / "project"
    shutil.copytree(root, copy)  # real copies: cached steps share inodes between runs
    for other in (copy / "runs").iterdir():  # the tampered run is the one 05 must take 04 from
        if other.is_dir() and other.name != run_id:
            shutil.rmtree(other)
    model_dir = copy / "runs" / run_id / "04_export" / "saved_model"
    data = next((model_dir / "variables").glob("variables.data-*"))
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    data.write_bytes(bytes(blob))

    verify = run_workbench("verify", str(model_dir), cwd=copy)
    assert verify.code == 1, verify.text
    assert f"changed: variables/{data.name}" in verify.err

    rerun = run_workbench("run", "--only", "05_tflite", "--force", "-p",
                          "05_tflite.latency_runs=10", cwd=copy,
                          env={"WORKBENCH_HOME": str(copy)})
    assert rerun.code != 0, rerun.text
    # the runner checks 05's input before the stage starts, and names the changed file
    assert "04_export" in rerun.err and f"changed: variables/{data.name}" in rerun.err, \
        rerun.text
