"""Training on a split written as Parquet part files (stage 01 with ``splits="shards"``).

The rows stream from the files through ``tf.data``: a Python generator reads each part in
blocks, converts a block's columns as :func:`workbench.train.data.feature_arrays` converts a
whole split, encodes them with the preprocessing, and the pipeline unbatches, shuffles in a
bounded buffer and batches them. Memory holds a few blocks, never the split. The order of the
parts is reshuffled every epoch (seeded). The validation rows are a seeded draw per block, the
same every epoch. The core then trains as the in-memory path trains it
(:func:`workbench.train.trainer.fit_datasets`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.errors import DataError, WorkbenchError
from workbench.features.spec import FeaturePlan
from workbench.train.params import TrainParams

__all__ = ["BLOCK_ROWS", "ShardedTable", "fit_shards", "stream_rows"]

log = logging.getLogger(__name__)

BLOCK_ROWS = 65_536
SHUFFLE_ROWS = 100_000  # the shuffle buffer: rows from several blocks and parts


class ShardedTable:
    """A split as its part files: what training asks of a table (schema, column names, row
    count, one column) without reading the rows, and the rows in blocks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = sorted(self.path.glob("part-*.parquet"))
        if not self.parts:
            raise DataError(f"the split folder {self.path} holds no part files",
                            hint="re-run stage 01_data_validation", file=str(self.path))

    @property
    def schema(self) -> pa.Schema:
        return pq.read_schema(self.parts[0])

    @property
    def column_names(self) -> list[str]:
        return self.schema.names

    @property
    def num_rows(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.parts)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of every part (the label: a few bytes per row)."""
        return pa.chunked_array([pq.read_table(p, columns=[name]).column(0).combine_chunks()
                                 for p in self.parts])

    def blocks(self, order: list[int] | None = None) -> Iterator[tuple[int, int, pa.Table]]:
        for i in order if order is not None else range(len(self.parts)):
            for j, batch in enumerate(pq.ParquetFile(self.parts[i]).iter_batches(BLOCK_ROWS)):
                yield i, j, pa.Table.from_batches([batch])


def stream_rows(table: ShardedTable, *, seed: int, validation_fraction: float,
                validation: bool, epoch: int = 0) -> Iterator[tuple[int, int, pa.Table]]:
    """The fit rows (``validation=False``: the parts in another seeded order each ``epoch``)
    or the validation rows (a seeded draw per block, the same every epoch) of the split, as
    ``(part, block, rows)``."""
    order = None
    if not validation:
        order = np.random.default_rng([seed, epoch]).permutation(len(table.parts)).tolist()
    for i, j, block in table.blocks(order):
        held = np.random.default_rng([seed, i, j]).random(block.num_rows) < validation_fraction
        rows = block.filter(pa.array(held if validation else ~held))
        if rows.num_rows:
            yield i, j, rows


def fit_shards(plan: FeaturePlan, table: ShardedTable, *, label: str, task: str,
               classes: list[Any], n_outputs: int, config: TrainParams,
               log_dir: Path | None = None, backup_dir: Path | None = None,
               label_stats: tuple[float, float] = (0.0, 1.0),
               on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> Any:
    """:func:`workbench.train.trainer.fit` for a split that stays on disk."""
    import keras
    import tensorflow as tf

    from workbench.errors import carried_error, carry
    from workbench.features.preprocess import build_preprocessor
    from workbench.train.data import check_encoded, check_finite, encode_labels, feature_arrays
    from workbench.train.strategy import make_strategy
    from workbench.train.trainer import check_rows, encode, encoder, fit_datasets

    config.check()
    check_rows(table.num_rows, n_outputs)
    started = time.monotonic()
    info = make_strategy(config.strategy)  # first: collectives must be set up before other ops
    keras.utils.set_random_seed(config.seed)
    preprocessor = build_preprocessor(plan)
    call = encoder(preprocessor)
    names = {e.name: e.feature for e in plan.encoded()}
    epochs = {"fit": 0}

    def encoded_blocks(validation: bool) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        epoch = epochs["fit"]
        if not validation:  # tf.data calls this again every epoch
            epochs["fit"] += 1
        try:
            for i, j, rows in stream_rows(table, seed=config.seed, validation=validation,
                                          validation_fraction=config.validation_fraction,
                                          epoch=epoch):
                where = f"{'validation' if validation else 'train'} rows of " \
                        f"{table.parts[i].name}"
                x = feature_arrays(rows, plan, split=where)
                check_finite(x, plan, split=where)
                y = encode_labels(rows, label, task, classes)
                if config.cripple == "shuffle_labels":
                    y = np.random.default_rng([config.seed + 1, i, j]).permutation(y)
                encoded = encode(preprocessor, x, call=call)
                check_encoded(encoded, names)
                yield encoded, y
        except WorkbenchError as err:  # carried through tf.data's error as text
            raise RuntimeError(carry(err)) from err

    first = next(encoded_blocks(True), None) or next(encoded_blocks(False))
    epochs["fit"] = 0
    signature = ({k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype))
                  for k, v in first[0].items()},
                 tf.TensorSpec((None, *first[1].shape[1:]), tf.as_dtype(first[1].dtype)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA

    def dataset(validation: bool) -> Any:
        ds = tf.data.Dataset.from_generator(lambda: encoded_blocks(validation),
                                            output_signature=signature).unbatch()
        if not validation:
            ds = ds.shuffle(SHUFFLE_ROWS, seed=config.seed, reshuffle_each_iteration=True)
        return ds.batch(config.batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)

    sample = ({k: v[:512] for k, v in first[0].items()}, first[1][:512])
    log.info("training on %d rows streamed from %d part files", table.num_rows,
             len(table.parts))
    try:
        return fit_datasets(plan, preprocessor, dataset(False), dataset(True), sample,
                            task=task, n_outputs=n_outputs, config=config, info=info,
                            started=started, log_dir=log_dir, backup_dir=backup_dir,
                            label_stats=label_stats, on_epoch=on_epoch)
    except Exception as err:
        found = carried_error(err)
        if found is None:
            raise
        raise found from None
