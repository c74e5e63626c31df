"""TFLite variants of a trained model: float32, dynamic range, float16 and int8.

Every variant is converted from one SavedModel whose ``serving_default`` takes the same inputs
as the exported model (raw features, 1-D; or the preprocessed features of
:mod:`workbench.export.preprocessed`) and returns the numeric output only: ``probabilities``
``[n, K]`` or ``value`` ``[n]``.

Which tool makes which variant (measured on this project's fraud and digits models; see
``bench/bench_tflite.py``):

* ``float32`` and ``float16`` — the TF converter (the only producer of float models).
* ``dynamic`` — ai-edge-quantizer's ``dynamic_wi8_afp32`` recipe by default: LiteRT's
  maintained quantizer, channel-wise int8 weights, a file 1–5 % smaller than the converter's
  ``Optimize.DEFAULT`` at the same accuracy and latency. ``dynamic_engine="converter"`` picks the
  converter; if the quantizer fails, the converter is used and the report says why.
* ``int8`` — the TF converter with a representative dataset from the train split. The
  quantizer's ``static_wi8_ai8`` recipe, calibrated on the same rows, lost 4.5 accuracy points
  on the digits CNN where the converter's int8 lost none, made a larger file, and its
  calibration cannot feed string inputs ("Could not create PyBytes from string").
  Full integer first (``TFLITE_BUILTINS_INT8``, int8 float inputs and outputs — string inputs
  stay strings, int64 timestamp inputs stay int64 and are calibrated as they are); when an op has no int8 kernel, int8 with float fallback for that op, and the
  report names the op.

A model the converter cannot express in LiteRT built-ins raises :class:`ConversionError` naming
the TensorFlow op and the option that fixes it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import DataError, WorkbenchError
from workbench.export.contract import ModelInfo
from workbench.export.params import MIN_REPRESENTATIVE_ROWS
from workbench.export.params import TFLITE_VARIANTS as VARIANTS

__all__ = [
    "INT8_FLOAT_OPS",
    "MIN_REPRESENTATIVE_ROWS",
    "VARIANTS",
    "ConversionError",
    "Converted",
    "convert_variant",
    "quiet_tf_logging",
    "tflite_ops",
    "representative_rows",
    "unsupported_ops",
    "write_lite_savedmodel",
]

log = logging.getLogger(__name__)

DYNAMIC_ENGINES = ("ai_edge_quantizer", "converter")
#: LiteRT ops whose int8 form the TF 2.21 converter gets wrong; int8 variants keep them float.
#: ONE_HOT: the quantized on/off values come out with the output's scale missing, so every
#: one-hot column is offset (measured: a fraud model's one-hot inputs read 1.56/6.07 for 0/1).
INT8_FLOAT_OPS = ("ONE_HOT",)


class ConversionError(WorkbenchError):
    """The TFLite converter cannot convert the model (``context['ops']`` names the ops)."""


@dataclass
class Converted:
    name: str
    content: bytes
    engine: str
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.content)


def write_lite_savedmodel(model: Any, info: ModelInfo, folder: str | Path, *,
                          inputs: Mapping[str, tuple[Any, list[int | None]]] | None = None
                          ) -> Path:
    """A SavedModel for conversion: raw 1-D inputs (or ``inputs``: name → (dtype, shape))
    and the numeric output only."""
    import keras
    import tensorflow as tf

    folder = Path(folder)
    if inputs is None:
        names = info.names
        specs = {f.name: tf.TensorSpec([None], tf.as_dtype(f.dtype), name=f.name)
                 for f in info.features}

        def call(features: dict) -> Any:
            return model({n: tf.reshape(features[n], [-1, 1]) for n in names}, training=False)
    else:
        names = list(inputs)
        specs = {n: tf.TensorSpec(shape, dtype, name=n) for n, (dtype, shape) in inputs.items()}

        def call(features: dict) -> Any:
            return model([features[n] for n in names], training=False)

    def endpoint(features: dict) -> dict:
        raw = tf.cast(call(features), tf.float32)
        if not info.is_classification:
            return {"value": tf.reshape(raw, [-1])}
        if info.task == "binary":
            p = tf.reshape(raw, [-1, 1])
            return {"probabilities": tf.concat([1.0 - p, p], axis=1)}
        return {"probabilities": raw}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", tf.function(endpoint), input_signature=[specs])
    with quiet_tf_logging():
        archive.write_out(str(folder), verbose=False)
    return folder


@contextlib.contextmanager
def quiet_tf_logging() -> Iterator[None]:
    """Keep TensorFlow's INFO lines ("Assets written to …") out of notebooks and logs."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


