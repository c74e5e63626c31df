"""Statistics of a dataset as a TFDV-compatible ``DatasetFeatureStatisticsList``.

:func:`compute_statistics` takes an Arrow table (or pandas/polars frame, a file path, or any
iterable of record batches), computes every feature's statistics in one pass over the data with
mergeable partial statistics (:mod:`workbench.data.partial`), and returns the
``tensorflow_metadata`` proto TFDV itself writes, with TFDV's defaults: 10-bucket standard and
quantile histograms, the 20 most frequent values and a rank histogram of up to 1,000 values (so
a categorical feature's whole vocabulary up to 1,000 values is in the statistics).

Files are read in batches, so memory stays bounded whatever the file size; a ``progress``
callback hears ``(rows_done, rows_total)`` after each batch.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import statistics_pb2

from workbench._ranking import most_frequent
from workbench.data.partial import (
    NumericPartial,
    PartialOptions,
    StringPartial,
    is_list_type,
    kind_of,
)
from workbench.errors import DataError

__all__ = [
    "ALL_EXAMPLES",
    "DEFAULT_MAX_SLICES",
    "Progress",
    "StatisticsAccumulator",
    "StatsOptions",
    "accumulate_statistics",
    "compute_statistics",
    "dataset_statistics",
    "feature_name",
    "feature_statistics",
    "read_statistics",
    "split_by",
    "top_slice_values",
    "top_slices",
    "write_statistics",
]

log = logging.getLogger(__name__)

ALL_EXAMPLES = "All Examples"
Progress = Callable[[int, "int | None"], None]

_TYPES = {
    "int": statistics_pb2.FeatureNameStatistics.INT,
    "float": statistics_pb2.FeatureNameStatistics.FLOAT,
    "string": statistics_pb2.FeatureNameStatistics.STRING,
    "bytes": statistics_pb2.FeatureNameStatistics.BYTES,
}


@dataclass(frozen=True)
class StatsOptions:
    """What to compute; the defaults are TFDV's ``StatsOptions`` defaults."""

    num_top_values: int = 20
    num_rank_histogram_buckets: int = 1000
    num_histogram_buckets: int = 10
    num_quantiles_histogram_buckets: int = 10
    num_values_histogram_buckets: int = 10
    sketch_capacity: int = 1 << 16
    max_exact_values: int = 100_000
    batch_rows: int = 1 << 20
    threads: int = 0  # 0: one per core
    seed: int = 0

    @property
    def partial(self) -> PartialOptions:
        return PartialOptions(sketch_capacity=self.sketch_capacity,
                              max_exact_values=self.max_exact_values, seed=self.seed)


Partial = NumericPartial | StringPartial


def _new_partial(kind: str, options: PartialOptions) -> Partial:
    if kind in ("int", "float"):
        return NumericPartial(kind, options)
    return StringPartial(kind, options)


