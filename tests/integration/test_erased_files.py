"""After an erasure, the name and email can no longer be read from the store's files, free
pages and old row versions included: the bytes of every file of the embedded data folder,
and of PostgreSQL's table files (a private server's, whose data directory the test reads),
are searched for the contacts and for the subject's wrapped key.

What is searched on PostgreSQL is the database's directory (base/<oid>: its tables,
indexes and their free space). The write-ahead log (pg_wal) is not: it keeps what was
written until its segments are recycled, as the README says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from application.callers import TenantCaller
from application.settings import Settings
from application.students import Students
from entrypoints.bootstrap import Services, bootstrap
from infrastructure.database import transaction
from infrastructure.persistence import open_store
from infrastructure.subjects import DataSubjects
from projections.records import RecordView
from projections.views import open_live_view
from tests.fixtures.stored_events import EVENTS
from tests.integration.test_stored_events import stored_events
from tests.pgserver import fresh_database, private_server
from tests.support import (
    ACME,
    MASTER_KEY,
    REACT,
    STUDENT,
    Clock,
    invite_to_review,
    make_service,
    project,
    public_messages,
    start_endorsement,
    take_attempt,
)

GRACE = ("Grace Hopper", "grace@example.com")
PERSONAL = [STUDENT["name"], STUDENT["email"], *GRACE]
# What names the student through their work: never in clear in the store, sealed with them.
PROOF = "https://github.com/ada-lovelace/engine-notes"
SOURCE = {
    "type": "project",
    "title": "Notes on the Analytical Engine",
    "description": "Translated and annotated Menabrea's memoir",
    "url": "https://example.com/ada/notes",
}
WORK = [SOURCE["title"], SOURCE["description"], SOURCE["url"], PROOF]


def found_in(files: list[Path], texts: list[str]) -> dict[str, list[str]]:
    """Which of the texts each file holds (files that hold none are left out)."""
    found: dict[str, list[str]] = {}
    for path in files:
        data = path.read_bytes()
        if hits := [text for text in texts if text.encode() in data]:
            found[path.name] = hits
    return found


def wrapped_keys(service: Services) -> list[str]:
    """The subjects' keys as stored (wrapped), to search for."""
    with transaction(service.store, commit=False) as sql:
        return [row["wrapped_key"] for row in sql.all("SELECT wrapped_key FROM subject_keys")]


def flows_with_emails(service: Services) -> None:
    """A failed attempt (a result email) and an invitation (an email to the reviewer)."""
    take_attempt(service, 2)
    react = {**REACT, "proofUrls": [PROOF]}
    invite_to_review(service, start_endorsement(service, skills=(react,), sources=(SOURCE,)))
    project(service)
    emails = service.emails()
    for message in public_messages(service):
        emails.handle(message)


def erase(service: Services) -> None:
    students = Students(service.store, service.personal, service.sent_emails, service.clock)
    assert students.erase(ACME, STUDENT["studentId"]).records_affected == 2
    scrubbed(service)


def scrubbed(service: Services) -> None:
    """Wait for the rewrite that follows erasures (on PostgreSQL, in a thread of its own)."""
    personal = service.personal
    assert isinstance(personal, DataSubjects)
    assert personal.scrubber.wait(timeout=30)


def folder_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_nothing_of_an_erased_student_stays_in_the_embedded_data_folder(tmp_path: Path) -> None:
    service = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", Clock(), data_dir=tmp_path)
    flows_with_emails(service)
    keys = wrapped_keys(service)
    before = found_in(folder_files(tmp_path), [*PERSONAL, *keys])
    # The emails in the outbox hold the contacts, the store's file the key (never a contact).
    assert {text for hits in before.values() for text in hits} == {*PERSONAL, *keys}
    assert not set(PERSONAL) & set(before.get("assess.sqlite3", []))
    assert found_in(folder_files(tmp_path), WORK) == {}  # sealed in the store

    erase(service)
    assert found_in(folder_files(tmp_path), [*PERSONAL, *WORK, *keys]) == {}
    service.store.close()
    assert found_in(folder_files(tmp_path), [*PERSONAL, *WORK, *keys]) == {}


@pytest.fixture(scope="module")
def private_pg() -> Iterator[str]:
    """A private PostgreSQL server, whose data directory this test reads, and no one else
    uses (another client's open transaction would keep old row versions alive)."""
    with private_server() as url:
        yield url


