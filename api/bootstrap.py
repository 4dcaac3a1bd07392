"""The composition root: every process builds what it needs here, from settings.

It sits with the entry points because it sees every layer: the store comes from
infrastructure, the tables beside it from the modules that own them (the delivery log,
the views, the followers' trackers, the sent-email log), and `migrate` creates them all
in one explicit step (constructors create nothing)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from uuid import UUID, uuid4

from application.service import AssessmentService
from application.settings import Settings
from application.store import EventStore
from consumers.processes import EMBEDDED_FANOUT
from consumers.records import DOWNSTREAM_RECORDS, backfill, without_personal_data
from consumers.relay import RELAY
from consumers.sent import SENT_EMAILS, SentLog, without_recipients
from domain.questions import parse_bank
from infrastructure.auditlog import AUDIT_TABLES
from infrastructure.database import create_tables, migration_lock, transaction
from infrastructure.deliveries import DELIVERY_LOG, Deliveries, upgrade_delivery_log
from infrastructure.following import Tracker
from infrastructure.persistence import open_store
from infrastructure.rate_windows import RATE_WINDOWS
from infrastructure.scrubbing import compact
from infrastructure.sealing import WebhookSecrets
from infrastructure.subjects import DATA_SUBJECTS, DataSubjects
from infrastructure.targets import target_check
from infrastructure.unsealed import VIEWS, mark, reached, seal_stored
from projections.audit import AUDIT_FOLLOWER
from projections.records import RecordView
from projections.runner import MODELS, rebuild
from projections.views import open_live_view

FOLLOWERS = (RELAY, EMBEDDED_FANOUT, AUDIT_FOLLOWER)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def bootstrap(
    settings: Settings,
    clock: Callable[[], datetime] = utc_now,
    new_id: Callable[[], UUID] = uuid4,
    rng: random.Random | None = None,
) -> AssessmentService:
    """Open the event store and build the service on it, with the delivery log and the
    webhook target check."""
    store = open_migrated(settings)
    return AssessmentService(
        store,
        settings,
        clock,
        new_id,
        rng or random.SystemRandom(),
        deliveries=Deliveries(store),
        check_target=target_check(settings.webhook_allow_private),
        personal=DataSubjects(store, settings).check_master_key(),
        sent_emails=SentLog(store, settings),
        secrets=WebhookSecrets(settings.master_secret),
    )


def open_migrated(settings: Settings) -> EventStore:
    """Open the event store and create whatever it lacks: what every process does first."""
    store = open_store(settings)
    migrate(store, settings)
    return store


def migrate(store: EventStore, settings: Settings) -> None:
    """Create the tables beside the events that are missing (idempotent, safe to run from
    processes starting together): the data subjects and their keys, the delivery log (with
    the columns it gained since it was made), the sent-email log, the records the consumers
    know (learning those stored before it), each view's live generation, the audit log's
    leaves, nodes and checkpoints, and the followers' positions. First, before any follower
    reads the log (the audit log's hashes the stored bytes), seal the personal data stored
    in clear before it was sealed, and drop what held it beside the events; then rewrite the
    store's files without it. The events' own tables are the library's, created when the
    store is opened."""
    with migration_lock(store):
        create_tables(store, DATA_SUBJECTS)
        sealed = seal_stored(store, DataSubjects(store, settings))
        dropped = [without_personal_data(store), without_recipients(store)]
        create_tables(
            store,
            [*DELIVERY_LOG, *SENT_EMAILS, *DOWNSTREAM_RECORDS, *AUDIT_TABLES, *RATE_WINDOWS],
        )
        upgrade_delivery_log(store)
        backfill(store)
        for model in MODELS.values():
            open_live_view(store, model)
        for follower in FOLLOWERS:
            Tracker(store, follower).create()
        if reached(store, VIEWS) is None:  # once: the views made before contacts were sealed
            if clear_in_record_view(store):
                rebuild(store, RecordView(), lambda applied, position: None)
                dropped.append(True)
            mark(store, VIEWS)
        if sealed or any(dropped):
            compact(store)


def clear_in_record_view(store: EventStore) -> bool:
    """Whether the live record view holds a contact in clear (rows made before contacts
    were sealed: a rebuild makes them again from the sealed events)."""
    with transaction(store, commit=False) as sql:
        found = sql.one(
            "SELECT 1 AS found FROM record_view WHERE student LIKE ? OR reviewer LIKE ? LIMIT 1",
            '%"email"%',
            '%"name"%',
        )
    return found is not None


def seed_banks(service: AssessmentService) -> list[str]:
    """Import the shipped banks of skills that have none yet; return their skill ids."""
    listed = {entry["skillId"] for entry in service.banks.list_banks()}
    imported = []
    for resource in sorted(files("application").joinpath("banks").iterdir(), key=str):
        bank = parse_bank(resource.read_bytes())
        if bank.skill_id not in listed:
            service.banks.import_bank(bank)
            imported.append(bank.skill_id)
    return imported
