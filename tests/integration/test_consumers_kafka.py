"""The webhook and email consumers as Kafka consumer groups, end to end on real services:
the Tansu broker, PostgreSQL, an SMTP server (aiosmtpd) and HTTP receivers on loopback.

The relay, `webhooks_consumer` and `emails_consumer` run in threads, each on its own store
connection, as the production processes would; the service takes commands meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from standardwebhooks.webhooks import Webhook

from api.bootstrap import open_migrated
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.messages import (
    GenerateQuestions,
    StartVerification,
    SubmitAnswers,
    Submitted,
)
from application.public import ASSESSMENT_TOPICS
from application.service import AssessmentService
from application.settings import Settings
from consumers.processes import emails_consumer, webhooks_consumer
from consumers.relay import Relay
from tests.broker import Broker, read_topic
from tests.receivers import Hook, Mail, Mailbox, receiving, smtp_server
from tests.support import ACME, REACT, Clock, answer_sheet, make_service

SESSION_TIMEOUT_MS = 6000  # Tansu joins a group in about half of it
WAIT = 45.0  # seconds: generous upper bound for anything that crosses the broker
SETTLE = 1.5  # seconds to keep listening for duplicates once everything has arrived


# -- the processes ------------------------------------------------------------------------


@contextmanager
def running_processes(settings: Settings) -> Iterator[None]:
    """The relay and both consumer groups in threads, each on its own store, until the
    block ends; then they must stop cleanly and none may have died on the way."""
    stopping = threading.Event()
    errors: list[BaseException] = []
    stores = [open_migrated(settings) for _ in range(3)]
    loops: list[Callable[[threading.Event], None]] = [
        Relay(stores[0], settings).run,
        partial(webhooks_consumer, stores[1], settings),
        partial(emails_consumer, stores[2], settings),
    ]

    def guarded(loop: Callable[[threading.Event], None]) -> None:
        try:
            loop(stopping)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(loop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)
        for store in stores:
            store.close()
    assert not [thread for thread in threads if thread.is_alive()], "a process did not stop"
    assert errors == [], f"a process died: {errors!r}"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()


def committed_offset(bootstrap: str, group: str, partition: TopicPartition) -> int | None:
    """What the group has committed for a partition (read without joining the group)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        offset: int | None = consumer.committed(partition)
        return offset
    finally:
        consumer.close(autocommit=False)


