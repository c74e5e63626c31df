"""Run ``.tflite`` models with LiteRT (``ai_edge_litert``; ``tf.lite.Interpreter`` is deprecated).

:class:`LiteRunner` feeds the same 1-D raw-feature arrays the SavedModel takes (or, for a
variant on preprocessed features, applies the exported preprocessing first), quantizes int8
inputs and dequantizes int8 outputs with the tensors' own scale and zero point, and measures
latency with the interpreter's low-level API: inputs resized once per batch size
(``resize_tensor_input`` + ``allocate_tensors``), then ``set_tensor`` / ``invoke`` /
``get_tensor`` per call.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Mapping

import numpy as np

__all__ = ["LiteRunner", "latency_stats"]

log = logging.getLogger(__name__)

SIGNATURE = "serving_default"


def latency_stats(times_s: list[float]) -> dict[str, float]:
    ms = np.asarray(times_s, dtype=float) * 1e3
    return {"median_ms": round(float(statistics.median(ms)), 4),
            "p95_ms": round(float(np.percentile(ms, 95)), 4),
            "mean_ms": round(float(ms.mean()), 4), "runs": len(ms)}


class LiteRunner:
    """One ``.tflite`` model in a LiteRT interpreter, called like the SavedModel."""

    def __init__(self, content: bytes, *, num_threads: int | None = None,
                 preprocess: Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]
                 | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        from workbench._quiet import silenced_stderr

        with silenced_stderr():  # "Created TensorFlow Lite XNNPACK delegate" from C++
            self.interpreter = Interpreter(model_content=bytes(content),
                                           num_threads=num_threads)
        runner = self.interpreter.get_signature_runner(SIGNATURE)
        self.inputs = runner.get_input_details()
        self.outputs = runner.get_output_details()
        del runner  # holds views into the interpreter; resizing needs them gone
        self.preprocess = preprocess
        self._batch: int | None = None

    # -- io ----------------------------------------------------------------------------------
    @property
    def input_types(self) -> dict[str, str]:
        return {k: np.dtype(d["dtype"]).name for k, d in self.inputs.items()}

    @property
    def output_types(self) -> dict[str, str]:
        return {k: np.dtype(d["dtype"]).name for k, d in self.outputs.items()}

    def _resize(self, batch: int) -> None:
        if batch == self._batch:
            return
        for d in self.inputs.values():
            shape = list(d["shape_signature"]) if len(d["shape_signature"]) else [batch]
            shape[0] = batch
            self.interpreter.resize_tensor_input(d["index"], shape)
        self.interpreter.allocate_tensors()
        self._batch = batch

    def _encode(self, name: str, values: np.ndarray) -> np.ndarray:
        d = self.inputs[name]
        dtype = np.dtype(d["dtype"])
        if dtype.kind in "SUO":
            values = np.asarray(values)
            if values.dtype.kind == "S":
                return values
            return np.array([v if isinstance(v, bytes) else str(v).encode("utf-8")
                             for v in values.reshape(-1)], dtype=np.bytes_).reshape(values.shape)
        if dtype in (np.int8, np.uint8, np.int16) and d["quantization"][0]:
            scale, zero = d["quantization"]
            info = np.iinfo(dtype)
            q = np.round(np.asarray(values, dtype=np.float64) / scale + zero)
            return np.clip(np.nan_to_num(q, nan=zero), info.min, info.max).astype(dtype)
        return np.asarray(values).astype(dtype)  # int64 timestamps pass unchanged

    def _decode(self, name: str, values: np.ndarray) -> np.ndarray:
        d = self.outputs[name]
        if np.dtype(d["dtype"]) in (np.int8, np.uint8, np.int16) and d["quantization"][0]:
            scale, zero = d["quantization"]
            return ((values.astype(np.float32) - zero) * scale).astype(np.float32)
        return np.array(values)

    def feed(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw arrays → the interpreter's input arrays (preprocessed, quantized)."""
        data = self.preprocess(arrays) if self.preprocess else dict(arrays)
        missing = sorted(set(self.inputs) - set(data))
        if missing:
            raise KeyError(f"inputs {missing} not given")
        return {k: self._encode(k, data[k]) for k in self.inputs}

    def _invoke(self, encoded: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(next(iter(encoded.values())))
        self._resize(n)
        for k, v in encoded.items():
            self.interpreter.set_tensor(self.inputs[k]["index"], v)
        self.interpreter.invoke()
        return {k: self._decode(k, self.interpreter.get_tensor(d["index"]))
                for k, d in self.outputs.items()}

    def predict(self, arrays: Mapping[str, np.ndarray], *, batch_size: int = 256
                ) -> dict[str, np.ndarray]:
        encoded = self.feed(arrays)
        n = len(next(iter(encoded.values())))
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, n, batch_size):
            out = self._invoke({k: v[start:start + batch_size] for k, v in encoded.items()})
            for k, v in out.items():
                parts.setdefault(k, []).append(v)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def latency(self, arrays: Mapping[str, np.ndarray], *, batch: int, runs: int,
                warmup: int = 10) -> dict[str, float]:
        """Median and p95 of one call (set inputs, invoke, read outputs) at ``batch`` rows."""
        encoded = self.feed(arrays)
        n = len(next(iter(encoded.values())))
        reps = -(-batch // n)
        rows = {k: np.concatenate([v] * reps)[:batch] if reps > 1 else v[:batch]
                for k, v in encoded.items()}
        self._resize(batch)
        interp = self.interpreter
        slots = [(self.inputs[k]["index"], v) for k, v in rows.items()]
        outs = [d["index"] for d in self.outputs.values()]
        times = []
        for i in range(warmup + runs):
            t0 = time.perf_counter()
            for index, value in slots:
                interp.set_tensor(index, value)
            interp.invoke()
            for index in outs:
                interp.get_tensor(index)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
        return latency_stats(times)
