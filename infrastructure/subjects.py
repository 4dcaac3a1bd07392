"""Data subjects and their keys, beside the events: the PersonalData port on the store's
database. A subject is a student within a tenant and mode, from their first record until
they are erased; a later record of the same student starts a new subject (the partial
unique index allows one current subject per student, and an erased one never comes back:
its key row is deleted, and its own row stays only as the answer of its erasure)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Sequence
from datetime import datetime
from functools import cached_property
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.ports import SealedContact
from application.results import Erased
from application.settings import Settings
from application.store import EventStore
from domain.errors import PersonalDataGone
from domain.moments import iso
from domain.values import Contact, Sealed
from infrastructure.current_subject import STUDENT, current_or_new, held_or_made, student
from infrastructure.database import is_postgres, statements, transaction
from infrastructure.scrubbing import Scrubber
from infrastructure.sealing import seal, unseal, unwrap, wrapping_key
from infrastructure.sql import Sql, marks

DATA_SUBJECTS = [
    "CREATE TABLE IF NOT EXISTS data_subjects ("
    " subject TEXT PRIMARY KEY, tenant TEXT NOT NULL, mode TEXT NOT NULL,"
    " student_id TEXT NOT NULL, erased_at TEXT, records_affected INTEGER)",
    "CREATE UNIQUE INDEX IF NOT EXISTS data_subjects_current"
    " ON data_subjects (tenant, mode, student_id) WHERE erased_at IS NULL",
    "CREATE INDEX IF NOT EXISTS data_subjects_by_student"
    " ON data_subjects (tenant, mode, student_id, erased_at)",
    # The keys, wrapped under the master key: deleting a row erases its subject for good.
    "CREATE TABLE IF NOT EXISTS subject_keys (subject TEXT PRIMARY KEY, wrapped_key TEXT NOT NULL)",
    # Which records hold a subject's sealed contacts (ids only).
    "CREATE TABLE IF NOT EXISTS subject_records ("
    " subject TEXT NOT NULL, record_id TEXT NOT NULL, PRIMARY KEY (subject, record_id))",
    # A hash of the wrapping key, so that a process with another master key stops at once.
    "CREATE TABLE IF NOT EXISTS subject_key_check (id INTEGER PRIMARY KEY, digest TEXT NOT NULL)",
]


class DataSubjects:
    """Seals, reveals and erases personal data under a key per data subject."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.scrubber = Scrubber(store)

    @cached_property
    def wrapping(self) -> bytes:
        """The key that wraps the subjects' keys, from the master key (read on first use:
        a process that never seals nor reveals needs no master key). It must be the key the
        store's subjects were wrapped under: another one would make new subjects no other
        process can open, so it stops the process instead."""
        wrapping = wrapping_key(self.settings.master_secret())
        digest = hashlib.sha256(b"assess:wrapping-key-check\n" + wrapping).hexdigest()
        with transaction(self.store) as sql:
            sql.run("INSERT INTO subject_key_check VALUES (1, ?) ON CONFLICT DO NOTHING", digest)
            kept = sql.one("SELECT digest FROM subject_key_check WHERE id = 1")["digest"]
        if not hmac.compare_digest(kept, digest):
            raise SystemExit(
                "ASSESS_MASTER_KEY is not the key this store's personal data is sealed under"
            )
        return wrapping

    def check_master_key(self) -> DataSubjects:
        """Check the master key now, at a process's start, rather than at first use."""
        assert self.wrapping
        return self

    def seal_student(
        self, tenant: str, mode: str, student_id: str, contact: Contact, record: UUID
    ) -> Sealed:
        """A student's contact sealed for a new record's first event, under their current
        subject (made, with its key, if there is none)."""
        wrapping = self.wrapping  # before the transaction: its first use has one of its own
        if not is_postgres(self.store):
            with transaction(self.store) as sql:
                subject, wrapped = current_or_new(sql, wrapping, (tenant, mode, student_id))
                sql.run(
                    "INSERT INTO subject_records VALUES (?, ?) ON CONFLICT DO NOTHING",
                    *(subject, record.hex),
                )
        else:  # one statement, one round trip (two for a student's first record)
            with statements(self.store) as sql:
                subject, wrapped = held_or_made(sql, wrapping, (tenant, mode, student_id), record)
        return seal(unwrap(wrapping, subject, wrapped), subject, contact, record, 1)

    def seal(self, subject: str, contact: Contact, record: UUID, version: int) -> Sealed:
        """A contact sealed under a subject's key for a record's event of this version."""
        assert self.wrapping  # before the transaction: its first use has one of its own
        with transaction(self.store) as sql:
            sql.run(
                "INSERT INTO subject_records VALUES (?, ?) ON CONFLICT DO NOTHING",
                *(subject, record.hex),
            )
            row = sql.one("SELECT wrapped_key FROM subject_keys WHERE subject = ?", subject)
            if row is None:  # raised within: the record is not noted under an erased subject
                raise PersonalDataGone("this student's personal data was erased")
        key = unwrap(self.wrapping, subject, row["wrapped_key"])
        return seal(key, subject, contact, record, version)

    def pseudonym(self, subject: str) -> UUID | None:
        """The subject's stable pseudonymous id in credentials, made from its key (None once
        erased: the key is gone, and with it any way to link the id to the student)."""
        with transaction(self.store, commit=False) as sql:
            row = sql.one("SELECT wrapped_key FROM subject_keys WHERE subject = ?", subject)
        if row is None:
            return None
        key = unwrap(self.wrapping, subject, row["wrapped_key"])
        digest = hmac.new(key, b"assess:credential-subject", hashlib.sha256).digest()
        return UUID(bytes=digest[:16], version=4)

    def reveal(self, boxes: Sequence[SealedContact]) -> list[Contact | None]:
        """Each contact opened (one lookup of their keys), or None where erased."""
        subjects = sorted({box.sealed.subject for box in boxes})
        if not subjects:
            return []
        wrapping = self.wrapping
        with transaction(self.store, commit=False) as sql:
            rows = sql.all(
                "SELECT subject, wrapped_key FROM subject_keys"
                f" WHERE subject IN ({marks(len(subjects))})",
                *subjects,
            )
        keys = {
            row["subject"]: unwrap(wrapping, row["subject"], row["wrapped_key"]) for row in rows
        }
        return [
            unseal(keys[box.sealed.subject], box.sealed, box.record, box.version)
            if box.sealed.subject in keys
            else None
            for box in boxes
        ]

    def records(self, tenant: str, mode: str, student_id: str) -> list[tuple[str, UUID]]:
        """(subject, record) of every record sealed for the student, erased or not."""
        with transaction(self.store, commit=False) as sql:
            rows = sql.all(
                "SELECT s.subject, r.record_id FROM data_subjects s"
                " JOIN subject_records r ON r.subject = s.subject"
                " WHERE s.tenant = ? AND s.mode = ? AND s.student_id = ? ORDER BY r.record_id",
                *student(tenant, mode, student_id),
            )
        return [(row["subject"], UUID(row["record_id"])) for row in rows]

    def current_subject(self, tenant: str, mode: str, student_id: str) -> str | None:
        """The student's subject that is not erased, if there is one."""
        with transaction(self.store, commit=False) as sql:
            return current(sql, tenant, mode, student_id)

    def last_erasure(self, tenant: str, mode: str, student_id: str) -> Erased | None:
        """The answer of the student's latest erasure, if there was one."""
        with transaction(self.store, commit=False) as sql:
            row = sql.one(
                "SELECT erased_at, records_affected FROM data_subjects"
                f" WHERE {STUDENT} AND erased_at IS NOT NULL ORDER BY erased_at DESC LIMIT 1",
                *student(tenant, mode, student_id),
            )
        if row is None:
            return None
        return Erased(student_id, int(row["records_affected"]), row["erased_at"])

    def erased(self, subject: str) -> bool:
        """Whether the subject was erased, once an erasure of it in progress has ended."""
        with statements(self.store) as sql:
            lock = " FOR SHARE" if sql.postgres else ""  # SQLite: writers are serialised
            row = sql.one(f"SELECT 1 AS held FROM subject_keys WHERE subject = ?{lock}", subject)
        return row is None

    def erase(
        self,
        tenant: str,
        mode: str,
        student_id: str,
        subject: str | None,
        records: Sequence[Aggregate],
        at: datetime,
        *,
        seen: Collection[UUID],
    ) -> Erased:
        """In one transaction: save the records' new events, delete the subject's key and
        keep the erasure's answer (a subject of no records is kept, so that a repeat answers
        the same); then scrub the freed bytes from the store's files."""
        events = [event for record in records for event in record.collect_events()]
        stored = [self.store.mapper.to_stored_event(event) for event in events]
        erased = Erased(student_id, len(seen), iso(at))
        with transaction(self.store) as sql:
            if not sql.postgres:  # the deleted key's bytes are zeroed, not left in free space
                sql.run("PRAGMA secure_delete = ON")
            if subject is None:
                sql.run(
                    "INSERT INTO data_subjects VALUES (?, ?, ?, ?, ?, 0)",
                    *(uuid4().hex, *student(tenant, mode, student_id), erased.erased_at),
                )
            elif sql.run(
                "UPDATE data_subjects SET erased_at = ?, records_affected = ?"
                " WHERE subject = ? AND erased_at IS NULL",
                *(erased.erased_at, erased.records_affected, subject),
            ):
                sql.run("DELETE FROM subject_keys WHERE subject = ?", subject)
                # Read after the key's row is locked: a record saved since the caller looked
                # makes it look again (one saved later finds the key gone: see `erased`).
                if saved_records(sql, self.store, subject) - set(seen):
                    raise IntegrityError(f"a record of subject {subject} was started meanwhile")
            else:
                raise IntegrityError(f"subject {subject} was erased meanwhile")
            insert_events(sql, self.store, stored)
        self.scrubber.after_erasure()
        return erased


