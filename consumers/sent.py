"""The log of sent emails: which event each was sent for, its subject line and when. It
dedupes the email consumer (never two emails for one event) and tells a student's export
which emails went; it holds no address and no name."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC
from email.utils import parsedate_to_datetime

from application.results import SentEmail
from application.settings import Settings
from application.store import EventStore
from domain.moments import iso
from infrastructure.database import columns, transaction
from infrastructure.sql import marks

SENT = "result_emails"
SENT_EMAILS = [
    f"CREATE TABLE IF NOT EXISTS {SENT} ("
    " event_id TEXT PRIMARY KEY, subject TEXT, sent_at TEXT NOT NULL)"
]


class SentLog:
    """The log of sent emails as the application reads it (the SentEmails port)."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self.store = store
        self.outbox = None if settings.smtp_url else settings.outbox

    def sent(self, event_ids: Collection[str]) -> dict[str, SentEmail]:
        """The emails sent for these events, by event id."""
        with transaction(self.store, commit=False) as sql:
            rows = (
                sql.all(
                    f"SELECT * FROM {SENT} WHERE event_id IN ({marks(len(event_ids))})", *event_ids
                )
                if event_ids
                else []
            )
        return {
            row["event_id"]: SentEmail(
                row["subject"], iso(parsedate_to_datetime(row["sent_at"]).astimezone(UTC))
            )
            for row in rows
        }

    def was_sent(self, event_id: str) -> bool:
        """Whether the email of this event was sent."""
        with transaction(self.store, commit=False) as sql:
            return sql.one(f"SELECT 1 AS sent FROM {SENT} WHERE event_id = ?", event_id) is not None

    def add(self, event_id: str, subject: str, sent_at: str) -> None:
        """Remember that the email of this event was sent (once: a second add changes nothing)."""
        with transaction(self.store) as sql:
            sql.run(
                f"INSERT INTO {SENT} VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                event_id,
                subject,
                sent_at,
            )

    def forget(self, event_ids: Collection[str]) -> None:
        """Remove these events' emails from the outbox folder (no SMTP server: the outbox
        stands for the mail sent, in the data folder the service keeps)."""
        if self.outbox is None:
            return
        for event_id in event_ids:
            (self.outbox / f"{event_id}.eml").unlink(missing_ok=True)


def without_recipients(store: EventStore) -> bool:
    """Make the sent log again without the addresses it kept before (keeping what was sent
    when, by event id); tell if it did."""
    with transaction(store) as sql:
        if "recipient" not in columns(sql, SENT):
            return False
        sql.run(f"ALTER TABLE {SENT} RENAME TO {SENT}_with_recipients")
        sql.run(SENT_EMAILS[0])
        sql.run(f"INSERT INTO {SENT} SELECT event_id, NULL, sent_at FROM {SENT}_with_recipients")
        sql.run(f"DROP TABLE {SENT}_with_recipients")
    return True
