"""Dead letters: stored events a view could not apply, set aside so the view goes on.

An event that fails is set aside with the reason, and so is every later event of its
record (applying them without it would make a wrong row); other records flow on. The list
lives beside the view's tables, in the same generation, and is written in the transaction
that advances the view's position, so an event is either applied or set aside, once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infrastructure.sql import Sql

MAX_ERROR = 500
BLOCKED_BY_EARLIER = "an earlier event of this record is set aside"


@dataclass(frozen=True)
class DeadLetter:
    """An event set aside by a view: where it is in the log, its record, type and why."""

    notification_id: int
    record_id: str
    event_type: str
    version: int
    error: str


class DeadLetters:
    """The dead-letter list of one generation of a view (table `<view table>_dead_letters`)."""

    def __init__(self, view_table: str) -> None:
        self.table = f"{view_table}_dead_letters"
        self.create_statement = (
            f"CREATE TABLE IF NOT EXISTS {self.table} (notification_id BIGINT PRIMARY KEY,"
            " record_id TEXT NOT NULL, event_type TEXT NOT NULL, version INTEGER NOT NULL,"
            " error TEXT NOT NULL)"
        )
        self.drop_statement = f"DROP TABLE IF EXISTS {self.table}"

    def records(self, sql: Sql) -> set[str]:
        """The records that have an event set aside (their later events wait too)."""
        return {row["record_id"] for row in sql.all(f"SELECT DISTINCT record_id FROM {self.table}")}

    def set_aside(self, sql: Sql, letter: DeadLetter) -> None:
        """Add an event to the list, or give its new reason if it is there."""
        sql.run(
            f"INSERT INTO {self.table} VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (notification_id) DO UPDATE SET error = excluded.error",
            letter.notification_id,
            letter.record_id,
            letter.event_type,
            letter.version,
            letter.error[:MAX_ERROR],
        )

    def remove(self, sql: Sql, notification_id: int) -> None:
        """Take an event off the list: it has now been applied."""
        sql.run(f"DELETE FROM {self.table} WHERE notification_id = ?", notification_id)

    def listed(self, sql: Sql) -> list[DeadLetter]:
        """Every event on the list, in log order."""
        rows = sql.all(f"SELECT * FROM {self.table} ORDER BY notification_id")
        return [DeadLetter(**_fields(row)) for row in rows]

    def count(self, sql: Sql) -> int:
        """How many events are on the list."""
        return int(sql.one(f"SELECT COUNT(*) AS n FROM {self.table}")["n"])


def _fields(row: Any) -> dict[str, Any]:
    return {
        "notification_id": int(row["notification_id"]),
        "record_id": row["record_id"],
        "event_type": row["event_type"],
        "version": int(row["version"]),
        "error": row["error"],
    }
