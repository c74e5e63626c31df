"""Reading users' own data: TFRecord ingest, CSV with detection, per-slice statistics.

* ``tfrecord_200k``: 200,000 ``tf.train.Example`` records x 15 features (5 int, 5 float,
  5 string; one string feature missing on 5 % of records) read into Arrow by
  :func:`workbench.data.tfrecord.read_tfrecord` (batches through ``tf.io.parse_example``),
  against the precise per-record Python parser it falls back to (what every record went
  through before; timed on the first 20,000 records). Target >= 100,000 rows/s. The figure is a
  rate, so here a ratio above 1 means the workbench is faster.
* ``csv_1m``: a 1,000,000-row bank export (``;``, decimal commas, ``dd.mm.yyyy hh:mm`` dates,
  ``yes``/``no`` and ``Y``/``N`` flags, blank ages) read by
  :func:`workbench.data.reading.read_table` with everything detected, against
  ``pyarrow.csv.read_csv`` given the right options by hand. Target <= 1.3x.
* ``slices_1m``: statistics of 1,000,000 rows x 25 features sliced by a column with 1,000
  values. ``slice_overhead_s``: what slicing adds to the statistics (the 20 largest slices, the
  default cap), against polars ``partition_by`` splitting the same table; target <= 0.5 s.
  ``split_all_s``: splitting into all 1,000 slices (one sort, zero-copy slices) against the
  same polars call.

Run: ``.venv/bin/python -m bench.bench_ingest [tfrecord|csv|slices]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import emit, timed

TF_ROWS = 200_000
TF_PEER_ROWS = 20_000
CSV_ROWS = 1_000_000
SLICE_ROWS = 1_000_000
SLICE_VALUES = 1000


def write_tfrecords(path: Path, rows: int = TF_ROWS, seed: int = 0) -> Path:
    import pyarrow as pa

    from workbench.data.tfrecord import write_tfrecord

    rng = np.random.default_rng(seed)
    cols = {}
    for j in range(5):
        cols[f"i{j}"] = pa.array(rng.integers(0, 1000, rows))
        cols[f"f{j}"] = pa.array(rng.random(rows).astype(np.float32))
        strings = np.array([f"cat{k}" for k in range(50)])[rng.integers(0, 50, rows)]
        cols[f"s{j}"] = pa.array(strings, mask=(np.arange(rows) % 20 == 0) if j == 0 else None)
    return write_tfrecord(pa.table(cols), path)


def bench_tfrecord(folder: Path) -> None:
    import tensorflow as tf

    from workbench.data.tfexample import ExampleColumns
    from workbench.data.tfrecord import _parse, read_tfrecord

    path = write_tfrecords(folder / "data.tfrecord")
    ours = timed(lambda: read_tfrecord(path), repeat=3)

    def per_record() -> None:
        records = next(iter(tf.data.TFRecordDataset(str(path)).batch(TF_PEER_ROWS)))
        columns = ExampleColumns(path, _parse)
        columns._parse_slow(records.numpy(), 0)

    peer = timed(per_record, repeat=1)
    rate, peer_rate = TF_ROWS / ours, TF_PEER_ROWS / peer
    emit("tfrecord_200k", "rows_per_s", workbench=rate, peer=peer_rate, unit="rows/s",
         peer_name="per-record Python parse (the precise fallback)",
         target=">= 100000 rows/s", ok=rate >= 100_000, rows=TF_ROWS, features=15)


def write_bank_csv(path: Path, rows: int = CSV_ROWS, seed: int = 0) -> Path:
    import polars as pl

    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00", "m")
    when = start + rng.integers(0, 60 * 24 * 180, rows).astype("timedelta64[m]")
    age = rng.integers(18, 90, rows)
    merchants = np.array(["Müller & Söhne", "東京商店", "REWE", "Café ☕ Central",
                          "Shop; Online GmbH", "Deutsche Bahn", "Kiosk 24/7"])
    frame = pl.DataFrame({
        "Transaction ID": rng.permutation(rows) + 10_000_000,
        "Booking date": pl.Series(when.astype("datetime64[ms]")).dt.strftime("%d.%m.%Y %H:%M"),
        "Amount (EUR)": pl.Series(np.round(rng.lognormal(3.5, 1.2, rows), 2)).cast(pl.Utf8)
        .str.replace(r"\.", ","),
        "Merchant": merchants[rng.integers(0, len(merchants), rows)],
        "Customer age": pl.Series(age).cast(pl.Utf8).set(pl.Series(rng.random(rows) < 0.05),
                                                          None),
        "Card present": np.where(rng.random(rows) < 0.7, "Y", "N"),
        "is_fraud": np.where(rng.random(rows) < 0.05, "yes", "no"),
    })
    frame.write_csv(path, separator=";", null_value="")
    return path


def bench_csv(folder: Path) -> None:
    import pyarrow.csv as pacsv

    from workbench.data.reading import read_table

    path = write_bank_csv(folder / "bank_1m.csv")

    def by_hand() -> None:
        pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=";"),
                       convert_options=pacsv.ConvertOptions(
                           decimal_point=",", timestamp_parsers=["%d.%m.%Y %H:%M"],
                           true_values=["yes", "Y"], false_values=["no", "N"]))

    peer = timed(by_hand, repeat=5)
    ours = timed(lambda: read_table(path), repeat=5)
    result = read_table(path)
    emit("csv_1m", "wall_s", workbench=ours, peer=peer,
         peer_name="pyarrow.csv.read_csv with the options given by hand",
         target="<= 1.3x the peer", ok=ours <= 1.3 * peer, rows=CSV_ROWS,
         detected={d.field: d.value for d in result.dialect.decisions
                   if d.field in ("delimiter", "decimal", "encoding")})


def bench_slices() -> None:
    import polars as pl
    import pyarrow as pa

    from bench.bench_stats import synthetic
    from workbench.data.stats import compute_statistics, split_by, top_slice_values

    table = synthetic(SLICE_ROWS)
    rng = np.random.default_rng(1)
    merchant = np.array([f"m{k:04d}" for k in range(SLICE_VALUES)])[
        rng.integers(0, SLICE_VALUES, SLICE_ROWS)]
    table = table.append_column("merchant_id", pa.array(merchant))
    frame = pl.from_arrow(table)
    peer = timed(lambda: frame.partition_by("merchant_id"), repeat=3)
    plain = timed(lambda: compute_statistics(table), repeat=3)
    sliced = timed(lambda: compute_statistics(table, slice_by="merchant_id"), repeat=3)
    overhead = max(sliced - plain, 0.0)
    emit("slices_1m", "slice_overhead_s", workbench=overhead, peer=peer,
         peer_name="polars partition_by (split only)", target="<= 0.5 s", ok=overhead <= 0.5,
         rows=SLICE_ROWS, slice_values=SLICE_VALUES, slices_kept=20,
         statistics_s=round(plain, 3), statistics_with_slices_s=round(sliced, 3))
    values = top_slice_values(table.column("merchant_id"), None, "merchant_id")
    split = timed(lambda: list(split_by(table, "merchant_id", values)), repeat=3)
    emit("slices_1m", "split_all_s", workbench=split, peer=peer,
         peer_name="polars partition_by", target=None, ok=None, rows=SLICE_ROWS,
         slices=SLICE_VALUES)


def main(which: list[str]) -> None:
    import workbench  # noqa: F401 - as every entry point does

    which = which or ["tfrecord", "csv", "slices"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if "tfrecord" in which:
            bench_tfrecord(Path(tmp))
        if "csv" in which:
            bench_csv(Path(tmp))
        if "slices" in which:
            bench_slices()
        sys.stderr.write(f"bench_ingest: {time.perf_counter() - t0:.0f} s\n")


if __name__ == "__main__":
    main(sys.argv[1:])
