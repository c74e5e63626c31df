"""The ``workbench`` command.

Exit codes: 0 success · 1 error (bad input, failed stage) · 2 usage error · 3 a gate failed ·
130 interrupted.
"""

from __future__ import annotations

import sys

import click

from workbench import _quiet
from workbench.errors import EXIT_INTERRUPTED, GateFailed, WorkbenchError

__all__ = ["cli", "main"]

_quiet.install()


class _Group(click.Group):
    """Turns workbench errors into a readable message and the matching exit code."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except GateFailed as err:
            click.secho(f"stopped: {err.message}", fg="red", err=True)
            if "notebook" in err.context:
                click.echo(f"  details: {err.context['notebook']}", err=True)
            ctx.exit(err.exit_code)
        except WorkbenchError as err:
            click.secho(f"error: {err.message}", fg="red", err=True)
            if err.hint:
                click.echo(f"  fix: {err.hint}", err=True)
            if "notebook" in err.context:
                click.echo(f"  full traceback in the executed notebook: {err.context['notebook']}",
                           err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tf-workbench")
def cli() -> None:
    """TF Workbench: a TensorFlow model's lifecycle as parameterized notebooks."""


def _register() -> None:
    from workbench.cli import app, data, run, runs

    for module in (run, runs, app, data):
        module.register(cli)
    from workbench.cli import export  # verify, keygen
    export.register(cli)
    from workbench.cli import serve  # start, stop, status, push, promote, rollback
    serve.register(cli)
    from workbench.cli import tensorboard  # tensorboard RUN...
    tensorboard.register(cli)
    from workbench.cli import validate  # validate DATA [--schema] [--baseline] [--serving]
    validate.register(cli)
    from workbench.cli import monitor  # monitor [enable|exporter]: skew on request logs
    monitor.register(cli)
    from workbench.cli import diff  # diff RUN_A RUN_B [--step S] [--web] [--json]
    diff.register(cli)
    from workbench.cli import report  # report RUN [--out FILE] [--stages S] [--pdf]
    report.register(cli)
    from workbench.cli import git  # git-setup
    git.register(cli)
    from workbench.cli import predict  # predict MODEL_OR_RUN --data FILE --out FILE
    predict.register(cli)
    from workbench.cli import pipeline  # pipeline compile --to kubeflow, pipeline manifests
    pipeline.register(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="workbench", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
