"""The exported SavedModel's signatures, written with ``keras.export.ExportArchive``.

``serving_default`` (``tensorflow/serving/predict``)
    inputs: every raw feature by name, shape ``[None]``, float32 (numeric), string
    (categorical) or int64 (date/time: epoch seconds, UTC; -2**63 when missing). outputs:
    classification — ``probabilities`` ``[None, K]`` float32 (binary: ``[1 - p, p]``),
    ``class_ids`` ``[None]`` int64, ``classes`` ``[None]`` string;
    regression — ``value`` ``[None]`` float32.
``classify`` (``tensorflow/serving/classify``, classification models)
    input ``inputs``: serialized ``tf.Example`` ``[None]``; outputs ``classes`` ``[None, K]``
    string and ``scores`` ``[None, K]`` float32 — what TF Serving's Classify API requires.
``regress`` (``tensorflow/serving/regress``, regression models)
    input ``inputs``: serialized ``tf.Example``; output ``outputs`` ``[None]`` float32.

TF Serving's Classify/Regress RPCs default to the signature ``serving_default``; clients name
``classify``/``regress`` in ``model_spec.signature_name``.

Examples are parsed with one feature spec per model feature, typed like the schema
(``INT`` → int64_list, ``FLOAT`` → float_list, ``BYTES`` → bytes_list; a date/time feature is
always an int64_list of epoch seconds); an absent feature is a missing value (NaN / empty
string / -2**63), as in training. Keras export has no method-name option,
so :func:`set_method_names` edits ``saved_model.pb`` after writing (and re-writes
``fingerprint.pb`` to match).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ArtifactError
from workbench.export.contract import MISSING_INT64, ModelInfo

__all__ = [
    "CLASSIFY",
    "METHOD_NAMES",
    "PREDICT",
    "REGRESS",
    "SERVING_DEFAULT",
    "build_archive",
    "describe_signatures",
    "example_spec",
    "serialize_examples",
    "set_method_names",
    "to_examples",
]

log = logging.getLogger(__name__)

SERVING_DEFAULT = "serving_default"
CLASSIFY = "classify"
REGRESS = "regress"
PREDICT = "tensorflow/serving/predict"
METHOD_NAMES = {CLASSIFY: "tensorflow/serving/classify", REGRESS: "tensorflow/serving/regress"}


def example_spec(info: ModelInfo, *, schema: Any = None,
                 arrow_schema: Any = None) -> dict[str, str]:
    """How each feature is stored in a ``tf.Example``: ``int64``, ``float32`` or ``string``.

    From the data schema (``schema.pbtxt``) when given, else from the Arrow types of the
    training split, else from the model's own dtypes.
    """
    by_schema: dict[str, str] = {}
    if schema is not None:
        from tensorflow_metadata.proto.v0 import schema_pb2

        names = {schema_pb2.INT: "int64", schema_pb2.FLOAT: "float32",
                 schema_pb2.BYTES: "string"}
        for f in schema.feature:
            if f.type in names:
                by_schema[f.name] = names[f.type]
    spec = {}
    for f in info.features:
        kind = by_schema.get(f.column)
        if kind is None and arrow_schema is not None and f.column in arrow_schema.names:
            import pyarrow as pa

            t = arrow_schema.field(f.column).type
            kind = ("int64" if pa.types.is_integer(t) or pa.types.is_boolean(t) else
                    "float32" if pa.types.is_floating(t) else "string")
        kind = kind or ("string" if f.is_string else "float32")
        if f.is_string and kind != "string":
            kind = "string"  # a number column the model takes as a category: send it as text
        if f.is_int64:
            kind = "int64"  # epoch seconds: a float_list would round them to float32
        spec[f.name] = kind
    return spec


def _parse_examples(serialized: Any, spec: Mapping[str, str], info: ModelInfo) -> dict:
    import tensorflow as tf

    dtypes = {"int64": tf.int64, "float32": tf.float32, "string": tf.string}
    parsed = tf.io.parse_example(
        serialized, {f.column: tf.io.VarLenFeature(dtypes[spec[f.name]])
                     for f in info.features})
    out = {}
    for f in info.features:
        sparse = parsed[f.column]
        if f.is_string:
            if spec[f.name] != "string":
                sparse = tf.SparseTensor(sparse.indices, tf.strings.as_string(sparse.values),
                                         sparse.dense_shape)
            default = ""
        elif f.is_int64:
            if spec[f.name] == "string":
                sparse = tf.SparseTensor(sparse.indices,
                                         tf.strings.to_number(sparse.values, tf.int64),
                                         sparse.dense_shape)
            else:
                sparse = tf.cast(sparse, tf.int64)
            default = MISSING_INT64
        else:
            sparse = tf.cast(sparse, tf.float32) if spec[f.name] != "string" else \
                tf.SparseTensor(sparse.indices, tf.strings.to_number(sparse.values),
                                sparse.dense_shape)
            default = math.nan
        dense = tf.sparse.to_dense(sparse, default_value=default)
        # absent in every example: no column at all, so pad one before taking the first
        dense = tf.pad(dense, [[0, 0], [0, 1]], constant_values=default)
        out[f.name] = dense[:, 0]
    return out


def build_archive(model: Any, info: ModelInfo, spec: Mapping[str, str], *,
                  threshold: float | None = None) -> Any:
    """A ``keras.export.ExportArchive`` with ``serving_default`` and ``classify``/``regress``.
    ``threshold`` (binary): the probability from which ``class_ids``/``classes`` name the
    positive class (stage 03's decision threshold); None: the larger probability wins."""
    import keras
    import tensorflow as tf

    info.check_model(model)
    names = info.names
    classes = tf.constant(list(info.classes), dtype=tf.string) if info.is_classification \
        else None

    def predict(features: dict) -> dict:
        feed = {n: tf.reshape(features[n], [-1, 1]) for n in names}
        raw = tf.cast(model(feed, training=False), tf.float32)
        if not info.is_classification:
            return {"value": tf.reshape(raw, [-1])}
        if info.task == "binary":
            p = tf.reshape(raw, [-1])
            probs = tf.stack([1.0 - p, p], axis=1)
        else:
            probs = tf.reshape(raw, [tf.shape(raw)[0], len(info.classes)])
        if info.task == "binary" and threshold is not None:
            ids = tf.cast(probs[:, 1] >= threshold, tf.int64)
        else:
            ids = tf.argmax(probs, axis=1, output_type=tf.int64)
        return {"probabilities": probs, "class_ids": ids, "classes": tf.gather(classes, ids)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    raw_spec = {f.name: tf.TensorSpec([None], tf.as_dtype(f.dtype), name=f.name)
                for f in info.features}
    archive.add_endpoint(SERVING_DEFAULT, tf.function(predict), input_signature=[raw_spec])
    example_in = [tf.TensorSpec([None], tf.string, name="inputs")]
    if info.is_classification:
        def classify(inputs: Any) -> dict:
            out = predict(_parse_examples(inputs, spec, info))
            batch = tf.shape(inputs)[0]
            return {"classes": tf.tile(classes[None, :], [batch, 1]),
                    "scores": out["probabilities"]}

        archive.add_endpoint(CLASSIFY, tf.function(classify), input_signature=example_in)
    else:
        def regress(inputs: Any) -> dict:
            return {"outputs": predict(_parse_examples(inputs, spec, info))["value"]}

        archive.add_endpoint(REGRESS, tf.function(regress), input_signature=example_in)
    return archive


def set_method_names(model_dir: str | Path, methods: Mapping[str, str] | None = None) -> None:
    """Give signatures the method names TF Serving's Classify/Regress APIs require."""
    from tensorflow.core.protobuf import saved_model_pb2

    methods = dict(METHOD_NAMES if methods is None else methods)
    path = Path(model_dir) / "saved_model.pb"
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(path.read_bytes())
    changed = []
    for graph in proto.meta_graphs:
        for key, sig in graph.signature_def.items():
            if key in methods and sig.method_name != methods[key]:
                sig.method_name = methods[key]
                changed.append(key)
    if not changed:
        return
    path.write_bytes(proto.SerializeToString(deterministic=True))
    try:  # keep fingerprint.pb in step with the edited saved_model.pb
        from tensorflow.python.saved_model import fingerprinting_utils

        fingerprinting_utils.write_fingerprint(str(model_dir))
    except (ImportError, ValueError) as err:  # private API: a stale fingerprint is harmless
        log.warning("could not re-write fingerprint.pb of %s: %s", model_dir, err)
    log.info("method names set for signatures %s", ", ".join(changed))


def to_examples(arrays: Mapping[str, np.ndarray], spec: Mapping[str, str],
                info: ModelInfo | None = None) -> list[Any]:
    """One ``tf.train.Example`` per row, keyed by data column (the schema's names); missing
    values (NaN, empty string, -2**63) are left out. Strings are UTF-8."""
    import tensorflow as tf

    columns = {f.name: f.column for f in info.features} if info else {}
    n = len(next(iter(arrays.values())))
    examples = []
    for i in range(n):
        feature = {}
        for name, kind in spec.items():
            value = arrays[name][i]
            key = columns.get(name, name)
            if kind == "string":
                text = value if isinstance(value, bytes) else str(value).encode("utf-8")
                if text:
                    feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
                continue
            if kind == "int64" and isinstance(value, np.integer):  # exact epoch seconds
                if int(value) != MISSING_INT64:
                    feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(
                        value=[int(value)]))
                continue
            number = float(value)
            if math.isnan(number):
                continue
            if kind == "int64":
                if not number.is_integer():
                    raise ArtifactError(
                        f"feature '{name}' is an integer in the schema but row {i} holds "
                        f"{number}", hint="fix the schema's type for this feature",
                        column=name, row=i)
                feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(
                    value=[int(number)]))
            else:
                feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[number]))
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)))
    return examples


