"""Statistics of 10,000,000 rows x 25 features read from Parquet: time and peak memory.

The workbench streams the file in batches of 1M rows (``ParquetFile.iter_batches``) into
mergeable partial statistics; the peer, pandas, reads the whole file and computes the same
summaries as in ``bench_stats``. Each side runs in its own process, which reports its own peak
resident memory (``ru_maxrss``). Target: the workbench's peak stays under 3 GiB.

Run: ``.venv/bin/python -m bench.bench_stats_10m`` (writes a ~1 GB file to a temporary folder
and removes it afterwards).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import emit

ROWS = 10_000_000
CHUNK = 1_000_000
GIB = 1 << 30


def write_file(path: Path) -> None:
    import pyarrow.parquet as pq

    from bench.bench_stats import synthetic

    writer = None
    for k in range(ROWS // CHUNK):
        table = synthetic(CHUNK, seed=k)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=CHUNK)
    writer.close()


def _child(side: str, path: str) -> None:
    t0 = time.perf_counter()
    if side == "workbench":
        import workbench  # noqa: F401
        from workbench.data.stats import compute_statistics

        seen = []
        stats = compute_statistics(path, progress=lambda done, total: seen.append(done))
        rows = stats.datasets[0].num_examples
        batches = len(seen)
    else:
        import pandas as pd

        from bench.bench_stats import pandas_statistics

        df = pd.read_parquet(path)
        pandas_statistics(df)
        rows, batches = len(df), 1
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"wall_s": wall, "peak_bytes": peak, "rows": rows, "batches": batches}))


def _measure(side: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_stats_10m", "--child", side,
                          str(path)], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-stats-10m-") as tmp:
        path = Path(tmp) / "synthetic_10m.parquet"
        write_file(path)
        size = path.stat().st_size
        ours = _measure("workbench", path)
        peer = _measure("pandas", path)
    assert ours["rows"] == ROWS == peer["rows"]
    emit("stats_10m_parquet", "peak_rss_gib", workbench=ours["peak_bytes"] / GIB,
         peer=peer["peak_bytes"] / GIB, peer_name="pandas read_parquet + describe/value_counts",
         unit="GiB", target="< 3 GiB", ok=ours["peak_bytes"] < 3 * GIB, rows=ROWS,
         batches=ours["batches"], file_mib=round(size / (1 << 20)))
    emit("stats_10m_parquet", "wall_s", workbench=ours["wall_s"], peer=peer["wall_s"],
         peer_name="pandas read_parquet + describe/value_counts", rows=ROWS)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
