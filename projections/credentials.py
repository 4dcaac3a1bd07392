"""The credential view: one row per issued credential, with its record, its place on a
status list and, once revoked (by the tenant, or by the student's erasure), when and why.
A status list is read from it: its bits follow from the events alone, so a rebuild gives
the same bytes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from application.store import EventStore
from domain.assessment import Assessment
from domain.moments import iso
from infrastructure.database import transaction
from infrastructure.following import Batch
from infrastructure.sql import Sql
from projections.model import ReadModel
from projections.views import Applied

COLUMNS = (
    *("id", "record_id", "skill_id", "status_list", "status_index", "issued_at"),
    *("revoked_at", "position"),
)


class CredentialView(ReadModel):
    """Issued credentials and their revocations."""

    name = "credential_view"
    applies = (
        Assessment.CredentialsIssued,
        Assessment.VerificationRevoked,
        Assessment.PersonalDataErased,
    )
    ignores = ()
    topics = tuple(get_topic(event) for event in applies)  # it follows these only

    def create_statements(self, table: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            " id TEXT PRIMARY KEY, record_id TEXT NOT NULL, skill_id TEXT NOT NULL,"
            " status_list INTEGER NOT NULL, status_index INTEGER NOT NULL,"
            " issued_at TEXT NOT NULL, revoked_at TEXT, position BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_record ON {table} (record_id)",
            f"CREATE INDEX IF NOT EXISTS {table}_by_list ON {table} (status_list, revoked_at)",
        ]

    def drop_statements(self, table: str) -> list[str]:
        return [f"DROP TABLE IF EXISTS {table}"]

    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """Issued credentials are inserted; a revocation or an erasure marks its record's
        (once: the first revocation's time stays)."""
        for event, position in events:
            record = event.originator_id.hex
            if isinstance(event, Assessment.CredentialsIssued):
                sql.insert(
                    table,
                    COLUMNS,
                    [
                        (
                            *(str(one.credential_id), record, one.skill_id, one.status_list),
                            *(one.status_index, iso(event.timestamp), None, position),
                        )
                        for one in event.credentials
                    ],
                    "ON CONFLICT (id) DO NOTHING",
                )
            else:
                sql.run(
                    f"UPDATE {table} SET revoked_at = ?, position = ?"
                    " WHERE record_id = ? AND revoked_at IS NULL",
                    *(iso(event.timestamp), position, record),
                )


class CredentialIndex:
    """Reads of the credential view: which record holds a credential, and which places of
    a status list are revoked."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.applied = Applied(store, CredentialView(), patience=1.0)

    def record_of(self, credential_id: UUID) -> UUID | None:
        """The record a credential was issued on, if the view has it once it has applied
        every event stored before the call (a credential just issued, whose link its
        student may open at once); Behind if it has not within a second."""
        found = self._record_of(credential_id)
        if found is None:
            self.applied.wait_for()
            found = self._record_of(credential_id)
        return found

    def _record_of(self, credential_id: UUID) -> UUID | None:
        with transaction(self.store, commit=False) as sql:
            row = sql.one("SELECT record_id FROM credential_view WHERE id = ?", str(credential_id))
        return UUID(row["record_id"]) if row else None

    def revoked(self, status_list: int) -> tuple[list[int], datetime] | None:
        """The revoked places of a status list, and when it last changed (an issue or a
        revocation on it), once the view has applied every event stored before the call
        (None: no credential has a place on it); Behind if it has not within a second."""
        self.applied.wait_for()
        with transaction(self.store, commit=False) as sql:
            changed = sql.one(
                "SELECT MAX(issued_at) AS issued, MAX(revoked_at) AS revoked"
                " FROM credential_view WHERE status_list = ?",
                status_list,
            )
            if changed is None or changed["issued"] is None:
                return None
            rows = sql.all(
                "SELECT status_index FROM credential_view"
                " WHERE status_list = ? AND revoked_at IS NOT NULL",
                status_list,
            )
        last = max(changed["issued"], changed["revoked"] or "")  # ISO-8601 text sorts
        return [row["status_index"] for row in rows], datetime.fromisoformat(last)
