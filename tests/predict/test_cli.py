"""``workbench predict``: a summary (text or JSON) on success; a message with the fix and a
non-zero exit on bad input, from the real command."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import run_workbench

from .conftest import Scored

pytestmark = pytest.mark.slow


def test_predict_writes_jsonl_and_prints_the_summary(exported: Scored, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workbench.cli import cli

    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 300), data)
    out = tmp_path / "scored.jsonl"
    # in this process (TensorFlow is loaded already); the next test runs the real command
    res = CliRunner().invoke(cli, ["predict", str(exported.run.path), "--data", str(data),
                                   "--out", str(out), "--keep-columns", "amount,channel",
                                   "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert (summary["rows"], summary["scored"], summary["rejected"]) == (300, 300, 0)
    first = json.loads(out.read_text().splitlines()[0])
    assert list(first) == ["row", "transaction_id", "amount", "channel", "predicted_class",
                           "probability_0", "probability_1"]
    meta = json.loads((tmp_path / "scored.jsonl.meta.json").read_text())
    assert meta["model"]["workbench.run_id"] == exported.run.id
    text = CliRunner().invoke(cli, ["predict", str(exported.run.path), "--data", str(data),
                                    "--out", str(tmp_path / "scored.csv")])
    assert text.exit_code == 0, text.output
    assert text.stdout.splitlines()[0].startswith("scored 300 of 300 rows in ")
    assert "predicted classes: 0: " in text.stdout


def test_predict_refuses_bad_input_with_a_non_zero_exit(exported: Scored, tmp_path: Path
                                                        ) -> None:
    data = tmp_path / "rows.parquet"
    pq.write_table(exported.rows.slice(0, 10), data)
    res = run_workbench("predict", str(exported.run.path), "--data", str(data), "--out",
                        str(tmp_path / "x.parquet"), "--variant", "tflite:dynamic")
    assert res.code == 1
    assert "has no TFLite variant 'dynamic'" in res.err
    assert "fix: its variants: tflite:float32" in res.err
