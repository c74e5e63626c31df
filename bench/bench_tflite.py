"""TFLite variants against the SavedModel, on the digits CNN and the default fraud model.

Both models are measured in one process, side by side:

* size — every variant's ``.tflite`` against the float32 one (target for digits int8 ≤ 0.30×);
* accuracy (digits) / AUC (fraud) of every variant against the SavedModel (within 1 point);
* latency of one call at batch 1 and 64: the SavedModel's ``serving_default`` called in process
  (``tf.saved_model.load``, the peer) against each variant in LiteRT (target: the best variant at
  batch 1 ≤ 0.1× the SavedModel); the dynamic-range variant is made both by ai-edge-quantizer (the
  stage's default) and by the TF converter, and int8 also by ai-edge-quantizer's static recipe,
  to show why the stage uses which tool.

The digits model is a CNN with more than 100k parameters on scikit-learn's bundled 8×8 digits
(64 raw pixel inputs, as the model contract has it). The fraud model is what the default
pipeline trains (``workbench run --to 02_train`` with default parameters) in a throw-away
project. Run: ``.venv/bin/python -m bench.bench_tflite`` (``--quick`` for fewer timing runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import workbench  # noqa: F401 - before TensorFlow
from bench._common import emit

RUNS_B1 = 1000
RUNS_B64 = 300


def digits_model(folder: Path) -> tuple[Any, dict[str, Any], Any, Any]:
    """A CNN (> 100k parameters) on the bundled digits, trained briefly; contract inputs."""
    import keras
    import tensorflow as tf

    from workbench.data.datasets import load_dataset
    from workbench.data.ingest import split_table

    keras.utils.set_random_seed(0)
    table = load_dataset("digits")
    train, evals = split_table(table, eval_fraction=0.25, seed=0)
    names = [f"pixel_{i}" for i in range(64)]
    inputs = {n: keras.Input(shape=(1,), name=n, dtype="float32") for n in names}
    x = keras.layers.Concatenate()(list(inputs.values()))
    x = keras.layers.Rescaling(1 / 16)(x)
    x = keras.layers.Reshape((8, 8, 1))(x)
    x = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(256, activation="relu")(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, out)
    feed = {n: train.column(n).to_numpy().astype("float32").reshape(-1, 1) for n in names}
    y = train.column("target").to_numpy()
    model.compile(keras.optimizers.Adam(0.002), "sparse_categorical_crossentropy")
    model.fit(tf.data.Dataset.from_tensor_slices((feed, y)).shuffle(2000, seed=0).batch(32),
              epochs=12, verbose=0)
    info = {"task": "multiclass", "label": "target", "classes": list(range(10)),
            "features": [{"name": n, "dtype": "float32", "kind": "numeric"} for n in names],
            "builder": "bench_cnn"}
    return model, info, train, evals


def fraud_model(folder: Path) -> tuple[Any, dict[str, Any], Any, Any]:
    """The default pipeline's fraud model: stages 01-02 with default parameters."""
    import json

    import keras
    import pyarrow.parquet as pq

    (folder / "workbench.yaml").write_text("runs_dir: runs\n")
    cli = str(Path(sys.executable).with_name("workbench"))
    proc = subprocess.run([cli, "run", "--to", "02_train"], cwd=folder, capture_output=True,
                          text=True, env={**os.environ, "WORKBENCH_HOME": str(folder)})
    if proc.returncode:
        raise SystemExit(f"training the default fraud model failed:\n{proc.stdout}\n"
                         f"{proc.stderr}")
    run = sorted((folder / "runs").iterdir())[-1]
    model = keras.saving.load_model(run / "02_train" / "model.keras")
    info = json.loads((run / "02_train" / "model_info.json").read_text())
    return (model, info, pq.read_table(run / "01_data_validation" / "train.parquet"),
            pq.read_table(run / "01_data_validation" / "eval.parquet"))


def savedmodel_latency(path: Path, rows: dict[str, np.ndarray], key: str, runs: int
                       ) -> dict[str, float]:
    import tensorflow as tf

    from workbench.export.litert import latency_stats

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    feed = {k: tf.constant(v) for k, v in rows.items()}
    for _ in range(50):
        fn(**feed)[key].numpy()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(**feed)[key].numpy()
        times.append(time.perf_counter() - t0)
    return latency_stats(times)