_SELECT = re.compile(r"TF Select ops: ([A-Za-z0-9_, ]+)")
_NEITHER = re.compile(r"'tf\.([A-Za-z0-9_]+)' op is neither a custom op nor a flex op")
_UNSUPPORTED = re.compile(r"'tf\.([A-Za-z0-9_]+)' op is not supported")


def unsupported_ops(message: str) -> list[str]:
    """TensorFlow op names a converter error says LiteRT built-ins lack."""
    ops: list[str] = []
    for m in _SELECT.finditer(message):
        ops += [o.strip() for o in m.group(1).split(",") if o.strip()]
    ops += _NEITHER.findall(message) + _UNSUPPORTED.findall(message)
    return sorted(set(ops))


def _explain(err: Exception, variant: str) -> ConversionError:
    text = str(err)
    ops = unsupported_ops(text)
    if ops:
        return ConversionError(
            f"the {variant} TFLite conversion failed: LiteRT built-ins have no kernel for "
            f"TensorFlow op(s) {', '.join(ops)}",
            hint="let the stage build the variant on preprocessed features (tflite_inputs="
                 "'auto' or 'preprocessed'), which exports the vocabularies and normalization "
                 "constants for the app to apply; or convert with converter.target_spec."
                 "supported_ops = [TFLITE_BUILTINS, SELECT_TF_OPS] — that model then needs the "
                 "TF Select (Flex) delegate, which the ai_edge_litert wheel does not ship; or "
                 "replace the layer using the op (e.g. Hashing/IntegerLookup/multi_hot "
                 "StringLookup) in 02_train",
            ops=",".join(ops), variant=variant)
    first = next((line for line in text.splitlines() if "error" in line.lower()),
                 text.splitlines()[0] if text else type(err).__name__)
    return ConversionError(f"the {variant} TFLite conversion failed: {first[:500]}",
                           hint="see the converter's message above; simplify the layer it "
                                "names or convert with tflite_inputs='preprocessed'",
                           variant=variant)


def representative_rows(arrays: Mapping[str, np.ndarray], rows: int, *, seed: int = 0,
                        source: str = "train split") -> dict[str, np.ndarray]:
    """A seeded sample of ``rows`` rows for int8 calibration (DataError when too few)."""
    n = len(next(iter(arrays.values())))
    if rows < MIN_REPRESENTATIVE_ROWS:
        raise DataError(f"representative_rows is {rows}; int8 calibration needs at least "
                        f"{MIN_REPRESENTATIVE_ROWS} rows to estimate activation ranges",
                        hint=f"set representative_rows to {MIN_REPRESENTATIVE_ROWS} or more "
                             "(200-500 is typical)", parameter="representative_rows")
    if n < MIN_REPRESENTATIVE_ROWS:
        raise DataError(f"the representative dataset ({source}) has only {n} rows; int8 "
                        f"calibration needs at least {MIN_REPRESENTATIVE_ROWS}",
                        hint="ingest more data in 01_data_validation, or skip the int8 variant "
                             "(variants without 'int8')", file=source)
    if n <= rows:
        return dict(arrays)
    idx = np.sort(np.random.default_rng(seed).choice(n, rows, replace=False))
    return {k: v[idx] for k, v in arrays.items()}


def _samples(rep: Mapping[str, np.ndarray]) -> Callable[[], Iterator[dict[str, np.ndarray]]]:
    n = len(next(iter(rep.values())))

    def gen() -> Iterator[dict[str, np.ndarray]]:
        for i in range(n):
            yield {k: v[i:i + 1] for k, v in rep.items()}
    return gen


def _converter(saved_model: Path) -> Any:
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_saved_model(str(saved_model),
                                                    signature_keys=["serving_default"])


def _run_converter(conv: Any, variant: str) -> bytes:
    from workbench._quiet import silenced_stderr

    try:
        with warnings.catch_warnings(), silenced_stderr():
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
            warnings.filterwarnings("ignore", category=UserWarning, module="tensorflow.lite")
            return bytes(conv.convert())
    except Exception as err:  # noqa: BLE001 - the converter raises several kinds
        raise _explain(err, variant) from err


