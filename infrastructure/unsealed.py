"""Events stored before personal data was sealed held a student's and a reviewer's name and
email in clear (and an invitation's idempotent answer the reviewer's email). `migrate`
seals them in place, before any follower reads the log: the same rows, notification ids
and versions, their state as the event re-encodes today (VerificationStarted version 3,
ReviewerInvited version 2, which an event in clear can never be read as). It follows the
log from the position it reached last time, so a migration reads only what is new."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.store import EventStore
from domain.access import IdempotentResponse
from domain.assessment import Assessment
from domain.values import Contact, Sealed
from infrastructure.database import create_tables, reason, transaction
from infrastructure.sql import Sql
from infrastructure.subjects import DataSubjects

log = logging.getLogger("assess.personal")

STARTED, INVITED, ANSWERED = (
    get_topic(Assessment.VerificationStarted),
    get_topic(Assessment.ReviewerInvited),
    get_topic(IdempotentResponse.Recorded),
)
MARK = "personal_data_sealed"
CREATE_MARK = f"CREATE TABLE IF NOT EXISTS {MARK} (id INTEGER PRIMARY KEY, position BIGINT)"
LOG, VIEWS = 1, 2  # its rows: how far the log is sealed; whether the views were checked


def seal_stored(store: EventStore, subjects: DataSubjects, batch: int = 500) -> int:
    """Seal what the log holds in clear after the last position sealed; how many events
    were rewritten."""
    position, rewritten = reached(store, LOG) or 0, 0
    topics = [STARTED, INVITED, ANSWERED]
    while notifications := store.recorder.select_notifications(
        start=position + 1, limit=batch, topics=topics
    ):
        for notification in notifications:
            try:
                state = store.mapper.transcoder.decode(notification.state)
                changed = _sealed(store, subjects, notification, state)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                # Left to the followers, which set an event that does not decode aside.
                log.error("cannot seal notification %s: %s", notification.id, reason(error))
                continue
            if changed:
                _rewrite(store, notification, state)
                rewritten += 1
        position = notifications[-1].id
        mark(store, LOG, position)
    return rewritten


def reached(store: EventStore, step: int) -> int | None:
    """Where a step of the sealing got to (None: not yet)."""
    create_tables(store, [CREATE_MARK])
    with transaction(store, commit=False) as sql:
        row = sql.one(f"SELECT position FROM {MARK} WHERE id = ?", step)
    return None if row is None else int(row["position"])


def mark(store: EventStore, step: int, position: int = 0) -> None:
    """Remember where a step of the sealing got to."""
    with transaction(store) as sql:
        sql.run(
            f"INSERT INTO {MARK} VALUES (?, ?) ON CONFLICT (id) DO UPDATE"
            " SET position = excluded.position",
            step,
            position,
        )


def _sealed(
    store: EventStore, subjects: DataSubjects, notification: Notification, state: dict[str, Any]
) -> bool:
    """Seal an event's state in place if it holds personal data in clear; tell if it did."""
    record: UUID = notification.originator_id  # type: ignore[assignment]
    if notification.topic == ANSWERED:
        return state["result"].pop("reviewerEmail", None) is not None
    if notification.topic == STARTED:
        student = state["student"]
        if "contact" in student:
            return False
        if state.get("class_version", 1) < 2:
            Assessment.VerificationStarted.upcast_v1_v2(state)
        contact = Contact(student["name"], student["email"])
        sealed = subjects.seal_student(
            state["tenant"], state["mode"], student["studentId"], contact, record
        )
        state["student"] = {"studentId": student["studentId"], "contact": _plain(sealed)}
        _versioned(state, 3)
        return True
    reviewer = state["reviewer"]
    if "contact" in reviewer:
        return False
    [started] = store.repository.event_store.get(record, lte=1)
    assert isinstance(started, Assessment.VerificationStarted)
    contact = Contact(reviewer["name"], reviewer["email"])
    version = notification.originator_version
    sealed = subjects.seal(started.student.contact.subject, contact, record, version)
    state["reviewer"] = {
        "contact": _plain(sealed),
        "company": reviewer["company"],
        "endorsementType": reviewer["endorsementType"],
    }
    _versioned(state, 2)
    return True


def _plain(sealed: Sealed) -> dict[str, str]:
    return {"subject": sealed.subject, "box": sealed.box}


def _versioned(state: dict[str, Any], class_version: int) -> None:
    """The class version last, where the library's mapper writes it."""
    state.pop("class_version", None)
    state["class_version"] = class_version


def _rewrite(store: EventStore, notification: Notification, state: dict[str, Any]) -> None:
    recorder: Any = store.recorder
    with transaction(store) as sql:
        _update(
            sql, recorder.events_table_name, notification, store.mapper.transcoder.encode(state)
        )


def _update(sql: Sql, table: str, notification: Notification, state: bytes) -> None:
    record: UUID = notification.originator_id  # type: ignore[assignment]
    sql.run(
        f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        state,
        record if sql.postgres else record.hex,
        notification.originator_version,
    )
