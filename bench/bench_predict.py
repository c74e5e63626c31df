"""``workbench predict`` on 1M fraud rows from Parquet against ``model.predict`` on the same rows
already in memory (the ceiling), and the TFLite variant beside it.

The model is what the default pipeline trains (default architecture; stage 01 on 20k rows,
2 epochs, to keep the set-up short) in a throw-away project, exported (04) and converted to a
float32 TFLite variant (05). The 1M rows are the fraud generator's with another seed, written
to one Parquet file. Figures:

* ``rows_per_s`` — ``workbench predict RUN --data rows.parquet --out scored.parquet`` (a child
  process; rows/s as its summary reports them: reading, converting, scoring and writing, after
  the model has loaded) against ``model.predict`` of the Keras model on the same rows as
  in-memory arrays (a ``tf.data`` pipeline of batch 8192, the conversion from Arrow not
  counted). Target: >= 0.8x the ceiling.
* ``rows_per_s_vs_signature`` — the same against the export's ``serving_default`` called on
  the in-memory arrays in batches of 8192 (what the job calls per batch: the rest is the cost of
  reading, converting and writing).
* ``peak_rss_mb`` — the child's peak resident memory (sampled every 20 ms), against the peak of
  the ceiling's process holding all rows in memory.
* ``tflite_rows_per_s`` — the same command with ``--variant tflite:float32``, against the
  SavedModel's.

Run: ``.venv/bin/python -m bench.bench_predict`` (``--rows N`` for another size).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import workbench  # noqa: F401 - before TensorFlow
from bench._common import emit

CLI = str(Path(sys.executable).with_name("workbench"))


def pipeline_run(folder: Path) -> Path:
    (folder / "workbench.yaml").write_text("runs_dir: runs\n")
    args = [CLI, "run", "--to", "05_tflite", "-p", "rows=20000", "-p", "epochs=2",
            "-p", "05_tflite.variants=[float32]", "-p", "05_tflite.latency_runs=10"]
    proc = subprocess.run(args, cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "WORKBENCH_HOME": str(folder)})
    if proc.returncode:
        raise SystemExit(f"the pipeline failed:\n{proc.stdout}\n{proc.stderr}")
    return sorted((folder / "runs").iterdir())[-1]


def watch_rss(proc: subprocess.Popen) -> dict[str, float]:
    import psutil

    peak = {"rss": 0.0}
    p = psutil.Process(proc.pid)

    def sample() -> None:
        while proc.poll() is None:
            try:
                peak["rss"] = max(peak["rss"], p.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    return peak


def cli_predict(run: Path, data: Path, out: Path, *extra: str) -> tuple[dict[str, Any], float]:
    proc = subprocess.Popen([CLI, "predict", str(run), "--data", str(data), "--out", str(out),
                             "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=run.parent.parent)
    peak = watch_rss(proc)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"workbench predict failed:\n{stderr}")
    return json.loads(stdout), peak["rss"] / 2**20


def ceiling(run: Path, data: Path) -> tuple[float, float, int, float]:
    """rows/s of model.predict on in-memory rows, this process's RSS in MB, the rows, and
    rows/s of the export's serving_default on the same arrays."""
    import keras
    import psutil
    import pyarrow.parquet as pq
    import tensorflow as tf

    from workbench.export.contract import ModelInfo
    from workbench.features.arrays import raw_feature_arrays

    model = keras.saving.load_model(run / "02_train" / "model.keras")
    info = ModelInfo.from_dict(json.loads((run / "02_train" / "model_info.json").read_text()))
    table = pq.read_table(data)
    arrays = raw_feature_arrays(table, ((f.name, f.column, f.dtype) for f in info.features),
                                where="bench rows", hint="", strings="bytes")
    del table
    x = {k: v.reshape(-1, 1) for k, v in arrays.items()}
    n = len(next(iter(x.values())))
    ds = tf.data.Dataset.from_tensor_slices(x).batch(8192)
    model.predict(ds.take(2), verbose=0)  # traced once
    t0 = time.perf_counter()
    model.predict(ds, verbose=0)
    seconds = time.perf_counter() - t0
    # the export's own signature on the same in-memory arrays: the call workbench predict makes
    fn = tf.saved_model.load(str(run / "04_export" / "saved_model")).signatures["serving_default"]
    fn(**{k: tf.constant(v[:8192]) for k, v in arrays.items()})
    t0 = time.perf_counter()
    for start in range(0, n, 8192):
        fn(**{k: tf.constant(v[start:start + 8192]) for k, v in arrays.items()})[
            "probabilities"].numpy()
    signature = n / (time.perf_counter() - t0)
    return n / seconds, psutil.Process().memory_info().rss / 2**20, n, signature


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    import pyarrow.parquet as pq

    from workbench.data.datasets import load_dataset

    with tempfile.TemporaryDirectory(prefix="bench-predict-") as tmp:
        work = Path(tmp)
        run = pipeline_run(work)
        data = work / "rows.parquet"
        pq.write_table(load_dataset("fraud", rows=args.rows, seed=5), data)
        saved, saved_rss = cli_predict(run, data, work / "scored.parquet")
        lite, lite_rss = cli_predict(run, data, work / "lite.parquet", "--variant",
                                     "tflite:float32")
        top, top_rss, n, signature = ceiling(run, data)
        assert saved["scored"] == n, saved
        emit("predict_1m", "rows_per_s", unit="rows/s", workbench=saved["rows_per_s"],
             peer=top, peer_name="keras model.predict on the rows in memory (tf.data, batch "
             "8192)", target=">= 0.8x the ceiling", ok=saved["rows_per_s"] >= 0.8 * top,
             rows=n, seconds=saved["seconds"])
        emit("predict_1m", "rows_per_s_vs_signature", unit="rows/s",
             workbench=saved["rows_per_s"], peer=signature,
             peer_name="the export's serving_default on the rows in memory (batch 8192)",
             rows=n)
        emit("predict_1m", "peak_rss_mb", unit="MB", workbench=saved_rss, peer=top_rss,
             peer_name="the ceiling's process with every row in memory", rows=n)
        emit("predict_1m", "tflite_rows_per_s", unit="rows/s", workbench=lite["rows_per_s"],
             peer=saved["rows_per_s"], peer_name="workbench predict with the SavedModel",
             rows=n, seconds=lite["seconds"], peak_rss_mb=round(lite_rss, 1))


if __name__ == "__main__":
    main()
