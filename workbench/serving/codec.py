"""Conversions between TF Serving's wire formats and NumPy arrays.

* REST JSON (row ``instances`` / columnar ``inputs``, ``{"b64": …}`` strings, NaN/Infinity)
  to arrays checked against a signature's input specs, and outputs back to JSON;
* ``tf.Example`` JSON (``examples`` / ``context``) and gRPC ``Input`` protos to serialized
  examples for classify/regress signatures;
* ``TensorProto`` to and from arrays (gRPC).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from workbench.serving.status import ServingError, invalid

__all__ = [
    "InputSpec",
    "arrays_from_columns",
    "arrays_from_instances",
    "columns_response",
    "dumps",
    "examples_from_input",
    "examples_from_json",
    "loads",
    "require_finite",
    "require_finite_outputs",
    "rows_response",
    "tensor_proto",
    "to_array",
]


def loads(body: bytes) -> Any:
    """Parse a request body; NaN, Infinity and -Infinity are accepted as in TF Serving."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as err:
        raise invalid(f"JSON Parse error: {err}") from err


def dumps(obj: Any, *, non_finite: bool = False) -> bytes:
    """Serialize a body. orjson writes NaN/Infinity as null, so a body that may hold non-finite
    floats (``non_finite=True``) is written by the json module as NaN/Infinity, like TF
    Serving."""
    if not non_finite:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
        except (orjson.JSONEncodeError, TypeError):
            pass
    return json.dumps(obj, default=_plain, allow_nan=True).encode("utf-8")


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    raise TypeError(type(obj).__name__)


# -- JSON → arrays -----------------------------------------------------------------------------

def _decode_string(value: Any, where: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise invalid(f"{where}: a binary value must be an object with the single key "
                          f"'b64' holding a base64 string")
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError) as err:
            raise invalid(f"{where}: invalid base64 in 'b64' value: {err}") from err
    raise invalid(f"{where}: expected a string or {{\"b64\": …}} for a DT_STRING input, "
                  f"got {type(value).__name__} {str(value)[:40]}")


def _strings(value: Any, where: str) -> Any:
    if isinstance(value, list):
        return [_strings(v, where) for v in value]
    return _decode_string(value, where)


class InputSpec:
    """What the request path needs of a signature input, computed once per signature (the
    TensorSpec/TensorShape accessors are slow on a per-request path)."""

    __slots__ = ("dims", "dtype_name", "imputed", "integral", "name", "np_dtype", "string")

    def __init__(self, name: str, tensor_spec: Any) -> None:
        dtype = tensor_spec.dtype
        self.name = name
        self.dtype_name = dtype.name
        self.string = dtype.name == "string"
        self.integral = bool(dtype.is_integer or dtype.is_bool)
        self.np_dtype = None if self.string else np.dtype(dtype.as_numpy_dtype)
        #: the model imputes a missing value (NaN) of this input: a JSON null is taken for it
        self.imputed = False
        shape = tensor_spec.shape
        self.dims = None if shape.rank is None else tuple(shape.as_list())


def to_array(value: Any, spec: InputSpec, where: str, *,
             allow_non_finite: bool = False) -> np.ndarray:
    """A JSON value (list nesting = tensor shape) as an array of the spec's dtype; NaN and
    Infinity (also a number the dtype overflows to Infinity) are refused unless allowed."""
    if spec.string:
        decoded = _strings(value, where)
        try:
            arr = np.array(decoded, dtype=object)
        except ValueError as err:
            raise invalid(f"{where}: ragged nesting: {err}") from err
        if arr.dtype != object or (arr.size and not isinstance(arr.flat[0], bytes)):
            raise invalid(f"{where}: ragged or mixed string values")
        return arr
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise invalid(f"{where}: ragged nesting or mixed values: {err}") from err
    nulls = None
    if raw.dtype == object and spec.imputed and not spec.integral:
        # null is a missing value, which this model imputes as it did in training (JSON has
        # no NaN); a literal NaN or Infinity stays refused unless the server allows them
        nulls = np.equal(raw, None)
        if nulls.any():
            try:
                raw = np.where(nulls, np.nan, raw).astype(np.float64)
            except (ValueError, TypeError):
                pass  # not numbers besides the nulls: refused below
        else:
            nulls = None
    if raw.dtype.kind not in "biuf":
        hint = ("" if None not in np.asarray(raw, dtype=object).ravel().tolist() else
                " (null, a missing value, is taken only by a float input whose missing "
                "value the model imputes, as the workbench's exports say in their metadata)")
        raise invalid(f"{where}: expected numbers for a {spec.dtype_name} input, got "
                      f"{str(value)[:60]}{hint}")
    if spec.integral and raw.dtype.kind == "f" and not np.all(np.floor(raw) == raw):
        raise invalid(f"{where}: expected whole numbers for a {spec.dtype_name} input")
    arr = raw.astype(spec.np_dtype, copy=False)
    if not allow_non_finite:
        require_finite(arr if nulls is None else np.where(nulls, 0, arr), where, raw)
    return arr