def measure(name: str, model: Any, info_doc: dict[str, Any], train: Any, evals: Any,
            work: Path, *, runs_b1: int, runs_b64: int) -> None:
    import tensorflow as tf

    from workbench.export.compare import task_metrics
    from workbench.export.contract import ModelInfo, feature_arrays, label_targets
    from workbench.export.litert import LiteRunner
    from workbench.export.signatures import build_archive, example_spec
    from workbench.export.tflite import (
        convert_variant,
        representative_rows,
        write_lite_savedmodel,
    )

    info = ModelInfo.from_dict(info_doc)
    metric = "accuracy" if info.task == "multiclass" else "auc"
    key = "probabilities"
    arrays = feature_arrays(evals, info)
    y = label_targets(evals, info)
    params = model.count_params()

    export = work / f"{name}-savedmodel"
    build_archive(model, info, example_spec(info, arrow_schema=train.schema)).write_out(
        str(export), verbose=False)
    fn = tf.saved_model.load(str(export)).signatures["serving_default"]
    sm_out = {key: np.concatenate([
        fn(**{k: tf.constant(v[i:i + 1024]) for k, v in arrays.items()})[key].numpy()
        for i in range(0, len(y), 1024)])}
    sm_metric = task_metrics(sm_out, y, info)[metric]
    b1 = {k: v[:1] for k, v in arrays.items()}
    b64 = {k: np.resize(v, 64) for k, v in arrays.items()}
    sm_lat = {1: savedmodel_latency(export, b1, key, runs_b1),
              64: savedmodel_latency(export, b64, key, runs_b64)}

    src = write_lite_savedmodel(model, info, work / f"{name}-lite")
    rep = representative_rows(feature_arrays(train, info), 300, seed=0)
    made: dict[str, Any] = {}
    made["float32"] = convert_variant(src, "float32")
    made["dynamic"] = convert_variant(src, "dynamic", float_model=made["float32"].content)
    made["dynamic_converter"] = convert_variant(src, "dynamic", dynamic_engine="converter")
    made["float16"] = convert_variant(src, "float16")
    made["int8"] = convert_variant(src, "int8", representative=rep,
                                   float_model=made["float32"].content)
    aeq_static = _aeq_static(made["float32"].content, rep)
    if isinstance(aeq_static, str):
        emit(f"tflite_{name}", "int8_ai_edge_quantizer_static", workbench=0, unit="failed",
             error=aeq_static, target=None, ok=None)
    else:
        made["int8_aeq_static"] = aeq_static
    f32 = made["float32"].size
    results = {}
    for variant, conv in made.items():
        runner = LiteRunner(conv.content)
        out = runner.predict(arrays)
        value = task_metrics(out, y, info)[metric]
        results[variant] = {
            "size": conv.size, "metric": value,
            1: runner.latency(arrays, batch=1, runs=runs_b1, warmup=50),
            64: runner.latency(arrays, batch=64, runs=runs_b64, warmup=20)}
        emit(f"tflite_{name}", f"size_{variant}", workbench=conv.size, peer=f32,
             peer_name="float32 .tflite", unit="bytes",
             target="<= 0.30x float32" if (name == "digits" and variant == "int8") else None,
             ok=(conv.size / f32 <= 0.30) if (name == "digits" and variant == "int8") else None,
             engine=conv.engine, params=params)
        emit(f"tflite_{name}", f"{metric}_{variant}", workbench=value, peer=sm_metric,
             peer_name="SavedModel serving_default", unit=metric,
             target="within 1 point of the SavedModel",
             ok=abs(value - sm_metric) * 100 <= 1.0, drop_points=round((sm_metric - value) * 100,
                                                                        3))
        for batch in (1, 64):
            lat = results[variant][batch]
            emit(f"tflite_{name}", f"latency_b{batch}_{variant}", workbench=lat["median_ms"],
                 peer=sm_lat[batch]["median_ms"],
                 peer_name="SavedModel serving_default in process", unit="ms (median)",
                 p95_ms=lat["p95_ms"], peer_p95_ms=sm_lat[batch]["p95_ms"], runs=lat["runs"],
                 target=None, ok=None)
    best = min((v for v in results if v in ("float32", "dynamic", "float16", "int8")),
               key=lambda v: results[v][1]["median_ms"])
    emit(f"tflite_{name}", "best_variant_latency_b1", workbench=results[best][1]["median_ms"],
         peer=sm_lat[1]["median_ms"], peer_name="SavedModel serving_default in process",
         unit="ms (median)", variant=best, target="<= 0.1x the SavedModel",
         ok=results[best][1]["median_ms"] <= 0.1 * sm_lat[1]["median_ms"])
    # where quantization does not speed things up on this CPU
    for variant in ("dynamic", "float16", "int8"):
        for batch in (1, 64):
            q, f = results[variant][batch]["median_ms"], results["float32"][batch]["median_ms"]
            emit(f"tflite_{name}", f"speedup_b{batch}_{variant}_vs_float32", workbench=q,
                 peer=f, peer_name="float32 .tflite", unit="ms (median)",
                 faster=q < 0.9 * f, target=None, ok=None)


def _aeq_static(float_model: bytes, rep: dict[str, np.ndarray]) -> Any:
    """ai-edge-quantizer's static int8 recipe on the same calibration rows (for comparison
    with the converter's int8, which the stage uses); the error text when it fails."""
    import contextlib
    import io
    import warnings

    from ai_edge_quantizer import quantizer, recipe

    from workbench.export.tflite import Converted

    n = len(next(iter(rep.values())))
    samples = [{k: v[i:i + 1] for k, v in rep.items()} for i in range(n)]
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            q = quantizer.Quantizer(bytearray(float_model), recipe.static_wi8_ai8())
            calibration = q.calibrate({"serving_default": samples})
            content = q.quantize(calibration, enable_progress_report=False,
                                 enable_progress_bar=False).quantized_model
    except Exception as err:  # noqa: BLE001 - reported as the finding
        return f"{type(err).__name__}: {str(err)[:200]}"
    return Converted("int8_aeq_static", bytes(content), "ai-edge-quantizer static_wi8_ai8")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    runs_b1, runs_b64 = (200, 60) if quick else (RUNS_B1, RUNS_B64)
    only = [a for a in argv if not a.startswith("--")] or ["digits", "fraud"]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-tflite-") as tmp:
        work = Path(tmp)
        for name in only:
            maker = {"digits": digits_model, "fraud": fraud_model}[name]
            folder = work / name
            folder.mkdir()
            model, info, train, evals = maker(folder)
            measure(name, model, info, train, evals, work, runs_b1=runs_b1, runs_b64=runs_b64)
    emit("tflite", "bench_wall_s", workbench=time.perf_counter() - t0, unit="s",
         cpu_count=os.cpu_count(), load_avg_1m=round(os.getloadavg()[0], 2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