def table_files(url: str) -> list[Path]:
    """The files of the database's tables and indexes, after a checkpoint wrote them."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CHECKPOINT")
        [(folder, oid)] = connection.execute(
            "SELECT current_setting('data_directory'), oid FROM pg_database"
            " WHERE datname = current_database()"
        ).fetchall()
    return [path for path in (Path(folder) / "base" / str(oid)).iterdir() if path.is_file()]


def test_nothing_of_an_erased_student_stays_in_postgresql_table_files(private_pg: str) -> None:
    with fresh_database(private_pg) as url:
        service = make_service(url, Clock(), outbox_dir=Path("/nonexistent/outbox-unused"))
        service.settings.outbox.parent.mkdir(parents=True, exist_ok=True)
        flows_with_emails(service)
        keys = wrapped_keys(service)
        assert found_in(table_files(url), keys) != {}  # what is searched for is there
        assert found_in(table_files(url), [*PERSONAL, *WORK]) == {}  # only ever sealed

        erase(service)
        assert found_in(table_files(url), [*PERSONAL, *WORK, *keys]) == {}
        service.store.close()


def store_of_2026_12_02(url: str) -> None:
    """A store as the service of 2026-12-02 left it: events with contacts in clear, the
    consumers' table and the sent log holding them, a record view row showing them."""
    old = open_store(Settings(database_url=url, master_key=MASTER_KEY))
    old.recorder.insert_events(stored_events())
    view = open_live_view(old, RecordView())
    record_id = UUID(json.loads(EVENTS.read_text())[-1]["originator_id"])  # any record's row
    with transaction(old) as sql:
        sql.run(
            "CREATE TABLE downstream_records (record_verification_id TEXT PRIMARY KEY,"
            " tenant TEXT NOT NULL, mode TEXT NOT NULL, student_id TEXT NOT NULL,"
            " student_name TEXT NOT NULL, student_email TEXT NOT NULL, callback_url TEXT,"
            " skill_names TEXT NOT NULL)"
        )
        sql.run(
            "INSERT INTO downstream_records VALUES ('ver_live_1', 'acme', 'live', 'stu_1', ?, ?,"
            " NULL, '[]')",
            STUDENT["name"],
            STUDENT["email"],
        )
        sql.run(
            "CREATE TABLE result_emails (event_id TEXT PRIMARY KEY, recipient TEXT NOT NULL,"
            " sent_at TEXT NOT NULL)"
        )
        sql.run(
            "INSERT INTO result_emails VALUES ('e1', ?, 'Mon, 05 Jan 2026 10:00:00 -0000')",
            STUDENT["email"],
        )
        sql.run(
            f"INSERT INTO {view.table} (id, record_verification_id, tenant, mode, student_id,"
            " student, status, is_locked, skills, attempts, created_at, updated_at,"
            " created_position, position) VALUES (?, ?, 'acme', 'live', 'stu_1', ?, 'pending',"
            " 0, '[]', '[]', '', '', 0, 0)",
            record_id.hex,
            f"ver_live_{record_id.hex}",
            json.dumps(STUDENT),
        )
    old.close()


def upgraded_and_erased(url: str) -> Iterator[list[str]]:
    """Open the old store with today's service (it migrates), then erase its students (all
    named alike): yields what to search for, once before the erasures and once after."""
    service = bootstrap(Settings(database_url=url, master_key=MASTER_KEY))
    with transaction(service.store, commit=False) as sql:
        assert sql.one("SELECT subject FROM result_emails WHERE event_id = 'e1'") is not None
        generation = sql.one("SELECT generation FROM view_generations WHERE name = 'record_view'")
    assert generation["generation"] == 2  # the view was rebuilt from the sealed events
    [(_, record)] = service.personal.records("acme", "live", "stu_1")
    assert service.records.history(None, f"ver_live_{record.hex}", None).state["student"] == STUDENT
    keys = wrapped_keys(service)
    assert len(keys) == 4
    yield PERSONAL[:2]
    students = Students(service.store, service.personal, service.sent_emails, service.clock)
    test_mode = TenantCaller("acme", "test", UUID(int=2))
    for tenant, student in [
        (ACME, "stu_1"),
        (ACME, "stu_2"),
        (ACME, "stu_3"),
        (test_mode, "stu_1"),
    ]:
        assert students.erase(tenant, student).records_affected == 1
    scrubbed(service)
    yield [*PERSONAL[:2], *keys]
    service.store.close()


def test_contacts_stored_in_clear_before_are_sealed_then_erased_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    store_of_2026_12_02(url)
    assert set(found_in(folder_files(tmp_path), PERSONAL[:2])) >= {"assess.sqlite3"}
    for searched in upgraded_and_erased(url):  # sealed in place (the file rewritten), erased
        assert found_in(folder_files(tmp_path), searched) == {}


def test_contacts_stored_in_clear_before_are_sealed_then_erased_on_postgresql(
    private_pg: str,
) -> None:
    with fresh_database(private_pg) as url:
        store_of_2026_12_02(url)
        assert found_in(table_files(url), PERSONAL[:2]) != {}
        for searched in upgraded_and_erased(url):
            assert found_in(table_files(url), searched) == {}
