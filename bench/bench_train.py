"""Training overhead of the workbench against plain ``model.fit``, and XLA / mixed precision.

Data: the fraud generator, 200,000 rows (seed 0), its statistics and schema computed as stage 01
does (not timed). Both sides train the *same* model (the workbench's preprocessing from the
statistics + the default ``dnn`` builder, 64-32 units) on the *same* rows (the workbench's
90 % training part; it holds out 10 % for validation) for the same epochs and batch size.

* ``train_overhead_200k``: the workbench's training as stage 02 runs it — reading the Parquet
  split, columns to arrays, encoding once, the tf.data pipeline, validation every epoch, and
  its callbacks (BackupAndRestore, EarlyStopping that never triggers, TensorBoard with weight
  and gradient histograms, HParams, the live training widget) — against ``model.fit`` on
  in-memory arrays with no callbacks and no validation. Target <= 1.15x.
* ``train_xla``: the workbench's training with ``jit_compile=True`` against ``False``.
* ``train_mixed_precision``: ``precision="mixed_bfloat16"`` (and ``mixed_float16``) against
  ``float32``. No targets on this CPU: the ratios are reported.

Run: ``.venv/bin/python -m bench.bench_train`` (about 6 minutes on 2 cores).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import workbench  # noqa: F401 - before TensorFlow
from bench._common import emit

ROWS = 200_000
EPOCHS = 4
BATCH = 256
ROUNDS = 3
PEER = "plain model.fit on in-memory arrays (same model, rows, epochs; no callbacks)"


def prepare(folder: Path):
    import pyarrow.parquet as pq

    from workbench.data.datasets import load_dataset
    from workbench.data.schema import infer_schema
    from workbench.data.stats import compute_statistics
    from workbench.features import column_stats, plan_features, schema_domains

    table = load_dataset("fraud", rows=ROWS, seed=0)
    path = folder / "train.parquet"
    pq.write_table(table, path, compression="zstd")
    stats = compute_statistics(table)
    plan = plan_features({f.name: f.type for f in table.schema}, column_stats(stats),
                         schema_domains(infer_schema(stats)), label="is_fraud",
                         key="transaction_id")
    return path, plan


def workbench_training(path: Path, plan, folder: Path, **options) -> float:
    """Stage 02's training path, from the Parquet file to a trained model."""
    import pyarrow.parquet as pq

    from workbench.train.data import encode_labels, feature_arrays, label_classes
    from workbench.train.params import TrainParams
    from workbench.train.trainer import fit
    from workbench.widgets import TrainingView

    t0 = time.perf_counter()
    table = pq.read_table(path)
    classes = label_classes(table, "is_fraud", "binary")
    y = encode_labels(table, "is_fraud", "binary", classes)
    x = feature_arrays(table, plan)
    view = TrainingView(planned=EPOCHS)
    config = TrainParams(epochs=EPOCHS, batch_size=BATCH, early_stopping_patience=EPOCHS + 1,
                         seed=0, **options)
    fit(plan, x, y, task="binary", n_outputs=1, config=config,
        log_dir=folder / "tb", backup_dir=folder / "ckpt" / "backup", on_epoch=view.add_epoch)
    view.finish({"epochs": view.history["epochs"], "metrics": view.history["metrics"]})
    return time.perf_counter() - t0


def plain_fit(path: Path, plan) -> float:
    """The peer: the same model built the same way, ``model.fit`` on arrays in memory."""
    import keras
    import pyarrow.parquet as pq
    import tensorflow as tf

    from workbench.features.preprocess import build_preprocessor, raw_inputs
    from workbench.train.builders import BuildSpec, build_core
    from workbench.train.data import encode_labels, feature_arrays, label_classes
    from workbench.train.trainer import _split

    table = pq.read_table(path)
    y = encode_labels(table, "is_fraud", "binary", label_classes(table, "is_fraud", "binary"))
    x = feature_arrays(table, plan)
    keep, _ = _split(len(y), 0.1, 0)
    x = {k: (v[keep] if v.dtype != object else tf.constant(v[keep])) for k, v in x.items()}
    y = y[keep]
    keras.utils.set_random_seed(0)
    raw = raw_inputs(plan)
    inputs = {e.name: keras.Input(shape=(1,), name=e.name, dtype=e.dtype)
              for e in plan.encoded()}
    core = build_core("dnn", BuildSpec(inputs, plan.encoded(), "binary", 1, dropout=0.1))
    model = keras.Model(raw, core(build_preprocessor(plan)(raw)))
    model.compile(optimizer=keras.optimizers.Adam(0.003), loss="binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc"),
                           keras.metrics.BinaryAccuracy(name="accuracy")])
    t0 = time.perf_counter()
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, plan = prepare(folder)
        # alternate the two, best of three each: the first round also warms up imports and
        # shared tracing; on a busy machine the minimum is the least disturbed run
        peers, ours_runs = [], []
        for i in range(ROUNDS):
            peers.append(plain_fit(path, plan))
            ours_runs.append(workbench_training(path, plan, folder / f"run{i}"))
        peer, ours = min(peers), min(ours_runs)
        ratio = ours / peer
        emit("train_overhead_200k", "wall_s", workbench=ours, peer=peer, peer_name=PEER,
             target="<= 1.15x", ok=ratio <= 1.15, rows=ROWS, epochs=EPOCHS, batch=BATCH,
             runs_workbench=[round(t, 2) for t in ours_runs],
             runs_peer=[round(t, 2) for t in peers])
        xla = workbench_training(path, plan, folder / "c", jit_compile=True)
        emit("train_xla", "wall_s", workbench=xla, peer=ours,
             peer_name="workbench training with jit_compile=False", target=None, ok=None)
        for policy in ("mixed_bfloat16", "mixed_float16"):
            mixed = workbench_training(path, plan, folder / policy, precision=policy)
            emit(f"train_{policy}", "wall_s", workbench=mixed, peer=ours,
                 peer_name="workbench training in float32", target=None, ok=None)


if __name__ == "__main__":
    main()
