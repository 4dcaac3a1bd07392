"""A student's current data subject, found or made with its key, and a new record noted
under it: one way per backend. SQLite serialises writers, so one transaction holds its
write lock throughout; PostgreSQL does it in one statement (two for a student's first
record), each committed on its own, so no lock is held across a round trip."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from infrastructure.sealing import new_subject_key, wrap
from infrastructure.sql import Sql, dumps

STUDENT = "tenant = ? AND mode = ? AND student_id = ?"


def student(tenant: str, mode: str, student_id: str) -> tuple[str, str, str]:
    """A student's columns: the id as its JSON text, which PostgreSQL's TEXT takes whatever
    the id holds (a NUL, in an id stored before the API refused control characters)."""
    return tenant, mode, dumps(student_id)


def current_or_new(sql: Sql, wrapping: bytes, who: tuple[str, str, str]) -> tuple[str, str]:
    """SQLite: the student's current subject and its wrapped key, made if there is none."""
    fresh = uuid4().hex
    # A write first: the transaction then holds SQLite's write lock throughout.
    if sql.run(
        "INSERT INTO data_subjects (subject, tenant, mode, student_id)"
        " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        *(fresh, *student(*who)),
    ):
        key = wrap(wrapping, fresh, new_subject_key())
        sql.run("INSERT INTO subject_keys VALUES (?, ?)", fresh, key)
        return fresh, key
    row = sql.one(
        f"SELECT s.subject, k.wrapped_key FROM data_subjects s JOIN subject_keys k"
        f" ON k.subject = s.subject WHERE {STUDENT} AND erased_at IS NULL",
        *student(*who),
    )
    return row["subject"], row["wrapped_key"]


# PostgreSQL: the student's current subject and its key, and the record noted under it.
HELD = (
    "WITH held AS (SELECT s.subject, k.wrapped_key FROM data_subjects s"
    f" JOIN subject_keys k ON k.subject = s.subject WHERE {STUDENT} AND erased_at IS NULL),"
    " noted AS (INSERT INTO subject_records SELECT subject, ? FROM held ON CONFLICT DO NOTHING)"
    " SELECT subject, wrapped_key FROM held"
)
# PostgreSQL: a new subject with its key and the record, unless the student has one.
MADE = (
    "WITH made AS (INSERT INTO data_subjects (subject, tenant, mode, student_id)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING subject),"
    " keyed AS (INSERT INTO subject_keys SELECT subject, ? FROM made),"
    " noted AS (INSERT INTO subject_records SELECT subject, ? FROM made ON CONFLICT DO NOTHING)"
    " SELECT subject FROM made"
)


def held_or_made(
    sql: Sql, wrapping: bytes, who: tuple[str, str, str], record: UUID
) -> tuple[str, str]:
    """PostgreSQL: the student's current subject and its wrapped key, made if there is
    none, with the record noted under it; each statement commits on its own."""
    for _ in range(5):  # a subject made or erased between two statements: look again
        if row := sql.one(HELD, *student(*who), record.hex):
            return row["subject"], row["wrapped_key"]
        fresh, key = new_subject(wrapping)
        if sql.one(MADE, fresh, *student(*who), key, record.hex):
            return fresh, key
    raise IntegrityError("the student's data subject kept changing")


def new_subject(wrapping: bytes) -> tuple[str, str]:
    """A new subject's id and its new key, wrapped."""
    fresh = uuid4().hex
    return fresh, wrap(wrapping, fresh, new_subject_key())
