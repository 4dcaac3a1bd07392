"""The operator's tools of the `assess` command line: schema, views, keys, banks, history."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import msgspec
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from api.verifications import parse_moment
from application.banks import QuestionBanks
from application.settings import STORE_FILE, Settings
from application.store import EventStore
from domain.access import MODES
from domain.errors import DomainError
from domain.moments import iso
from domain.questions import parse_bank
from entrypoints.bootstrap import bootstrap
from entrypoints.migrations import migrate, seed_banks
from entrypoints.settings import from_env
from infrastructure.persistence import open_store, table_names
from projections.model import ReadModel
from projections.runner import (
    MODELS,
    count_events,
    dead_letters,
    rebuild,
    retry,
)

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the embedded store (default ./var), used when ASSESS_DATABASE_URL is unset.",
)


def existing(data_dir: Path | None) -> Settings:
    """The settings of a command that only reads or changes what a store holds: a --data
    folder with no store in it is a mistake (a typo would otherwise make a new, empty
    store and show nothing)."""
    settings = from_env(data_dir)
    if not settings.database_url and not (settings.data_dir / STORE_FILE).exists():
        raise click.BadParameter(
            f"{settings.data_dir} holds no store ({STORE_FILE}): give the folder the service"
            " runs on, or set ASSESS_DATABASE_URL",
            param_hint="--data",
        )
    return settings


@click.command("migrate")
@data_option
def migrate_command(data_dir: Path | None) -> None:
    """Create or upgrade the schema (every process also does this at start), and import the
    shipped question banks into a store that has none; say what was done."""
    settings = from_env(data_dir)
    before = table_names(settings)
    store = open_store(settings)
    changed = migrate(store, settings)
    banks = QuestionBanks(store)
    imported = [] if banks.list_banks() else seed_banks(banks)
    store.close()
    created = sorted(table_names(settings) - before)
    if created:
        click.echo(f"created {len(created)} tables: {', '.join(created)}")
    for change in changed:
        click.echo(change)
    if imported:
        click.echo(f"imported the shipped question banks: {', '.join(imported)}")
    if not created and not changed and not imported:
        click.echo("the store is up to date")


@click.group()
def projections() -> None:
    """Read models."""


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(sorted(MODELS)))
@data_option
def projections_rebuild(name: str | None, data_dir: Path | None) -> None:
    """Rebuild a view (or all) from position zero into fresh tables, then swap it in;
    the old view serves reads until then."""
    store = bootstrap(existing(data_dir)).store
    for model in [MODELS[name]] if name else MODELS.values():
        old, new = rebuild_with_progress(store, model)
        click.echo(f"{model.name}: generation {new} swapped in (generation {old} dropped)")
    store.close()


@projections.command("dead-letters")
@click.argument("name", required=False, type=click.Choice(sorted(MODELS)))
@data_option
def projections_dead_letters(name: str | None, data_dir: Path | None) -> None:
    """List the events each view has set aside: notification id, record, type, error."""
    store = bootstrap(existing(data_dir)).store
    for model in [MODELS[name]] if name else MODELS.values():
        for letter in dead_letters(store, model):
            click.echo(
                f"{model.name}\t{letter.notification_id}\t{letter.record_id}"
                f"\t{letter.event_type}\t{letter.error}"
            )
    store.close()


@projections.command("retry")
@click.argument("name", required=False, type=click.Choice(sorted(MODELS)))
@data_option
def projections_retry(name: str | None, data_dir: Path | None) -> None:
    """Apply each view's dead letters again (after fixing their cause); those that still
    fail stay listed."""
    store = bootstrap(existing(data_dir)).store
    for model in [MODELS[name]] if name else MODELS.values():
        applied, left = retry(store, model)
        click.echo(f"{model.name}: {applied} applied, {len(left)} still set aside")
    store.close()


def rebuild_with_progress(store: EventStore, model: ReadModel) -> tuple[int, int]:
    """Rebuild one view, showing events done / total, the rate and the time left."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task(model.name, total=count_events(store, model), rate="")
        started = time.monotonic()

        def advance(applied: int, _: int) -> None:
            done = progress.tasks[task].completed + applied
            rate = done / max(time.monotonic() - started, 1e-6)
            progress.update(task, completed=done, rate=f"{rate:,.0f} events/s")

        return rebuild(store, model, on_batch=advance)


