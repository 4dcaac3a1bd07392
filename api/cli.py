"""The `assess` command line: the processes of the service and the operator's tools."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import uvicorn
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from api.bootstrap import bootstrap, migrate, open_migrated, seed_banks
from api.verifications import parse_moment
from application.settings import Settings, from_env
from application.store import EventStore
from domain.access import MODES
from domain.assessment import iso
from domain.errors import DomainError
from domain.questions import parse_bank
from infrastructure.persistence import open_store, tune_gc
from projections.model import ReadModel
from projections.runner import (
    MODELS,
    count_events,
    dead_letters,
    rebuild,
    retry,
    start_projector,
)

data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the embedded store (default ./var), used when ASSESS_DATABASE_URL is unset.",
)


def run_until_stopped(app: Any, **options: Any) -> None:
    """Serve until SIGTERM or SIGINT, then exit 0: uvicorn shuts down gracefully and then
    hands the signal it caught to the handler that was there before, which is this one."""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: sys.exit(0))
    uvicorn.run(app, **options)


@contextmanager
def worker(data_dir: Path | None) -> Iterator[tuple[Settings, EventStore, threading.Event]]:
    """A worker process's settings, store, and an event that SIGTERM or SIGINT sets (its
    loop then ends and the process exits 0); the store is closed after."""
    settings = from_env(data_dir)
    store = open_migrated(settings)
    stopping = threading.Event()
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: stopping.set())
    try:
        yield settings, store, stopping
    finally:
        store.close()


def without_password(url: str) -> str:
    """A database URL fit to print: its password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


