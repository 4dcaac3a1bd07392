"""What the use cases need from infrastructure, as interfaces; the composition root
(entrypoints/bootstrap.py) plugs in the implementations."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.results import Erased, SentEmail
from domain.questions import QuestionRequest, QuestionSet
from domain.values import Contact, Sealed


class DeliveryLog(Protocol):
    """The webhook delivery log: a tenant's deliveries, and sending one again."""

    def page(
        self, tenant: str, mode: str, endpoint_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """An endpoint's deliveries, newest first, and the cursor of the next page."""

    def redeliver(self, tenant: str, mode: str, delivery_id: str, now: float) -> dict[str, Any]:
        """Send a delivery again (same webhook-id)."""


class TargetCheck(Protocol):
    """Refuses a webhook target that may not be one (InvalidInput naming the field)."""

    def __call__(self, url: str, field: str) -> None:
        """Return if the URL may be a target; raise InvalidInput otherwise."""


class SecretSeal(Protocol):
    """Webhook signing secrets sealed for the store, and opened again."""

    def seal(self, secret: str, tenant: str, mode: str) -> str:
        """A secret as the store keeps it."""

    def open(self, stored: str, tenant: str, mode: str) -> str:
        """A secret as the store kept it, opened."""


class Target(NamedTuple):
    """Where one event is delivered, and the secret that signs it (sealed, as stored: the
    delivery worker opens it to sign)."""

    endpoint_id: str
    url: str
    secret: str


class Behind(Exception):
    """A view a consumer reads has not yet applied what a message needs: the message is
    tried again later (the projector catches up)."""


class WebhookTargets(Protocol):
    """Tenants' webhook endpoints and callback secrets as a view of their events keeps
    them (the webhook consumer's read: never the aggregate)."""

    def targets(
        self,
        tenant: str,
        mode: str,
        event_type: str,
        callback_url: str | None,
        position: int | None,
    ) -> list[Target]:
        """Where an event of a tenant's record goes, as the tenant's endpoints stood when it
        was stored at `position` (None: now) or later: the endpoints that want its type, and
        the record's callback URL (with the callback secret) if it has one. Behind while the
        view has not applied every registration up to there."""


class Contacts(Protocol):
    """The contacts records' events hold, as a view keeps them (sealed), revealed."""

    def contact(self, record: UUID, version: int) -> Contact | None:
        """The contact the record's event of this version holds (version 1: the student's;
        an invitation's: the reviewer's), None once erased; Behind while the view has not
        applied that event."""

    def reviewer(self, record: UUID, invitation: int) -> Contact | None:
        """The contact of the reviewer the record's nth invitation named (None once
        erased); Behind while the view has not applied that invitation."""

    def asked_by(self, record: UUID, version: int) -> str | None:
        """The tenant's name the invitation of this version gave the reviewer (None if it
        gave none); Behind while the view has not applied it."""


class SealedContact(NamedTuple):
    """A sealed contact and where it is stored: the record and its event's version."""

    sealed: Sealed
    record: UUID
    version: int


class PersonalData(Protocol):
    """Personal data sealed under a key per data subject (a student within a tenant and
    mode): sealing it, revealing it (None once erased), and erasing a subject for good."""

    def seal_student(
        self, tenant: str, mode: str, student_id: str, contact: Contact, record: UUID
    ) -> Sealed:
        """A student's contact sealed for a new record's first event, under the student's
        current data subject (a new one if none is current: never an erased one)."""

    def seal(self, subject: str, contact: Contact, record: UUID, version: int) -> Sealed:
        """A contact sealed under a subject's key for a record's event of this version
        (PersonalDataGone if the subject was erased)."""

    def pseudonym(self, subject: str) -> UUID | None:
        """The subject's pseudonymous id in credentials (None once erased)."""

    def reveal(self, boxes: Sequence[SealedContact]) -> list[Contact | None]:
        """Each contact opened, or None where its subject was erased."""

    def records(self, tenant: str, mode: str, student_id: str) -> list[tuple[str, UUID]]:
        """(subject, record) of every record sealed for the student, erased or not."""

    def erased(self, subject: str) -> bool:
        """Whether the subject was erased, once an erasure of it in progress has ended."""

    def current_subject(self, tenant: str, mode: str, student_id: str) -> str | None:
        """The student's data subject that is not erased, if there is one."""

    def last_erasure(self, tenant: str, mode: str, student_id: str) -> Erased | None:
        """The answer of the student's latest erasure, if there was one."""

    def erase(
        self,
        tenant: str,
        mode: str,
        student_id: str,
        subject: str | None,
        records: Sequence[Aggregate],
        at: datetime,
        *,
        seen: Collection[UUID],
    ) -> Erased:
        """In one transaction: save the records' new events (PersonalDataErased), delete the
        subject's key and remember the erasure (`seen`: the subject's records the caller
        found, their number the answer's); then scrub the freed bytes from the store's
        files. IntegrityError if a record changed, or a record of the subject was saved,
        meanwhile."""


class SentEmails(Protocol):
    """The log of sent emails, by the id of the event each was sent for."""

    def sent(self, event_ids: Collection[str]) -> dict[str, SentEmail]:
        """The emails sent for these events, by event id."""

    def forget(self, event_ids: Collection[str]) -> None:
        """Remove the copies of these events' emails the service keeps (the outbox)."""


class LoopEvents(Protocol):
    """The event store read and written from the event loop, for decisions made there
    (AssessmentService.execute_on_loop)."""

    async def load(self, ids: Collection[UUID]) -> Mapping[UUID, Aggregate | None]:
        """Each id with its aggregate as its events fold to it now, or None: one round trip."""

    async def save(self, *aggregates: Aggregate) -> None:
        """Append the aggregates' pending events atomically (IntegrityError if another
        command took one of their versions first)."""

    async def seal_student(
        self, tenant: str, mode: str, student_id: str, contact: Contact, record: UUID
    ) -> Sealed:
        """PersonalData.seal_student, from the event loop."""

    async def erased(self, subject: str) -> bool:
        """PersonalData.erased, from the event loop."""


class CredentialSigner(Protocol):
    """The issuer of credentials: its did, its name, and its signature."""

    id: str
    name: str

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of the claims (which name their issuer as `iss`), under the current key."""


class CredentialLookup(Protocol):
    """The credential view: where credentials were issued, and what is revoked."""

    def record_of(self, credential_id: UUID) -> UUID | None:
        """The record a credential was issued on, if the view has it."""

    def revoked(self, status_list: int) -> tuple[list[int], datetime] | None:
        """The revoked places of a status list and when it last changed, once the view has
        every event stored before the call (None: no credential has a place on it)."""


class QuestionGenerator(Protocol):
    """What makes an attempt's question set (infrastructure/ranking.py: `bank`;
    infrastructure/llm.py: `llm`)."""

    @property
    def name(self) -> str:
        """What a set records it was made by: `bank`, or `llm:<model>`."""

    def make(self, request: QuestionRequest) -> QuestionSet:
        """The set asked for, each question checked; what failed comes from the banks."""
