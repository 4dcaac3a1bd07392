"""What the Kafka consumer suites share: the processes in threads, the topic, the
service on PostgreSQL, and how to read what the receivers got."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import msgspec
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from application.commands import GenerateQuestions, StartVerification, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.integration_events import ASSESSMENT_TOPICS
from application.results import Submitted
from application.settings import Settings
from consumers.processes import emails_consumer, webhooks_consumer
from entrypoints.bootstrap import Services, bootstrap
from projections.runner import MODELS, follow
from tests.broker import Broker, read_topic
from tests.receivers import Hook, Mail, Mailbox
from tests.support import ACME, MASTER_KEY, REACT, answer_sheet

SESSION_TIMEOUT_MS = 6000  # Tansu joins a group in about half of it
WAIT = 45.0  # seconds: generous upper bound for anything that crosses the broker
SETTLE = 1.5  # seconds to keep listening for duplicates once everything has arrived


# -- the processes ------------------------------------------------------------------------


@contextmanager
def running_processes(settings: Settings) -> Iterator[None]:
    """The relay, the projector (whose views the consumers read) and both consumer groups
    in threads, each on its own store, until the block ends; then they must stop cleanly
    and none may have died on the way."""
    stopping = threading.Event()
    errors: list[BaseException] = []
    relay, webhooks, emails, projector = (bootstrap(settings) for _ in range(4))
    stores = [relay.store, webhooks.store, emails.store, projector.store]
    loops: list[Callable[[threading.Event], None]] = [
        relay.relay().run,
        *(partial(follow, projector.store, model) for model in MODELS.values()),
        partial(
            webhooks_consumer,
            settings,
            webhooks.fanout(),
            webhooks.sender(),
            progress=webhooks.progress,
        ),
        partial(emails_consumer, settings, emails.emails(), progress=emails.progress),
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


def consumer_settings(pg_url: str, broker: Broker, topic: str, smtp_port: int) -> Settings:
    return Settings(
        database_url=pg_url,
        kafka_bootstrap=broker.bootstrap,
        kafka_topic=topic,
        kafka_session_timeout_ms=SESSION_TIMEOUT_MS,
        webhook_allow_private=True,
        webhook_retry_schedule="0.5,0.5,0.5",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        master_key=MASTER_KEY,  # the service's: the email consumer derives reviewer links
        db_pool_size=4,  # per process (three here): the suite may run in parallel workers
    )


def student(name: str) -> dict[str, str]:
    return {"studentId": f"stu_{name}", "name": name.title(), "email": f"{name}@example.com"}


def submit(service: Services, who: dict[str, str], correct: int) -> tuple[str, Submitted]:
    """verify → generate → submit (10 questions, `correct` of them right)."""
    started = StartVerification(student=who, skills=[REACT])
    record_id = service.commands.execute(
        start_verification, ACME, started, None
    ).record_verification_id
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    answers = [
        (a["questionId"], a["selectedAnswer"]) for a in answer_sheet(service, record_id, correct)
    ]
    return record_id, service.commands.execute(
        submit_answers, ACME, SubmitAnswers(answers, record_id), None
    )


def stored_events(service: Services) -> int:
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


def redeliver_everything(bootstrap: str, topic: str, service: Services) -> None:
    """Publish every stored event once more, wait until both groups have committed past
    them, and listen a little longer: what they act on twice shows by then."""
    ends = replay_topic(bootstrap, topic, stored_events(service))
    wait_until(
        lambda: all(
            (committed_offset(bootstrap, group, partition) or 0) >= end
            for group in ("webhooks", "emails")
            for partition, end in ends.items()
        ),
        "both groups past the replayed events",
    )
    time.sleep(SETTLE)