def tflite_ops(content: bytes) -> list[str]:
    """The LiteRT op names a ``.tflite`` model uses."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=bytes(content))
    return sorted({d["op_name"] for d in interpreter._get_ops_details()})


def _int8_selective(saved_model: Path, representative: Mapping[str, np.ndarray],
                    kept: list[str]) -> Converted:
    """int8 with ``kept`` ops left in float (the converter's selective quantization)."""
    import tensorflow as tf

    from workbench._quiet import silenced_stderr

    conv = _converter(saved_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = _samples(representative)
    try:
        with warnings.catch_warnings(), silenced_stderr():
            warnings.simplefilter("ignore")
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=conv, debug_dataset=_samples(representative),
                debug_options=tf.lite.experimental.QuantizationDebugOptions(
                    denylisted_ops=kept))
            content = bytes(debugger.get_nondebug_quantized_model())
    except Exception as err:  # noqa: BLE001 - the converter raises several kinds
        raise _explain(err, "int8") from err
    return Converted("int8", content, "tf.lite converter (selective quantization)",
                     [f"{', '.join(kept)} kept in float: the converter's int8 {kept[0]} "
                      "kernel gets its on/off values with the wrong scale (TF 2.21), which "
                      "shifts every one-hot feature; so inputs and outputs stay float32",
                      "int8 weights and activations elsewhere"],
                     {"int8_io": False, "float_fallback": True, "float_ops": kept})


def _aeq_dynamic(float_model: bytes) -> bytes:
    from ai_edge_quantizer import quantizer, recipe

    from workbench._quiet import silenced_stderr

    # its transformation progress bar ignores enable_progress_bar and writes to sys.stderr
    with warnings.catch_warnings(), silenced_stderr(), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        q = quantizer.Quantizer(bytearray(float_model), recipe.dynamic_wi8_afp32())
        result = q.quantize(enable_progress_report=False, enable_progress_bar=False)
    return bytes(result.quantized_model)


def convert_variant(saved_model: str | Path, variant: str, *,
                    representative: Mapping[str, np.ndarray] | None = None,
                    int8_io: bool = True, dynamic_engine: str = "ai_edge_quantizer",
                    float_model: bytes | None = None) -> Converted:
    """Convert one variant (see the module docstring for which tool makes which)."""
    import tensorflow as tf

    saved_model = Path(saved_model)
    if variant == "float32":
        return Converted(variant, _run_converter(_converter(saved_model), variant),
                         "tf.lite converter")
    if variant == "float16":
        conv = _converter(saved_model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]
        return Converted(variant, _run_converter(conv, variant), "tf.lite converter",
                         ["float16 weights, float32 compute on CPU (dequantized at load)"])
    if variant == "dynamic":
        if dynamic_engine not in DYNAMIC_ENGINES:
            raise ConversionError(f"unknown dynamic_engine '{dynamic_engine}'",
                                  hint=f"use one of: {', '.join(DYNAMIC_ENGINES)}",
                                  parameter="dynamic_engine")
        notes = []
        if dynamic_engine == "ai_edge_quantizer":
            base = float_model or _run_converter(_converter(saved_model), "float32")
            try:
                return Converted(variant, _aeq_dynamic(base), "ai-edge-quantizer",
                                 ["recipe dynamic_wi8_afp32: int8 channel-wise weights, "
                                  "activations quantized at run time"])
            except Exception as err:  # noqa: BLE001 - fall back, and say so
                notes.append(f"ai-edge-quantizer failed ({type(err).__name__}: "
                             f"{str(err)[:200]}); used the converter's dynamic range instead")
        conv = _converter(saved_model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        return Converted(variant, _run_converter(conv, variant), "tf.lite converter",
                         notes + ["Optimize.DEFAULT: int8 weights, float activations"])
    if variant == "int8":
        if representative is None:
            raise ConversionError("the int8 variant needs a representative dataset",
                                  hint="pass representative rows from the train split")
        base = float_model or _run_converter(_converter(saved_model), "float32")
        kept = sorted(set(tflite_ops(base)) & set(INT8_FLOAT_OPS))
        if kept:
            return _int8_selective(saved_model, representative, kept)
        if int8_io:
            conv = _converter(saved_model)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = _samples(representative)
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            try:
                content = _run_converter(conv, variant)
                return Converted(variant, content, "tf.lite converter",
                                 ["full integer: int8 kernels only; float inputs and outputs "
                                  "int8 (string and int64 timestamp inputs stay as they are)"],
                                 {"int8_io": True, "float_fallback": False})
            except ConversionError as err:
                why = err.context.get("ops") or err.message
                log.info("full-integer int8 failed (%s); using float fallback", why)
                note = (f"full integer int8 was not possible ({why}); ops without an int8 "
                        "kernel run in float")
        else:
            note = "int8 inputs/outputs not requested (int8_io=False)"
        conv = _converter(saved_model)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = _samples(representative)
        return Converted(variant, _run_converter(conv, variant), "tf.lite converter",
                         [note, "int8 weights and activations, float32 inputs and outputs"],
                         {"int8_io": False, "float_fallback": True})
    raise ConversionError(f"unknown TFLite variant '{variant}'",
                          hint=f"use some of: {', '.join(VARIANTS)}", parameter="variants")