NON_FINITE_HINT = ("send finite numbers, and null for a missing value; a server started with "
                   "--allow_non_finite accepts NaN and Infinity as TF Serving does")


def _all_finite(arr: np.ndarray) -> bool:
    if arr.dtype.kind != "f":
        return True
    if arr.size <= 16:  # one request's values: cheaper in Python than a NumPy reduction
        return all(map(math.isfinite, arr.ravel().tolist()))
    return bool(np.isfinite(arr).all())


def require_finite(arr: np.ndarray, where: str, given: np.ndarray | None = None) -> None:
    """Refuse NaN, Infinity and numbers beyond the input dtype's range (400, naming the input
    and the first offending value)."""
    if _all_finite(arr):
        return
    at = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
    value = (given if given is not None and given.shape == arr.shape else arr)[at]
    what = ("NaN" if np.isnan(value) else "Infinity" if np.isinf(value)
            else f"{float(value):g}, beyond the range of {arr.dtype}")
    index = "".join(f"[{i}]" for i in at)
    raise invalid(f"{where} holds a non-finite number at {index}: {what}; {NON_FINITE_HINT}")


def require_finite_outputs(outputs: Mapping[str, np.ndarray]) -> None:
    """Refuse to answer with non-finite model outputs: a NaN score has no class."""
    for name, arr in outputs.items():
        if not _all_finite(arr):
            at = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise invalid(f"the model's output '{name}' is {arr[at]} for instance {at[0]} "
                          "(no answer, and no class, is given for a non-finite score): an "
                          "input is probably far outside the values the model was trained on")


def _check_shape(arr: np.ndarray, spec: InputSpec, name: str) -> None:
    dims = spec.dims
    if dims is None:
        return
    if arr.ndim != len(dims):
        raise invalid(f"input '{name}' has shape {list(arr.shape)}, the signature expects "
                      f"rank {len(dims)} {_shape_text(dims)}", input=name)
    for i, (got, want) in enumerate(zip(arr.shape, dims, strict=True)):
        if want is not None and got != want:
            raise invalid(f"input '{name}' has shape {list(arr.shape)}, the signature expects "
                          f"{_shape_text(dims)} (dimension {i})", input=name)


def _shape_text(dims: tuple) -> str:
    return "[" + ", ".join("-1" if d is None else str(d) for d in dims) + "]"


