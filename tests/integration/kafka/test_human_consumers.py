"""The human path through the Kafka consumer groups, end to end on real services (Tansu,
PostgreSQL, aiosmtpd, an HTTP receiver): its events on the topic without the reviewer's
secrets, verification.initiated on the first invitation only and verification.completed on
the endorsement, each invitation's email with a link that works and the student's
confirmation, each once, also when every message is delivered again."""

from __future__ import annotations

import re
from uuid import UUID

import pytest
from cloudevents.v1.kafka import KafkaMessage, from_binary
from standardwebhooks.webhooks import Webhook

from domain.assessment import Assessment
from domain.errors import InvalidReviewerToken
from entrypoints.bootstrap import Services
from tests.broker import Broker, read_topic
from tests.kafka_flow import (
    consumer_settings,
    decoded,
    delivered,
    mailed_to,
    of_type,
    redeliver_everything,
    running_processes,
    wait_until,
)
from tests.receivers import Mail, receiving, smtp_server
from tests.support import (
    STUDENT,
    endorse_with,
    invite_to_review,
    register_endpoint,
    start_endorsement,
)

GRACE, ALAN = "grace@example.com", "alan@example.com"


def emailed_token(mail: Mail, public_url: str) -> str:
    """The token of the one review link in an invitation's plain text."""
    plain = mail.message.get_body(("plain",))
    assert plain is not None
    [token] = re.findall(rf"{re.escape(public_url)}/review/(\S+)", plain.get_content())
    return str(token)


def token_hashes(service: Services, record_id: str) -> list[str]:
    """The hashes of the record's reviewer tokens, as the store holds them."""
    events = service.store.repository.event_store.get(UUID(record_id[-32:]))
    return [e.token_hash for e in events if isinstance(e, Assessment.ReviewerInvited)]


def test_a_human_record_goes_out_as_two_webhooks_and_three_emails_once_each(
    service: Services, broker: Broker, pg_url: str, topic: str
) -> None:
    with receiving() as receiver, smtp_server() as (smtp_port, mailbox):
        endpoint = register_endpoint(service, receiver.url_for("/hooks"))
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        with running_processes(settings):
            record_id = start_endorsement(service, student="stu_hal")
            invite_to_review(service, record_id)
            invite_to_review(service, record_id, name="Alan Turing", email=ALAN)  # replaces
            wait_until(
                lambda: all(mailed_to(mailbox, address) for address in (GRACE, ALAN)),
                "both invitations",
            )
            [first], [second] = mailed_to(mailbox, GRACE), mailed_to(mailbox, ALAN)
            tokens = [emailed_token(mail, settings.public_url) for mail in (first, second)]
            with pytest.raises(InvalidReviewerToken):
                service.records.reviewer(tokens[0])  # replaced by the second invitation
            reviewer = service.records.reviewer(tokens[1])  # the emailed link is the record's own
            assert reviewer.record.record_verification_id == record_id
            endorse_with(service, tokens[1], ["skill_001"])
            wait_until(
                lambda: delivered(receiver.hooks(), record_id, "/hooks"), "the completed webhook"
            )
            wait_until(lambda: bool(mailed_to(mailbox, STUDENT["email"])), "the confirmation")
            # Every event is delivered once more: neither group may act on it twice.
            redeliver_everything(broker.bootstrap, topic, service)
        hooks, mails = receiver.hooks(), mailbox.mails()

    # The topic: the record's events in order, as CloudEvents, without the reviewer's secrets.
    records = read_topic(
        broker.bootstrap,
        topic,
        lambda records: any(decoded(r)["type"] == "Locked" for r in records),
    )
    events = {decoded(r)["version"]: decoded(r) for r in records}
    assert [events[v]["type"] for v in sorted(events)] == [
        "VerificationStarted",
        "ReviewerInvited",
        "ReviewerInvited",
        "SkillsEndorsed",
        "Locked",
    ]
    ce_types = set()
    secrets = [token.encode() for token in tokens] + [
        secret.encode() for secret in token_hashes(service, record_id)
    ]
    assert len(secrets) == 4
    for record in records:
        headers = dict(record.headers)
        event = from_binary(KafkaMessage(headers=headers, key=record.key, value=record.value))
        assert event["type"] == f"assess.{decoded(record)['type']}.v1"
        ce_types.add(event["type"])
        for secret in secrets:
            assert secret not in record.value
            # The token's MAC part alone (rvw_<record>_<mac>: a MAC may hold "_" itself).
            assert secret.split(b"_", 2)[-1] not in record.value
            assert all(secret not in value for value in headers.values())
        assert b"tokenHash" not in record.value
    assert {"assess.ReviewerInvited.v1", "assess.SkillsEndorsed.v1"} <= ce_types
    invited = [events[2], events[3]]
    assert [e["data"]["invitation"] for e in invited] == [1, 2]

    # Webhooks: initiated by the first invitation only, completed by the endorsement; once.
    assert sorted(hook.payload["type"] for hook in hooks) == [
        "verification.completed",
        "verification.initiated",
    ]
    [initiated] = of_type(hooks, "verification.initiated")
    [completed] = of_type(hooks, "verification.completed")
    for hook in (initiated, completed):
        assert Webhook(endpoint["secret"]).verify(hook.body, hook.headers) == hook.payload
        assert b"Grace" not in hook.body
        assert b"Alan" not in hook.body
        assert b"@example.com" not in hook.body
    assert initiated.payload["id"] == events[2]["id"]
    assert initiated.payload["data"]["reviewer"] == {
        "company": "Navy",
        "endorsementType": "tech_lead",
    }
    assert initiated.payload["data"]["student"] == {"studentId": "stu_hal"}
    assert completed.payload["id"] == events[4]["id"]
    data = completed.payload["data"]
    assert (data["recordVerificationId"], data["skillsVerified"], data["skillsRejected"]) == (
        record_id,
        1,
        1,
    )
    assert [(s["skillId"], s["status"], s["verifiedBy"]) for s in data["verifiedSkills"]] == [
        ("skill_001", "verified", "human_endorsement"),
        ("skill_002", "rejected", None),
    ]

    # Emails: each invitation to its reviewer, and the student's confirmation; once each.
    assert sorted(mail.rcpt_tos[0] for mail in mails) == sorted([ALAN, STUDENT["email"], GRACE])
    assert len({mail.message["Message-ID"] for mail in mails}) == 3
    assert second.message["Subject"] == "Endorsement request: React, Python"
    html = second.message.get_body(("html",))
    assert html is not None
    assert f'href="{settings.public_url}/review/{tokens[1]}"' in html.get_content()
    [confirmation] = mailed_to(mailbox, STUDENT["email"])
    assert confirmation.message["Subject"] == "Endorsed: React"
    plain = confirmation.message.get_body(("plain",))
    assert plain is not None
    lines = plain.get_content().splitlines()
    assert lines[3:5] == ["- React: verified", "- Python: rejected"]
    [link] = [line for line in lines if "/credentials/" in line]  # React's credential only
    assert link.startswith(f"- React: {settings.public_url}/credentials/")
