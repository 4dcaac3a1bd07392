"""Portable SQL on the store's database: `?` placeholders on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
from typing import Any


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

    def many(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """Execute one statement for each row of parameters (pipelined on PostgreSQL)."""
        if rows:
            self.cursor.executemany(
                statement.replace("?", "%s") if self.postgres else statement, rows
            )

    def all(self, statement: str, *params: Any) -> list[Any]:
        """Every row of a query."""
        self.run(statement, *params)
        return list(self.cursor.fetchall())

    def one(self, statement: str, *params: Any) -> Any:
        """The first row of a query, or None."""
        self.run(statement, *params)
        return self.cursor.fetchone()


def dumps(value: Any) -> str:
    """A JSON column's text."""
    return json.dumps(value, separators=(",", ":"))
