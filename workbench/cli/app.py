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

    @cli.command("apps")
    @click.option("--port", type=int, default=8866, show_default=True)
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="address to listen on; anything but 127.0.0.1 (a team server) requires "
                       "a token")
    @click.option("--token", default=None, metavar="TOKEN",
                  help="token visitors need (default: $WORKBENCH_APPS_TOKEN, else generated "
                       "when --host is not local)")
    @click.option("--pool-size", type=int, default=1, show_default=True,
                  help="preheated kernels per app (0: start a kernel per visit)")
    @click.option("--open", "open_browser", is_flag=True,
                  help="open the home page in the browser")
    def apps_cmd(port: int, host: str, token: str | None, pool_size: int,
                 open_browser: bool) -> None:
        """Every app and every stage view from one Voila site (home, overview, model card,
        try the model, data quality, serving, runs), the run carried in ?run=."""
        from workbench.apps.site import serve_site, site_command

        cmd = site_command(port=port, host=host, token=token, pool_size=pool_size)
        if open_browser:
            cmd.argv.remove("--no-browser")
        click.echo(f"TF Workbench apps at {cmd.url}  (Ctrl-C stops)")
        if cmd.token:
            click.echo(f"  listening on {host}: every visitor needs the token; open the "
                       "address above once (it sets a cookie), or send it as "
                       "'Authorization: token …'", err=True)
        click.echo("  pages appear once their kernels are preheated (a few seconds after start)")
        raise SystemExit(serve_site(cmd))

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