def serialize_examples(examples: Sequence[Any]) -> np.ndarray:
    return np.array([e.SerializeToString() for e in examples], dtype=object)



def describe_signatures(model_dir: str | Path) -> dict[str, Any]:
    """Every signature of ``saved_model.pb`` (serve tag): method, inputs and outputs with
    dtype and shape, read from the proto without loading the graph."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(model_dir) / "saved_model.pb").read_bytes())

    def tensor(info: Any) -> dict[str, Any]:
        dims = None if info.tensor_shape.unknown_rank else \
            [d.size for d in info.tensor_shape.dim]
        dtype = types_pb2.DataType.Name(info.dtype).removeprefix("DT_").lower()
        return {"dtype": {"float": "float32", "double": "float64"}.get(dtype, dtype),
                "shape": dims, "tensor": info.name}

    out: dict[str, Any] = {}
    for graph in proto.meta_graphs:
        if "serve" not in graph.meta_info_def.tags:
            continue
        for key, sig in sorted(graph.signature_def.items()):
            if key.startswith("__"):
                continue
            out[key] = {"method_name": sig.method_name,
                        "inputs": {k: tensor(v) for k, v in sorted(sig.inputs.items())},
                        "outputs": {k: tensor(v) for k, v in sorted(sig.outputs.items())}}
    return out