class StatisticsAccumulator:
    """Statistics of the rows seen so far; feed batches with :meth:`update`, combine with
    :meth:`merge`, read with :meth:`to_proto`."""

    def __init__(self, options: StatsOptions | None = None) -> None:
        self.options = options or StatsOptions()
        self.num_examples = 0
        self.features: dict[str, Partial] = {}
        self._missing_before: dict[str, int] = {}

    def update(self, batch: pa.Table | pa.RecordBatch, *,
               pool: ThreadPoolExecutor | None = None, source: str = "the data") -> None:
        columns = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            kind = kind_of(column.type)
            if kind is None:
                if not pa.types.is_null(column.type):
                    raise DataError(
                        f"column '{name}' of {source} has type {column.type}, which statistics "
                        "cannot describe",
                        hint="flatten it into scalar or list columns of numbers or strings, "
                        "or drop it", column=name, file=source)
                self._count_only_missing(name, batch.num_rows)
                continue
            partial = self._partial_for(name, kind, source)
            columns.append((partial, column))
        self._backfill_missing(batch)
        if pool is not None and len(columns) > 1:
            list(pool.map(lambda pc_: pc_[0].update(pc_[1]), columns))
        else:
            for partial, column in columns:
                partial.update(column)
        self.num_examples += batch.num_rows

    def _count_only_missing(self, name: str, rows: int) -> None:
        partial = self.features.get(name)
        if partial is None:
            self._missing_before[name] = self._missing_before.get(name, 0) + rows
        else:
            partial.presence.num_missing += rows

    def _backfill_missing(self, batch: pa.Table | pa.RecordBatch) -> None:
        """Features absent from this batch (or seen first now) were missing on those rows."""
        names = set(batch.schema.names)
        for name, partial in self.features.items():
            if name not in names:
                partial.presence.num_missing += batch.num_rows
            elif name in self._missing_before:
                partial.presence.num_missing += self._missing_before.pop(name)

    def _partial_for(self, name: str, kind: str, source: str) -> Partial:
        partial = self.features.get(name)
        if partial is None:
            partial = _new_partial(kind, self.options.partial)
            partial.presence.num_missing += self.num_examples - self._missing_before.get(name, 0)
            self.features[name] = partial
            return partial
        if partial.kind == kind:
            return partial
        if {partial.kind, kind} == {"int", "float"}:
            partial.kind = "float"
            return partial
        raise DataError(
            f"column '{name}' of {source} changes type after row {self.num_examples:,}: "
            f"{_KIND_WORDS[partial.kind]} before, {_KIND_WORDS[kind]} from there on",
            hint="a column must hold one type; fix the values that differ (or quote numbers "
            "that are really text in every row)", column=name, file=source,
            row=self.num_examples)

    def merge(self, other: StatisticsAccumulator) -> StatisticsAccumulator:
        for name, partial in other.features.items():
            mine = self.features.get(name)
            if mine is None:
                mine = _new_partial(partial.kind, self.options.partial)
                mine.presence.num_missing += self.num_examples
                self.features[name] = mine
            elif {mine.kind, partial.kind} == {"int", "float"}:
                mine.kind = "float"
            elif mine.kind != partial.kind:
                raise DataError(f"feature '{name}' is {_KIND_WORDS[mine.kind]} in one part of "
                                f"the data and {_KIND_WORDS[partial.kind]} in another",
                                column=name)
            mine.merge(partial)
        for name, partial in self.features.items():
            if name not in other.features:
                partial.presence.num_missing += other.num_examples
        self.num_examples += other.num_examples
        return self

    def to_list(self, name: str = ALL_EXAMPLES) -> statistics_pb2.DatasetFeatureStatisticsList:
        """The statistics as a one-dataset ``DatasetFeatureStatisticsList``."""
        return statistics_pb2.DatasetFeatureStatisticsList(datasets=[self.to_proto(name)])

    def to_proto(self, name: str = ALL_EXAMPLES) -> statistics_pb2.DatasetFeatureStatistics:
        out = statistics_pb2.DatasetFeatureStatistics(name=name, num_examples=self.num_examples)
        for feature, partial in self.features.items():
            fs = out.features.add()
            fs.path.step.append(feature)
            fs.type = _TYPES[partial.kind]
            if isinstance(partial, NumericPartial):
                _numeric_proto(partial, fs.num_stats, self.options)
            elif partial.kind == "bytes":
                _bytes_proto(partial, fs.bytes_stats, self.options)
            else:
                _string_proto(partial, fs.string_stats, self.options)
        return out


_KIND_WORDS = {"int": "integers", "float": "numbers", "string": "text", "bytes": "bytes"}


# -- proto building ----------------------------------------------------------------------------

def _common_proto(partial: Partial, common: statistics_pb2.CommonStatistics,
                  options: StatsOptions) -> None:
    p = partial.presence
    common.num_non_missing = p.num_present
    common.num_missing = p.num_missing
    if p.num_present:
        common.min_num_values = p.min_values or 0
        common.max_num_values = p.max_values or 0
        common.avg_num_values = p.tot_values / p.num_present
        common.tot_num_values = p.tot_values
        hist = common.num_values_histogram
        hist.type = statistics_pb2.Histogram.QUANTILES
        k = options.num_values_histogram_buckets
        if p.lengths is None:
            edges = np.ones(k + 1)
        else:
            edges = p.lengths.quantiles(np.linspace(0, 1, k + 1))
            edges[0], edges[-1] = p.min_values, p.max_values
        for i in range(k):
            hist.buckets.add(low_value=float(edges[i]), high_value=float(edges[i + 1]),
                             sample_count=p.num_present / k)