def _require_names(given: Mapping[str, Any], specs: Mapping[str, Any], where: str) -> None:
    missing = sorted(set(specs) - set(given))
    extra = sorted(set(given) - set(specs))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing input(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unknown input(s) {', '.join(extra)}")
        raise invalid(f"{where}: {'; '.join(parts)}; the signature takes "
                      f"{', '.join(sorted(specs))}")


def arrays_from_instances(instances: Any, specs: Mapping[str, Any], *,
                          allow_non_finite: bool = False) -> tuple[dict, int]:
    """Row format: a list with one entry per example. Returns arrays and the batch size."""
    if not isinstance(instances, list):
        raise invalid("'instances' must be a list with one entry per example")
    n = len(instances)
    if n == 0:
        raise invalid("'instances' is empty: send at least one example")
    names = list(specs)
    if len(names) == 1 and not isinstance(instances[0], dict):
        columns = {names[0]: instances}
    else:
        columns = {name: [None] * n for name in names}
        for i, inst in enumerate(instances):
            if not isinstance(inst, dict):
                raise invalid(f"instances[{i}] must be an object of named inputs "
                              f"({', '.join(names)})")
            if len(inst) != len(names) or any(k not in specs for k in inst):
                _require_names(inst, specs, f"instances[{i}]")
            for name, value in inst.items():
                columns[name][i] = value
    arrays = {}
    for name, spec in specs.items():
        arr = to_array(columns[name], spec, f"input '{name}'",
                       allow_non_finite=allow_non_finite)
        _check_shape(arr, spec, name)
        arrays[name] = arr
    return arrays, n


def arrays_from_columns(inputs: Any, specs: Mapping[str, Any], *,
                        allow_non_finite: bool = False) -> tuple[dict, int]:
    """Columnar format: a tensor (single-input signatures) or a map of named tensors."""
    names = list(specs)
    if not isinstance(inputs, dict) or (len(names) == 1 and names[0] not in inputs
                                        and not _looks_named(inputs, specs)):
        if len(names) != 1:
            raise invalid(f"'inputs' must be an object of named inputs "
                          f"({', '.join(names)})")
        inputs = {names[0]: inputs}
    _require_names(inputs, specs, "'inputs'")
    arrays = {}
    sizes = set()
    for name, spec in specs.items():
        arr = to_array(inputs[name], spec, f"input '{name}'",
                       allow_non_finite=allow_non_finite)
        _check_shape(arr, spec, name)
        arrays[name] = arr
        if arr.ndim:
            sizes.add(arr.shape[0])
    if len(sizes) > 1:
        raise invalid(f"the named inputs have different batch sizes {sorted(sizes)}; "
                      "batched serving needs one 0-th dimension")
    n = sizes.pop() if sizes else 1
    if n == 0:
        raise invalid("'inputs' holds no example")
    return arrays, n


def _looks_named(inputs: dict, specs: Mapping[str, Any]) -> bool:
    return bool(set(inputs) & set(specs))


# -- arrays → JSON -----------------------------------------------------------------------------

def _jsonable(name: str, arr: np.ndarray) -> Any:
    if arr.dtype == object or arr.dtype.kind in "SU":
        flat = arr.tolist()
        return _encode_strings(flat, name.endswith("_bytes"))
    return arr


def _encode_strings(value: Any, as_b64: bool) -> Any:
    if isinstance(value, list):
        return [_encode_strings(v, as_b64) for v in value]
    if isinstance(value, bytes):
        if as_b64:
            return {"b64": base64.b64encode(value).decode("ascii")}
        return value.decode("utf-8", "replace")
    return value


def rows_response(outputs: Mapping[str, np.ndarray], n: int) -> dict[str, Any]:
    """``{"predictions": …}``: one entry per example; the name is dropped for one output."""
    if len(outputs) == 1:
        (name, arr), = outputs.items()
        return {"predictions": _jsonable(name, arr)}
    cols = {name: _jsonable(name, arr) for name, arr in outputs.items()}
    rows = []
    for i in range(n):
        rows.append({name: col[i] for name, col in cols.items()})
    return {"predictions": rows}


def columns_response(outputs: Mapping[str, np.ndarray]) -> dict[str, Any]:
    if len(outputs) == 1:
        (name, arr), = outputs.items()
        return {"outputs": _jsonable(name, arr)}
    return {"outputs": {name: _jsonable(name, arr) for name, arr in outputs.items()}}


def non_finite(outputs: Mapping[str, np.ndarray]) -> bool:
    return any(a.dtype.kind == "f" and not np.isfinite(a).all() for a in outputs.values())


# -- tf.Example --------------------------------------------------------------------------------

def _feature(value: Any, where: str, allow_non_finite: bool = False) -> Any:
    from tensorflow.core.example import feature_pb2

    values = value if isinstance(value, list) else [value]
    feature = feature_pb2.Feature()
    if not values:
        raise invalid(f"{where}: empty feature list")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        feature.int64_list.value.extend(values)
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        floats = [float(v) for v in values]
        if not allow_non_finite and not all(map(math.isfinite, floats)):
            bad = next(v for v in floats if not math.isfinite(v))
            raise invalid(f"{where} holds a non-finite number ({bad}); {NON_FINITE_HINT}")
        feature.float_list.value.extend(floats)
    elif all(isinstance(v, (str, dict)) for v in values):
        feature.bytes_list.value.extend(_decode_string(v, where) for v in values)
    else:
        raise invalid(f"{where}: values must be all numbers or all strings, got "
                      f"{[type(v).__name__ for v in values][:5]}")
    return feature


def _example(obj: Any, where: str, allow_non_finite: bool = False) -> Any:
    from tensorflow.core.example import example_pb2

    if not isinstance(obj, dict):
        raise invalid(f"{where} must be an object of feature names to values")
    ex = example_pb2.Example()
    for name, value in obj.items():
        ex.features.feature[name].CopyFrom(_feature(value, f"{where}.{name}",
                                                    allow_non_finite))
    return ex


def examples_from_json(body: Mapping[str, Any], *, allow_non_finite: bool = False
                       ) -> list[bytes]:
    """``examples`` (+ ``context``) of a REST classify/regress body as serialized examples."""
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise invalid("a classify/regress request needs a non-empty 'examples' list")
    context = body.get("context")
    ctx = (_example(context, "context", allow_non_finite) if context is not None
           else None)
    out = []
    for i, obj in enumerate(examples):
        ex = _example(obj, f"examples[{i}]", allow_non_finite)
        if ctx is not None:
            clash = set(ctx.features.feature) & set(ex.features.feature)
            if clash:
                raise invalid(f"examples[{i}] repeats context feature(s) {sorted(clash)}")
            ex.MergeFrom(ctx)
        out.append(ex.SerializeToString())
    return out


def _require_finite_example(ex: Any, where: str) -> None:
    for name, feature in ex.features.feature.items():
        if feature.WhichOneof("kind") == "float_list":
            values = feature.float_list.value
            if not all(map(math.isfinite, values)):
                bad = next(v for v in values if not math.isfinite(v))
                raise invalid(f"{where}.{name} holds a non-finite number ({bad}); "
                              f"{NON_FINITE_HINT}")


def examples_from_input(input_proto: Any, *, allow_non_finite: bool = False) -> list[bytes]:
    """A gRPC ``tensorflow.serving.Input`` as serialized examples."""
    kind = input_proto.WhichOneof("kind")
    if not allow_non_finite:
        if kind == "example_list":
            for i, ex in enumerate(input_proto.example_list.examples):
                _require_finite_example(ex, f"examples[{i}]")
        elif kind == "example_list_with_context":
            lst = input_proto.example_list_with_context
            _require_finite_example(lst.context, "context")
            for i, ex in enumerate(lst.examples):
                _require_finite_example(ex, f"examples[{i}]")
    if kind == "example_list":
        out = [ex.SerializeToString() for ex in input_proto.example_list.examples]
    elif kind == "example_list_with_context":
        lst = input_proto.example_list_with_context
        out = []
        for ex in lst.examples:
            merged = type(ex)()
            merged.CopyFrom(ex)
            merged.MergeFrom(lst.context)
            out.append(merged.SerializeToString())
    else:
        raise invalid("Input is empty: set example_list or example_list_with_context")
    if not out:
        raise invalid("Input holds no example")
    return out


# -- TensorProto -------------------------------------------------------------------------------

def from_tensor_proto(proto: Any, spec: InputSpec, name: str, *,
                      allow_non_finite: bool = False) -> np.ndarray:
    import tensorflow as tf

    try:
        arr = _fast_ndarray(proto)
        if arr is None:
            arr = tf.make_ndarray(proto)
    except (TypeError, ValueError) as err:
        raise invalid(f"input '{name}': unreadable TensorProto: {err}") from err
    if spec.string:
        if arr.dtype != object:
            raise invalid(f"input '{name}' has dtype {arr.dtype}, the signature expects "
                          "DT_STRING", input=name)
    elif arr.dtype != spec.np_dtype:
        if arr.dtype == object or not np.can_cast(arr.dtype, spec.np_dtype,
                                                  casting="same_kind"):
            raise ServingError("INVALID_ARGUMENT",
                               f"input '{name}' has dtype {arr.dtype}, the signature expects "
                               f"{spec.dtype_name}", input=name)
        arr = arr.astype(spec.np_dtype)
    _check_shape(arr, spec, name)
    if not allow_non_finite:
        require_finite(arr, f"input '{name}'")
    return arr


_NUMERIC = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}  # DataType
_DTYPE_OF = {np.dtype(v): k for k, v in _NUMERIC.items()}
_VALUES = {1: "float_val", 2: "double_val", 3: "int_val", 9: "int64_val", 10: "bool_val"}


