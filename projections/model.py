"""What every read model is: tables, and how each assessment event changes their rows."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from eventsourcing.domain import AggregateEvent

from application.public import ASSESSMENT_TOPICS


class PoisonEvent(Exception):
    """An event this read model cannot apply: the view stops rather than skip it."""


class Sql:
    """A cursor of either backend, taking `?` placeholders and JSON columns as text."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        # The library wraps sqlite3's cursor; the wrapper hides rowcount.
        self.cursor = getattr(cursor, "sqlite_cursor", cursor)
        self.postgres = postgres

    def run(self, statement: str, *params: Any) -> int:
        """Execute one statement; return the number of rows it changed."""
        self.cursor.execute(statement.replace("?", "%s") if self.postgres else statement, params)
        return int(self.cursor.rowcount)

    def one(self, statement: str, *params: Any) -> Any:
        """The first row of a query, or None."""
        self.run(statement, *params)
        return self.cursor.fetchone()


def dumps(value: Any) -> str:
    """A JSON column's text."""
    return json.dumps(value, separators=(",", ":"))


class ReadModel(ABC):
    """A read model of the assessments, built by folding their events into rows."""

    name: str
    topics = ASSESSMENT_TOPICS

    @abstractmethod
    def create_statements(self, table: str) -> list[str]:
        """DDL of the model's tables, all named after `table` (portable SQL)."""

    @abstractmethod
    def drop_statements(self, table: str) -> list[str]:
        """DDL that removes the model's tables."""

    @abstractmethod
    def apply(self, sql: Sql, table: str, event: AggregateEvent, position: int) -> None:
        """Change the rows for one event; raise PoisonEvent if it cannot be applied."""