def _numeric_proto(partial: NumericPartial, num: statistics_pb2.NumericStatistics,
                   options: StatsOptions) -> None:
    _common_proto(partial, num.common_stats, options)
    if not partial.count:
        return
    num.mean = partial.mean
    num.std_dev = partial.std_dev
    num.num_zeros = partial.zeros
    num.min = partial.min
    num.max = partial.max
    sketch = partial.sketch
    num.median = float(sketch.quantiles(np.array([0.5]))[0]) if partial.count > 1 \
        else partial.min
    # standard histogram: equal-width buckets between the exact min and max
    std = num.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    lo, hi = partial.min, partial.max
    if lo == hi:
        std.buckets.add(low_value=lo, high_value=hi, sample_count=float(partial.count))
    else:
        k = options.num_histogram_buckets
        edges = np.linspace(lo, hi, k + 1)
        counts = sketch.histogram(edges)
        counts *= partial.count / max(counts.sum(), 1e-300)
        for i in range(k):
            std.buckets.add(low_value=float(edges[i]), high_value=float(edges[i + 1]),
                            sample_count=float(counts[i]))
    # quantiles histogram: equal-mass buckets
    quant = num.histograms.add(type=statistics_pb2.Histogram.QUANTILES)
    k = options.num_quantiles_histogram_buckets
    edges = sketch.quantiles(np.linspace(0, 1, k + 1))
    edges[0], edges[-1] = lo, hi
    edges = np.maximum.accumulate(edges)
    for i in range(k):
        quant.buckets.add(low_value=float(edges[i]), high_value=float(edges[i + 1]),
                          sample_count=partial.count / k)


def _ranked(partial: StringPartial) -> list[tuple[Any, float]]:
    return most_frequent(partial.counts, key=_text)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "backslashreplace")


def _string_proto(partial: StringPartial, ss: statistics_pb2.StringStatistics,
                  options: StatsOptions) -> None:
    _common_proto(partial, ss.common_stats, options)
    if not partial.presence.tot_values:
        return
    ranked = _ranked(partial)
    ss.unique = partial.unique
    ss.avg_length = partial.total_length / partial.presence.tot_values
    for value, count in ranked[:options.num_top_values]:
        ss.top_values.add(value=_text(value), frequency=float(count))
    for rank, (value, count) in enumerate(ranked[:options.num_rank_histogram_buckets]):
        ss.rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=_text(value),
                                      sample_count=float(count))


def _bytes_proto(partial: StringPartial, bs: statistics_pb2.BytesStatistics,
                 options: StatsOptions) -> None:
    _common_proto(partial, bs.common_stats, options)
    if not partial.presence.tot_values:
        return
    bs.unique = partial.unique
    bs.avg_num_bytes = partial.total_length / partial.presence.tot_values
    bs.min_num_bytes = float(partial.min_length or 0)
    bs.max_num_bytes = float(partial.max_length or 0)
    bs.max_num_bytes_int = int(partial.max_length or 0)


# -- the public entry point --------------------------------------------------------------------

