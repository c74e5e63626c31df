"""``workbench git-setup``: nbdime's git drivers for notebooks, in this repository."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("git-setup")
    def git_setup_cmd() -> None:
        """Make `git diff` and `git mergetool` show notebooks as cells (nbdime's drivers for
        *.ipynb, configured in this repository only)."""
        from workbench.review.git import setup_git

        for line in setup_git(Path.cwd()):
            click.echo(f"  {line}")
        click.echo("git diff, git merge and git mergetool now show notebooks cell by cell "
                   "(nbdime); `git difftool --tool=nbdime` opens the web diff")
