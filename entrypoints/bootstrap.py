"""The composition root: `bootstrap(settings)` builds every collaborator of a process once,
from settings; the HTTP app, each command of the command line and each downstream process
take what they need from the `Services` it returns. `migrate` creates the tables beside the
events in one explicit step (constructors create nothing)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from uuid import UUID, uuid4

from litestar import Litestar

from api.app import create_app
from application.access import Access
from application.banks import QuestionBanks
from application.integration_events import PublicMessages
from application.queries import RecordQueries
from application.service import AssessmentService
from application.settings import Settings
from application.store import EventStore
from application.students import Students
from application.webhooks import Webhooks
from consumers.delivery import DeliveryWorker
from consumers.emails import Emails
from consumers.fanout import Fanout
from consumers.known_records import (
    DOWNSTREAM_RECORDS,
    KnownRecords,
    backfill,
    without_personal_data,
)
from consumers.processes import EMBEDDED_FANOUT, Embedded
from consumers.relay import RELAY, Relay
from consumers.sent import SENT_EMAILS, SentLog, without_recipients
from domain.questions import parse_bank
from infrastructure.auditlog import AUDIT_TABLES, AuditLog
from infrastructure.database import create_tables, migration_lock
from infrastructure.deliveries import DELIVERY_LOG, Deliveries, upgrade_delivery_log
from infrastructure.following import Tracker
from infrastructure.mailer import Mailer
from infrastructure.persistence import open_store
from infrastructure.rate_windows import RATE_WINDOWS
from infrastructure.scrubbing import compact
from infrastructure.sealing import WebhookSecrets
from infrastructure.subjects import DATA_SUBJECTS, DataSubjects
from infrastructure.targets import target_check
from infrastructure.unsealed import VIEWS, mark, reached, seal_stored
from projections.audit import AUDIT_FOLLOWER, AuditFollower
from projections.queries import ReadSide
from projections.records import RecordView, clear_in_record_view
from projections.runner import MODELS, rebuild
from projections.views import open_live_view

FOLLOWERS = (RELAY, EMBEDDED_FANOUT, AUDIT_FOLLOWER)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Every collaborator of a process, each built once by `bootstrap`. The downstream
    parts (`fanout`, `emails`, `sender`, `relay`) are built when a process asks for them,
    here too, from the same collaborators."""

    settings: Settings
    store: EventStore
    clock: Callable[[], datetime]
    personal: DataSubjects
    deliveries: Deliveries
    sent_emails: SentLog
    secrets: WebhookSecrets
    access: Access
    banks: QuestionBanks
    webhooks: Webhooks
    commands: AssessmentService
    records: RecordQueries
    read: ReadSide
    students: Students

    def app(self) -> Litestar:
        """The HTTP app over these services."""
        return create_app(self)

    def fanout(self) -> Fanout:
        """The webhook consumer: each public event to its queued deliveries."""
        return Fanout(KnownRecords(self.store), self.webhooks, self.deliveries)

    def emails(self) -> Emails:
        """The email consumer: results, invitations and confirmations."""
        known = KnownRecords(self.store)
        return Emails(self.store, self.settings, self.personal, known, Mailer(self.settings))

    def sender(self) -> DeliveryWorker:
        """The webhook sender: due deliveries out of the log."""
        return DeliveryWorker(self.deliveries, self.settings, self.secrets)

    def relay(self) -> Relay:
        """The Kafka relay of the store's public events."""
        return Relay(
            self.store, self.settings, Tracker(self.store, RELAY), PublicMessages(self.store)
        )

    def audit_follower(self, timer: Callable[[], float] = time.monotonic) -> AuditFollower:
        """The audit log's follower: it appends every stored event and signs checkpoints."""
        log, tracker = AuditLog(self.store), Tracker(self.store, AUDIT_FOLLOWER)
        return AuditFollower(self.store, self.settings, log, tracker, timer=timer)

    def embedded(self) -> Embedded:
        """The downstream parts of the embedded default, with their position in the store."""
        return Embedded(
            self.fanout(),
            self.emails(),
            self.sender(),
            PublicMessages(self.store),
            Tracker(self.store, EMBEDDED_FANOUT),
        )


def bootstrap(
    settings: Settings,
    clock: Callable[[], datetime] = utc_now,
    new_id: Callable[[], UUID] = uuid4,
    rng: random.Random | None = None,
) -> Services:
    """Open the event store (migrated) and build every collaborator on it. The master key
    is read at first use: a process that shows or sends personal data checks it at its
    start (`personal.check_master_key()`); the audit's and the views' tools need none."""
    store = open_migrated(settings)
    personal = DataSubjects(store, settings)
    deliveries = Deliveries(store)
    sent_emails = SentLog(store, settings)
    secrets = WebhookSecrets(settings.master_secret)
    check_target = target_check(settings.webhook_allow_private)
    access = Access(store, clock)
    banks = QuestionBanks(store)
    webhooks = Webhooks(store, check_target, secrets)
    commands = AssessmentService(
        store,
        settings,
        clock,
        new_id,
        rng or random.SystemRandom(),
        access=access,
        banks=banks,
        webhooks=webhooks,
        deliveries=deliveries,
        check_target=check_target,
        personal=personal,
    )
    return Services(
        settings=settings,
        store=store,
        clock=clock,
        personal=personal,
        deliveries=deliveries,
        sent_emails=sent_emails,
        secrets=secrets,
        access=access,
        banks=banks,
        webhooks=webhooks,
        commands=commands,
        records=RecordQueries(store, personal, access, clock),
        read=ReadSide(store, personal),
        students=Students(store, personal, sent_emails, clock),
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
