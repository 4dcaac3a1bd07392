"""Events stored by the service on 2026-12-02 still decode, fold and project the same, on
both stores: the guard every change to an event's shape must keep green. They held the
students' names and emails in clear, which `migrate` seals in place (as it does when the
service's next version first starts on a store of that day)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from application.access import digest
from application.settings import Settings
from domain.assessment import Assessment
from domain.errors import Unauthorized
from domain.questions import PublicQuestion
from domain.values import Answer, Sealed, Skill, SkillOutcome, Student
from entrypoints.bootstrap import Services, bootstrap
from infrastructure.persistence import open_store
from tests.fixtures.stored_events import (
    CREDENTIALS_EVENTS,
    CREDENTIALS_KEYS,
    CREDENTIALS_READ,
    EVENTS,
    QUESTIONS_EVENTS,
    QUESTIONS_KEYS,
    QUESTIONS_READ,
    READ,
    credentials_back,
    read_back,
    restore_subjects,
)
from tests.support import MASTER_KEY

# The typed values each assessment event carries (a value, or a list of them).
TYPED: dict[type, dict[str, type]] = {
    Assessment.VerificationStarted: {"student": Student, "skills": Skill},
    Assessment.QuestionsGenerated: {"questions": PublicQuestion},
    Assessment.AnswersSubmitted: {"answers": Answer},
    Assessment.Scored: {"skills": SkillOutcome},
}


def stored_events(rows: list[dict[str, Any]] | None = None) -> list[StoredEvent]:
    """A fixture's rows (by default, 2026-12-02's) as the store holds them."""
    return [
        StoredEvent(
            UUID(row["originator_id"]),
            row["originator_version"],
            row["topic"],
            row["state"].encode(),
        )
        for row in (json.loads(EVENTS.read_text()) if rows is None else rows)
    ]


# What each event class added since 2026-12-02, as the library's upcasting reads it into
# the events stored before: the one change a reader of those events may see.
UPCAST: dict[str, dict[str, Any]] = {
    # version 2: the human path (a record's method; sources shown with its skills).
    "VerificationStarted": {"method": "assessment", "sources": []},
    # version 2: what made the set (the banks, at random: no seed was kept).
    "QuestionsGenerated": {"generator": "bank", "seed": None, "fallbacks": []},
}
# What the history does not show of it: the seed, which would replay the options' order.
NOT_SHOWN = {"seed"}
# What each question of a set added since: where it came from (sets then came from banks).
QUESTION_ADDED = {"origin": "bank"}


def with_origins(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A set's questions as read today."""
    return [{**question, **QUESTION_ADDED} for question in questions]


# What stored VerificationStarted events added that the history does not show: version 4,
# the id of the tenant key that started the record (none for a record of that day).
STORED_ADDED = {"api_key_id": None}


# What the record's public shape added since 2026-12-02, for the records stored then.
RECORD_ADDED = {"method": "assessment", "reviewer": None}


def read_today(read: dict[str, Any]) -> dict[str, Any]:
    """What was read on 2026-12-02, with what the events and the shapes have added since."""
    for history in read["histories"].values():
        for event in history["events"]:
            added = UPCAST.get(event["type"], {})
            event["data"].update({k: v for k, v in added.items() if k not in NOT_SHOWN})
            if event["type"] == "QuestionsGenerated":
                event["data"]["questions"] = with_origins(event["data"]["questions"])
    for records in read["records"].values():
        for record in records:
            record.update(RECORD_ADDED)
    return read


def upgraded(store_url: str) -> Services:
    """A store holding the events of 2026-12-02, opened by today's service (which migrates)."""
    settings = Settings(database_url=store_url, master_key=MASTER_KEY)
    old = open_store(settings)
    old.recorder.insert_events(stored_events())
    old.close()
    return bootstrap(settings)


def test_events_stored_on_2026_12_02_read_the_same_today(store_url: str) -> None:
    service = upgraded(store_url)
    expected = read_today(json.loads(READ.read_text()))
    assert read_back(service, json.loads(EVENTS.read_text())) == expected
    service.store.close()


def legacy_session_token(key: bytes, record: UUID) -> str:
    """A session token as 2026-12-02 derived it: under a key derived from the tenant's key
    (the fixture's callers had these keys), not the server's."""
    mac = hmac.new(key, record.bytes, hashlib.sha256).digest()
    return f"sess_{record.hex}_{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_sessions_derived_from_a_tenant_key_on_2026_12_02_are_refused(store_url: str) -> None:
    """Those tokens could be made again by anyone holding the tenant key (revoked or not):
    the records keep their history, but their sessions no longer authenticate."""
    service = upgraded(store_url)
    secrets = {"live": b"acme-fixture", "test": b"acme-test-fixture"}
    started = [
        (UUID(row["originator_id"]), json.loads(row["state"]))
        for row in json.loads(EVENTS.read_text())
        if row["topic"].endswith(":Assessment.VerificationStarted")
    ]
    assert len(started) == 4
    for record, fields in started:
        token = legacy_session_token(secrets[fields["mode"]], record)
        assert digest(token) == fields["session_token_hash"]  # the token it was issued
        with pytest.raises(Unauthorized):
            service.access.authenticate(token)
    service.store.close()


