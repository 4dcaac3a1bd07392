"""The relay against a real Kafka-protocol broker: content, headers, crashes, outages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from cloudevents.v1.kafka import KafkaMessage, from_binary
from eventsourcing.persistence import StoredEvent

from application.integration_events import ASSESSMENT_TOPICS
from application.settings import Settings
from consumers.relay import RELAY, Relay
from entrypoints.bootstrap import Services
from infrastructure.following import Tracker, UndecodableEvent
from tests.broker import Broker, read_topic
from tests.support import MASTER_KEY, Clock, make_service, take_attempt


@pytest.fixture
def topic() -> str:
    return f"assessment.events.{uuid4().hex[:8]}"


@pytest.fixture
def service(pg_url: str, clock: Clock) -> Iterator[Services]:
    service = make_service(pg_url, clock)
    yield service
    service.store.close()


def stored_events(service: Services) -> list[tuple[str, int]]:
    """(record uuid hex, version) of every assessment event, in the store's order."""
    notifications = service.store.recorder.select_notifications(
        start=1, limit=100_000, topics=ASSESSMENT_TOPICS
    )
    return [(UUID(str(n.originator_id)).hex, n.originator_version) for n in notifications]


def at_least(count: int) -> Callable[[list[Any]], bool]:
    """Enough records once there are `count` (republished ones count too)."""
    return lambda records: len(records) >= count


def covering(expected: list[tuple[str, int]]) -> Callable[[list[Any]], bool]:
    """Enough records once every expected event is among them (republished ones apart)."""

    def covered(records: list[Any]) -> bool:
        seen = {(r.key.decode()[-32:], msgspec.json.decode(r.value)["version"]) for r in records}
        return set(expected) <= seen

    return covered


def relay_in_thread(
    service: Services, settings: Settings
) -> tuple[threading.Event, threading.Thread]:
    stopping = threading.Event()
    store = service.store
    relay = Relay(store, settings, Tracker(store, RELAY))
    thread = threading.Thread(target=relay.run, args=(stopping,))
    thread.start()
    return stopping, thread


def assert_complete_and_ordered(messages: list[Any], expected: list[tuple[str, int]]) -> None:
    """Every stored event arrived (duplicates allowed), each record's in version order."""
    seen = [(m.key.decode()[-32:], msgspec.json.decode(m.value)["version"]) for m in messages]
    assert set(seen) == set(expected)
    by_record: dict[str, list[int]] = {}
    for record, version in seen:
        by_record.setdefault(record, []).append(version)
    for versions in by_record.values():
        firsts = list(dict.fromkeys(versions))
        assert firsts == sorted(firsts)


def test_a_submit_reaches_the_topic_with_cloudevents_headers(
    service: Services, broker: Broker, topic: str, pg_url: str
) -> None:
    passed, failed = take_attempt(service, correct=9), take_attempt(service, correct=2)
    settings = Settings(database_url=pg_url, kafka_bootstrap=broker.bootstrap, kafka_topic=topic)
    stopping, thread = relay_in_thread(service, settings)
    expected = stored_events(service)
    messages = read_topic(broker.bootstrap, topic, at_least(len(expected)))
    stopping.set()
    thread.join()
    assert_complete_and_ordered(messages, expected)
    types: dict[str, list[str]] = {}
    for message in messages:
        headers = {name: value for name, value in message.headers}
        event = from_binary(KafkaMessage(headers=headers, key=message.key, value=message.value))
        body = msgspec.json.decode(message.value)
        assert event["specversion"] == "1.0"
        assert event["id"] == body["id"]
        assert event["source"] == "/assess"
        assert event["type"] == f"assess.{body['type']}.v1"
        assert event["time"] == body["occurredAt"]
        assert event["datacontenttype"] == "application/json"
        assert message.key.decode() == body["recordVerificationId"]
        assert b"answerKey" not in message.value
        assert b"sessionTokenHash" not in message.value
        types.setdefault(body["recordVerificationId"], []).append(body["type"])
    assert types[passed][-3:] == ["AnswersSubmitted", "Scored", "Locked"]
    assert types[failed][-2:] == ["AnswersSubmitted", "Scored"]