def _fast_ndarray(proto: Any) -> np.ndarray | None:
    """The common TensorProtos (float/double/int32/int64/bool, string) without going through
    ``tf.make_ndarray``; None for anything else (which TensorFlow then converts)."""
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    if proto.tensor_shape.unknown_rank or any(s < 0 for s in shape):
        return None
    count = int(np.prod(shape)) if shape else 1
    if proto.dtype == 7:  # DT_STRING
        values = list(proto.string_val)
        if len(values) == count:
            return np.array(values, dtype=object).reshape(shape)
        if len(values) == 1:
            return np.full(shape, values[0], dtype=object)
        return None
    np_dtype = _NUMERIC.get(proto.dtype)
    if np_dtype is None:
        return None
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=np_dtype).reshape(shape).copy()
    values = getattr(proto, _VALUES[proto.dtype])
    if len(values) == count:
        return np.array(values, dtype=np_dtype).reshape(shape)
    if len(values) == 1:
        return np.full(shape, values[0], dtype=np_dtype)
    return None


def tensor_proto(arr: np.ndarray) -> Any:
    """An array as a TensorProto (numeric types as tensor_content, strings as string_val)."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2

    arr = np.asarray(arr)
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in arr.shape])
    if arr.dtype == object:
        values = [v if isinstance(v, bytes) else str(v).encode() for v in arr.reshape(-1)]
        return tensor_pb2.TensorProto(dtype=7, tensor_shape=shape, string_val=values)
    code = _DTYPE_OF.get(arr.dtype)
    if code is None:
        import tensorflow as tf

        return tf.make_tensor_proto(arr)
    return tensor_pb2.TensorProto(dtype=code, tensor_shape=shape,
                                  tensor_content=np.ascontiguousarray(arr).tobytes())