def _batches(data: Any, options: StatsOptions) -> tuple[Iterator[pa.Table | pa.RecordBatch],
                                                        int | None, str]:
    if isinstance(data, (str, os.PathLike)):
        from workbench.data.readers import count_rows, iter_batches

        path = Path(data)
        return iter_batches(path, batch_rows=options.batch_rows), count_rows(path), str(path)
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        step = options.batch_rows
        slices = (data.slice(start, step) for start in range(0, max(data.num_rows, 1), step))
        return slices, data.num_rows, "the data"
    module = type(data).__module__
    if module.startswith("pandas"):
        try:
            table = pa.Table.from_pandas(data, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            found = re.search(r"for column (\S+) with type", str(err))
            column = found.group(1) if found else None
            raise DataError(
                f"column '{column}' of the data frame mixes types: {err.args[0]}",
                hint="give the column one type (df[col].astype(...)) or fix the odd values",
                column=column) from err
        return _batches(table, options)
    if module.startswith("polars"):
        return _batches(data.to_arrow(), options)
    if isinstance(data, Iterable):
        return iter(data), None, "the data"
    raise DataError(f"cannot compute statistics of a {type(data).__name__}",
                    hint="pass an Arrow table, a pandas or polars data frame, a file path, or "
                    "an iterable of Arrow record batches")


def _slice_values(batch: pa.Table | pa.RecordBatch, slice_by: str, source: str) -> pa.Array:
    if slice_by not in batch.schema.names:
        raise DataError(f"cannot slice by '{slice_by}': {source} has no such column",
                        hint=f"use one of: {', '.join(batch.schema.names)}", column=slice_by)
    column = batch.column(slice_by)
    if kind_of(column.type) not in ("string", "int") or is_list_type(column.type):
        raise DataError(f"cannot slice by '{slice_by}': it is {column.type}, not a categorical "
                        "column", hint="slice by a string or integer column",
                        column=slice_by)
    return column


DEFAULT_MAX_SLICES = 20


def top_slice_values(column: pa.ChunkedArray | pa.Array, max_slices: int | None,
                     slice_by: str, notes: list[str] | None = None) -> pa.Array:
    """The ``max_slices`` most frequent values of a slice column (ties by value), with a note
    when the column has more."""
    counts = pc.value_counts(pc.drop_null(column))
    values, freq = counts.field("values"), counts.field("counts")
    order = pc.sort_indices(pa.table({"f": freq, "v": values}),
                            sort_keys=[("f", "descending"), ("v", "ascending")])
    ranked = values.take(order)
    if max_slices is not None and len(ranked) > max_slices:
        note = (f"slice_by '{slice_by}' has {len(ranked):,} values: statistics are computed "
                f"for the {max_slices} most frequent (raise max_slices for more)")
        log.info("%s", note)
        if notes is not None:
            notes.append(note)
        ranked = ranked.slice(0, max_slices)
    return ranked


def split_by(batch: pa.Table | pa.RecordBatch, slice_by: str, values: pa.Array
             ) -> Iterator[tuple[Any, pa.Table | pa.RecordBatch]]:
    """The rows of ``batch`` per value of ``slice_by`` among ``values``: one filter, one sort,
    then zero-copy slices of the sorted rows (not one full-table filter per value)."""
    column = batch.column(slice_by)
    kept = batch.filter(pc.is_in(column, value_set=values))
    if kept.num_rows == 0:
        return
    order = pc.sort_indices(kept.column(slice_by))
    kept = kept.take(order)
    codes = pc.dictionary_encode(kept.column(slice_by))
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    index = codes.indices.to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1])
    ends = np.append(starts[1:], len(index))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        yield codes.dictionary[index[start]].as_py(), kept.slice(start, end - start)


def accumulate_statistics(data: Any, *, options: StatsOptions | None = None,
                          progress: Progress | None = None, slice_by: str | None = None,
                          max_slices: int | None = DEFAULT_MAX_SLICES,
                          notes: list[str] | None = None, allow_empty: bool = False,
                          source: str | None = None
                          ) -> tuple[StatisticsAccumulator, dict[Any, StatisticsAccumulator]]:
    """One pass over ``data``: the statistics of the whole, and per value of ``slice_by`` (its
    ``max_slices`` most frequent values — of the whole table, or of the first batch when
    ``data`` is streamed; ``None``: every value; a note for ``notes`` when values are left
    out). Accumulators merge (:meth:`StatisticsAccumulator.merge`), e.g. splits into the
    whole, or the shards of a Beam pipeline (``allow_empty``: a shard may have no rows;
    ``source`` names the data in messages)."""
    options = options or StatsOptions()
    batches, total, found = _batches(data, options)
    source = source or found
    whole = StatisticsAccumulator(options)
    slices: dict[Any, StatisticsAccumulator] = {}
    chosen: pa.Array | None = None
    if slice_by and isinstance(data, (pa.Table, pa.RecordBatch)):
        chosen = top_slice_values(_slice_values(data, slice_by, source), max_slices, slice_by,
                                  notes)
    threads = options.threads or os.cpu_count() or 1
    done = 0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for batch in batches:
            whole.update(batch, pool=pool, source=source)
            if slice_by:
                column = _slice_values(batch, slice_by, source)
                if chosen is None:
                    chosen = top_slice_values(column, max_slices, slice_by, notes)
                parts = [(slices.setdefault(value, StatisticsAccumulator(options)), part)
                         for value, part in split_by(batch, slice_by, chosen)]
                # slices are small: one thread per slice, not per feature of a slice
                list(pool.map(lambda ap: ap[0].update(ap[1], source=source), parts))
            done += batch.num_rows
            del batch
            pa.default_memory_pool().release_unused()  # keep memory flat over many batches
            if progress is not None:
                progress(done, total)
        # sort the quantile sketches in parallel too
        sketches = [p.sketch for p in whole.features.values() if isinstance(p, NumericPartial)]
        list(pool.map(lambda sk: sk.sorted(), sketches))
    if whole.num_examples == 0 and not allow_empty:
        raise DataError(f"{source} has no rows to compute statistics of",
                        hint="check the file, the filter and the split that produced it",
                        file=source)
    log.info("statistics of %s: %d rows, %d features", source, whole.num_examples,
             len(whole.features))
    return whole, slices


