"""What the consumers know of each record, learnt from its first message on the topic
(VerificationStarted: tenant, mode, student id, callback URL), so that they never read the
write model. The topic keeps each record's messages in order, so a record's later events
always find it here. It holds no personal data: an email's address and names come through
the PersonalData port when it is sent (consumers/emails.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from application.store import EventStore
from infrastructure.database import columns, transaction

log = logging.getLogger("assess.consumers")

TABLE = "downstream_records"
DOWNSTREAM_RECORDS = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " record_verification_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
    " student_id TEXT NOT NULL, callback_url TEXT, skill_names TEXT NOT NULL)"
]
COLUMNS = ("tenant", "mode", "student_id", "callback_url")
ALL_COLUMNS = (*COLUMNS, "skill_names")


@dataclass(frozen=True)
class RecordFacts:
    """A record's facts that its webhooks and emails need."""

    tenant: str
    mode: str
    student_id: str
    callback_url: str | None
    skill_names: list[str]


class KnownRecords:
    """The records the consumers have seen start (one table shared by every consumer:
    what each writes is the same)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def learn(self, *messages: dict[str, Any]) -> None:
        """Keep the facts of the records these VerificationStarted messages start (other
        messages, and records already known, change nothing)."""
        rows = [_row(message) for message in messages if message["type"] == "VerificationStarted"]
        if rows:
            with transaction(self.store) as sql:
                sql.insert(
                    TABLE,
                    ("record_verification_id", *ALL_COLUMNS),
                    rows,
                    "ON CONFLICT (record_verification_id) DO NOTHING",
                )

    def facts(self, message: dict[str, Any]) -> RecordFacts:
        """The facts of the record a message is about (LookupError if it never started
        here: its first message is past the topic's retention)."""
        record_id = message["recordVerificationId"]
        with transaction(self.store, commit=False) as sql:
            row = sql.one(
                f"SELECT {', '.join(ALL_COLUMNS)} FROM {TABLE} WHERE record_verification_id = ?",
                record_id,
            )
        if row is None:
            raise LookupError(f"no record {record_id} started on the topic")
        facts = {column: row[column] for column in COLUMNS}
        return RecordFacts(**facts, skill_names=json.loads(row["skill_names"]))


def _row(message: dict[str, Any]) -> tuple[str | None, ...]:
    data = message["data"]
    student = data["student"]
    return (
        *(message["recordVerificationId"], data["tenant"], data["mode"]),
        *(student["studentId"], data["callbackWebhookUrl"]),
        json.dumps([skill["name"] for skill in data["skills"]]),
    )


def without_personal_data(store: EventStore) -> bool:
    """Drop the table if it was made when it held students' names and emails (migrate
    makes it again and learns the records anew); tell if it was."""
    with transaction(store) as sql:
        if "student_email" not in columns(sql, TABLE):
            return False
        sql.run(f"DROP TABLE {TABLE}")
    return True