@click.group()
def keys() -> None:
    """Tenant API keys."""


@keys.command("create")
@click.option("--tenant", required=True, help="The tenant (partner platform) name.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="live",
    show_default=True,
    help="live keys make ver_live_ records; test keys make ver_test_ ones, which never mix.",
)
@click.option(
    "--name",
    default=None,
    help="The tenant's name as reviewers see it in the invitation and on the review page"
    " (default: the tenant).",
)
@data_option
def keys_create(tenant: str, mode: str, name: str | None, data_dir: Path | None) -> None:
    """Create a key; it is shown once, alone on the last line, and stored only as a hash."""
    try:
        key = bootstrap(from_env(data_dir)).access.issue_key(tenant, mode, name)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created a {mode} key for tenant {tenant}; it is not shown again:", err=True)
    click.echo(key)


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@data_option
def keys_list(tenant: str | None, data_dir: Path | None) -> None:
    """Each key's id, tenant, mode, creation and revocation (never the key), tab-separated."""
    for key in bootstrap(existing(data_dir)).access.list_keys(tenant):
        revoked = f"revoked {iso(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.tenant}\t{key.mode}\tcreated {iso(key.created_at)}\t{revoked}")


@keys.command("revoke")
@click.argument("key_or_id")
@data_option
def keys_revoke(key_or_id: str, data_dir: Path | None) -> None:
    """Revoke a key, given itself or its id: every process refuses it within 5 seconds."""
    try:
        key = bootstrap(existing(data_dir)).access.revoke_key(key_or_id)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked the {key.mode} key {key.id} of tenant {key.tenant}")


@click.group()
def questions() -> None:
    """Question banks."""


@questions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
def questions_import(file: Path, data_dir: Path | None) -> None:
    """Replace a skill's bank with the questions of FILE (rejected whole if any is bad).

    FILE is JSON: the skill's id and name, and its questions, each with 2 to 5 options
    and the index of the right one (from 0):

    \b
        {"skillId": "skill_001", "name": "React",
         "questions": [{"question": "Which hook adds local state?",
                        "options": ["useEffect", "useState"], "answer": 1}]}
    """
    try:
        bank = parse_bank(file.read_bytes())
        bootstrap(from_env(data_dir)).banks.import_bank(bank)
    except DomainError as error:
        raise click.ClickException(f"{file}: {error}") from None
    click.echo(f"imported {len(bank.questions)} questions for {bank.skill_id} ({bank.name})")


@questions.command("list")
@data_option
def questions_list(data_dir: Path | None) -> None:
    """The skills that have a bank."""
    for entry in bootstrap(existing(data_dir)).banks.list_banks():
        click.echo(f"{entry['skillId']}\t{entry['name']}\t{entry['questions']} questions")


@click.command()
@click.argument("record_id")
@click.option("--as-of", default=None, help="ISO-8601 moment: the history as it stood then.")
@data_option
def history(record_id: str, as_of: str | None, data_dir: Path | None) -> None:
    """Print a record's events and the state they fold to, as JSON."""
    try:
        moment = parse_moment(as_of) if as_of else None
    except DomainError:
        raise click.BadParameter(
            f"'{as_of}' is not an ISO-8601 date-time (2026-12-01 or 2026-12-01T09:30:00Z)",
            param_hint="--as-of",
        ) from None
    try:
        found = bootstrap(existing(data_dir)).records.history(None, record_id, moment)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(msgspec.to_builtins(found), indent=2))