def test_events_stored_on_2026_12_02_encode_to_the_same_bytes_today(store_url: str) -> None:
    """A decoded event (with today's types for its values) is stored as it was then: new
    events of the same facts are stored byte for byte as the old ones were, but for the
    personal data, sealed in place by migrate (the same rows, ids and versions)."""
    service = upgraded(store_url)
    mapper = service.store.mapper
    migrated = {
        (notification.originator_id, notification.originator_version): notification
        for notification in service.store.recorder.select_notifications(start=1, limit=1000)
    }
    decoded = []
    for stored in stored_events():
        now = migrated[stored.originator_id, stored.originator_version]
        event = mapper.to_domain_event(now)
        again = mapper.to_stored_event(event)
        version = {"class_version": getattr(type(event), "class_version", 1)}
        if isinstance(event, Assessment.VerificationStarted):  # upcast again since migrate
            since = {**STORED_ADDED, **version}
            assert json.loads(again.state) == {**json.loads(now.state), **since}
        elif isinstance(event, Assessment.QuestionsGenerated):  # stored as v1, read as v2
            state = json.loads(now.state)
            since = {**UPCAST["QuestionsGenerated"], **version}
            questions = with_origins(state["questions"])
            assert json.loads(again.state) == {**state, **since, "questions": questions}
        else:
            assert again.state == now.state
        assert again.topic == stored.topic
        added = UPCAST.get(type(event).__name__)
        if added is not None and isinstance(event, Assessment.VerificationStarted):
            added = {**added, **STORED_ADDED}
        if added is None:
            assert now.state.decode() == stored.state.decode()
        elif isinstance(event, Assessment.QuestionsGenerated):  # today's version, as read
            then, today = json.loads(stored.state), json.loads(again.state)
            questions = with_origins(then["questions"])
            assert today == {**then, **added, **version, "questions": questions}
        else:  # stored as today's version, with what it added and the student sealed
            then, today = json.loads(stored.state), json.loads(again.state)
            assert today == {**then, **added, **version, "student": today["student"]}
            sealed = msgspec.convert(today["student"], Student)
            assert sealed.student_id == then["student"]["studentId"]
            assert isinstance(sealed.contact, Sealed)
            assert then["student"]["email"].encode() not in now.state
        decoded.append(event)
    service.store.close()
    assert {type(event) for event in decoded} >= TYPED.keys()
    for event in decoded:
        for name, kind in TYPED.get(type(event), {}).items():
            value = getattr(event, name)
            assert all(
                isinstance(item, kind) for item in (value if isinstance(value, list) else [value])
            )


def with_stored(store_url: str, rows: list[dict[str, Any]], keys: Path) -> Services:
    """A store holding a fixture's rows and its data subjects' keys, opened by today's
    service (which migrates)."""
    settings = Settings(database_url=store_url, master_key=MASTER_KEY)
    old = open_store(settings)
    old.recorder.insert_events(stored_events(rows))
    old.close()
    service = bootstrap(settings)
    restore_subjects(service, json.loads(keys.read_text()))
    return service


def stored_again(service: Services, rows: list[dict[str, Any]]) -> set[str]:
    """Decode each row and store it again: the same bytes (asserted); the kinds of event
    met, by qualified name."""
    mapper = service.store.mapper
    kinds = set()
    for stored in stored_events(rows):
        event = mapper.to_domain_event(stored)
        assert mapper.to_stored_event(event).state == stored.state
        kinds.add(type(event).__qualname__)
    return kinds


def test_events_stored_on_2026_12_06_read_and_encode_the_same_today(store_url: str) -> None:
    """The questions' events of that day (a set prepared by the banks, one by a model with
    its fallbacks, sources with technologies, sealed): they read as they did then, and a
    decoded event is stored again byte for byte."""
    rows = json.loads(QUESTIONS_EVENTS.read_text())
    service = with_stored(store_url, rows, QUESTIONS_KEYS)
    assert read_back(service, rows) == json.loads(QUESTIONS_READ.read_text())
    kinds = {name.rsplit(".", 1)[-1] for name in stored_again(service, rows)}
    assert {"QuestionsPrepared", "QuestionsGenerated", "VerificationStarted"} <= kinds
    service.store.close()


def test_credentials_stored_on_2026_12_06_read_and_encode_the_same_today(
    store_url: str,
) -> None:
    """The credentials' events of that day (issued on a pass and an endorsement, the pass
    revoked by the tenant, the endorsed student erased): the same documents, statuses and
    status-list bits, and each event stored again byte for byte."""
    rows = json.loads(CREDENTIALS_EVENTS.read_text())
    service = with_stored(store_url, rows, CREDENTIALS_KEYS)
    found = read_back(service, rows) | {"credentials": credentials_back(service, rows)}
    assert found == json.loads(CREDENTIALS_READ.read_text())
    kinds = stored_again(service, rows)
    assert {
        "Assessment.CredentialsIssued",
        "Assessment.VerificationRevoked",
        "Assessment.PersonalDataErased",
        "StatusPlace.Taken",
    } <= kinds
    service.store.close()
