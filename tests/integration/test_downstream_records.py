"""The consumers work from the messages: what they need of a record (tenant, mode, student
id, callback URL) comes with its first message, never from the write model; an email's
address and names come through the PersonalData port, on the store's database."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from application.integration_events import ASSESSMENT_TOPICS
from consumers.fanout import Fanout
from consumers.known_records import TABLE, KnownRecords
from entrypoints.bootstrap import Services
from infrastructure.database import transaction
from infrastructure.deliveries import Deliveries
from tests.support import (
    ACME,
    STUDENT,
    Clock,
    make_service,
    project,
    public_messages,
    take_attempt,
)

CALLBACK_URL = "https://partner.example/hooks/assess"


def sqlite_service(path: Path, **settings: Any) -> Services:
    return make_service(f"sqlite:///{path / 'assess.sqlite3'}", Clock(), **settings)


def test_webhooks_come_from_the_messages_alone_and_emails_from_the_port(tmp_path: Path) -> None:
    writer = sqlite_service(
        tmp_path / "writer", webhook_allow_private=True, outbox_dir=tmp_path / "outbox"
    )
    record_id = take_attempt(writer, 8, callback=CALLBACK_URL)
    secret = writer.webhooks.callback_secret(ACME)
    messages = public_messages(writer)
    # A consumer with a database of its own: not one event of the record is in it.
    consumer = sqlite_service(tmp_path / "consumer", outbox_dir=tmp_path / "outbox")
    stored = consumer.store.recorder.select_notifications(
        start=1, limit=10, topics=ASSESSMENT_TOPICS
    )
    assert stored == []
    project(writer)  # the views the consumers read: targets and contacts
    fanout = Fanout(KnownRecords(consumer.store), writer.targets, Deliveries(consumer.store))
    # The email consumer runs against the store's database, where the contacts are sealed.
    emails = writer.emails()
    for message in messages:
        assert "name" not in json.dumps(message["data"].get("student", {}))
        fanout.handle(message, 0.0, None)
        emails.handle(message)

    queued = Deliveries(consumer.store).claim(0.0, 10, 60.0, 8, {})
    assert sorted(delivery.type for delivery in queued) == [
        "verification.completed",
        "verification.initiated",
    ]
    for delivery in queued:
        opened = writer.webhooks.secrets.open(delivery.secret, "acme", "live")  # kept sealed
        target = (delivery.tenant, delivery.mode, delivery.url, opened)
        assert target == ("acme", "live", CALLBACK_URL, secret)
        assert delivery.secret.startswith("sealed_v1_")
        assert f'"recordVerificationId":"{record_id}"' in delivery.payload
        assert f'"student":{{"studentId":"{STUDENT["studentId"]}"}}' in delivery.payload
    [sent] = (tmp_path / "outbox").glob("*.eml")
    email = message_from_bytes(sent.read_bytes(), policy=policy.default)
    assert str(email["To"]) == STUDENT["email"]
    assert "Hello Ada Lovelace," in email.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_message_of_a_record_never_started_on_the_topic_is_refused(tmp_path: Path) -> None:
    writer = sqlite_service(tmp_path / "writer")
    take_attempt(writer, 8)
    scored = [m for m in public_messages(writer) if m["type"] == "Scored"]
    consumer = sqlite_service(tmp_path / "consumer", outbox_dir=tmp_path / "outbox")
    with pytest.raises(LookupError, match="no record ver_live_"):
        consumer.emails().handle(scored[0])
    assert not (tmp_path / "outbox").exists()


def test_migrate_learns_the_records_stored_before_the_table(tmp_path: Path) -> None:
    service = sqlite_service(tmp_path)
    first = take_attempt(service, 8, callback=CALLBACK_URL)
    second = take_attempt(service, 2, student="stu_2")
    with transaction(service.store) as sql:
        sql.run(f"DELETE FROM {TABLE}")  # as before the table existed

    reopened = sqlite_service(tmp_path)  # migrates at start
    known = KnownRecords(reopened.store)
    learnt = known.facts({"recordVerificationId": first})
    assert (learnt.tenant, learnt.student_id, learnt.callback_url) == (
        "acme",
        "stu_1",
        CALLBACK_URL,
    )
    assert known.facts({"recordVerificationId": second}).student_id == "stu_2"


def test_the_callback_secret_is_made_when_a_record_with_a_callback_starts(
    tmp_path: Path,
) -> None:
    service = sqlite_service(tmp_path, webhook_allow_private=True)
    take_attempt(service, 2)
    assert service.webhooks.find("acme", "live") is None
    take_attempt(service, 2, callback=CALLBACK_URL)
    made = service.webhooks.find("acme", "live")
    assert made is not None
    assert made.callback_secret.startswith("sealed_v1_")
    opened = service.webhooks.secrets.open(made.callback_secret, "acme", "live")
    assert service.webhooks.callback_secret(ACME) == opened
    assert opened.startswith("whsec_")
