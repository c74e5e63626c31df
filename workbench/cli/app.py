"""``workbench app``: a stage notebook as a read-only Voila app."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("app")
    @click.argument("notebook")
    @click.option("--run", "run_ref", metavar="RUN",
                  help="run to show (default: the latest run that finished the stage); a page "
                       "can also pick one with ?run=RUN")
    @click.option("--port", type=int, default=8866, show_default=True)
    def app_cmd(notebook: str, run_ref: str | None, port: int) -> None:
        """Serve NOTEBOOK (a stage such as 01_data_validation, an app such as 'runs', or an
        .ipynb path) as a read-only Voila app on 127.0.0.1."""
        from workbench.apps import app_command, serve

        url = app_command(notebook, run=run_ref, port=port).url
        click.echo(f"serving {notebook} at {url}  (Ctrl-C stops)")
        raise SystemExit(serve(notebook, run=run_ref, port=port))
