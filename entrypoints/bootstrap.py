"""The composition root: `bootstrap(settings)` builds every collaborator of a process once,
from settings; the HTTP app, each command of the command line and each downstream process
take what they need from the `Services` it returns. `migrate` creates the tables beside the
events in one explicit step (constructors create nothing)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from litestar import Litestar

from api.app import create_app
from application.access import Access, credential_key
from application.banks import QuestionBanks
from application.credential_reads import CredentialReads
from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from application.issuing import ISSUER, CredentialIssuer
from application.issuing import TRIGGERS as LOCKS
from application.ports import QuestionGenerator
from application.preparation import PREPARER, TRIGGERS, Preparer, wants_a_set
from application.queries import RecordQueries
from application.questions import QuestionSets
from application.service import AssessmentService
from application.settings import Settings
from application.store import EventStore
from application.students import Students
from application.webhooks import Webhooks
from consumers.delivery import DeliveryWorker
from consumers.emails import Emails
from consumers.fanout import Fanout
from consumers.known_records import KnownRecords
from consumers.policies import act_on_records
from consumers.processes import EMBEDDED_FANOUT, Embedded
from consumers.relay import RELAY, Relay
from consumers.sent import SentLog
from entrypoints.migrations import open_migrated
from infrastructure.auditlog import AuditLog
from infrastructure.credential_keys import Issuer
from infrastructure.database import is_postgres
from infrastructure.deliveries import Deliveries
from infrastructure.following import Tracker
from infrastructure.llm import LlmGenerator
from infrastructure.mailer import Mailer
from infrastructure.progress import ProgressLog
from infrastructure.ranking import BankGenerator
from infrastructure.sealing import WebhookSecrets
from infrastructure.subjects import DataSubjects
from infrastructure.targets import target_check
from projections.audit import AUDIT_FOLLOWER, AuditFollower
from projections.contacts import Contacts
from projections.credentials import CredentialIndex
from projections.followers import Followers, LogFollower
from projections.queries import ReadSide
from projections.webhook_targets import WebhookTargets


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
    targets: WebhookTargets
    contacts: Contacts
    followers: Followers
    progress: ProgressLog
    issuer: Issuer
    credentials: CredentialReads
    rng: random.Random

    def app(self) -> Litestar:
        """The HTTP app over these services."""
        return create_app(self)

    def fanout(self) -> Fanout:
        """The webhook consumer: each public event to its queued deliveries."""
        return Fanout(KnownRecords(self.store), self.targets, self.deliveries)

    def emails(self) -> Emails:
        """The email consumer: results, invitations and confirmations."""
        known = KnownRecords(self.store)
        mailer = Mailer(self.settings)
        return Emails(self.sent_emails, self.settings, self.contacts, known, mailer)

    def sender(self) -> DeliveryWorker:
        """The webhook sender: due deliveries out of the log."""
        return DeliveryWorker(self.deliveries, self.settings, self.secrets)

    def relay(self) -> Relay:
        """The Kafka relay of the store's public events."""
        return Relay(self.store, self.settings, Tracker(self.store, RELAY))

    def audit_follower(self, timer: Callable[[], float] = time.monotonic) -> AuditFollower:
        """The audit log's follower: it appends every stored event and signs checkpoints."""
        log, tracker = AuditLog(self.store), Tracker(self.store, AUDIT_FOLLOWER)
        return AuditFollower(self.store, self.settings, log, tracker, timer=timer)

    def preparer(self) -> Preparer:
        """The question preparer: the next attempt's set, made ahead of its generate."""
        return Preparer(self.store, self.commands.questions, self.clock)

    def prepare_ahead(self, stopping: threading.Event) -> None:
        """Prepare each next attempt's set as the store's events call for it, until stopped."""
        prepare = self.preparer().prepare
        tracker = Tracker(self.store, PREPARER)
        act_on_records(self.store, TRIGGERS, wants_a_set, prepare, tracker, stopping)

    def credential_issuer(self) -> CredentialIssuer:
        """The credential issuer: each verified skill's credential, once its record locks."""
        id_key = credential_key(self.settings.master_secret())
        return CredentialIssuer(
            self.store, self.issuer, self.settings.public_url, id_key, self.clock, self.rng
        )

    def issue_credentials(self, stopping: threading.Event) -> None:
        """Issue each locked record's credentials as the store's locks call for it."""
        issue, tracker = self.credential_issuer().issue, Tracker(self.store, ISSUER)
        act_on_records(self.store, LOCKS, lambda _: True, issue, tracker, stopping)

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
    progress = ProgressLog(store)
    personal = DataSubjects(store, settings)
    read = ReadSide(store, personal)
    deliveries = Deliveries(store)
    sent_emails = SentLog(store, settings)
    secrets = WebhookSecrets(settings.master_secret)
    check_target = target_check(settings.webhook_allow_private)
    access = Access(store, clock)
    banks = QuestionBanks(store)
    webhooks = Webhooks(store, check_target, secrets)
    rng = rng or random.SystemRandom()
    issuer = Issuer(settings.public_url, settings.issuer_name, settings.credential_key_path)
    questions = QuestionSets(banks, personal, settings, rng, generator(settings), BankGenerator())
    commands = AssessmentService(
        store,
        settings,
        clock,
        new_id,
        rng,
        access=access,
        banks=banks,
        webhooks=webhooks,
        deliveries=deliveries,
        check_target=check_target,
        personal=personal,
        questions=questions,
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
        read=read,
        students=Students(store, personal, sent_emails, clock),
        targets=WebhookTargets(store),
        contacts=Contacts(store, personal),
        followers=log_followers(store, read, progress),
        progress=progress,
        issuer=issuer,
        credentials=CredentialReads(
            store, personal, issuer, CredentialIndex(store), settings.public_url
        ),
        rng=rng,
    )


def generator(settings: Settings) -> QuestionGenerator:
    """The question generator the settings name."""
    if settings.question_generator == "llm":
        return LlmGenerator(settings, BankGenerator())
    return BankGenerator()


def log_followers(store: EventStore, read: ReadSide, progress: ProgressLog) -> Followers:
    """The followers /ready reports beside the views: production (PostgreSQL) runs the relay,
    the embedded default its fan-out; both run the audit log's follower, the question
    preparer and the credential issuer."""
    downstream = RELAY if is_postgres(store) else EMBEDDED_FANOUT
    followers = [
        LogFollower(RELAY, ASSESSMENT_TOPICS),
        LogFollower(EMBEDDED_FANOUT, ASSESSMENT_TOPICS),
        LogFollower(AUDIT_FOLLOWER, None),
        LogFollower(PREPARER, TRIGGERS),
        LogFollower(ISSUER, LOCKS),
    ]
    expected = {downstream, AUDIT_FOLLOWER, PREPARER, ISSUER}
    return Followers(store, read, followers, expected, progress)
