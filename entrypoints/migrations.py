"""Migrations: `migrate` creates and upgrades the tables beside the events, in one explicit
step that every process runs first (constructors create nothing); the shipped banks are
imported into a store that has none."""

from __future__ import annotations

import logging
from importlib.resources import files

from application.banks import QuestionBanks
from application.integration_events import STARTED, PublicMessages
from application.issuing import ISSUER
from application.preparation import PREPARER
from application.settings import Settings
from application.store import EventStore
from consumers.known_records import DOWNSTREAM_RECORDS, TABLE, KnownRecords, without_personal_data
from consumers.processes import EMBEDDED_FANOUT
from consumers.relay import RELAY
from consumers.sent import SENT_EMAILS, without_recipients
from domain.questions import parse_bank
from infrastructure.auditlog import AUDIT_TABLES
from infrastructure.database import columns, create_tables, migration_lock, transaction
from infrastructure.deliveries import DELIVERY_LOG, upgrade_delivery_log
from infrastructure.following import Tracker, UndecodableEvent, decoded
from infrastructure.persistence import open_store
from infrastructure.progress import CONSUMER_PROGRESS
from infrastructure.rate_windows import RATE_WINDOWS
from infrastructure.scrubbing import compact
from infrastructure.subjects import DATA_SUBJECTS, DataSubjects
from infrastructure.unsealed import VIEWS, mark, reached, seal_stored
from projections.audit import AUDIT_FOLLOWER
from projections.records import RecordView, clear_in_record_view
from projections.runner import MODELS, rebuild
from projections.views import open_live_view

log = logging.getLogger("assess.migrate")

FOLLOWERS = (RELAY, EMBEDDED_FANOUT, AUDIT_FOLLOWER, PREPARER, ISSUER)


def open_migrated(settings: Settings) -> EventStore:
    """Open the event store and create whatever it lacks: what every process does first."""
    store = open_store(settings)
    migrate(store, settings)
    return store


def migrate(store: EventStore, settings: Settings) -> list[str]:
    """Create the tables beside the events that are missing (idempotent, safe to run from
    processes starting together): the data subjects and their keys, the delivery log (with
    the columns it gained since it was made), the sent-email log, the records the consumers
    know (learning those stored before it), each view's live generation, the audit log's
    leaves, nodes and checkpoints, and the followers' positions. First, before any follower
    reads the log (the audit log's hashes the stored bytes), seal the personal data stored
    in clear before it was sealed, and drop what held it beside the events; then rewrite the
    store's files without it. The events' own tables are the library's, created when the
    store is opened. Returns what it changed beyond creating tables, in words."""
    done: list[str] = []
    with migration_lock(store):
        create_tables(store, DATA_SUBJECTS)
        sealed = seal_stored(store, DataSubjects(store, settings))
        if sealed:
            done.append(f"sealed the personal data {sealed} stored events held in clear")
        dropped = [without_personal_data(store), without_recipients(store)]
        if any(dropped):
            done.append("dropped the names and emails the consumers' tables kept")
        create_tables(
            store,
            [
                *(*DELIVERY_LOG, *SENT_EMAILS, *DOWNSTREAM_RECORDS, *AUDIT_TABLES),
                *(*RATE_WINDOWS, *CONSUMER_PROGRESS),
            ],
        )
        if upgrade_delivery_log(store):
            done.append("added the delivery log's new columns")
        learn_stored_records(store)
        for model in MODELS.values():
            live = open_live_view(store, model)
            with transaction(store, commit=False) as sql:
                lacking = [t for t in model.added_tables if not columns(sql, live.table + t)]
            if lacking:
                rebuild(store, model, lambda applied, position: None)
                done.append(f"rebuilt {model.name}, whose tables lacked {', '.join(lacking)}")
        for follower in FOLLOWERS:
            Tracker(store, follower).create()
        if reached(store, VIEWS) is None:  # once: the views made before contacts were sealed
            if clear_in_record_view(store):
                rebuild(store, RecordView(), lambda applied, position: None)
                dropped.append(True)
                done.append("rebuilt record_view without the contacts it held in clear")
            mark(store, VIEWS)
        if sealed or any(dropped):
            compact(store)
    return done


def seed_banks(banks: QuestionBanks) -> list[str]:
    """Import the shipped banks of skills that have none yet; return their skill ids."""
    listed = {entry["skillId"] for entry in banks.list_banks()}
    imported = []
    for resource in sorted(files("application").joinpath("banks").iterdir(), key=str):
        bank = parse_bank(resource.read_bytes())
        if bank.skill_id not in listed:
            banks.import_bank(bank)
            imported.append(bank.skill_id)
    return imported


def learn_stored_records(store: EventStore, batch: int = 1000) -> None:
    """Learn every record stored before the table existed (run by migrate while the table
    is empty: consumers that were past those records' first messages find them here). An
    event that does not decode is left to the followers, which set it aside."""
    with transaction(store, commit=False) as sql:
        if sql.one(f"SELECT 1 AS known FROM {TABLE} LIMIT 1") is not None:
            return
    known = KnownRecords(store)
    messages = PublicMessages(store)
    start = 1
    while notifications := store.recorder.select_notifications(
        start=start, limit=batch, topics=[STARTED]
    ):
        found = []
        for notification in notifications:
            try:
                event = decoded(store, notification)
                found.append(messages.message(event, notification.id)[0])
            except UndecodableEvent as error:
                log.error("cannot learn a record from %s", error)
        known.learn(*found)
        start = notifications[-1].id + 1
