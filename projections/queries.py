"""Reads of the views, for the API: records, a student's skills, and each view's lag."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from uuid import UUID

from application.ports import PersonalData, SealedContact
from application.store import EventStore
from domain.errors import InvalidInput
from infrastructure.database import transaction
from infrastructure.sql import bigint
from projections.records import reviewer_of, summary_of
from projections.runner import MODELS
from projections.skills import student_skill_of
from projections.views import View, count_after, current_generation

STATUSES = ("pending", "in_progress", "passed", "failed", "in_review", "completed")
MAX_PAGE = 100


def encode_cursor(position: int) -> str:
    """An opaque cursor: where the next page starts."""
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position an opaque cursor stands for."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("p"):
            return bigint(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("cursor: not a cursor this API gave out")


class ReadSide:
    """Queries of the record and skill views in the store's database."""

    def __init__(self, store: EventStore, personal: PersonalData) -> None:
        self.store = store
        self.personal = personal

    def _query(self, statement: str, *params: Any) -> list[Any]:
        with transaction(self.store, commit=False) as sql:
            return sql.all(statement, *params)

    def record(self, tenant: str, mode: str, record_verification_id: str) -> dict[str, Any] | None:
        """One record of the tenant, if the view has it."""
        rows = self._query(
            "SELECT * FROM record_view"
            " WHERE id = ? AND record_verification_id = ? AND tenant = ? AND mode = ?",
            record_verification_id[-32:],
            record_verification_id,
            tenant,
            mode,
        )
        return self._summaries(rows)[0] if rows else None

    def records(
        self,
        tenant: str,
        mode: str,
        student_id: str | None,
        status: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the tenant's records, newest first, and the cursor of the next page."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status: one of {', '.join(STATUSES)}")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit: 1 to {MAX_PAGE}")
        conditions: list[str] = ["tenant = ?", "mode = ?"]
        params: list[Any] = [tenant, mode]
        for column, value in (("student_id", student_id), ("status", status)):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        if cursor is not None:
            conditions.append("created_position < ?")
            params.append(decode_cursor(cursor))
        rows = self._query(
            f"SELECT * FROM record_view WHERE {' AND '.join(conditions)}"
            f" ORDER BY created_position DESC LIMIT {limit + 1}",
            *params,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return self._summaries(rows), (
            encode_cursor(rows[-1]["created_position"]) if more else None
        )

    def _summaries(self, rows: list[Any]) -> list[dict[str, Any]]:
        """Rows of the record view as the API shows them, their reviewers' names revealed
        (with one lookup of keys for the page)."""
        boxes = {}
        for at, row in enumerate(rows):
            if reviewer := reviewer_of(row):
                boxes[at] = SealedContact(reviewer.contact, UUID(row["id"]), reviewer.version)
        contacts = dict(zip(boxes, self.personal.reveal(list(boxes.values())), strict=True))
        return [summary_of(row, contacts.get(at)).plain() for at, row in enumerate(rows)]

    def skills(self, tenant: str, mode: str, student_id: str) -> list[dict[str, Any]]:
        """A student's skills across the tenant's records."""
        rows = self._query(
            "SELECT * FROM skill_view WHERE tenant = ? AND mode = ? AND student_id = ?"
            " ORDER BY skill_id",
            tenant,
            mode,
            student_id,
        )
        return [student_skill_of(row).plain() for row in rows]

    def status(self) -> dict[str, dict[str, int]]:
        """Each view's generation, position, lag (assessment events not yet applied) and
        dead letters (events set aside)."""
        report = {}
        for name, model in MODELS.items():
            with transaction(self.store, commit=False) as sql:
                generation = current_generation(sql, name) or 0
                view = View(self.store, model, generation, live=True)
                dead_letters = view.dead_letters.count(sql)
            view_position = view.position()
            report[name] = {
                "generation": generation,
                "position": view_position,
                "lag": count_after(self.store, view_position, model.topics),
                "deadLetters": dead_letters,
            }
        return report
