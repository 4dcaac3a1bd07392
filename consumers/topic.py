"""Consuming the public topic as a group: typed decoding, a dead-letter topic, and offsets
committed only after the work is durably done."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from application.ports import Behind
from application.settings import Settings
from infrastructure.tracing import TRACEPARENT, continued, header

log = logging.getLogger("assess.consumers")


class PublicMessage(msgspec.Struct, frozen=True, rename="camel"):
    """An event as the relay publishes it."""

    id: str
    record_verification_id: str
    version: int
    type: str
    occurred_at: str
    data: dict[str, Any]


DECODER = msgspec.json.Decoder(PublicMessage)
# Errors worth waiting out (the store is away, a view behind); anything else is the
# message's fault.
TRANSIENT = (OperationalError, InterfaceError, OSError, Behind)
Handler = Callable[[dict[str, Any], int | None], object]
# A member's position and lag on one partition (partition, position, lag), for /ready.
Report = Callable[[int, int, int], None]
REPORT_EVERY = 10.0  # seconds between reports of an unchanged partition


def consume(
    settings: Settings,
    group: str,
    handle: Handler,
    stopping: threading.Event,
    report: Report = lambda partition, position, lag: None,
) -> None:
    """Feed every message of the topic to `handle`, with its place in the event store's
    log (its ce_sequence header; None if it has none), as the consumer group `group`; say
    where it is on each partition to `report` when that changes (and every 10 s)."""
    consumer = _join(settings, group, stopping)
    if consumer is None:
        return
    dead_letters = DeadLetters(settings)
    traced = settings.tracing_on
    reported: dict[int, tuple[int, int, float]] = {}
    try:
        while not stopping.is_set():
            settings.beat()
            polled = consumer.poll(timeout_ms=500)
            for partition, records in polled.items():
                for record in records:
                    if not _process(record, handle, dead_letters, traced):
                        consumer.seek(partition, record.offset)  # again, after a pause
                        stopping.wait(1.0)
                        break
            if polled:
                try:
                    consumer.commit()
                except KafkaError as error:  # the work is done and idempotent: commit later
                    log.warning("offset commit failed (%r); will commit later", error)
            _report(consumer, report, reported)
    finally:
        consumer.close()
        dead_letters.close()


def _report(
    consumer: KafkaConsumer, report: Report, reported: dict[int, tuple[int, int, float]]
) -> None:
    """Report each assigned partition's position and lag (to its high-water mark, as the
    last fetch saw it) if either changed or REPORT_EVERY passed; a failure is only logged."""
    now = time.monotonic()
    try:
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            position = consumer.position(partition)
            lag = max(0, highwater - position)
            last = reported.get(partition.partition)
            if last is not None and last[:2] == (position, lag) and now - last[2] < REPORT_EVERY:
                continue
            report(partition.partition, position, lag)
            reported[partition.partition] = (position, lag, now)
    except (KafkaError, *TRANSIENT) as error:
        log.warning("cannot report the group's progress (%r)", error)


def _join(settings: Settings, group: str, stopping: threading.Event) -> KafkaConsumer | None:
    """Join the group, retrying while Kafka is away; None if stopped first."""
    backoff = 1.0
    while not stopping.is_set():
        try:
            return KafkaConsumer(
                settings.kafka_topic,
                bootstrap_servers=settings.kafka_bootstrap,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=settings.kafka_session_timeout_ms,
                heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 6, 500),
                bootstrap_timeout_ms=5000,
                fetch_max_wait_ms=50,  # a webhook should not wait half a second for a fetch
            )
        except KafkaError as error:
            log.warning("cannot reach Kafka (%r); retrying in %.0f s", error, backoff)
            stopping.wait(backoff)
            backoff = min(backoff * 2, 30.0)
    return None


def _process(
    record: ConsumerRecord,
    handle: Handler,
    dead: DeadLetters,
    traced: bool,
) -> bool:
    """Handle one record (in the trace its `traceparent` header names, when tracing);
    False when it must be tried again later."""
    try:
        message = msgspec.to_builtins(DECODER.decode(record.value))
    except msgspec.MsgspecError as error:
        dead.send(record, f"undecodable: {error}")
        return True
    try:
        with continued(header(record.headers, TRACEPARENT) if traced else None):
            handle(message, position(record))
    except TRANSIENT as error:
        log.warning("will retry %s: %r", message["id"], error)
        return False
    except Exception as error:
        log.exception("cannot process %s", message["id"])
        dead.send(record, f"unprocessable: {error!r}")
    return True


def position(record: ConsumerRecord) -> int | None:
    """The record's place in the event store's log, from its ce_sequence header."""
    sequence = header(record.headers, "ce_sequence")
    return int(sequence) if sequence and sequence.isdigit() else None


class DeadLetters:
    """`<topic>.dlq`: messages a consumer cannot process, with the error in headers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: KafkaProducer | None = None

    def send(self, record: ConsumerRecord, error: str) -> None:
        """Park a message, durably, before the group moves past it."""
        log.error(
            "dead-lettering %s/%d/%d: %s", record.topic, record.partition, record.offset, error
        )
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                acks="all",
                bootstrap_timeout_ms=5000,
                max_block_ms=5000,
            )
        headers = [
            *(record.headers or []),
            ("dlq_error", error.encode()),
            ("dlq_source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        self._producer.send(
            f"{record.topic}.dlq", key=record.key, value=record.value, headers=headers
        ).get(timeout=30)

    def close(self) -> None:
        """Release the producer."""
        if self._producer is not None:
            self._producer.close(timeout=5)
