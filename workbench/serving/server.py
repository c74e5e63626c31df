"""The local TF-Serving-compatible model server.

Run it as ``python -m workbench.serving.server`` with ``tensorflow_model_server``'s flags
(``--port``, ``--rest_api_port``, ``--model_config_file``, ``--enable_batching`` …), or start it
as a managed background process with ``workbench serve start``. REST runs on tornado's asyncio
loop in the main thread (uvloop's where installed: it carries about 1.5x the requests per second
of the default loop); gRPC on a thread pool; batches on the batch scheduler's threads.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.serving.batching import BatchScheduler, DirectRunner
from workbench.serving.config import (
    BatchingOptions,
    model_config,
    read_batching,
    read_model_server_config,
    read_monitoring,
)
from workbench.serving.inference import Inference
from workbench.serving.manager import ModelManager
from workbench.serving.metrics import Metrics
from workbench.serving.requestlog import RequestLogs

__all__ = ["TOKEN_ENV", "ModelServer", "ServerOptions", "check_exposure", "main"]

log = logging.getLogger(__name__)

#: the bearer token, when not given as a file (Kubernetes passes it from a Secret this way)
TOKEN_ENV = "WORKBENCH_SERVING_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only listens on this machine."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_exposure(host: str, token: str | None, insecure: bool) -> str | None:
    """Refuse to open a server without a token to the network; returns the warning to show
    when the user accepted that with ``insecure`` (None: nothing to say)."""
    from workbench.errors import ConfigError

    if token or is_loopback(host):
        return None
    if not insecure:
        raise ConfigError(
            f"refusing to serve on {host} without a token: that address is reachable from "
            "other machines, and anyone there could call the model",
            hint=f"give a bearer token with --token (workbench serve start; 'auto' makes one) "
                 f"or the {TOKEN_ENV} environment variable (--auth_token_file for the "
                 "server module), bind 127.0.0.1, or accept an open server with --insecure")
    return (f"the model server listens on {host} without a token (--insecure): anyone who "
            "can reach this address can call the model")


@dataclass
class ServerOptions:
    """The server's options; names follow ``tensorflow_model_server`` flags."""

    port: int = 8500                          # gRPC
    rest_api_port: int = 8501
    host: str = "127.0.0.1"
    model_name: str = ""
    model_base_path: str = ""
    model_config_file: str = ""
    model_config_file_poll_wait_seconds: float = 0.0
    file_system_poll_wait_seconds: float = 1.0
    enable_batching: bool = False
    batching_parameters_file: str = ""
    monitoring_config_file: str = ""
    enable_model_warmup: bool = True
    rest_api_timeout_in_ms: int = 30_000
    rest_api_max_body_bytes: int = 16 * 1024 * 1024
    request_log_max_file_bytes: int = 64 * 1024 * 1024
    request_log_max_total_bytes: int = 1024 * 1024 * 1024
    request_log_index: bool = False
    verify: bool = True
    verify_public_key: str = ""
    auth_token_file: str = ""
    insecure: bool = False
    allow_non_finite: bool = False
    ready_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        from workbench.errors import ConfigError

        if self.batching_parameters_file and not self.enable_batching:
            raise ConfigError("--batching_parameters_file is set but batching is not enabled",
                              hint="add --enable_batching (TF Serving refuses this too)")
        if bool(self.model_config_file) == bool(self.model_base_path):
            raise ConfigError("give either --model_config_file or --model_base_path "
                              "(with --model_name)", hint="see workbench serve start --help")


class _Manager(ModelManager):
    """The model manager, handing every config it applies to the request logger (models with
    a ``logging_config`` log their requests)."""

    request_logs: RequestLogs

    def apply_config(self, config: Any, *, raise_on_label_error: bool = True) -> list[str]:
        errors = super().apply_config(config, raise_on_label_error=raise_on_label_error)
        self.request_logs.configure(config)
        return errors


