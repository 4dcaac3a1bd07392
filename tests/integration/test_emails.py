"""Result emails from stored events the API would refuse today: control characters in a
skill name, a student's name or address never break an email or add a header to it."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.domain import AggregateEvent

from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from domain.assessment import Assessment
from domain.values import Contact, Skill
from entrypoints.bootstrap import Services
from infrastructure.mailer import Undeliverable
from tests.receivers import smtp_server
from tests.support import Clock, make_service, project, take_attempt

INJECTION = "\r\nBcc: evil@attacker.example"
SKILL = {"skillId": "skill_001", "name": f"React{INJECTION}\u2028\x00"}
STUDENT = {
    "studentId": "stu_evil",
    "name": f"Ada{INJECTION}\r\n\r\n<b>Fake</b> body",
    "email": "ada@example.com",
}
HEADERS = {"Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"}


def stored_record(service: Services, student: dict[str, str]) -> str:
    """A record saved straight into the store, past every check the API makes."""
    now, record_id = service.clock(), uuid4()
    contact = Contact(student["name"], student["email"])
    record = Assessment.start(
        id=record_id,
        at=now,
        tenant="acme",
        mode="live",
        student_id=student["studentId"],
        seal=lambda: service.personal.seal_student(
            "acme", "live", student["studentId"], contact, record_id
        ),
        skills=[msgspec.convert(SKILL, Skill)],
        callback_webhook_url=None,
        session_token_hash="unused",
        api_key_id=uuid4(),
        session_expires_at=now + timedelta(days=1),
    )
    service.store.save(record)
    return record.record_verification_id


def send_result_emails(service: Services) -> None:
    """Feed every stored assessment event, as its public message, to the email handler."""
    project(service)
    emails = service.emails()
    messages = PublicMessages(service.store)
    notifications = service.store.recorder.select_notifications(
        start=1, limit=1000, topics=ASSESSMENT_TOPICS
    )
    for notification in notifications:
        event = service.store.mapper.to_domain_event(notification)
        assert isinstance(event, AggregateEvent)
        emails.handle(messages.message(event, notification.id)[0])


def email_service(tmp_path: Path, **settings: Any) -> Services:
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    return make_service(url, Clock(), outbox_dir=tmp_path / "outbox", **settings)


def assert_headers_intact(email: EmailMessage) -> None:
    assert set(email.keys()) == HEADERS
    assert str(email["To"]) == "ada@example.com"
    assert str(email["Subject"]) == "React Bcc: evil@attacker.example: passed, score 90%"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().splitlines()[0] == (
        "Hello Ada Bcc: evil@attacker.example <b>Fake</b> body,"
    )
    assert "&lt;b&gt;Fake&lt;/b&gt;" in html.get_content()
    assert "<b>" not in html.get_content()


def test_a_stored_name_with_line_breaks_makes_one_clean_email_over_smtp(tmp_path: Path) -> None:
    with smtp_server() as (port, mailbox):
        service = email_service(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
        take_attempt(service, 9, record_id=stored_record(service, STUDENT))
        send_result_emails(service)
        [mail] = mailbox.mails()
    assert mail.rcpt_tos == ["ada@example.com"]
    assert_headers_intact(mail.message)


def test_a_stored_name_with_line_breaks_makes_one_clean_email_in_the_outbox(
    tmp_path: Path,
) -> None:
    service = email_service(tmp_path)
    take_attempt(service, 9, record_id=stored_record(service, STUDENT))
    send_result_emails(service)
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    email = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(email, EmailMessage)
    assert_headers_intact(email)


@pytest.mark.parametrize(
    "address",
    [f"ada@example.com{INJECTION}", "ada@example.com, evil@attacker.example", "ada"],
)
def test_a_stored_address_that_is_not_one_mailbox_is_undeliverable(
    tmp_path: Path, address: str
) -> None:
    with smtp_server() as (port, mailbox):
        service = email_service(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
        take_attempt(service, 9, record_id=stored_record(service, {**STUDENT, "email": address}))
        with pytest.raises(Undeliverable) as refused:
            send_result_emails(service)
        assert mailbox.mails() == []
    assert "example" not in str(refused.value)  # the address stays out of logs and dead letters
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_stored_address_with_a_trailing_line_break_is_still_that_mailbox(
    tmp_path: Path,
) -> None:
    with smtp_server() as (port, mailbox):
        service = email_service(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
        student = {**STUDENT, "email": " ada@example.com\r\n"}
        take_attempt(service, 9, record_id=stored_record(service, student))
        send_result_emails(service)
        [mail] = mailbox.mails()
    assert mail.rcpt_tos == ["ada@example.com"]
    assert_headers_intact(mail.message)