def current(sql: Sql, tenant: str, mode: str, student_id: str) -> str | None:
    """The student's subject that is not erased, if there is one."""
    row = sql.one(
        f"SELECT subject FROM data_subjects WHERE {STUDENT} AND erased_at IS NULL",
        *student(tenant, mode, student_id),
    )
    return None if row is None else str(row["subject"])


def saved_records(sql: Sql, store: EventStore, subject: str) -> set[UUID]:
    """The subject's records whose first event is stored."""
    events = store.recorder.events_table_name  # type: ignore[attr-defined]
    record = "CAST(r.record_id AS uuid)" if sql.postgres else "r.record_id"
    rows = sql.all(
        f"SELECT record_id FROM subject_records r WHERE subject = ? AND EXISTS"
        f" (SELECT 1 FROM {events} WHERE originator_id = {record} AND originator_version = 1)",
        subject,
    )
    return {UUID(row["record_id"]) for row in rows}


def insert_events(sql: Sql, store: EventStore, stored: Sequence[StoredEvent]) -> None:
    """Insert events within this transaction, as the store's recorder does in its own: on
    PostgreSQL by its insert function (which takes the table lock, so notification ids
    stay in commit order), on SQLite by its statement (writers are serialised)."""
    recorder = store.recorder
    if sql.postgres:
        rows = [
            recorder.construct_pg_stored_event(  # type: ignore[attr-defined]
                event.originator_id, event.originator_version, event.topic, event.state
            )
            for event in stored
        ]
        sql.cursor.execute(recorder.insert_function_call, (rows,))  # type: ignore[attr-defined]
    else:
        sql.cursor.executemany(
            recorder.insert_events_statement,  # type: ignore[attr-defined]
            [
                (UUID(str(e.originator_id)).hex, e.originator_version, e.topic, e.state)
                for e in stored
            ],
        )