def replay_topic(bootstrap: str, topic: str, expected: int) -> dict[TopicPartition, int]:
    """Publish every event on the topic once more, to its partition (as a relay that lost
    its position would); return each partition's end offset afterwards."""
    records = read_topic(
        bootstrap,
        topic,
        lambda records: len({(r.key, decoded(r)["version"]) for r in records}) >= expected,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        futures = [
            producer.send(topic, key=r.key, value=r.value, headers=r.headers, partition=r.partition)
            for r in records
        ]
        producer.flush(timeout=30)
        ends: dict[TopicPartition, int] = {}
        for future in futures:
            sent = future.get(timeout=0)
            partition = TopicPartition(topic, sent.partition)
            ends[partition] = max(ends.get(partition, 0), sent.offset + 1)
        return ends
    finally:
        producer.close(timeout=5)


# -- fixtures and flows -------------------------------------------------------------------


@pytest.fixture
def topic() -> str:
    return f"assessment.events.{uuid4().hex[:8]}"


@pytest.fixture
def service(pg_url: str, clock: Clock) -> Iterator[AssessmentService]:
    service = make_service(pg_url, clock, webhook_allow_private=True)
    yield service
    service.store.close()


def consumer_settings(pg_url: str, broker: Broker, topic: str, smtp_port: int) -> Settings:
    return Settings(
        database_url=pg_url,
        kafka_bootstrap=broker.bootstrap,
        kafka_topic=topic,
        kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
        webhook_allow_private=True,
        webhook_retry_schedule="0.5,0.5,0.5",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        db_pool_size=4,  # per process (three here): the suite may run in parallel workers
    )


def student(name: str) -> dict[str, str]:
    return {"studentId": f"stu_{name}", "name": name.title(), "email": f"{name}@example.com"}


def submit(service: AssessmentService, who: dict[str, str], correct: int) -> tuple[str, Submitted]:
    """verify → generate → submit (10 questions, `correct` of them right)."""
    started = StartVerification(student=who, skills=[REACT])
    record_id = service.execute(start_verification, ACME, started, None).record_verification_id
    service.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    answers = [
        (a["questionId"], a["selectedAnswer"]) for a in answer_sheet(service, record_id, correct)
    ]
    return record_id, service.execute(submit_answers, ACME, SubmitAnswers(answers, record_id), None)


def stored_events(service: AssessmentService) -> int:
    """How many assessment events the store holds (each one a record on the topic)."""
    return len(
        service.store.recorder.select_notifications(
            start=1, limit=100_000, topics=ASSESSMENT_TOPICS
        )
    )


def of_type(hooks: list[Hook], kind: str) -> list[Hook]:
    return [hook for hook in hooks if hook.payload["type"] == kind]


def for_record(hooks: list[Hook], record_id: str) -> list[Hook]:
    return [hook for hook in hooks if hook.payload["data"]["recordVerificationId"] == record_id]


def delivered(hooks: list[Hook], record_id: str, path: str) -> bool:
    """Whether the completed webhook of a record reached `path` and was answered 200."""
    return any(
        hook.status == 200 and hook.path == path
        for hook in for_record(of_type(hooks, "verification.completed"), record_id)
    )


def mailed_to(mailbox: Mailbox, address: str) -> list[Mail]:
    return [mail for mail in mailbox.mails() if mail.message["To"] == address]


def decoded(record: Any) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.json.decode(record.value)
    return value


# -- the tests ----------------------------------------------------------------------------


def test_a_submit_reaches_the_topic_a_signed_webhook_and_one_email(
    service: AssessmentService, broker: Broker, pg_url: str, topic: str
) -> None:
    ada = student("ada")
    with receiving() as receiver, smtp_server() as (smtp_port, mailbox):
        endpoint = service.webhooks.register(ACME, receiver.url_for("/hooks"), None)
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        started = time.monotonic()
        with running_processes(settings):
            record_id, submitted = submit(service, ada, correct=8)
            wait_until(
                lambda: delivered(receiver.hooks(), record_id, "/hooks"), "the completed webhook"
            )
            wait_until(lambda: bool(mailed_to(mailbox, ada["email"])), "the result email")
            time.sleep(SETTLE)
        print(f"webhook and email {time.monotonic() - started:.1f} s after the start")
        hooks, mails = receiver.hooks(), mailbox.mails()

    # The topic holds the record's events, in the store's order (at least once each).
    records = read_topic(
        broker.bootstrap,
        topic,
        lambda records: {decoded(r)["type"] for r in records} >= {"Scored", "Locked"},
    )
    events = {decoded(r)["version"]: decoded(r) for r in records}
    assert all(r.key == record_id.encode() for r in records)
    assert [events[v]["type"] for v in sorted(events)] == [
        "VerificationStarted",
        "QuestionsGenerated",
        "AnswersSubmitted",
        "Scored",
        "Locked",
    ]
    [scored] = [event for event in events.values() if event["type"] == "Scored"]
    [generated] = [event for event in events.values() if event["type"] == "QuestionsGenerated"]

    # verification.initiated (the first generate) and verification.completed, once each,
    # signed with the endpoint's secret.
    assert {hook.path for hook in hooks} == {"/hooks"}
    assert sorted(hook.payload["type"] for hook in hooks) == [
        "verification.completed",
        "verification.initiated",
    ]
    [initiated] = of_type(hooks, "verification.initiated")
    [completed] = of_type(hooks, "verification.completed")
    assert initiated.webhook_id != completed.webhook_id
    for hook in (initiated, completed):
        assert Webhook(endpoint["secret"]).verify(hook.body, hook.headers) == hook.payload
        assert hook.headers["webhook-signature"].startswith("v1,")
        assert hook.headers["content-type"] == "application/json"
    assert initiated.payload["id"] == generated["id"]
    assert initiated.payload["data"]["recordVerificationId"] == record_id
    assert initiated.payload["data"]["attemptNumber"] == 1
    assert initiated.payload["data"]["student"] == {"studentId": ada["studentId"]}

    body = completed.payload
    assert set(body) == {"id", "type", "createdAt", "data"}
    assert (body["id"], body["createdAt"]) == (scored["id"], scored["occurredAt"])
    expected = {**msgspec.to_builtins(submitted), "student": {"studentId": ada["studentId"]}}
    assert body["data"] == expected
    assert body["data"]["result"]["score"] == 80
    assert body["data"]["result"]["passed"] is True
    assert body["data"]["webhook"] == {"sent": True, "status": "queued"}

    # Exactly one result email, to the student, in plain text and HTML.
    [mail] = mails
    assert mail.rcpt_tos == [ada["email"]]
    assert mail.message["To"] == ada["email"]
    subject = str(mail.message["Subject"])
    assert "React" in subject
    assert "80" in subject
    assert "passed" in subject.lower()
    assert "not" not in subject.lower()
    assert "fail" not in subject.lower()
    plain = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "80%" in plain.get_content()
    assert "80%" in html.get_content()


def test_an_unprocessable_message_is_dead_lettered_and_the_groups_move_on(
    service: AssessmentService, broker: Broker, pg_url: str, topic: str
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
        service.webhooks.register(ACME, receiver.url_for("/hooks"), ["verification.completed"])
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


def test_a_broker_outage_delays_webhooks_and_emails_but_loses_and_doubles_nothing(
    service: AssessmentService, broker: Broker, pg_url: str, topic: str
) -> None:
    # Every webhook-id is refused once (503) and accepted on its retry.
    with receiving(failures_per_id=1) as receiver, smtp_server() as (smtp_port, mailbox):
        service.webhooks.register(ACME, receiver.url_for("/all"), None)
        service.webhooks.register(ACME, receiver.url_for("/completed"), ["verification.completed"])
        paths = ("/all", "/completed")
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        students = [student(name) for name in ("cy", "dee", "eve", "fay")]
        records: list[str] = []
        with running_processes(settings):
            # Up and running: a first submit goes all the way.
            records.append(submit(service, students[0], correct=10)[0])
            wait_until(
                lambda: all(delivered(receiver.hooks(), records[0], p) for p in paths),
                "the first completed webhooks",
            )
            wait_until(lambda: bool(mailed_to(mailbox, students[0]["email"])), "the first email")
            broker.pause()
            try:
                for n, who in enumerate(students[1:]):
                    record_id, submitted = submit(service, who, correct=3 * n + 2)
                    assert submitted.webhook.sent is True  # the write side needs no Kafka
                    records.append(record_id)
                # Longer than the relay's request timeout (5 s) and the groups' session (6 s).
                time.sleep(7)
                assert not any(
                    for_record(receiver.hooks(), record_id) for record_id in records[1:]
                ), "nothing can have crossed a paused broker"
            finally:
                broker.resume()
            outage_over = time.monotonic()
            wait_until(
                lambda: all(
                    delivered(receiver.hooks(), record_id, path)
                    for record_id in records
                    for path in paths
                ),
                "every completed webhook after the outage",
            )
            wait_until(
                lambda: all(mailed_to(mailbox, who["email"]) for who in students),
                "every result email after the outage",
            )
            print(f"caught up {time.monotonic() - outage_over:.1f} s after the outage")
            # Every event is redelivered once more: the groups must not act on it twice.
            ends = replay_topic(broker.bootstrap, topic, stored_events(service))
            wait_until(
                lambda: all(
                    (committed_offset(broker.bootstrap, group, partition) or 0) >= end
                    for group in ("webhooks", "emails")
                    for partition, end in ends.items()
                ),
                "both groups past the replayed events",
            )
            time.sleep(SETTLE)
        hooks, mails = receiver.hooks(), mailbox.mails()

    completed = of_type(hooks, "verification.completed")
    assert not of_type(
        [hook for hook in hooks if hook.path == "/completed"], "verification.initiated"
    )
    # One webhook-id per submit and endpoint; every retry of it carries the same id and body.
    ids: set[str] = set()
    for record_id in records:
        for path in paths:
            tries = [hook for hook in for_record(completed, record_id) if hook.path == path]
            [webhook_id] = {hook.webhook_id for hook in tries}
            assert [hook.status for hook in tries] == [503, 200]
            assert len({hook.body for hook in tries}) == 1
            ids.add(webhook_id)
    assert len(ids) == len(records) * len(paths)
    # The same event behind both endpoints' deliveries of a submit, a different one per submit.
    assert len({hook.payload["id"] for hook in completed}) == len(records)

    # Exactly one email per submit, to its student.
    assert sorted(str(mail.message["To"]) for mail in mails) == sorted(
        who["email"] for who in students
    )
    assert len({mail.message["Message-ID"] for mail in mails}) == len(students)


def test_a_recipient_refused_for_good_is_dead_lettered_and_the_next_email_goes_out(
    service: AssessmentService, broker: Broker, pg_url: str, topic: str
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