@click.group()
def main() -> None:
    """Skill-verification assessments, event-sourced."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    tune_gc()


@main.command()
@click.option("--port", default=8000, show_default=True)
@data_option
def dev(port: int, data_dir: Path | None) -> None:
    """The embedded default: everything in one process on a SQLite file under --data."""
    from api.app import create_app

    service = bootstrap(from_env(data_dir))
    seeded = seed_banks(service)
    if seeded:
        click.echo(f"imported the shipped question banks: {', '.join(seeded)}")
    click.echo(f"store: {without_password(service.settings.store_url)}")
    from consumers.processes import embedded, start

    app = create_app(service)
    start_projector(service.store, threading.Event())  # daemon threads, gone with the process
    start(embedded, service.store, service.settings, threading.Event())
    run_until_stopped(app, host="127.0.0.1", port=port, access_log=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", default=1, show_default=True)
@data_option
def serve(host: str, port: int, workers: int, data_dir: Path | None) -> None:
    """The production API process, configured from the environment."""
    if data_dir is not None:
        import os

        os.environ["ASSESS_DATA_DIR"] = str(data_dir)
    run_until_stopped(
        "api.asgi:create", factory=True, host=host, port=port, workers=workers, access_log=False
    )


@main.command()
@data_option
def projector(data_dir: Path | None) -> None:
    """Keep the read models up to date until SIGTERM (each view in its own thread)."""
    with worker(data_dir) as (settings, store, stopping):
        threads = start_projector(store, stopping)
        while any(thread.is_alive() for thread in threads) and not stopping.is_set():
            settings.beat()
            stopping.wait(0.5)
        for thread in threads:
            thread.join()
    if not stopping.is_set():
        raise SystemExit("every view stopped at an event it cannot apply (see the log)")


@main.command()
@data_option
def relay(data_dir: Path | None) -> None:
    """Publish every stored assessment event to Kafka (ASSESS_KAFKA_*) until SIGTERM."""
    from consumers.relay import Relay

    with worker(data_dir) as (settings, store, stopping):
        Relay(store, settings).run(stopping)


@main.command()
@click.argument("consumer", type=click.Choice(["webhooks", "emails"]))
@data_option
def consume(consumer: str, data_dir: Path | None) -> None:
    """Run a consumer group of the topic: webhook deliveries, or result emails."""
    from consumers.processes import emails_consumer, webhooks_consumer

    run = webhooks_consumer if consumer == "webhooks" else emails_consumer
    with worker(data_dir) as (settings, store, stopping):
        run(store, settings, stopping)


@main.command("migrate")
@data_option
def migrate_command(data_dir: Path | None) -> None:
    """Create whatever tables the store lacks (every process also does this at start)."""
    store = open_store(from_env(data_dir))
    migrate(store)
    store.close()
    click.echo("the store is up to date")


@main.group()
def projections() -> None:
    """Read models."""


@projections.command("rebuild")
@click.argument("name", required=False, type=click.Choice(sorted(MODELS)))
@data_option
def projections_rebuild(name: str | None, data_dir: Path | None) -> None:
    """Rebuild a view (or all) from position zero into fresh tables, then swap it in;
    the old view serves reads until then."""
    store = open_migrated(from_env(data_dir))
    for model in [MODELS[name]] if name else MODELS.values():
        old, new = rebuild_with_progress(store, model)
        click.echo(f"{model.name}: generation {new} swapped in (generation {old} dropped)")
    store.close()


@projections.command("dead-letters")
@click.argument("name", required=False, type=click.Choice(sorted(MODELS)))
@data_option
def projections_dead_letters(name: str | None, data_dir: Path | None) -> None:
    """List the events each view has set aside: notification id, record, type, error."""
    store = open_migrated(from_env(data_dir))
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
    store = open_migrated(from_env(data_dir))
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


@main.group()
def keys() -> None:
    """Tenant API keys."""


@keys.command("create")
@click.option("--tenant", required=True, help="The tenant (partner platform) name.")
@click.option("--mode", type=click.Choice(MODES), default="live", show_default=True)
@data_option
def keys_create(tenant: str, mode: str, data_dir: Path | None) -> None:
    """Create a key; it is shown once, alone on the last line, and stored only as a hash."""
    try:
        key = bootstrap(from_env(data_dir)).access.issue_key(tenant, mode)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created a {mode} key for tenant {tenant}; it is not shown again:", err=True)
    click.echo(key)


@keys.command("list")
@click.option("--tenant", default=None, help="Only this tenant's keys.")
@data_option
def keys_list(tenant: str | None, data_dir: Path | None) -> None:
    """Each key's id, tenant, mode, creation and revocation (never the key), tab-separated."""
    for key in bootstrap(from_env(data_dir)).access.list_keys(tenant):
        revoked = f"revoked {iso(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.tenant}\t{key.mode}\tcreated {iso(key.created_at)}\t{revoked}")


@keys.command("revoke")
@click.argument("key_or_id")
@data_option
def keys_revoke(key_or_id: str, data_dir: Path | None) -> None:
    """Revoke a key, given itself or its id: every process refuses it within 5 seconds."""
    try:
        key = bootstrap(from_env(data_dir)).access.revoke_key(key_or_id)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"revoked the {key.mode} key {key.id} of tenant {key.tenant}")


@main.group()
def questions() -> None:
    """Question banks."""


@questions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
def questions_import(file: Path, data_dir: Path | None) -> None:
    """Replace a skill's bank with the questions of FILE (rejected whole if any is bad)."""
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
    for entry in bootstrap(from_env(data_dir)).banks.list_banks():
        click.echo(f"{entry['skillId']}\t{entry['name']}\t{entry['questions']} questions")


@main.command()
@click.argument("record_id")
@click.option("--as-of", default=None, help="ISO-8601 moment: the history as it stood then.")
@data_option
def history(record_id: str, as_of: str | None, data_dir: Path | None) -> None:
    """Print a record's events and the state they fold to, as JSON."""
    try:
        moment = parse_moment(as_of) if as_of else None
        found = bootstrap(from_env(data_dir)).history(None, record_id, moment)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps({"events": found.events, "state": found.state}, indent=2))
