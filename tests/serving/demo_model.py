"""A small fraud-like model exported as TF Serving wants it, for the serving tests and bench.

12 raw features (10 float, 2 string) → Normalization/StringLookup inside the model → a DNN →
``serving_default`` (raw features by name, 1-D) returning ``probabilities`` and ``class_ids``;
``classify`` and ``regress`` signatures over serialized tf.Examples (TF Serving's method names);
warmup records; the integrity manifest of workbench.export.integrity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import workbench  # noqa: F401 - before TensorFlow

NUMERIC = [f"x{i}" for i in range(10)]
STRINGS = ["country", "channel"]
FEATURES = NUMERIC + STRINGS
COUNTRIES = ["de", "fr", "us", "jp", "br"]
CHANNELS = ["web", "app", "pos"]


def rows(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        row = {k: float(np.float32(rng.normal())) for k in NUMERIC}
        row["country"] = str(rng.choice(COUNTRIES))
        row["channel"] = str(rng.choice(CHANNELS))
        out.append(row)
    return out


def columns(data: list[dict]) -> dict[str, np.ndarray]:
    cols = {k: np.array([r[k] for r in data], dtype=np.float32) for k in NUMERIC}
    cols.update({k: np.array([r[k] for r in data], dtype=object) for k in STRINGS})
    return cols


def export(path: Path, *, seed: int = 0, warmup: bool = True) -> Path:
    """Export the demo model to ``path`` (a new folder) and return it."""
    import keras
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    from workbench.export.integrity import write_manifest

    keras.utils.set_random_seed(seed)
    sample = columns(rows(256, seed))
    inputs, parts = {}, []
    for k in NUMERIC:
        inp = keras.Input(shape=(1,), name=k, dtype="float32")
        norm = keras.layers.Normalization()
        norm.adapt(sample[k].reshape(-1, 1))
        inputs[k] = inp
        parts.append(norm(inp))
    for k, vocab in (("country", COUNTRIES), ("channel", CHANNELS)):
        inp = keras.Input(shape=(1,), name=k, dtype="string")
        inputs[k] = inp
        parts.append(keras.layers.StringLookup(vocabulary=vocab, output_mode="one_hot")(inp))
    x = keras.layers.Concatenate()(parts)
    x = keras.layers.Dense(32, activation="relu")(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    out = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, out)

    specs = {k: tf.TensorSpec([None], tf.float32 if k in NUMERIC else tf.string, name=k)
             for k in FEATURES}

    def predict(features):
        p = model({k: tf.reshape(v, [-1, 1]) for k, v in features.items()})
        return {"probabilities": p,
                "class_ids": tf.cast(p > 0.5, tf.int64)}

    parse_spec = {k: tf.io.FixedLenFeature([], tf.float32 if k in NUMERIC else tf.string)
                  for k in FEATURES}

    def classify(serialized):
        feats = tf.io.parse_example(serialized, parse_spec)
        p = model({k: tf.reshape(v, [-1, 1]) for k, v in feats.items()})
        scores = tf.concat([1.0 - p, p], axis=1)
        n = tf.shape(serialized)[0]
        classes = tf.tile(tf.constant([["0", "1"]]), [n, 1])
        return {"classes": classes, "scores": scores}

    def regress(serialized):
        feats = tf.io.parse_example(serialized, parse_spec)
        p = model({k: tf.reshape(v, [-1, 1]) for k, v in feats.items()})
        return {"outputs": tf.reshape(p, [-1])}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", predict, input_signature=[specs])
    archive.add_endpoint("classify", classify,
                         input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    archive.add_endpoint("regress", regress,
                         input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    archive.write_out(str(path), verbose=False)

    pb = path / "saved_model.pb"
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(pb.read_bytes())
    for graph in sm.meta_graphs:
        for key in ("classify", "regress"):
            if key in graph.signature_def:
                graph.signature_def[key].method_name = f"tensorflow/serving/{key}"
    pb.write_bytes(sm.SerializeToString())

    if warmup:
        extra = path / "assets.extra"
        extra.mkdir(exist_ok=True)
        cols = columns(rows(4, seed + 1))
        with tf.io.TFRecordWriter(str(extra / "tf_serving_warmup_requests")) as w:
            req = predict_pb2.PredictRequest()
            req.model_spec.name = "model"
            req.model_spec.signature_name = "serving_default"
            for k, v in cols.items():
                req.inputs[k].CopyFrom(tf.make_tensor_proto(v))
            entry = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=req))
            w.write(entry.SerializeToString())
    write_manifest(path)
    return path
