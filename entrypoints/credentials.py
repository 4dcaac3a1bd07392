"""`assess credentials`: the issuer's signing key."""

from __future__ import annotations

from pathlib import Path

import click

from entrypoints.bootstrap import bootstrap
from entrypoints.operator import data_option, existing
from entrypoints.settings import from_env
from infrastructure.credential_keys import CredentialKeys, issuer_id


@click.group()
def credentials() -> None:
    """The Open Badges credentials issued for verified skills."""


@credentials.command()
@click.option(
    "--rotate",
    is_flag=True,
    help="Replace the current key with a new one; the old one stays published.",
)
@data_option
def keygen(rotate: bool, data_dir: Path | None) -> None:
    """Make the P-256 key that signs credentials (ASSESS_CREDENTIAL_KEY_FILE, default
    <data>/credentials-p256.pem), or with --rotate a new one. Every key ever used stays in
    the issuer's did.json and jwks.json (kept in <key file>.jwks.json), so the credentials
    it signed still verify. Prints the issuer's did and the new key's id."""
    settings = from_env(data_dir)
    path = settings.credential_key_path
    if rotate:
        if not path.exists():
            raise click.ClickException(f"{path} holds no key yet: run keygen without --rotate")
        keys = CredentialKeys.rotate(path)
    else:
        try:
            keys = CredentialKeys.create(path)
        except FileExistsError:
            raise click.ClickException(
                f"{path} already holds the issuer's key; it is kept (--rotate makes a new one)"
            ) from None
    click.echo(f"wrote {path}: keep it secret and back it up", err=True)
    click.echo(f"{issuer_id(settings.public_url)}#{keys.kid}")


@credentials.command()
@data_option
def issue(data_dir: Path | None) -> None:
    """Issue the credentials that locked records lack: what the issuer (in `assess
    projector`, or `assess dev`) does as records lock, for any record it had to pass by (its
    log names each). Safe to run at any time: nothing is issued twice."""
    services = bootstrap(existing(data_dir))
    try:
        issued, records = services.credential_issuer().issue_all()
    finally:
        services.store.close()
    click.echo(f"issued {issued} credentials for {records} records")
