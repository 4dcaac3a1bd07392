"""The contact view: the sealed contact each record's events hold (the student's in its
first event, each reviewer's in their invitation), for the email consumer. It holds them
only sealed; once a data subject is erased, nothing opens them."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from application.ports import Behind, PersonalData, SealedContact
from application.store import EventStore
from domain.assessment import Assessment
from domain.values import Contact, Reviewer, Sealed, Student
from infrastructure.database import transaction
from infrastructure.following import Batch
from infrastructure.sql import Sql, dumps, loads
from projections.model import ReadModel

COLUMNS = ("id", "version", "contact", "invitation", "asked_by")


class ContactView(ReadModel):
    """One row per event that holds a contact: record, version, the sealed contact, and for
    an invitation its number and the name of the tenant that asked."""

    name = "contact_view"
    applies = (Assessment.VerificationStarted, Assessment.ReviewerInvited)
    ignores = (
        Assessment.QuestionsPrepared,
        Assessment.QuestionsGenerated,
        Assessment.AnswersSubmitted,
        Assessment.Scored,
        Assessment.Locked,
        Assessment.SkillsEndorsed,
        Assessment.PersonalDataErased,
        Assessment.CredentialsIssued,
        Assessment.VerificationRevoked,
    )

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id TEXT NOT NULL, version BIGINT NOT NULL, contact TEXT NOT NULL,"
            " invitation INTEGER, asked_by TEXT, PRIMARY KEY (id, version))"
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}"]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """One insert of the batch's contacts."""
        rows = [
            (
                event.originator_id.hex,
                event.originator_version,
                dumps(person.contact),
                *(
                    (event.invitation, event.asked_by)
                    if isinstance(event, Assessment.ReviewerInvited)
                    else (None, None)
                ),
            )
            for event, _ in events
            if (person := _person(event)) is not None
        ]
        sql.insert(table, COLUMNS, rows, "ON CONFLICT (id, version) DO NOTHING")


def _person(event: object) -> Student | Reviewer | None:
    if isinstance(event, Assessment.VerificationStarted):
        return event.student
    if isinstance(event, Assessment.ReviewerInvited):
        return event.reviewer
    return None


class Contacts:
    """Records' contacts from the view, revealed through the PersonalData port."""

    def __init__(self, store: EventStore, personal: PersonalData, patience: float = 2.0) -> None:
        self.store = store
        self.personal = personal
        self.patience = patience

    def contact(self, record: UUID, version: int) -> Contact | None:
        """The contact the record's event of this version holds, None once erased; Behind
        if the view has not applied that event within the patience."""
        return self._revealed(record, "version", version, f"v{version}")

    def reviewer(self, record: UUID, invitation: int) -> Contact | None:
        """The contact of the reviewer the record's nth invitation named, None once erased;
        Behind if the view has not applied that invitation within the patience."""
        return self._revealed(record, "invitation", invitation, f"invitation {invitation}")

    def asked_by(self, record: UUID, version: int) -> str | None:
        """The tenant's name an invitation of this version gave the reviewer (None: the
        invitation was made before invitations named it)."""
        row = self._waited(record, "version", version, f"v{version}")
        return str(row["asked_by"]) if row["asked_by"] else None

    def _revealed(self, record: UUID, column: str, value: int, what: str) -> Contact | None:
        row = self._waited(record, column, value, what)
        sealed = loads(row["contact"], Sealed)
        return self.personal.reveal([SealedContact(sealed, record, row["version"])])[0]

    def _waited(self, record: UUID, column: str, value: int, what: str) -> Any:
        deadline = time.monotonic() + self.patience
        while (row := self._row(record, column, value)) is None:
            if time.monotonic() > deadline:
                raise Behind(f"{ContactView.name} has no {what} of {record} yet")
            time.sleep(0.02)
        return row

    def _row(self, record: UUID, column: str, value: int) -> Any:
        with transaction(self.store, commit=False) as sql:
            return sql.one(
                f"SELECT version, contact, asked_by FROM {ContactView.name}"
                f" WHERE id = ? AND {column} = ?",
                record.hex,
                value,
            )
