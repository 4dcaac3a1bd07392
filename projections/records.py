"""The record view: one row per verification record, as GET /verifications shows it. It
holds personal data only sealed (the student's and the reviewer's contacts, as the events
hold them): a read reveals the reviewer's name through the PersonalData port."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.domain import AggregateEvent

from application.read_models import ERASED, Record, RecordReviewer, Shape
from application.store import EventStore
from domain.assessment import Assessment, record_status, record_verification_id
from domain.moments import iso
from domain.values import Attempt, Contact, Sealed, SkillOutcome
from infrastructure.database import transaction
from infrastructure.following import Batch
from infrastructure.sql import Sql, dumps, loads
from projections.model import PoisonEvent, ReadModel

COLUMNS = (
    *("id", "record_verification_id", "tenant", "mode", "student_id", "student", "status"),
    *("is_locked", "skills", "attempts", "created_at", "updated_at", "created_position"),
    *("position", "method", "reviewer"),
)


class ViewReviewer(Shape, frozen=True):
    """A record's reviewer as the view keeps them: their contact sealed, as the invitation
    (of that version) holds it."""

    contact: Sealed
    version: int
    company: str | None
    endorsement_type: str


class RecordView(ReadModel):
    """Status, lock, skills and attempts of each record, with its student and times."""

    name = "record_view"
    applies = (
        Assessment.VerificationStarted,
        Assessment.QuestionsGenerated,
        Assessment.Scored,
        Assessment.ReviewerInvited,
        Assessment.SkillsEndorsed,
        Assessment.Locked,
        Assessment.VerificationRevoked,
    )
    ignores = (
        Assessment.CredentialsIssued,
        Assessment.QuestionsPrepared,
        Assessment.AnswersSubmitted,
        Assessment.PersonalDataErased,
    )
    added_columns = (("method", "TEXT NOT NULL DEFAULT 'assessment'"), ("reviewer", "TEXT"))

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id TEXT PRIMARY KEY, record_verification_id TEXT NOT NULL, tenant TEXT NOT NULL,"
            " mode TEXT NOT NULL, student_id TEXT NOT NULL, student TEXT NOT NULL,"
            " status TEXT NOT NULL, is_locked INTEGER NOT NULL, skills TEXT NOT NULL,"
            " attempts TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " created_position BIGINT NOT NULL, position BIGINT NOT NULL,"
            + ", ".join(f" {name} {ddl}" for name, ddl in self.added_columns)
            + ")",
            f"CREATE INDEX IF NOT EXISTS {table}_by_tenant"
            f" ON {table} (tenant, mode, created_position)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_student"
            f" ON {table} (tenant, mode, student_id, created_position)",
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}"]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """Read the rows of the batch's records started before it, at once; fold the events
        into them; write them back with one upsert."""
        keys = {event.originator_id.hex for event, _ in events}
        earlier = keys - {  # records started before this batch
            e.originator_id.hex for e, _ in events if isinstance(e, Assessment.VerificationStarted)
        }
        rows: dict[str, dict[str, Any]] = {
            key: dict(row) for key, row in sql.by_id(table, earlier).items()
        }
        for event, position in events:
            self._fold(rows, event, position)
        sql.insert(
            table,
            COLUMNS,
            [tuple(row[column] for column in COLUMNS) for row in rows.values()],
            "ON CONFLICT (id) DO UPDATE SET"
            " status = excluded.status, is_locked = excluded.is_locked,"
            " skills = excluded.skills, attempts = excluded.attempts,"
            " updated_at = excluded.updated_at, position = excluded.position,"
            " reviewer = excluded.reviewer",
        )

    def _fold(self, rows: dict[str, dict[str, Any]], event: AggregateEvent, position: int) -> None:
        key = event.originator_id.hex
        at = iso(event.timestamp)
        if isinstance(event, Assessment.VerificationStarted):
            rows[key] = {
                "id": key,
                "record_verification_id": record_verification_id(event.mode, event.originator_id),
                "tenant": event.tenant,
                "mode": event.mode,
                "student_id": event.student.student_id,
                "student": dumps(event.student),
                "status": record_status(
                    event.method, locked=False, drawn=False, last_passed=None, reviewed=False
                ),
                "is_locked": 0,
                "skills": dumps([SkillOutcome.pending(skill) for skill in event.skills]),
                "attempts": "[]",
                "created_at": at,
                "updated_at": at,
                "created_position": position,
                "position": position,
                "method": event.method,
                "reviewer": None,
            }
            return
        row = rows.get(key)
        if row is None:
            raise PoisonEvent(f"{self.name} has no record {key}")
        row.update(updated_at=at, position=position)
        if isinstance(event, Assessment.QuestionsGenerated):
            row["status"] = status_of(row, drawn=True)
        elif isinstance(event, Assessment.Scored):
            row["attempts"] = dumps([*json.loads(row["attempts"]), event.attempt])
            row["skills"] = dumps(event.skills)
            row["status"] = status_of(row, drawn=False)
        elif isinstance(event, Assessment.ReviewerInvited):
            reviewer = event.reviewer
            row["reviewer"] = dumps(
                ViewReviewer(
                    reviewer.contact,
                    event.originator_version,
                    reviewer.company,
                    reviewer.endorsement_type,
                )
            )
            row["status"] = status_of(row, drawn=False)
        elif isinstance(event, Assessment.SkillsEndorsed | Assessment.VerificationRevoked):
            row["skills"] = dumps(event.skills)
        elif isinstance(event, Assessment.Locked):
            row["is_locked"] = 1
            row["status"] = status_of(row, drawn=False)
        elif not isinstance(event, self.ignores):
            raise PoisonEvent(f"{self.name} does not know {type(event).__name__}")


def status_of(row: dict[str, Any], *, drawn: bool) -> str:
    """A row's status by the record's one rule, once an event has changed it."""
    attempts = json.loads(row["attempts"])
    return record_status(
        row["method"],
        locked=bool(row["is_locked"]),
        drawn=drawn,
        last_passed=attempts[-1]["passed"] if attempts else None,
        reviewed=row["reviewer"] is not None,
    )


def reviewer_of(row: Any) -> ViewReviewer | None:
    """The reviewer a row of the record view keeps, if any."""
    return loads(row["reviewer"], ViewReviewer) if row["reviewer"] else None


def summary_of(row: Any, contact: Contact | None) -> Record:
    """A row of the record view as the API shows the record, with its reviewer's contact
    (None: erased, or no reviewer)."""
    reviewer = reviewer_of(row)
    return Record(
        record_verification_id=row["record_verification_id"],
        student_id=row["student_id"],
        status=row["status"],
        is_locked=bool(row["is_locked"]),
        skills=loads(row["skills"], list[SkillOutcome]),
        attempts=loads(row["attempts"], list[Attempt]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        method=row["method"],
        reviewer=RecordReviewer(
            ERASED if contact is None else contact.name,
            reviewer.company,
            reviewer.endorsement_type,
        )
        if reviewer
        else None,
    )


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
