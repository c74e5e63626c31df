"""TF Serving's configuration files, in its own text-proto formats.

* ``models.config`` — a ``tensorflow.serving.ModelServerConfig`` (from ``tensorflow-serving-api``):
  models, version policies, labels.
* the batching parameters file — a ``tensorflow.serving.BatchingParameters``;
* the monitoring config — a ``tensorflow.serving.MonitoringConfig``.

The last two messages are not shipped in the ``tensorflow-serving-api`` wheel, so they are built
here from their ``.proto`` definitions (same package, names and field numbers as TF Serving's
``session_bundle_config.proto`` and ``monitoring_config.proto``); text written by this module is
what ``tensorflow_model_server`` reads with ``--batching_parameters_file`` and
``--monitoring_config_file``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

from workbench.errors import ConfigError
from workbench.runs.atomic import atomic_write_text

__all__ = [
    "BatchingOptions",
    "BatchingParameters",
    "LABEL_RE",
    "MonitoringConfig",
    "VersionPolicy",
    "batching_text",
    "find_model",
    "model_config",
    "monitoring_text",
    "parse_text",
    "policy_of",
    "read_batching",
    "read_model_server_config",
    "write_model_server_config",
]

LABEL_RE = re.compile(r"^[a-zA-Z0-9_]+$")
NAME_RE = re.compile(r"^[^/:\s]+$")
PROMETHEUS_PATH = "/monitoring/prometheus/metrics"


def _build_messages() -> tuple[type, type]:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    f = descriptor_pb2.FieldDescriptorProto
    opt, rep = f.LABEL_OPTIONAL, f.LABEL_REPEATED

    def add(msg: Any, name: str, number: int, ftype: int, label: int = opt,
            type_name: str = "") -> None:
        fd = msg.field.add(name=name, number=number, type=ftype, label=label)
        if type_name:
            fd.type_name = type_name

    batching = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/servables/tensorflow/session_bundle_config.proto",
        package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"])
    m = batching.message_type.add(name="BatchingParameters")
    i64, sval = ".google.protobuf.Int64Value", ".google.protobuf.StringValue"
    add(m, "max_batch_size", 1, f.TYPE_MESSAGE, type_name=i64)
    add(m, "batch_timeout_micros", 2, f.TYPE_MESSAGE, type_name=i64)
    add(m, "max_enqueued_batches", 3, f.TYPE_MESSAGE, type_name=i64)
    add(m, "num_batch_threads", 4, f.TYPE_MESSAGE, type_name=i64)
    add(m, "thread_pool_name", 5, f.TYPE_MESSAGE, type_name=sval)
    add(m, "allowed_batch_sizes", 6, f.TYPE_INT64, rep)
    add(m, "pad_variable_length_inputs", 7, f.TYPE_BOOL)
    pool.Add(batching)

    monitoring = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/config/monitoring_config.proto",
        package="tensorflow.serving", syntax="proto3")
    p = monitoring.message_type.add(name="PrometheusConfig")
    add(p, "enable", 1, f.TYPE_BOOL)
    add(p, "path", 2, f.TYPE_STRING)
    mc = monitoring.message_type.add(name="MonitoringConfig")
    add(mc, "prometheus_config", 1, f.TYPE_MESSAGE,
        type_name=".tensorflow.serving.PrometheusConfig")
    pool.Add(monitoring)
    return (message_factory.GetMessageClass(
                pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")),
            message_factory.GetMessageClass(
                pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")))


BatchingParameters, MonitoringConfig = _build_messages()


def parse_text(text: str, message: Any, source: str) -> Any:
    """Parse a text proto; errors name the file, the line and what TF Serving expects."""
    try:
        return text_format.Parse(text, message)
    except text_format.ParseError as err:
        raise ConfigError(f"{source} is not a valid {message.DESCRIPTOR.full_name} text proto: "
                          f"{err}", hint="fix the line named above; see "
                          "docs/tf-serving-contract.md for the format", file=source) from err


def read_text_proto(path: str | os.PathLike[str], message: Any, what: str, flag: str) -> Any:
    """Read and parse the text proto file ``path`` into ``message`` (``what`` names the file
    in errors, ``flag`` the server flag that points at it)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {what} {source}: {err.strerror}",
                          hint=f"check --{flag}", file=source) from err
    return parse_text(text, message, source)


# -- batching ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's batching parameters, with TF Serving's defaults for fields left unset."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.num_batch_threads < 1 or self.max_enqueued_batches < 1:
            raise ConfigError("batching parameters max_batch_size, num_batch_threads and "
                              "max_enqueued_batches must be at least 1",
                              hint="fix the batching parameters file")
        if self.batch_timeout_micros < 0:
            raise ConfigError("batch_timeout_micros must not be negative")
        sizes = list(self.allowed_batch_sizes)
        if sizes and (sizes != sorted(set(sizes)) or sizes[-1] != self.max_batch_size):
            raise ConfigError(
                f"allowed_batch_sizes {sizes} must be increasing and end with max_batch_size "
                f"{self.max_batch_size}", hint="TF Serving refuses such a batching file")

    def to_proto(self) -> Any:
        msg = BatchingParameters()
        msg.max_batch_size.value = self.max_batch_size
        msg.batch_timeout_micros.value = self.batch_timeout_micros
        msg.max_enqueued_batches.value = self.max_enqueued_batches
        msg.num_batch_threads.value = self.num_batch_threads
        msg.allowed_batch_sizes.extend(self.allowed_batch_sizes)
        msg.pad_variable_length_inputs = self.pad_variable_length_inputs
        return msg

    @classmethod
    def from_proto(cls, msg: Any) -> BatchingOptions:
        values: dict[str, Any] = {}
        for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
                     "num_batch_threads"):
            if msg.HasField(name):
                values[name] = int(getattr(msg, name).value)
        values["allowed_batch_sizes"] = tuple(int(v) for v in msg.allowed_batch_sizes)
        values["pad_variable_length_inputs"] = bool(msg.pad_variable_length_inputs)
        return cls(**values)