def compute_statistics(data: Any, *, name: str = ALL_EXAMPLES, slice_by: str | None = None,
                       max_slices: int | None = DEFAULT_MAX_SLICES,
                       options: StatsOptions | None = None, progress: Progress | None = None
                       ) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Statistics of ``data`` (one dataset named ``name``), plus one dataset per value of the
    categorical column ``slice_by`` (named ``<column>_<value>``, TFDV's slice names; the
    ``max_slices`` most frequent values)."""
    whole, slices = accumulate_statistics(data, options=options, progress=progress,
                                          slice_by=slice_by, max_slices=max_slices)
    out = statistics_pb2.DatasetFeatureStatisticsList()
    out.datasets.append(whole.to_proto(name))
    for value, acc in top_slices(slices, max_slices):
        out.datasets.append(acc.to_proto(f"{slice_by}_{value}"))
    return out


def top_slices(slices: Mapping[Any, StatisticsAccumulator], limit: int
               ) -> list[tuple[Any, StatisticsAccumulator]]:
    """The ``limit`` slices with the most examples, equal sizes in ascending order of the
    slice value (:func:`workbench._ranking.most_frequent`)."""
    sizes = {value: acc.num_examples for value, acc in slices.items()}
    return [(value, slices[value]) for value, _ in most_frequent(sizes, limit)]


# -- reading the proto -------------------------------------------------------------------------

def dataset_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList | Any,
                       name: str | None = None) -> statistics_pb2.DatasetFeatureStatistics:
    """The dataset named ``name`` of a statistics list (default: the first, the whole data)."""
    if isinstance(stats, statistics_pb2.DatasetFeatureStatistics):
        return stats
    if not stats.datasets:
        raise DataError("the statistics hold no dataset",
                        hint="compute them again with compute_statistics")
    if name is None:
        return stats.datasets[0]
    for ds in stats.datasets:
        if ds.name == name:
            return ds
    raise DataError(f"the statistics have no dataset '{name}'",
                    hint=f"datasets: {', '.join(d.name for d in stats.datasets)}")


def feature_name(fs: statistics_pb2.FeatureNameStatistics) -> str:
    """A feature's name, whether written as ``name`` (old TFDV) or ``path`` (TFDV 1.x)."""
    return ".".join(fs.path.step) if fs.path.step else fs.name


def feature_statistics(dataset: statistics_pb2.DatasetFeatureStatistics,
                       name: str) -> statistics_pb2.FeatureNameStatistics | None:
    for fs in dataset.features:
        if feature_name(fs) == name:
            return fs
    return None


def read_statistics(path: str | os.PathLike[str]) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Read statistics written by the workbench or TFDV: binary proto, or text (``.pbtxt``)."""
    from google.protobuf import text_format
    from google.protobuf.message import DecodeError

    path = Path(path)
    out = statistics_pb2.DatasetFeatureStatisticsList()
    try:
        if path.suffix in (".pbtxt", ".txt"):
            text_format.Parse(path.read_text(encoding="utf-8"), out)
        else:
            out.ParseFromString(path.read_bytes())
    except (DecodeError, text_format.ParseError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is not a DatasetFeatureStatisticsList: {err}",
                        hint="pass statistics written by the workbench or by TFDV "
                        "(binary .pb, or text .pbtxt)", file=str(path)) from err
    except OSError as err:
        raise DataError(f"cannot read statistics file {path}: {err.strerror}",
                        file=str(path)) from err
    return out


def write_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList,
                     path: str | os.PathLike[str]) -> Path:
    """Write statistics atomically: binary proto, or text when the name ends in ``.pbtxt``."""
    from google.protobuf import text_format

    from workbench.runs.atomic import atomic_write_bytes

    path = Path(path)
    if path.suffix == ".pbtxt":
        data = text_format.MessageToString(stats).encode("utf-8")
    else:
        data = stats.SerializeToString(deterministic=True)
    return atomic_write_bytes(path, data)