class ModelServer:
    def __init__(self, options: ServerOptions) -> None:
        options.check()
        self.options = options
        self.metrics = Metrics()
        self.request_logs = RequestLogs(
            self.metrics, max_file_bytes=options.request_log_max_file_bytes,
            max_total_bytes=options.request_log_max_total_bytes,
            index=options.request_log_index)
        if options.enable_batching:
            batching = (read_batching(options.batching_parameters_file)
                        if options.batching_parameters_file else BatchingOptions())
            self.runner: Any = BatchScheduler(batching, self.metrics)
        else:
            self.runner = DirectRunner(metrics=self.metrics)
        self.prometheus_path = (read_monitoring(options.monitoring_config_file)
                                if options.monitoring_config_file else None)
        self.token = (Path(options.auth_token_file).read_text(encoding="utf-8").strip()
                      if options.auth_token_file else os.environ.get(TOKEN_ENV, "").strip())
        self.token = self.token or None
        warning = check_exposure(options.host, self.token, options.insecure)
        if warning:
            log.warning("%s", warning)
        self.manager = _Manager(
            self.runner, self.metrics, verify=options.verify,
            public_key_path=options.verify_public_key or None,
            warmup=options.enable_model_warmup,
            poll_seconds=options.file_system_poll_wait_seconds,
            config_path=options.model_config_file or None,
            config_poll_seconds=(options.model_config_file_poll_wait_seconds
                                 if options.model_config_file else 0.0))
        self.manager.request_logs = self.request_logs
        self.inference = Inference(self.runner, options.rest_api_timeout_in_ms / 1000)
        self.grpc_server: Any = None
        self.http_server: Any = None
        self.grpc_port = 0
        self.rest_port = 0

    def initial_config(self) -> Any:
        from tensorflow_serving.config import model_server_config_pb2

        o = self.options
        if o.model_config_file:
            return read_model_server_config(o.model_config_file)
        cfg = model_server_config_pb2.ModelServerConfig()
        cfg.model_config_list.config.add().CopyFrom(
            model_config(o.model_name or "model", o.model_base_path))
        return cfg

    def start(self) -> None:
        """Load the models, then listen (call from inside a running asyncio loop)."""
        import tornado.httpserver
        import tornado.netutil

        from workbench.serving.grpc_service import start_grpc
        from workbench.serving.rest import RestApi, RestRouter

        o = self.options
        self.manager.start(self.initial_config())
        self.grpc_server, self.grpc_port = start_grpc(
            self.manager, self.inference, self.metrics, host=o.host, port=o.port,
            token=self.token, request_logs=self.request_logs,
            allow_non_finite=o.allow_non_finite)
        api = RestApi(self.manager, self.inference, self.metrics, token=self.token,
                      max_body_bytes=o.rest_api_max_body_bytes,
                      prometheus_path=self.prometheus_path, request_logs=self.request_logs,
                      allow_non_finite=o.allow_non_finite)
        sockets = tornado.netutil.bind_sockets(o.rest_api_port, o.host,
                                               family=socket.AF_INET, reuse_port=False)
        self.rest_port = sockets[0].getsockname()[1]
        self.http_server = tornado.httpserver.HTTPServer(
            RestRouter(api), max_body_size=api.drain_cap, idle_connection_timeout=60,
            max_buffer_size=o.rest_api_max_body_bytes + 1)
        self.http_server.add_sockets(sockets)
        log.info("serving gRPC on %s:%d, REST on %s:%d", o.host, self.grpc_port, o.host,
                 self.rest_port)

    def info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "host": self.options.host, "grpc_port": self.grpc_port,
                "rest_port": self.rest_port, "started": time.time(),
                "prometheus_path": self.prometheus_path,
                "auth": bool(self.token)}

    async def stop(self) -> None:
        if self.http_server is not None:
            self.http_server.stop()
            await self.http_server.close_all_connections()
        if self.grpc_server is not None:
            self.grpc_server.stop(grace=2).wait(3)
        self.manager.stop()
        self.runner.stop()
        self.request_logs.close()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m workbench.serving.server",
                                description="TF-Serving-compatible local model server")
    d = ServerOptions()

    def flag(name: str, kind: Any, help_text: str) -> None:
        default = getattr(d, name)
        if kind is bool:
            p.add_argument(f"--{name}", type=_boolean, nargs="?", const=True, default=default,
                           help=help_text)
        else:
            p.add_argument(f"--{name}", type=kind, default=default, help=help_text)

    flag("port", int, "gRPC port (0: any free port)")
    flag("rest_api_port", int, "REST port (0: any free port)")
    flag("host", str, "address to bind (default 127.0.0.1)")
    flag("model_name", str, "model name when serving one model from --model_base_path")
    flag("model_base_path", str, "folder of integer version folders")
    flag("model_config_file", str, "ModelServerConfig text proto (models.config)")
    flag("model_config_file_poll_wait_seconds", float, "re-read the config file (0: never)")
    flag("file_system_poll_wait_seconds", float, "look for new versions (0: once)")
    flag("enable_batching", bool, "batch concurrent requests")
    flag("batching_parameters_file", str, "BatchingParameters text proto")
    flag("monitoring_config_file", str, "MonitoringConfig text proto (Prometheus)")
    flag("enable_model_warmup", bool, "replay assets.extra/tf_serving_warmup_requests")
    flag("rest_api_timeout_in_ms", int, "REST request timeout")
    flag("rest_api_max_body_bytes", int, "largest REST request body accepted")
    flag("request_log_max_file_bytes", int, "rotate a request log file at this size")
    flag("request_log_max_total_bytes", int, "disk budget of one model's request logs "
         "(the oldest files are removed)")
    flag("request_log_index", bool, "also write a Parquet index beside each closed request "
         "log (a faster workbench monitor, ~4 us more server CPU per logged request)")
    flag("verify", bool, "refuse versions whose integrity manifest does not match")
    flag("verify_public_key", str, "also require a valid Ed25519 signature from this key")
    flag("auth_token_file", str, "require 'Authorization: Bearer <token>' with this token "
         f"(default: the {TOKEN_ENV} environment variable, when set)")
    flag("insecure", bool, "allow a non-loopback --host without a token (refused otherwise)")
    flag("allow_non_finite", bool, "accept NaN and Infinity in requests, as TF Serving does "
         "(refused with 400 otherwise)")
    flag("ready_file", str, "write host, ports and pid as JSON here once serving")
    return p


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def _event_loop_runner() -> Any:
    try:
        import uvloop
    except ImportError:  # not built for Windows
        return asyncio.run
    return uvloop.run


def main(argv: list[str] | None = None) -> int:
    import workbench  # noqa: F401 - installs the TensorFlow noise filter before TF loads
    from workbench.errors import WorkbenchError
    from workbench.runs.atomic import atomic_write_text

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = ServerOptions(**vars(args))

    async def serve() -> None:
        server = ModelServer(options)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server.start()
        # the loaded model is long-lived: keep it out of the collector's full passes
        gc.collect()
        gc.freeze()
        if options.ready_file:
            atomic_write_text(options.ready_file, json.dumps(server.info()))
        await stop.wait()
        log.info("stopping")
        await server.stop()

    try:
        _event_loop_runner()(serve())
    except WorkbenchError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
