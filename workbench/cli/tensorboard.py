"""``workbench tensorboard RUN [RUN ...]``: TensorBoard for runs, side by side, on 127.0.0.1."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("tensorboard")
    @click.argument("runs", nargs=-1, required=True, metavar="RUN [RUN ...]")
    @click.option("--port", type=int, default=6006, show_default=True)
    def tensorboard_cmd(runs: tuple[str, ...], port: int) -> None:
        """TensorBoard for the training logs (scalars, histograms, hparams) of one or more
        runs, on 127.0.0.1 until Ctrl-C."""
        from workbench.project import Project
        from workbench.train.tensorboard import TensorBoardServer, log_dirs

        store = Project.find().store()
        dirs = log_dirs([store.open(r) for r in runs], store)
        server = TensorBoardServer(dirs, port=port)
        for name, path in dirs.items():
            click.echo(f"  {name}: {path}")
        import signal

        def stop(signum: int, frame: object) -> None:
            server.stop()
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)  # a terminated command stops its TensorBoard
        server.start(quiet=False)
        click.echo(f"TensorBoard at {server.url}  (Ctrl-C stops)")
        try:
            raise SystemExit(server.wait())
        except KeyboardInterrupt:
            server.stop()
            raise SystemExit(0) from None