def batching_text(options: BatchingOptions) -> str:
    return text_format.MessageToString(options.to_proto())


def read_batching(path: str | os.PathLike[str]) -> BatchingOptions:
    return BatchingOptions.from_proto(read_text_proto(
        path, BatchingParameters(), "batching parameters file", "batching_parameters_file"))


def monitoring_text(path: str = PROMETHEUS_PATH) -> str:
    msg = MonitoringConfig()
    msg.prometheus_config.enable = True
    msg.prometheus_config.path = path
    return text_format.MessageToString(msg)


def read_monitoring(path: str | os.PathLike[str]) -> str | None:
    """The Prometheus path a monitoring config enables, or None when it is disabled."""
    msg = read_text_proto(path, MonitoringConfig(), "monitoring config",
                          "monitoring_config_file")
    if not msg.prometheus_config.enable:
        return None
    return msg.prometheus_config.path or PROMETHEUS_PATH


# -- models.config -----------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionPolicy:
    """``latest`` (num_versions), ``all`` or ``specific`` (versions)."""

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("latest", "all", "specific"):
            raise ConfigError(f"unknown version policy '{self.kind}'",
                              hint="use latest, all or specific")
        if self.kind == "specific" and not self.versions:
            raise ConfigError("a specific version policy needs at least one version",
                              hint="list the versions to serve")

    def select(self, available: list[int]) -> list[int]:
        """The versions (of those on disk) this policy serves."""
        available = sorted(available)
        if self.kind == "all":
            return available
        if self.kind == "specific":
            return [v for v in available if v in self.versions]
        return available[-max(self.num_versions, 1):] if available else []


def policy_of(config: Any) -> VersionPolicy:
    """The version policy of a ``ModelConfig`` (TF Serving's default: latest 1)."""
    which = config.model_version_policy.WhichOneof("policy_choice")
    if which == "all":
        return VersionPolicy("all")
    if which == "specific":
        return VersionPolicy("specific", versions=tuple(int(v) for v in
                                                        config.model_version_policy
                                                        .specific.versions))
    if which == "latest":
        return VersionPolicy("latest", num_versions=int(
            config.model_version_policy.latest.num_versions or 1))
    return VersionPolicy("latest")


def model_config(name: str, base_path: str, *, policy: VersionPolicy | None = None,
                 labels: dict[str, int] | None = None) -> Any:
    """One ``ModelConfig`` entry of ``models.config``."""
    if not NAME_RE.match(name):
        raise ConfigError(f"model name '{name}' is not allowed",
                          hint="a model name has no '/', ':' or spaces")
    cfg = model_server_config_pb2.ModelConfig(name=name, base_path=str(base_path),
                                              model_platform="tensorflow")
    policy = policy or VersionPolicy()
    if policy.kind == "all":
        cfg.model_version_policy.all.SetInParent()
    elif policy.kind == "specific":
        cfg.model_version_policy.specific.versions.extend(sorted(set(policy.versions)))
    else:
        cfg.model_version_policy.latest.num_versions = policy.num_versions
    for label, version in sorted((labels or {}).items()):
        if not LABEL_RE.match(label):
            raise ConfigError(f"label '{label}' is not allowed",
                              hint="labels match [a-zA-Z0-9_]+")
        cfg.version_labels[label] = int(version)
    return cfg


def find_model(server_config: Any, name: str) -> Any | None:
    for cfg in server_config.model_config_list.config:
        if cfg.name == name:
            return cfg
    return None


def read_model_server_config(path: str | os.PathLike[str]) -> Any:
    source = str(path)
    cfg = read_text_proto(path, model_server_config_pb2.ModelServerConfig(),
                          "model config file", "model_config_file")
    names = [c.name for c in cfg.model_config_list.config]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source} names model(s) {', '.join(dupes)} more than once",
                          hint="each model appears once in model_config_list", file=source)
    for c in cfg.model_config_list.config:
        if not c.name or not c.base_path:
            raise ConfigError(f"{source}: every model needs a name and a base_path",
                              file=source)
        if c.model_platform not in ("", "tensorflow"):
            raise ConfigError(f"{source}: model '{c.name}' has platform '{c.model_platform}'",
                              hint="only model_platform: \"tensorflow\" is served", file=source)
    return cfg


def write_model_server_config(path: str | os.PathLike[str], config: Any) -> Path:
    """Write ``models.config`` atomically (a polling server never reads half a file)."""
    return atomic_write_text(path, text_format.MessageToString(config))
