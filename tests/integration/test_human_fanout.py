"""The human path downstream, embedded: the first invitation fires verification.initiated
and emails the reviewer a working link; the endorsement fires verification.completed and
emails the student; each email once, however often the events come."""

from __future__ import annotations

import re
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from entrypoints.bootstrap import Services
from tests.receivers import receiving
from tests.support import (
    STUDENT,
    Clock,
    endorse_with,
    fanning_out,
    invite_to_review,
    make_service,
    project,
    public_messages,
    register_endpoint,
    start_endorsement,
)


def outbox_emails(service: Services, count: int) -> list[EmailMessage]:
    """The emails in the outbox, once there are `count`, oldest first."""
    for _ in range(400):
        files = sorted(service.settings.outbox.glob("*.eml"), key=lambda f: f.stat().st_mtime)
        if len(files) >= count:
            return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
        threading.Event().wait(0.05)
    raise AssertionError(f"{count} emails never came")


def test_an_endorsement_goes_out_as_webhooks_and_emails_once(tmp_path: Path) -> None:
    service = make_service(
        f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        Clock(),
        webhook_allow_private=True,
        outbox_dir=tmp_path / "outbox",
        public_url="https://assess.example/",
    )
    with receiving((200, {})) as receiver, fanning_out(service):
        endpoint = register_endpoint(service, receiver.url)
        record_id = start_endorsement(service)
        invite_to_review(service, record_id)
        [invitation] = outbox_emails(service, 1)
        assert str(invitation["To"]) == "grace@example.com"
        assert invitation["Subject"] == "Endorsement request: React, Python"
        text = invitation.get_body(("plain",))
        assert text is not None
        assert "Ada Lovelace asks you, through acme, to endorse" in text.get_content()
        assert "company and the skills you endorse are shared with acme" in text.get_content()
        [link] = re.findall(r"https://assess\.example/review/(\S+)", text.get_content())
        reviewer = service.records.reviewer(link)  # the emailed link is the record's own
        raw = next(service.settings.outbox.glob("*.eml")).read_bytes()
        assert f"https://assess.example/review/{link}\n".encode() in raw  # one line, greppable
        assert reviewer.record.record_verification_id == record_id

        endorse_with(service, link, ["skill_001"])
        completed, initiated = sorted(receiver.wait_for(2), key=lambda h: h.payload["type"])
        confirmation = outbox_emails(service, 2)[1]

    assert (completed.payload["type"], initiated.payload["type"]) == (
        "verification.completed",
        "verification.initiated",
    )
    assert initiated.payload["data"] == {
        "recordVerificationId": record_id,
        "reviewer": {"company": "Navy", "endorsementType": "tech_lead"},
        "expiresAt": "2026-01-19T10:00:00.000Z",
        "student": {"studentId": STUDENT["studentId"]},
    }
    data = completed.payload["data"]
    assert list(data) == [
        *("recordVerificationId", "skillsVerified", "skillsRejected", "verifiedSkills"),
        *("skillsUpdated", "webhook", "student", "reviewer"),
    ]
    assert (data["skillsVerified"], data["skillsRejected"], data["reviewer"]["company"]) == (
        1,
        1,
        "Navy",
    )
    assert "grace@example.com" not in completed.body.decode()
    assert "Grace Hopper" not in initiated.body.decode()
    items, _ = service.deliveries.page("acme", "live", endpoint["id"], 10, None)
    assert {item["type"] for item in items} == {"verification.initiated", "verification.completed"}

    assert str(confirmation["To"]) == STUDENT["email"]
    assert confirmation["Subject"] == "Endorsed: React"
    text = confirmation.get_body(("plain",))
    assert text is not None
    assert "Grace Hopper (Navy) endorsed your work" in text.get_content()  # who, as invited
    # Every event again, as a redelivery would bring them: no email a second time.
    project(service)
    emails = service.emails()
    for message in public_messages(service):
        emails.handle(message)
    assert len(list(service.settings.outbox.glob("*.eml"))) == 2
