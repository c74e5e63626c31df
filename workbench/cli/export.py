"""``workbench verify`` and ``workbench keygen``: integrity of exported models."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("verify")
    @click.argument("model_dir", type=click.Path(file_okay=False))
    @click.option("--public-key", "public_key", type=click.Path(dir_okay=False),
                  help="Ed25519 public key (PREFIX.pub from `workbench keygen`); the export "
                       "must then be signed by its private key")
    def verify_cmd(model_dir: str, public_key: str | None) -> None:
        """Check every file of an exported MODEL_DIR against its integrity manifest.

        Exits non-zero, naming the file, when one changed, was added or is missing.
        """
        from workbench.errors import IntegrityError
        from workbench.export.integrity import verify_export

        try:
            report = verify_export(model_dir, public_key, full=True)
        except IntegrityError as err:
            for word in ("changed", "added", "missing"):
                for name in filter(None, str(err.context.get(word, "")).split(",")):
                    click.echo(f"{word}: {name}", err=True)
            raise
        click.secho(f"ok: {report.files} files of {model_dir} match the integrity manifest",
                    fg="green")
        if report.signature_checked:
            click.echo(f"signature: valid, key {report.key_fingerprint}")
        elif report.signed:
            click.echo("signature: present, not checked (pass --public-key to check it)")
        else:
            click.echo("signature: none (the export is not signed)")

    @cli.command("keygen")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
                  help="path prefix: writes PREFIX (private key) and PREFIX.pub (public key)")
    @click.option("--force", is_flag=True, help="overwrite existing key files")
    def keygen_cmd(out: str, force: bool) -> None:
        """Generate an Ed25519 key pair to sign exports (export stage: signing_key=PREFIX).

        The private key is encrypted with $WORKBENCH_KEY_PASSPHRASE when it is set.
        """
        from workbench.export.integrity import generate_keypair, key_fingerprint, load_public_key

        private, public = generate_keypair(out, overwrite=force)
        click.echo(f"private key: {private} (keep it secret; mode 0600)")
        click.echo(f"public key:  {public}")
        click.echo(f"fingerprint: {key_fingerprint(load_public_key(public))}")
