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

    @cli.command("lab")
    @click.option("--port", type=int, default=8888, show_default=True)
    def lab_cmd(port: int) -> None:
        """JupyterLab on 127.0.0.1 with the project's notebooks open, offline (no news feed,
        update check or extension catalogue)."""
        import subprocess

        from workbench.apps.lab import lab_command

        cmd = lab_command(port=port)
        click.echo(f"JupyterLab for {cmd.env['WORKBENCH_HOME']} on 127.0.0.1:{port} "
                   "(the URL with its token follows; Ctrl-C stops)")
        proc = subprocess.Popen(cmd.argv, env=cmd.env)
        try:
            raise SystemExit(proc.wait())
        except KeyboardInterrupt:
            proc.terminate()
            raise SystemExit(proc.wait()) from None

