"""One loaded model version: its signatures, metadata and warmup replay.

Loaded with TensorFlow (``tf.saved_model.load``); each signature is called through its concrete
function. The SignatureDefs (method names, tensor info for metadata) are read from
``saved_model.pb`` as TF Serving reads them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.serving.codec import InputSpec
from workbench.serving.ranges import read_imputed, read_ranges
from workbench.serving.status import ServingError, invalid

__all__ = ["CLASSIFY", "PREDICT", "REGRESS", "Servable", "Signature", "WARMUP_FILE"]

log = logging.getLogger(__name__)

PREDICT = "tensorflow/serving/predict"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
DEFAULT_SIGNATURE = "serving_default"
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
MAX_WARMUP_RECORDS = 1000


@dataclass
class Signature:
    name: str
    method: str
    fn: Any
    inputs: dict[str, Any]   # name → codec.InputSpec
    outputs: list[str]

    def __call__(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = self.fn(**arrays)
        return {k: v.numpy() for k, v in result.items()}


class Servable:
    """A SavedModel version ready to answer requests."""

    def __init__(self, name: str, version: int, path: Path) -> None:
        import tensorflow as tf
        from tensorflow.core.protobuf import saved_model_pb2

        self.name = name
        self.version = int(version)
        self.path = Path(path)
        started = time.perf_counter()
        proto = saved_model_pb2.SavedModel()
        try:
            proto.ParseFromString((self.path / "saved_model.pb").read_bytes())
        except Exception as err:  # noqa: BLE001 - protobuf raises DecodeError or others
            raise ServingError("DATA_LOSS", f"{self.path}/saved_model.pb is not a readable "
                               f"SavedModel: {err}") from err
        graphs = [g for g in proto.meta_graphs if "serve" in g.meta_info_def.tags]
        if not graphs:
            raise ServingError("NOT_FOUND", f"{self.path} has no MetaGraph tagged 'serve'")
        self.signature_defs = graphs[0].signature_def
        try:
            self._loaded = tf.saved_model.load(str(self.path), tags=["serve"])
        except Exception as err:  # noqa: BLE001 - TF raises many kinds on damaged models
            raise ServingError("DATA_LOSS", f"TensorFlow could not load {self.path}: "
                               f"{type(err).__name__}: {str(err)[:300]}") from err
        self.signatures: dict[str, Signature] = {}
        for key, fn in self._loaded.signatures.items():
            sig_def = self.signature_defs.get(key)
            specs = {name: InputSpec(name, spec)
                     for name, spec in fn.structured_input_signature[1].items()}
            self.signatures[key] = Signature(
                key, sig_def.method_name if sig_def is not None else PREDICT, fn, specs,
                sorted(fn.structured_outputs))
        self.ranges = read_ranges(self.path)  # the schema's numeric ranges, when exported
        imputed = read_imputed(self.path)  # inputs that take null (a missing value)
        for sig in self.signatures.values():
            for name, spec in sig.inputs.items():
                spec.imputed = name in imputed
        self.load_seconds = time.perf_counter() - started

    def __repr__(self) -> str:
        return f"Servable({self.name}:{self.version})"

    def signature(self, name: str | None) -> Signature:
        key = name or DEFAULT_SIGNATURE
        sig = self.signatures.get(key)
        if sig is None:
            raise invalid(f"Serving signature name: \"{key}\" not found in signature def; "
                          f"model {self.name} version {self.version} has "
                          f"{', '.join(sorted(self.signatures))}")
        return sig

    def metadata_map(self) -> Any:
        """``SignatureDefMap`` for GetModelMetadata (signatures TF Serving exposes)."""
        from tensorflow_serving.apis import get_model_metadata_pb2

        out = get_model_metadata_pb2.SignatureDefMap()
        for key, sig_def in self.signature_defs.items():
            if key.startswith("__"):
                continue
            out.signature_def[key].CopyFrom(sig_def)
        return out

    # -- warmup --------------------------------------------------------------------------------
    def warmup(self) -> int:
        """Replay ``assets.extra/tf_serving_warmup_requests``; returns how many were run.
        A failing record fails the load, as in TF Serving."""
        path = self.path / WARMUP_FILE
        if not path.is_file():
            return 0
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_log_pb2

        from workbench.serving import codec

        count = 0
        try:
            for record in tf.data.TFRecordDataset(str(path)):
                if count >= MAX_WARMUP_RECORDS:
                    break
                entry = prediction_log_pb2.PredictionLog()
                entry.ParseFromString(record.numpy())
                kind = entry.WhichOneof("log_type")
                if kind == "predict_log":
                    req = entry.predict_log.request
                    sig = self.signature(req.model_spec.signature_name)
                    arrays = {k: codec.from_tensor_proto(req.inputs[k], spec, k,
                                                         allow_non_finite=True)
                              for k, spec in sig.inputs.items() if k in req.inputs}
                    sig(arrays)
                elif kind in ("classify_log", "regress_log"):
                    req = getattr(entry, kind).request
                    sig = self.signature(req.model_spec.signature_name)
                    sig({next(iter(sig.inputs)): np.array(
                        codec.examples_from_input(req.input, allow_non_finite=True),
                        dtype=object)})
                else:
                    raise invalid(f"warmup record {count} has unsupported type {kind}")
                count += 1
        except ServingError as err:
            raise ServingError("INVALID_ARGUMENT",
                               f"warmup request {count} of {path} failed: {err.message}") from err
        except Exception as err:  # noqa: BLE001 - TF/protobuf errors from a bad file
            raise ServingError("INVALID_ARGUMENT", f"warmup file {path} failed at record "
                               f"{count}: {type(err).__name__}: {str(err)[:200]}") from err
        log.info("%s: replayed %d warmup request(s)", self, count)
        return count
