"""Messages the consumers cannot process go to the dead-letter topic, with the error in
its headers, and the groups move on (Tansu broker, PostgreSQL, SMTP, HTTP receivers)."""

from __future__ import annotations

import time
from typing import Any
from uuid import uuid4

import msgspec
from kafka import KafkaProducer, TopicPartition

from entrypoints.bootstrap import Services
from tests.broker import Broker, read_topic
from tests.kafka_flow import (
    SETTLE,
    committed_offset,
    consumer_settings,
    create_topic,
    decoded,
    delivered,
    mailed_to,
    running_processes,
    student,
    submit,
    wait_until,
)
from tests.receivers import Mailbox, receiving, smtp_server
from tests.support import register_endpoint


def test_an_unprocessable_message_is_dead_lettered_and_the_groups_move_on(
    service: Services, broker: Broker, pg_url: str, topic: str
) -> None:
    # One partition: the real events come after the bad messages, in one order for all.
    create_topic(broker.bootstrap, topic, partitions=1)
    unknown = f"ver_live_{uuid4().hex}"
    orphan = msgspec.json.encode(
        {
            "id": str(uuid4()),
            "recordVerificationId": unknown,
            "version": 4,
            "type": "Scored",
            "occurredAt": "2026-01-05T10:00:00.000Z",
            "data": {
                "attemptNumber": 1,
                "correctAnswers": 1,
                "totalQuestions": 10,
                "score": 10,
                "passed": False,
                "skills": [],
                "skillsUpdated": 0,
            },
        }
    )
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    try:
        producer.send(topic, key=b"garbage", value=b"not json", headers=[("origin", b"test")])
        producer.send(topic, key=unknown.encode(), value=orphan)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)

    bea = student("bea")
    with receiving() as receiver, smtp_server() as (smtp_port, mailbox):
        register_endpoint(service, receiver.url_for("/hooks"), ["verification.completed"])
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        with running_processes(settings):
            record_id, _ = submit(service, bea, correct=3)
            wait_until(
                lambda: delivered(receiver.hooks(), record_id, "/hooks"), "the completed webhook"
            )
            wait_until(lambda: bool(mailed_to(mailbox, bea["email"])), "the result email")
            time.sleep(SETTLE)
        hooks, mails = receiver.hooks(), mailbox.mails()

    # The real event after the bad ones went through both groups, once.
    [completed] = hooks
    assert completed.payload["data"]["recordVerificationId"] == record_id
    assert completed.payload["data"]["result"]["passed"] is False
    [mail] = mails
    assert mail.message["To"] == bea["email"]

    # Both bad messages are parked in <topic>.dlq by each group, with the error in headers.
    def parked(records: list[Any], value: bytes) -> list[dict[str, bytes]]:
        return [dict(r.headers) for r in records if r.value == value]

    dead = read_topic(
        broker.bootstrap,
        f"{topic}.dlq",
        lambda records: (
            len(parked(records, b"not json")) >= 2 and len(parked(records, orphan)) >= 2
        ),
    )
    for headers in parked(dead, b"not json"):
        assert headers["dlq_error"].startswith(b"undecodable")
        assert headers["dlq_source"] == f"{topic}/0/0".encode()
        assert headers["origin"] == b"test"
    for headers in parked(dead, orphan):
        assert headers["dlq_error"].startswith(b"unprocessable")
        assert unknown.encode() in headers["dlq_error"]
        assert headers["dlq_source"] == f"{topic}/0/1".encode()
    assert {r.key for r in dead} == {b"garbage", unknown.encode()}

    # Each group committed past everything on the topic: it is not stuck on them.
    records = read_topic(
        broker.bootstrap,
        topic,
        lambda records: any(decoded(r)["type"] == "Scored" for r in records if r.offset > 1),
    )
    end = max(r.offset for r in records) + 1
    partition = TopicPartition(topic, 0)
    assert committed_offset(broker.bootstrap, "webhooks", partition) == end
    assert committed_offset(broker.bootstrap, "emails", partition) == end


def test_a_recipient_refused_for_good_is_dead_lettered_and_the_next_email_goes_out(
    service: Services, broker: Broker, pg_url: str, topic: str
) -> None:
    # One partition: the second submit's email queues behind the first one's.
    create_topic(broker.bootstrap, topic, partitions=1)
    gone, gus = student("gone"), student("gus")
    with smtp_server(mailbox=Mailbox(frozenset({gone["email"]}))) as (smtp_port, mailbox):
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        with running_processes(settings):
            refused_record, _ = submit(service, gone, correct=5)
            submit(service, gus, correct=5)
            # A 550 is the message's fault, not an outage: waiting cannot cure it.
            wait_until(
                lambda: bool(mailed_to(mailbox, gus["email"])),
                "the email queued behind a refused recipient's",
                timeout=25,
            )
        mails = mailbox.mails()
    assert [mail.message["To"] for mail in mails] == [gus["email"]]
    dead = read_topic(
        broker.bootstrap,
        f"{topic}.dlq",
        lambda records: any(r.key == refused_record.encode() for r in records),
    )
    for parked in [r for r in dead if r.key == refused_record.encode()]:
        assert decoded(parked)["type"] == "Scored"
        assert b"550" in dict(parked.headers)["dlq_error"]
        assert gone["email"].encode() not in dict(parked.headers)["dlq_error"]
