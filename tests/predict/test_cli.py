"""``workbench predict`` as a user runs it: a summary on success, a message and a non-zero exit
on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import run_workbench

from .conftest import Scored

pytestmark = pytest.mark.slow


def test_predict_writes_jsonl_and_prints_the_summary(exported: Scored, tmp_path: Path) -> None:
    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 300), data)
    out = tmp_path / "scored.jsonl"
    res = run_workbench("predict", str(exported.run.path), "--data", str(data), "--out",
                        str(out), "--keep-columns", "amount,channel", "--json")
    assert res.code == 0, res.text
    summary = json.loads(res.out)
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (300, 300, 0)
    first = json.loads(out.read_text().splitlines()[0])
    assert list(first) == ["row", "transaction_id", "amount", "channel", "predicted_class",
                           "probability_0", "probability_1"]
    meta = json.loads((tmp_path / "scored.jsonl.meta.json").read_text())
    assert meta["model"]["workbench.run_id"] == exported.run.id
    assert "TensorFlow" not in res.err and "oneDNN" not in res.err  # stays quiet


def test_predict_refuses_bad_input_with_a_non_zero_exit(exported: Scored, tmp_path: Path
                                                        ) -> None:
    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 10), data)
    res = run_workbench("predict", str(exported.run.path), "--data", str(data), "--out",
                        str(tmp_path / "x.parquet"), "--variant", "tflite:dynamic")
    assert res.code == 1
    assert "has no TFLite variant 'dynamic'" in res.err
    assert "fix: its variants: tflite:float32" in res.err
