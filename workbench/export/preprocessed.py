"""A TFLite variant on preprocessed features, for models whose preprocessing LiteRT lacks.

Some Keras preprocessing layers become TensorFlow ops with no LiteRT built-in kernel
(``IntegerLookup`` → ``HashTableV2`` with int64 keys, ``StringLookup(output_mode="multi_hot")``
→ ``DenseBincount``, ``Hashing`` → ``StringToHashBucketFast``). For those models the stage
splits the Keras graph where preprocessing ends: the *core* model takes the preprocessed
features and converts with built-ins; the preprocessing becomes data — vocabularies, OOV
indices, normalization means and variances, bin boundaries — in ``preprocessing.json``, which
an app applies before calling the model. :func:`apply_preprocessing` is the reference
implementation (NumPy); the stage checks it reproduces the SavedModel's outputs.

Supported steps: ``Cast``, ``Normalization``, ``StringLookup``/``IntegerLookup`` (int,
one_hot, multi_hot, count; one OOV index, no mask), ``Discretization``, ``Rescaling``,
``CategoryEncoding``. Anything else on a raw feature's path is an error naming the layer.

Date/time features need no step here: their calendar arithmetic
(:func:`workbench.features.preprocess.calendar_parts` — int64 LESS/GREATER/SELECT_V2/SUB/CAST,
int32 FLOOR_DIV/FLOOR_MOD/ADD/MUL) has LiteRT built-in kernels, so it stays in the core model
and the raw int64 epoch seconds are passed through unchanged (exact: never through float).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from workbench.errors import WorkbenchError
from workbench.export.contract import ModelInfo

__all__ = ["PreprocessingError", "apply_preprocessing", "split_preprocessing"]

log = logging.getLogger(__name__)

FORMAT = "workbench-tflite-preprocessing/1"
_EPSILON = 1e-7  # keras.backend.epsilon(), Normalization's floor on the standard deviation


class PreprocessingError(WorkbenchError):
    """A preprocessing layer cannot be expressed as exported constants."""


def _unsupported(layer: Any, why: str) -> PreprocessingError:
    return PreprocessingError(
        f"preprocessing layer '{layer.name}' ({type(layer).__name__}) cannot be exported as "
        f"constants for an app to apply: {why}",
        hint="use Normalization, StringLookup/IntegerLookup (one OOV index, no mask), "
             "Discretization, Rescaling or CategoryEncoding in 02_train, or convert the raw "
             "model with TF Select ops (needs the Flex delegate)", layer=layer.name)


def _encode_mode(layer: Any, mode: str) -> str:
    if mode in ("int", "one_hot", "multi_hot", "count"):
        return mode
    raise _unsupported(layer, f"output_mode '{mode}'")


def _describe(op: Any) -> dict[str, Any] | None:
    """The step an operation performs, as data; None if it is not a preprocessing step."""
    import keras

    layers = keras.layers
    kind = type(op).__name__
    if kind == "Cast":
        return {"op": "cast", "dtype": str(op.dtype)}
    if isinstance(op, layers.Normalization):
        if op.invert:
            raise _unsupported(op, "invert=True")
        mean = np.asarray(op.mean, dtype=np.float32)
        variance = np.asarray(op.variance, dtype=np.float32)
        return {"op": "normalize", "mean": mean.reshape(-1).tolist(),
                "variance": variance.reshape(-1).tolist(), "epsilon": _EPSILON,
                "layer": op.name}
    if isinstance(op, (layers.StringLookup, layers.IntegerLookup)):
        if op.invert:
            raise _unsupported(op, "invert=True")
        if op.num_oov_indices > 1:
            raise _unsupported(op, f"{op.num_oov_indices} OOV indices are hashed")
        if op.mask_token is not None:
            raise _unsupported(op, "a mask token")
        if op.output_mode == "tf_idf":
            raise _unsupported(op, "output_mode 'tf_idf'")
        vocab = op.get_vocabulary(include_special_tokens=True)
        is_string = isinstance(op, layers.StringLookup)
        tokens = [t.decode() if isinstance(t, bytes) else (str(t) if is_string else int(t))
                  for t in vocab]
        return {"op": "lookup", "vocabulary": tokens, "num_oov_indices": op.num_oov_indices,
                "oov_index": 0, "output_mode": _encode_mode(op, op.output_mode),
                "depth": int(op.vocabulary_size()), "layer": op.name,
                "keys": "string" if is_string else "int64"}
    if isinstance(op, layers.Discretization):
        bounds = op.bin_boundaries
        if bounds is None:
            raise _unsupported(op, "no bin boundaries")
        mode = _encode_mode(op, op.output_mode)
        return {"op": "bucketize", "boundaries": [float(b) for b in bounds],
                "output_mode": mode, "depth": len(bounds) + 1, "layer": op.name}
    if isinstance(op, layers.Rescaling):
        return {"op": "rescale", "scale": float(np.asarray(op.scale)),
                "offset": float(np.asarray(op.offset)), "layer": op.name}
    if isinstance(op, layers.CategoryEncoding):
        return {"op": "encode", "output_mode": _encode_mode(op, op.output_mode),
                "depth": int(op.num_tokens), "layer": op.name}
    if isinstance(op, (layers.Hashing, layers.TextVectorization)):
        raise _unsupported(op, "its hashing or tokenizing has no constant form")
    return None


def _flat(x: Any) -> list[Any]:
    import keras

    return keras.tree.flatten(x)


def split_preprocessing(model: Any, info: ModelInfo) -> tuple[Any, dict[str, Any]]:
    """The core model (inputs: preprocessed features) and the preprocessing spec."""
    import keras

    origin: dict[int, tuple[str, list[dict[str, Any]], Any]] = {}
    for t in model.inputs:
        origin[id(t)] = (t.name, [], t)
    boundary: dict[int, tuple[str, list[dict[str, Any]], Any]] = {}
    depths = sorted(model._nodes_by_depth, reverse=True)  # inputs first
    for depth in depths:
        for node in model._nodes_by_depth[depth]:
            op = node.operation
            if isinstance(op, keras.layers.InputLayer):
                continue
            ins = _flat(node.input_tensors)
            sources = [origin.get(id(t)) for t in ins]
            features = {s[0] for s in sources if s is not None}
            step = _describe(op) if all(s is not None for s in sources) and \
                len(features) == 1 else None
            if step is not None:
                feature, steps, _ = sources[0]
                for out in _flat(node.output_tensors):
                    origin[id(out)] = (feature, [*steps, step], out)
                continue
            for t, s in zip(ins, sources, strict=True):
                if s is not None:
                    boundary[id(t)] = s
    if not boundary:
        raise PreprocessingError("the model has no inputs feeding its layers",
                                 hint="check the model follows the model contract")
    entries = []
    used: set[str] = set()
    for feature, steps, tensor in boundary.values():
        name = f"{feature}__pre" if steps else feature
        while name in used:
            name += "_"
        used.add(name)
        entries.append({"name": name, "feature": feature, "ops": steps,
                        "dtype": str(tensor.dtype), "shape": [None, *tensor.shape[1:]]})
    order = {n: i for i, n in enumerate(info.names)}
    pairs = sorted(zip(entries, [b[2] for b in boundary.values()], strict=True),
                   key=lambda p: (order.get(p[0]["feature"], 1 << 30), p[0]["name"]))
    entries = [p[0] for p in pairs]
    tensors = [p[1] for p in pairs]
    core = keras.Model(inputs=tensors, outputs=model.outputs, name="core")
    spec = {"format": FORMAT, "inputs": entries, "task": info.task,
            "classes": list(info.classes),
            "note": "apply each input's steps, in order, to the raw feature (shape [n, 1]); "
                    "feed the results to the model by name"}
    log.info("split preprocessing: %d core inputs", len(entries))
    return core, spec


def _one_hot(index: np.ndarray, depth: int, mode: str) -> np.ndarray:
    index = index.reshape(len(index), -1)
    out = np.zeros((len(index), depth), dtype=np.float32)
    for j in range(index.shape[1]):
        valid = (index[:, j] >= 0) & (index[:, j] < depth)
        rows = np.flatnonzero(valid)
        if mode == "count":
            np.add.at(out, (rows, index[rows, j]), 1.0)
        else:
            out[rows, index[rows, j]] = 1.0
    return out


def _apply_step(x: np.ndarray, step: Mapping[str, Any]) -> np.ndarray:
    op = step["op"]
    if op == "cast":
        dtype = np.dtype(step["dtype"])
        return x.astype(dtype) if x.dtype.kind not in "SUO" else x
    if op == "normalize":
        mean = np.asarray(step["mean"], dtype=np.float32)
        std = np.maximum(np.sqrt(np.asarray(step["variance"], dtype=np.float32)),
                         np.float32(step["epsilon"]))
        return ((x.astype(np.float32) - mean) / std).astype(np.float32)
    if op == "rescale":
        return (x.astype(np.float32) * np.float32(step["scale"])
                + np.float32(step["offset"])).astype(np.float32)
    if op == "lookup":
        vocab = step["vocabulary"]
        start = step["num_oov_indices"]
        table = {(t.encode() if isinstance(t, str) else t): i
                 for i, t in enumerate(vocab) if i >= start}
        flat = x.reshape(-1)
        keys = [(v if isinstance(v, bytes) else str(v).encode()) for v in flat] \
            if step["keys"] == "string" else [int(v) for v in flat]
        index = np.array([table.get(k, step["oov_index"]) for k in keys],
                         dtype=np.int64).reshape(x.shape)
        if step["output_mode"] == "int":
            return index
        return _one_hot(index, step["depth"], step["output_mode"])
    if op == "bucketize":
        index = np.searchsorted(np.asarray(step["boundaries"], dtype=np.float64),
                                x.astype(np.float64), side="right").astype(np.int64)
        if step["output_mode"] == "int":
            return index
        return _one_hot(index, step["depth"], step["output_mode"])
    if op == "encode":
        return _one_hot(x.astype(np.int64), step["depth"], step["output_mode"])
    raise PreprocessingError(f"unknown preprocessing step '{op}'",
                             hint="the preprocessing spec comes from a newer workbench")


def apply_preprocessing(spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
                        ) -> dict[str, np.ndarray]:
    """Raw 1-D feature arrays → the core model's inputs, following ``spec``."""
    out = {}
    for entry in spec["inputs"]:
        x = np.asarray(arrays[entry["feature"]]).reshape(-1, 1)
        for step in entry["ops"]:
            x = _apply_step(x, step)
        dtype = np.dtype(entry["dtype"]) if entry["dtype"] != "string" else None
        out[entry["name"]] = x.astype(dtype) if dtype is not None else x  # int64 stays exact
    return out
