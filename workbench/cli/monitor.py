"""``workbench monitor``: training/serving skew and drift on the model server's request logs,
turning request logging on, and the metrics exporter Prometheus scrapes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import click

from workbench.errors import EXIT_GATE

__all__ = ["register"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str | None) -> float | None:
    """``24h`` / ``30m`` / ``7d`` ago, or an ISO date/time (UTC unless it says otherwise)."""
    if not text:
        return None
    text = text.strip()
    if text[:-1].replace(".", "", 1).isdigit() and text[-1] in _UNITS:
        return time.time() - float(text[:-1]) * _UNITS[text[-1]]
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise click.BadParameter(f"'{text}' is neither a duration (24h, 30m, 7d) nor an ISO "
                                 "date/time (2026-01-31T02:00)") from err
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _repo(path: str):  # noqa: ANN202 - lazy import keeps the CLI fast
    from workbench.serving.repository import Repository

    return Repository.default(path)


def _model(repo, model: str) -> str:  # noqa: ANN001
    from workbench.serving.ops import default_model_name

    return model or default_model_name(repo)


_REPO_OPTION = click.option("--repository", "repository", default="",
                            help="model repository folder (default: <project>/serving)")


def register(cli: click.Group) -> None:
    @cli.group("monitor", invoke_without_command=True)
    @_REPO_OPTION
    @click.option("--model", default="", help="model name (default: the repository's only one)")
    @click.option("--since", default="", help="start of the period: 24h, 30m, 7d ago or an ISO "
                  "time (default: every log); the period before it is the drift baseline")
    @click.option("--until", default="", help="end of the period (default: now)")
    @click.option("--run", "run", default="", help="training run to compare with (default: "
                  "the run that exported the stable version)")
    @click.option("--logs", default="", help="request log prefix or folder (default: the "
                  "model's logging_config)")
    @click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
    @click.pass_context
    def monitor_cmd(ctx: click.Context, repository: str, model: str, since: str, until: str,
                    run: str, logs: str, as_json: bool) -> None:
        """Skew and drift of the requests the server logged, with stage 01's statistics.

        Exits 0 when no error-level anomaly is found, 3 when one is (a cron job can page on
        it), 1 on an error (no logs, no run).
        """
        if ctx.invoked_subcommand is not None:
            return
        from workbench.serving.monitor import monitor

        repo = _repo(repository)
        name = _model(repo, model)
        report = monitor(repo, name, run=run or None, since=parse_time(since),
                         until=parse_time(until), logs=logs or None)
        if as_json:
            click.echo(json.dumps(report.to_dict(), indent=2))
        else:
            click.echo(f"{name}: {report.logs.rows:,} logged instances in "
                       f"{len(report.logs.files)} files, compared with the training data of "
                       f"run {report.reference.run_id}"
                       + (f" (version {report.reference.version})"
                          if report.reference.version else ""))
            for note in report.notes:
                click.echo(f"  note: {note}")
            for kind in ("skew", "drift"):
                compared = [c for c in report.comparisons if c.kind == kind]
                if compared:
                    above = [c.feature for c in compared if c.exceeded]
                    click.echo(f"  {kind}: {len(compared)} features compared, {len(above)} "
                               f"above their threshold" + (f" ({', '.join(above)})"
                                                           if above else ""))
            for finding in report.findings:
                if finding.severity != "ERROR":
                    click.secho(f"  warning: {finding.sentence()}", fg="yellow")
        if report.passed:
            if not as_json:
                click.secho("no error-level anomaly in the serving data", fg="green")
            return
        if not as_json:
            click.secho(f"{len(report.errors)} error-level anomalies in the serving data:",
                        fg="red", err=True)
            for finding in report.errors:
                click.echo(f"  - {finding.sentence()}", err=True)
        ctx.exit(EXIT_GATE)

    @monitor_cmd.command("enable")
    @_REPO_OPTION
    @click.option("--model", default="")
    @click.option("--sampling-rate", type=click.FloatRange(0, 1), default=1.0,
                  show_default=True, help="share of requests logged (0: turn logging off)")
    @click.option("--prefix", default="", help="log file prefix (default: "
                  "<repository>/requests/<model>)")
    def enable_cmd(repository: str, model: str, sampling_rate: float, prefix: str) -> None:
        """Log the model's requests (logging_config in models.config; a running server
        picks it up at its next config poll)."""
        from workbench.serving.monitor import enable_logging

        repo = _repo(repository)
        name = _model(repo, model)
        cfg = enable_logging(repo, name, sampling_rate=sampling_rate, prefix=prefix or None)
        if cfg.HasField("logging_config"):
            click.echo(f"{name}: logging {sampling_rate:g} of the requests to "
                       f"{cfg.logging_config.log_collector_config.filename_prefix}-*.tfrecord")
        else:
            click.echo(f"{name}: request logging off")

    @monitor_cmd.command("exporter")
    @_REPO_OPTION
    @click.option("--serving-url", default="http://127.0.0.1:8501", show_default=True,
                  help="REST address of the model server (TF Serving or local)")
    @click.option("--token-file", default="", help="bearer token of the model server")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=9108, show_default=True)
    def exporter_cmd(repository: str, serving_url: str, token_file: str, host: str,
                     port: int) -> None:
        """Serve /metrics for Prometheus: available versions and the latest skew/drift."""
        from pathlib import Path
        from urllib.parse import urlsplit

        from workbench.serving.client import RestClient
        from workbench.serving.exporter import serve_exporter

        url = urlsplit(serving_url)
        token = Path(token_file).read_text(encoding="utf-8").strip() if token_file else None
        rest = RestClient(url.hostname or "127.0.0.1", url.port or 8501, token=token,
                          timeout=5)
        server = serve_exporter(_repo(repository), rest, host=host, port=port)
        click.echo(f"workbench exporter on http://{host}:{server.server_address[1]}/metrics "
                   f"(model server {serving_url})")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.shutdown()
