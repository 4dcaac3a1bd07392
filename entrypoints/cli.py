"""The `assess` command line: the processes of the service and the operator's tools."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import msgspec
import uvicorn
from granian.constants import Interfaces, Loops
from granian.server import Server

from consumers.processes import emails_consumer, embedded, start, webhooks_consumer
from entrypoints.audit import audit
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.credentials import credentials
from entrypoints.migrations import seed_banks
from entrypoints.operator import data_option, history, keys, migrate_command, projections, questions
from entrypoints.settings import from_env
from infrastructure.persistence import tune_gc
from infrastructure.tracing import start_tracing
from projections.audit import start_audit
from projections.runner import start_projector


def configure_logging() -> None:
    """Every process logs at INFO to stderr, one line per record (the API's workers too:
    entrypoints/asgi.py calls this in each)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def run_until_stopped(app: Any, **options: Any) -> None:
    """Serve until SIGTERM or SIGINT, then exit 0: uvicorn shuts down gracefully and then
    hands the signal it caught to the handler that was there before, which is this one.
    uvicorn believes no forwarded header (its default believes 127.0.0.1's): the app does,
    from ASSESS_TRUSTED_PROXIES only (api/forwarded.py)."""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, lambda *_: sys.exit(0))
    # Requests in flight get a few seconds; the whole stop stays under ten.
    uvicorn.run(app, proxy_headers=False, timeout_graceful_shutdown=5, **options)


# After SIGTERM a worker has this long to end its loop; then it exits anyway (0): what it
# had not finished was not acknowledged, and is done again (a batch republished, a
# delivery's lease run out, a Kafka offset not committed).
STOP_GRACE_SECONDS = 7.0
log = logging.getLogger("assess")


def exit_after_grace() -> None:
    """Exit the process now, with a word: the stop took longer than its grace."""
    log.warning(
        "still busy %.0f s after the stop: exiting; unfinished work is redone", STOP_GRACE_SECONDS
    )
    logging.shutdown()
    os._exit(0)


@contextmanager
def worker(data_dir: Path | None) -> Iterator[tuple[Services, threading.Event]]:
    """A worker process's services, and an event that SIGTERM or SIGINT sets (its loop
    then ends and the process exits 0, within STOP_GRACE_SECONDS whatever its peers do);
    the store is closed after. A stop that comes while it starts ends it as soon as it has."""
    stopping = threading.Event()

    def stop(*_: object) -> None:
        if not stopping.is_set():
            stopping.set()
            timer = threading.Timer(STOP_GRACE_SECONDS, exit_after_grace)
            timer.daemon = True
            timer.start()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    settings = from_env(data_dir)
    settings.check_production()
    start_tracing(settings)
    services = bootstrap(settings)
    try:
        yield services, stopping
    finally:
        services.store.close()


def without_password(url: str) -> str:
    """A database URL fit to print: its password masked."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


@click.group()
@click.version_option(package_name="assess", message="assess %(version)s")
def main() -> None:
    """Skill-verification assessments, event-sourced."""
    configure_logging()
    tune_gc()


PORT = click.option("--port", default=8000, show_default=True, help="The port to listen on.")


HOST = click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on (0.0.0.0: every interface).",
)


@main.command()
@HOST
@PORT
@data_option
def dev(host: str, port: int, data_dir: Path | None) -> None:
    """The embedded default: everything in one process on a SQLite file under --data."""
    settings = from_env(data_dir)
    if not os.environ.get("ASSESS_PUBLIC_URL"):  # links in the outbox open this process
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = msgspec.structs.replace(settings, public_url=f"http://{shown}:{port}")
    start_tracing(settings)
    services = bootstrap(settings)
    services.personal.check_master_key()
    seeded = seed_banks(services.banks)
    if seeded:
        click.echo(f"imported the shipped question banks: {', '.join(seeded)}")
    click.echo(f"store: {without_password(settings.store_url)}")
    app = services.app()
    start_projector(services.store, threading.Event())  # daemon threads, gone with the process
    start_audit(services.audit_follower(), threading.Event())
    start(embedded, services.store, settings, services.embedded(), threading.Event())
    start(services.prepare_ahead, threading.Event())
    start(services.issue_credentials, threading.Event())
    run_until_stopped(app, host=host, port=port, access_log=False)


@main.command()
@HOST
@PORT
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="API processes sharing the port (each with its own connection pool).",
)
@click.option(
    "--server",
    type=click.Choice(["uvicorn", "granian"]),
    default="uvicorn",
    show_default=True,
    help="The HTTP server: uvicorn, or granian (Rust, with uvloop).",
)
@data_option
def serve(host: str, port: int, workers: int, server: str, data_dir: Path | None) -> None:
    """The production API process, configured from the environment."""
    if data_dir is not None:
        os.environ["ASSESS_DATA_DIR"] = str(data_dir)
    from_env().check_production()  # here, before the workers start
    if server == "granian":
        serve_on_granian("entrypoints.asgi:create", host, port, workers)
        return
    run_until_stopped(
        "entrypoints.asgi:create",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
    )


def serve_on_granian(factory: str, host: str, port: int, workers: int) -> None:
    """Serve the app the factory makes on granian until SIGTERM or SIGINT, then exit 0:
    granian stops its workers, giving requests in flight a few seconds (the whole stop
    stays under ten). Like uvicorn here, it believes no forwarded header."""
    Server(
        factory,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        factory=True,
        log_access=False,
        workers_kill_timeout=5,
    ).serve()


@main.command()
@data_option
def projector(data_dir: Path | None) -> None:
    """Keep the read models and the audit log up to date, prepare the next attempts'
    questions and issue verified skills' credentials, until SIGTERM (each in its own thread;
    the audit log signs its checkpoints)."""
    with worker(data_dir) as (services, stopping):
        store, settings = services.store, services.settings
        services.personal.check_master_key()  # the question preparer opens sources
        threads = [
            *start_projector(store, stopping),
            start_audit(services.audit_follower(), stopping),
            start(services.prepare_ahead, stopping),
            start(services.issue_credentials, stopping),
        ]
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
    with worker(data_dir) as (services, stopping):
        services.relay().run(stopping)


@main.command()
@click.argument("consumer", type=click.Choice(["webhooks", "emails"]))
@data_option
def consume(consumer: str, data_dir: Path | None) -> None:
    """Run one consumer group of the topic until SIGTERM.

    \b
    webhooks: queue each event's webhook deliveries and send them (group `webhooks`)
    emails:   send the emails events call for: results, invitations, confirmations
              (group `emails`; over ASSESS_SMTP_URL, else into the outbox)
    """
    with worker(data_dir) as (services, stopping):
        if consumer == "webhooks":
            fanout, sender = services.fanout(), services.sender()
            webhooks_consumer(services.settings, fanout, sender, stopping, services.progress)
        else:
            services.personal.check_master_key()
            emails_consumer(services.settings, services.emails(), stopping, services.progress)


for command in (migrate_command, projections, keys, questions, history, audit, credentials):
    main.add_command(command)