def relay_process(
    pg_url: str, broker: Broker, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`assess relay` as its own process on the store and the broker (its data folder and
    output beside `log`), with `env` besides."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "relay"],
            env={
                **os.environ,
                "ASSESS_DATABASE_URL": pg_url,
                "ASSESS_MASTER_KEY": MASTER_KEY,
                "ASSESS_KAFKA_BOOTSTRAP": broker.bootstrap,
                "ASSESS_DATA_DIR": str(log.parent / "data"),
                **(env or {}),
            },
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def test_the_relay_killed_mid_stream_loses_nothing(
    service: Services, broker: Broker, topic: str, pg_url: str, tmp_path: Path
) -> None:
    env = {"ASSESS_KAFKA_TOPIC": topic, "ASSESS_HEARTBEAT_FILE": str(tmp_path / "heartbeat")}
    log = tmp_path / "relay.log"

    def start_relay() -> subprocess.Popen[bytes]:
        return relay_process(pg_url, broker, log, env)

    tracker = Tracker(service.store, RELAY)
    tracker.create()

    def published_past(position: int) -> int:
        """Wait until the relay tracked a batch past `position`; its new position."""
        deadline = time.monotonic() + 30
        while (now := tracker.position()) <= position:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        return now

    killed = threading.Event()

    def write() -> None:  # events are stored until both kills are done
        attempts = 0
        while attempts < 40 or not killed.is_set():
            take_attempt(service, attempts % 10)
            attempts += 1

    writer = threading.Thread(target=write)
    writer.start()
    relay, position = start_relay(), 0
    for _ in range(2):
        position = published_past(position)  # killed once it has published, mid-stream
        relay.send_signal(signal.SIGKILL)
        relay.wait()
        relay = start_relay()
    killed.set()
    writer.join()
    take_attempt(service, correct=7)  # only the last relay can publish these: it is up and working
    expected = stored_events(service)
    messages = read_topic(broker.bootstrap, topic, covering(expected), timeout=60)
    assert time.time() - (tmp_path / "heartbeat").stat().st_mtime < 5  # its loop is alive
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=30) == 0, log.read_text()
    assert_complete_and_ordered(messages, expected)


def test_a_broker_outage_delays_but_loses_nothing(
    service: Services,
    broker: Broker,
    topic: str,
    pg_url: str,
) -> None:
    settings = Settings(database_url=pg_url, kafka_bootstrap=broker.bootstrap, kafka_topic=topic)
    stopping, thread = relay_in_thread(service, settings)
    take_attempt(service, correct=5)
    read_topic(broker.bootstrap, topic, at_least(len(stored_events(service))))
    broker.pause()
    stored_before = service.store.recorder.max_notification_id() or 0
    try:
        for n in range(5):
            take_attempt(service, correct=n * 2)  # the write side does not need Kafka
        # Two seconds: the relay has read and sent these long since (it looks every 50 ms)
        # and can have recorded none of them as published.
        time.sleep(2)
        assert Tracker(service.store, RELAY).position() <= stored_before
    finally:
        broker.resume()
    expected = stored_events(service)
    messages = read_topic(broker.bootstrap, topic, covering(expected), timeout=60)
    stopping.set()
    thread.join()
    assert_complete_and_ordered(messages, expected)


def test_an_event_that_does_not_decode_stops_the_relay_after_those_before_it(
    service: Services, broker: Broker, topic: str, pg_url: str
) -> None:
    """The builder process reads and decodes the log: an event it cannot decode comes back
    to the relay as the same error, naming the event, once the events before it are out."""
    take_attempt(service, correct=9)
    expected = stored_events(service)
    [position] = service.store.recorder.insert_events(
        [StoredEvent(uuid4(), 2, ASSESSMENT_TOPICS[1], b"{not json")]
    ) or [0]
    settings = Settings(database_url=pg_url, kafka_bootstrap=broker.bootstrap, kafka_topic=topic)
    relay = Relay(service.store, settings, Tracker(service.store, RELAY))
    with pytest.raises(UndecodableEvent) as stopped:
        relay.run(threading.Event(), drain=True)
    assert stopped.value.position == position
    assert f"notification {position}" in str(stopped.value)
    assert_complete_and_ordered(
        read_topic(broker.bootstrap, topic, at_least(len(expected))), expected
    )
    assert Tracker(service.store, RELAY).position() == position - 1


def test_a_killed_relay_takes_its_builder_with_it(
    pg_url: str, broker: Broker, tmp_path: Path
) -> None:
    """A relay killed outright cannot stop its builder: the builder ends by itself."""
    log = tmp_path / "relay.log"
    relay = relay_process(pg_url, broker, log)
    deadline = time.monotonic() + 60
    while not (builders := spawned(relay.pid)):  # once the relay started its builder
        assert relay.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no builder"
        time.sleep(0.05)
    [builder] = builders
    relay.send_signal(signal.SIGKILL)
    relay.wait()
    deadline = time.monotonic() + 10
    while running(builder):
        assert time.monotonic() < deadline, "the builder outlived its relay"
        time.sleep(0.05)


def running(pid: int) -> bool:
    """Whether a process is alive (not gone, nor a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def spawned(pid: int) -> list[int]:
    """The processes a process spawned with multiprocessing (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]
