"""Stage 01 for data larger than memory: Beam's workers split the shards and write them.

With ``engine="beam"`` and ``splits="shards"`` nothing reads the whole data in one place:

* the driver reads the first batch of the first shard and decides on it what
  :func:`~workbench.data.intake.run_intake` decides on the whole table in memory: the
  columns' roles, the label, the task, the split key (how the file is read — dialect, types —
  is decided on the first shard's sample either way);
* each worker reads one shard in batches, drops the ignored columns, applies ``row_filter``,
  and sends every row to train or eval by the hash of its key
  (:func:`~workbench.data.ingest.key_in_eval`), as the in-memory split does. So a row lands in
  the same split on both paths. The worker writes ``train/part-NNNNN.parquet`` and
  ``eval/part-NNNNN.parquet`` (atomically; a retried shard rewrites the same names), and
  computes the statistics of both splits (train with its slices);
* the partial statistics are merged as in :mod:`workbench.data.beam_stats`: train, eval and
  all rows, the statistics the schema is inferred from.

The splits are ``parquet_shards`` artifacts: folders of part files. Training streams them
(:mod:`workbench.train.shards`), and evaluation and the apps read the eval split whole.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from workbench.data.beam_stats import SLICES_PER_SHARD, WriteStatistics, run_pipeline
from workbench.data.params import DataValidationParams
from workbench.data.stats import StatisticsAccumulator, StatsOptions, accumulate_statistics
from workbench.errors import DataError, ParameterError, WorkbenchError, carry

__all__ = ["ShardedSplit", "ingest_shards"]

log = logging.getLogger(__name__)

SPLITS = ("train", "eval")


@dataclass(frozen=True)
class ShardedSplit:
    """What a worker needs to split one shard as the driver decided."""

    data_path: str
    overrides: dict[str, Any]
    label: str
    label_tokens: tuple[str, str] | None
    ignored: tuple[str, ...]
    row_filter: str
    key: str
    eval_fraction: float
    seed: int
    slice_by: str | None
    max_slices: int
    options: StatsOptions
    out: dict[str, str]  # split: folder the part files go to

    def __call__(self, element: tuple[int, str]) -> list[tuple[str, Any]]:
        index, part = element
        try:
            return self._split(index, part)
        except WorkbenchError as err:
            err.context["file"] = part
            raise RuntimeError(carry(err)) from err

    def _split(self, index: int, part: str) -> list[tuple[str, Any]]:
        from workbench.data.beam_stats import Partial
        from workbench.data.ingest import key_in_eval
        from workbench.data.intake import label_as_tokens, timestamps_as_seconds
        from workbench.data.reading import open_table
        from workbench.data.stage import apply_filter

        stream = open_table(self.data_path, **self.overrides)
        partials = {s: Partial(StatisticsAccumulator(self.options)) for s in SPLITS}
        writers: dict[str, pq.ParquetWriter] = {}
        tmp = {s: Path(self.out[s]) / f".part-{index:05d}.parquet.tmp" for s in SPLITS}
        try:
            for batch in stream.part_batches(Path(part)):
                # as the in-memory ingest: the label as its tokens, rows without one left out,
                # times as seconds, the ignored columns dropped, then the row filter
                batch = label_as_tokens(batch, self.label, self.label_tokens)
                batch = batch.filter(pc.is_valid(batch.column(self.label)))
                batch = timestamps_as_seconds(batch)
                batch = batch.drop_columns([c for c in self.ignored if c in batch.column_names])
                batch = apply_filter(batch, self.row_filter, part, allow_empty=True)
                if batch.num_rows == 0:
                    continue
                is_eval = key_in_eval(batch.column(self.key), self.key,
                                      eval_fraction=self.eval_fraction, seed=self.seed)
                for split, rows in (("train", batch.filter(pa.array(~is_eval))),
                                    ("eval", batch.filter(pa.array(is_eval)))):
                    if split not in writers:
                        writers[split] = pq.ParquetWriter(tmp[split], batch.schema,
                                                          compression="zstd")
                    writers[split].write_table(rows)
                    whole, slices = accumulate_statistics(
                        [rows], options=self.options, allow_empty=True, source=part,
                        slice_by=self.slice_by if split == "train" else None,
                        max_slices=self.max_slices * SLICES_PER_SHARD)
                    partials[split].merge(Partial(whole, slices))
            for split, writer in writers.items():
                writer.close()
                os.replace(tmp[split], Path(self.out[split]) / f"part-{index:05d}.parquet")
        finally:
            for split in SPLITS:
                tmp[split].unlink(missing_ok=True)
        return [(split, partials[split]) for split in SPLITS]


def ingest_shards(step: Any, p: DataValidationParams, path: Path) -> Any:
    """Stage 01's ingest on Beam's workers (see the module docstring); the statistics of the
    splits come with it, from the same pipeline."""
    from workbench.data.intake import run_intake
    from workbench.data.reading import open_table
    from workbench.data.stage import IngestResult, apply_filter

    stream = open_table(path, **p.read_overrides())
    stream.check_parts()
    sample = stream.sample()
    got = run_intake(p, path=path, read=sample)
    if not got.key:
        raise ParameterError(
            'splits="shards" sends each row to train or eval by the hash of a key column, and '
            f"{got.source} has none the roles call an identifier",
            hint="name the key: key_column=<a column that identifies a row, e.g. a "
            'transaction ID>, or use splits="memory"', parameter="key_column")
    ignored = tuple(got.roles.of("ignore")) if got.roles else ()
    if ignored:
        got.table = got.table.drop_columns(ignored)
    got.table = apply_filter(got.table, p.row_filter, got.source, allow_empty=True)
    slice_by = _slice_column(got.table, p.slice_by, sample)
    options = StatsOptions()
    stats: dict[str, Any] = {}
    with step.writing("train", kind="parquet_shards", sharded=True) as train_dir, \
            step.writing("eval", kind="parquet_shards", sharded=True) as eval_dir:
        split = ShardedSplit(str(path), p.read_overrides(), got.label, got.label_tokens,
                             ignored, p.row_filter, got.key,
                             p.eval_fraction, p.seed, slice_by, p.max_slices, options,
                             {"train": str(train_dir), "eval": str(eval_dir)})
        folder = Path(step.dir) / ".beam-statistics"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            run_pipeline(list(enumerate(str(s) for s in stream.parts)), split,
                         {"train": slice_by, "eval": None}, beam_options=p.beam_options,
                         options=options, max_slices=p.max_slices,
                         emit=WriteStatistics(str(folder)), union="all", what=stream.source)
            from workbench.data.stats import read_statistics

            stats = {k: read_statistics(folder / f"{k}.pb") for k in (*SPLITS, "all")}
        finally:
            for file in folder.glob("*"):
                file.unlink()
            folder.rmdir()
        rows = {s: stats[s].datasets[0].num_examples for s in SPLITS}
        if not rows["train"] or not rows["eval"]:
            raise DataError(f"splitting {sum(rows.values()):,} rows with eval_fraction="
                            f"{p.eval_fraction} leaves {rows['train']:,} training and "
                            f"{rows['eval']:,} evaluation rows",
                            hint="use more rows or an eval_fraction nearer 0.5")
    card = _card(got, p, stats, rows, sample.table.num_rows, len(stream.parts))
    step.save("data_card", card)
    step.log_metrics(rows=sum(rows.values()), rows_train=rows["train"],
                     rows_eval=rows["eval"], columns_dropped=len(card["dropped_columns"]),
                     shards=len(stream.parts))
    return IngestResult(card, None, None, got.table, got.dataset,
                        {s: step.dir / s for s in SPLITS}, statistics=stats)


def _slice_column(table: pa.Table, slice_by: str, read: Any) -> str | None:
    if not slice_by:
        return None
    name = read.safe(slice_by, "slice_by")
    if name not in table.column_names:
        raise ParameterError(f"slice_by names '{slice_by}', which is not a column of the data "
                             "after the ignored columns are dropped", parameter="slice_by")
    return name


def _card(got: Any, p: DataValidationParams, stats: dict[str, Any], rows: dict[str, int],
          sampled: int, shards: int) -> dict[str, Any]:
    """The data card of the sample, with the counts of every row."""
    empty = got.table.slice(0, 0)
    card = got.card(empty, empty, p)
    card["splits"] = dict(rows)
    card["rows"] = sum(rows.values())
    card["sharded"] = {"shards": shards, "sample_rows": sampled, "engine": "beam"}
    card.setdefault("warnings", []).append(
        f"The splits were made on Beam's workers from {shards} part files; the column "
        f"summaries describe the first {sampled:,} rows, the statistics every row.")
    return card
