"""Portable SQL on the store's database: `?` placeholders on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


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

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], then: str = ""
    ) -> None:
        """`INSERT INTO {table} AS t (columns) VALUES row {then}` for many rows at once: on
        PostgreSQL one statement whose one parameter is the rows as JSON, typed by the
        table's own row type; on SQLite one prepared statement run per row. An ON CONFLICT
        DO UPDATE may not meet one key twice in a statement: give one row per key."""
        if not rows:
            return
        names = ", ".join(columns)
        if self.postgres:
            self.run(
                f"INSERT INTO {table} AS t ({names}) SELECT {names}"
                f" FROM json_populate_recordset(NULL::{table}, ?) {then}",
                msgspec.json.encode(
                    [dict(zip(columns, row, strict=True)) for row in rows]
                ).decode(),
            )
        else:
            self.cursor.executemany(
                f"INSERT INTO {table} AS t ({names}) VALUES ({marks(len(columns))}) {then}", rows
            )

    def by_id(self, table: str, ids: Collection[str]) -> dict[str, Any]:
        """The rows of a table with these ids (its column `id`), by id."""
        if not ids:
            return {}
        rows = self.all(f"SELECT * FROM {table} WHERE id IN ({marks(len(ids))})", *ids)
        return {row["id"]: row for row in rows}

    def all(self, statement: str, *params: Any) -> list[Any]:
        """Every row of a query."""
        self.run(statement, *params)
        return list(self.cursor.fetchall())

    def one(self, statement: str, *params: Any) -> Any:
        """The first row of a query, or None."""
        self.run(statement, *params)
        return self.cursor.fetchone()


def bigint(text: str) -> int:
    """A non-negative integer that fits a BIGINT column, from ASCII digits only (ValueError
    otherwise: `int()` takes '²', spaces, underscores and numbers of any length)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise ValueError(f"not a position: {text[:20]!r}")
    return int(text)


def marks(count: int) -> str:
    """`?, ?, …`: the placeholders of a row or an IN list."""
    return ", ".join("?" * count)


def dumps(value: Any) -> str:
    """A JSON column's text."""
    return msgspec.json.encode(value).decode()


def loads(text: str, kind: type[T]) -> T:
    """A JSON column's value, as the type it holds."""
    return msgspec.json.decode(text, type=kind)
