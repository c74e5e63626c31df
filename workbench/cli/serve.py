"""``workbench serve``: model repository, local/docker server, labels, deployment files."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["register"]

_REPO_OPTION = click.option("--repository", "repository", default="",
                            help="model repository folder (default: <project>/serving)")
_TARGETS = ["local", "docker", "kubernetes"]


def _repo(path: str):  # noqa: ANN202 - lazy import keeps the CLI fast
    from workbench.serving.repository import Repository

    return Repository.default(path)


def _model(repo, model: str) -> str:  # noqa: ANN001
    from workbench.serving.ops import default_model_name

    return model or default_model_name(repo)


def _show_change(change) -> None:  # noqa: ANN001
    click.echo(f"{change.action}: {change.model} labels {change.labels_before} -> "
               f"{change.labels_after} (versions served {change.versions}, "
               f"{change.seconds:.2f} s)")


def register(cli: click.Group) -> None:
    @cli.group("serve")
    def serve() -> None:
        """Deploy to TF Serving: push versions, start a server, move labels."""

    @serve.command("start")
    @_REPO_OPTION
    @click.option("--target", type=click.Choice(_TARGETS), default="local", show_default=True)
    @click.option("--rest-port", type=int, default=8501, show_default=True,
                  help="REST port (0: any free port)")
    @click.option("--grpc-port", type=int, default=8500, show_default=True,
                  help="gRPC port (0: any free port)")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--no-batching", is_flag=True, help="answer each request alone")
    @click.option("--poll", type=float, default=1.0, show_default=True,
                  help="seconds between looks for new versions and config changes")
    @click.option("--token", default="", envvar="WORKBENCH_SERVING_TOKEN",
                  help="require this bearer token ('auto': generate one into "
                  "<repository>/server.token; env WORKBENCH_SERVING_TOKEN); required with a "
                  "non-loopback --host")
    @click.option("--insecure", is_flag=True, help="serve a non-loopback --host without a "
                  "token (anyone who can reach it can call the model)")
    @click.option("--allow-non-finite", is_flag=True, help="accept NaN and Infinity in "
                  "requests as TF Serving does (default: refused with 400)")
    @click.option("--public-key", default="", help="also require exports signed by this key")
    def start_cmd(repository: str, target: str, rest_port: int, grpc_port: int, host: str,
                  no_batching: bool, poll: float, token: str, insecure: bool,
                  allow_non_finite: bool, public_key: str) -> None:
        """Start the model server in the background on the repository."""
        repo = _repo(repository)
        if target == "docker":
            from workbench.serving.deploy import start_docker

            click.echo(start_docker(repo).strip())
            return
        if target == "kubernetes":
            raise click.UsageError("the kubernetes target is deployed with kubectl: "
                                   "workbench serve manifests --target kubernetes")
        from workbench.serving.process import running, start_local
        from workbench.serving.server import check_exposure

        warning = check_exposure(host, token or None, insecure)  # before anything starts
        if warning:
            click.echo(f"warning: {warning}", err=True)
        before = running(repo)
        handle = start_local(repo, rest_port=rest_port, grpc_port=grpc_port, host=host,
                             batching=not no_batching, poll_seconds=poll,
                             config_poll_seconds=poll, token=token or None,
                             public_key_path=public_key, insecure=insecure,
                             allow_non_finite=allow_non_finite)
        state = "already running" if before else "started"
        click.echo(f"model server {state}: pid {handle.pid}, REST {handle.rest_url}, "
                   f"gRPC {handle.host}:{handle.grpc_port}, log {handle.log}")

    @serve.command("stop")
    @_REPO_OPTION
    @click.option("--target", type=click.Choice(["local", "docker"]), default="local",
                  show_default=True)
    def stop_cmd(repository: str, target: str) -> None:
        """Stop the repository's model server."""
        repo = _repo(repository)
        if target == "docker":
            from workbench.serving.deploy import stop_docker

            click.echo(stop_docker(repo).strip())
            return
        from workbench.serving.process import stop

        handle = stop(repo)
        click.echo(f"stopped model server pid {handle.pid}" if handle else
                   "no model server was running")

    @serve.command("status")
    @_REPO_OPTION
    @click.option("--json", "as_json", is_flag=True, help="print JSON")
    def status_cmd(repository: str, as_json: bool) -> None:
        """Models, versions, labels and what the server reports (with refusal reasons)."""
        from workbench.serving.ops import status_report

        report = status_report(_repo(repository))
        if as_json:
            click.echo(json.dumps(report, indent=2))
            return
        server = report["server"]
        click.echo(f"repository {report['repository']}")
        click.echo(f"server: pid {server['pid']}, REST http://{server['host']}:"
                   f"{server['rest_port']}, gRPC {server['host']}:{server['grpc_port']}"
                   if server else "server: not running")
        for name, m in report["models"].items():
            labels = ", ".join(f"{k}={v}" for k, v in sorted(m["labels"].items())) or "none"
            click.echo(f"model {name}: versions on disk {m['versions_on_disk']}, labels "
                       f"{labels}")
            for s in m.get("served", []):
                reason = s["status"]["error_message"]
                click.echo(f"  version {s['version']}: {s['state']}"
                           + (f" — {s['status']['error_code']}: {reason}" if reason else ""))
            if "served_error" in m:
                click.echo(f"  server: {m['served_error']}")

    @serve.command("push")
    @click.argument("run", required=False)
    @_REPO_OPTION
    @click.option("--export", "export_dir", default="",
                  help="push this SavedModel folder instead of a run's 04_export/saved_model")
    @click.option("--model", default="", help="model name (default: the run's dataset)")
    @click.option("--label", type=click.Choice(["auto", "stable", "canary", "none"]),
                  default="auto", show_default=True,
                  help="auto: stable for the first version, canary beside a stable one")
    @click.option("--keep", type=int, default=5, show_default=True,
                  help="versions kept on disk (labelled ones are always kept)")
    @click.option("--public-key", default="", help="require a valid signature by this key")
    def push_cmd(run: str | None, repository: str, export_dir: str, model: str, label: str,
                 keep: int, public_key: str) -> None:
        """Copy RUN's verified export into the repository as a new version."""
        from workbench.serving.ops import push_run

        if not run and not export_dir:
            raise click.UsageError("name a RUN (id or folder) or --export FOLDER")
        result, change = push_run(_repo(repository), run, export_dir=export_dir or None,
                                  model=model, label=label, keep=keep,
                                  public_key_path=public_key or None)
        click.echo(f"pushed {result.name} version {result.version} to {result.path}"
                   + (f" (removed old versions {list(result.removed)})" if result.removed
                      else ""))
        if change is not None:
            _show_change(change)

    @serve.command("promote")
    @_REPO_OPTION
    @click.option("--model", default="")
    def promote_cmd(repository: str, model: str) -> None:
        """Make the canary version stable (two-step label move)."""
        from workbench.serving.ops import controller

        repo = _repo(repository)
        _show_change(controller(repo).promote(_model(repo, model)))

    @serve.command("rollback")
    @_REPO_OPTION
    @click.option("--model", default="")
    def rollback_cmd(repository: str, model: str) -> None:
        """Drop the canary, or put stable back on the previous version."""
        from workbench.serving.ops import controller

        repo = _repo(repository)
        _show_change(controller(repo).rollback(_model(repo, model)))

    @serve.command("manifests")
    @_REPO_OPTION
    @click.option("--target", type=click.Choice(["docker", "kubernetes"]), required=True)
    @click.option("--model", default="")
    @click.option("--out", "out", type=click.Path(file_okay=False), default="",
                  help="folder to write to (default: <repository>/deploy)")
    @click.option("--monitoring", is_flag=True, help="also write monitoring/: the Prometheus "
                  "config, the alert rules and the Grafana dashboard")
    @click.option("--latency-budget-ms", type=float, default=100.0, show_default=True,
                  help="p99 latency over which the latency alert fires (with --monitoring)")
    def manifests_cmd(repository: str, target: str, model: str, out: str, monitoring: bool,
                      latency_budget_ms: float) -> None:
        """Write compose.yaml or Kubernetes manifests for the real TF Serving."""
        from workbench.serving.deploy import compose_file, kubernetes_manifests, write_file

        repo = _repo(repository)
        folder = Path(out) if out else repo.root / "deploy"
        name = ""
        if target == "docker":
            path = write_file(folder / "compose.yaml", compose_file())
        else:
            name = _model(repo, model)
            path = write_file(folder / f"{name}.yaml", kubernetes_manifests(repo, name))
        click.echo(f"wrote {path}")
        if monitoring:
            from workbench.serving.config import PROMETHEUS_PATH
            from workbench.serving.monitoring import (
                MonitoringOptions,
                Target,
                write_monitoring,
            )

            server = "tf-serving:8501" if target == "docker" else \
                f"tf-serving-{name}:8501".lower().replace("_", "-")
            paths = write_monitoring(
                folder / "monitoring",
                [Target("tf-serving", server, PROMETHEUS_PATH),
                 Target("workbench", "workbench-exporter:9108")],
                options=MonitoringOptions(latency_budget_ms=latency_budget_ms))
            for p in paths.values():
                click.echo(f"wrote {p}")
