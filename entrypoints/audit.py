"""`assess audit`: the signing key, checkpoints, the auditor's bundle, and verification."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from entrypoints.bootstrap import bootstrap
from entrypoints.operator import data_option, existing
from entrypoints.settings import from_env
from infrastructure.auditbundle import export, verify_store
from infrastructure.auditverify import Failed, load_public_key, verify_bundle
from infrastructure.signing import AuditKey


@click.group()
def audit() -> None:
    """The tamper-evident audit log of every stored event."""


@audit.command()
@data_option
def keygen(data_dir: Path | None) -> None:
    """Make the Ed25519 key that signs checkpoints (ASSESS_AUDIT_KEY_FILE, default
    <data>/audit-ed25519.pem) and print its public key, to publish. An existing key is
    never replaced: the checkpoints it signed are checked with it."""
    path = from_env(data_dir).audit_key_path
    try:
        key = AuditKey.create(path)
    except FileExistsError:
        raise click.ClickException(f"{path} already holds the log's key; it is kept") from None
    click.echo(f"wrote {path}: keep it secret and back it up; its public key:", err=True)
    click.echo(key.public_pem.decode(), nl=False)


@audit.command()
@data_option
def checkpoint(data_dir: Path | None) -> None:
    """Append the stored events not yet in the log, then sign a checkpoint of it."""
    services = bootstrap(existing(data_dir))
    follower = services.audit_follower()
    follower.catch_up()
    before = follower.log.checkpoint()
    made = follower.checkpoint()
    services.store.close()
    if made is None:
        raise click.ClickException("the store holds no event yet: nothing to sign")
    if made == before:
        click.echo("the log has not grown since its latest checkpoint: nothing new to sign")
    click.echo(f"checkpoint of size {made.size}: rootHash {made.root_hash}, time {made.time}")


@audit.command("export")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write the bundle into.",
)
@data_option
def export_command(out: Path, data_dir: Path | None) -> None:
    """Write the bundle an auditor verifies offline: entries.jsonl (every entry up to the
    latest checkpoint), checkpoints.jsonl, public-key.pem and verify.py (`python verify.py`
    needs only Python and the cryptography package)."""
    store = bootstrap(existing(data_dir)).store
    written = export(store, out)
    store.close()
    if not written:
        raise click.ClickException("no checkpoint yet: run `assess audit checkpoint` first")
    click.echo(f"wrote {written} entries to {out}; check them with: python {out}/verify.py")


@audit.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--store", "live", is_flag=True, help="Check the live store instead of a bundle.")
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM of the key checkpoints must be signed with (default: the bundle's, or the"
    " public half of ASSESS_AUDIT_KEY_FILE with --store).",
)
@data_option
def verify(folder: Path | None, live: bool, public_key: Path | None, data_dir: Path | None) -> None:
    """Check a bundle (FOLDER), or the live store (--store: every stored event hashed again
    against its leaf), against the signed checkpoints. Exit 0 when all holds; otherwise 1,
    naming the first position that does not."""
    if (folder is None) == (not live):
        raise click.UsageError("give a bundle's FOLDER or --store (one of them)")
    try:
        if folder is not None:
            summary = verify_bundle(folder, public_key)
        else:
            settings = existing(data_dir)
            key = (
                load_public_key(public_key.read_bytes())
                if public_key
                else AuditKey.load(settings.audit_key_path).public
            )
            store = bootstrap(settings).store
            try:
                summary = verify_store(store, key)
            finally:
                store.close()
    except Failed as failed:
        click.echo(str(failed.failure))
        sys.exit(1)
    except (OSError, ValueError) as error:
        click.echo(f"cannot verify: {error}", err=True)
        sys.exit(2)
    click.echo(summary)
