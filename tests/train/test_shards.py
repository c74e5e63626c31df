"""Data larger than memory: stage 01 splits part files on Beam's workers (splits="shards") and
training streams the part files; the rows, splits and statistics are the in-memory ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from workbench.data.datasets import generate_fraud
from workbench.data.params import DataValidationParams
from workbench.data.stage import ingest, validate
from workbench.errors import DataError, ParameterError
from workbench.runs.step import Step
from workbench.runs.store import RunStore
from workbench.train.shards import ShardedTable, stream_rows

from ..conftest import run_workbench
from ..data.test_beam_stats import assert_same_statistics

pytestmark = pytest.mark.slow
WORKERS = {"direct_num_workers": "2"}


def _parts(folder: Path, rows=(1500, 1200, 1300)) -> Path:
    folder.mkdir(parents=True)
    for i, n in enumerate(rows):
        pacsv.write_csv(generate_fraud(n, seed=10 + i), folder / f"transactions-{i}.csv")
    return folder


def _stage01(root: Path, data: Path, splits: str, **extra):
    run = RunStore(root / "runs").create(state="interactive")
    step = Step(run, "01_data_validation", "compute")
    p = DataValidationParams(data_path=str(data), label="is_fraud", slice_by="channel",
                             engine="beam", splits=splits, beam_options=WORKERS, **extra)
    p.check()
    data_result = ingest(step, p, project_root=root)
    return step, data_result, validate(step, data_result, p, project_root=root)


def test_shards_split_where_memory_splits_with_the_same_statistics(tmp_path):
    data = _parts(tmp_path / "in")
    mem_step, mem_data, mem = _stage01(tmp_path / "memory", data, "memory",
                                       row_filter="amount > 1")
    sh_step, sh_data, sh = _stage01(tmp_path / "shards", data, "shards",
                                    row_filter="amount > 1")
    assert sh_data.card["splits"] == mem_data.card["splits"]
    assert sh_data.card["sharded"] == {"shards": 3, "sample_rows": 1500, "engine": "beam"}
    assert sh_step.record.artifacts["train"].kind == "parquet_shards"
    for split in ("train", "eval"):
        a = pq.read_table(mem_step.dir / f"{split}.parquet").sort_by("transaction_id")
        b = pq.read_table(sh_step.dir / split).sort_by("transaction_id")
        assert a.equals(b), split  # the same rows, columns and types
        assert sorted(p.name for p in (sh_step.dir / split).iterdir()) == \
            [f"part-0000{i}.parquet" for i in range(3)]  # nothing half-written left
    assert_same_statistics(sh.stats_train, mem.stats_train)
    assert_same_statistics(sh.stats_eval, mem.stats_eval)
    assert sh.schema_inferred == mem.schema_inferred and sh.anomalies == mem.anomalies
    assert sh.passed and mem.passed
    # what training reads of a sharded split, without reading its rows
    table = ShardedTable(sh_step.dir / "train")
    assert table.num_rows == mem_data.card["splits"]["train"]
    assert table.column("is_fraud").to_pylist() == pq.read_table(
        sh_step.dir / "train").column("is_fraud").to_pylist()


def test_the_stream_sees_every_row_once_per_epoch(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    for i, n in enumerate((70_000, 30_000, 5)):  # several blocks in the first part
        pq.write_table(pa.table({"id": np.arange(n) + 1_000_000 * i}),
                       folder / f"part-{i:05d}.parquet")
    table = ShardedTable(folder)

    def ids(validation: bool, epoch: int = 0) -> list[int]:
        return [v for _, _, rows in stream_rows(table, seed=7, validation_fraction=0.2,
                                                validation=validation, epoch=epoch)
                for v in rows.column("id").to_pylist()]

    held = ids(True)
    assert ids(True) == held  # the same validation rows every epoch
    assert 0.18 < len(held) / table.num_rows < 0.22
    orders = []
    for epoch in range(3):
        fit = ids(False, epoch)
        assert len(fit) + len(held) == table.num_rows
        assert sorted(fit + held) == sorted(table.column("id").to_pylist())
        parts = [v // 1_000_000 for v in fit]
        orders.append(tuple(p for k, p in enumerate(parts) if k == 0 or p != parts[k - 1]))
    assert all(sorted(o) == [0, 1, 2] for o in orders)
    assert len(set(orders)) > 1  # the parts come in another order


def test_whole_pipeline_to_evaluation_streams_the_shards(tmp_path):
    """Headless, through the notebooks: 01 splits on Beam's workers, 02 trains from the part
    files, 03 evaluates the eval part files, and the model is as good as the in-memory one."""
    data = _parts(tmp_path / "in", rows=(4000, 3000, 3000))
    aucs = {}
    for splits in ("memory", "shards"):
        project = tmp_path / splits
        project.mkdir()
        done = run_workbench("run", "--to", "03_evaluate", "-p", f"data_path={data}", "-p",
                             "label=is_fraud", "-p", "engine=beam", "-p", f"splits={splits}",
                             "-p", 'beam_options={"direct_num_workers": "2"}', "-p", "epochs=8",
                             cwd=project, timeout=900)
        assert done.code in (0, 3), done.err
        run = next((project / "runs").iterdir())
        import json

        record = json.loads((run / "run.json").read_text())
        aucs[splits] = record["steps"]["03_evaluate"]["metrics"]["auc"]
        info = json.loads((run / "02_train" / "model_info.json").read_text())
        card = json.loads((run / "01_data_validation" / "data_card.json").read_text())
        assert info["rows"]["train"] == card["splits"]["train"]
    assert aucs["shards"] > 0.75 and abs(aucs["shards"] - aucs["memory"]) < 0.08, aucs


def test_shards_need_the_engine_a_key_and_no_time_split(tmp_path):
    with pytest.raises(ParameterError, match="made by the Beam workers"):
        DataValidationParams(data_path="x.csv", splits="shards").check()
    with pytest.raises(ParameterError, match="orders all rows"):
        DataValidationParams(data_path="x.csv", engine="beam", splits="shards",
                             time_split="auto").check()
    with pytest.raises(ParameterError, match="bundled dataset"):
        DataValidationParams(engine="beam", splits="shards").check()
    folder = tmp_path / "nokey"
    folder.mkdir()
    pacsv.write_csv(generate_fraud(300, seed=1).drop_columns(["transaction_id"]),
                    folder / "part-0.csv")
    with pytest.raises(ParameterError, match="hash of a key column") as err:
        _stage01(tmp_path / "p", folder, "shards")
    assert "key_column=" in err.value.hint
    # a bad value in a later shard: the worker's error, naming the shard, and no split left
    bad = _parts(tmp_path / "bad", rows=(300, 300))
    lines = (bad / "transactions-1.csv").read_text().splitlines()
    cells = lines[100].split(",")
    cells[1] = "lots"
    lines[100] = ",".join(cells)
    (bad / "transactions-1.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="'amount' .* mixes numbers and text") as err:
        _stage01(tmp_path / "b", bad, "shards")
    assert err.value.context["file"].endswith("transactions-1.csv")
    step_dir = next((tmp_path / "b" / "runs").iterdir()) / "01_data_validation"
    assert not (step_dir / "train").exists() and not (step_dir / "eval").exists()
    assert not [p for p in step_dir.iterdir() if p.name.startswith(".")]
