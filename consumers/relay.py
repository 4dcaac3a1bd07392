"""The relay: every stored assessment event, in order, to the public Kafka topic.

It follows the notification log from its tracked position, publishes a batch, waits until
the broker has acknowledged all of it (acks=all), and only then records the batch's last
position. A crash between the two republishes that batch: every event arrives at least
once, and in the order of the store for each record (the message key)."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress
from typing import Any

import msgspec
from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from opentelemetry.trace import Span, SpanKind

from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from application.settings import Settings
from application.store import EventStore
from infrastructure.following import Batch, Tracker, follow_log
from infrastructure.tracing import (
    CE_TRACEPARENT,
    TRACEPARENT,
    ending,
    parent,
    stored_traceparent,
    traceparent,
    tracer_for,
)

log = logging.getLogger("assess.relay")

BATCH = 2000
ACK_SECONDS = 30.0
IDLE_WAIT = 0.05
RELAY = "relay"  # the follower name of its position


class Relay:
    """Publishes the store's assessment events to Kafka, at least once and in order."""

    def __init__(
        self, store: EventStore, settings: Settings, tracker: Tracker, messages: PublicMessages
    ) -> None:
        self.store = store
        self.settings = settings
        self.tracker = tracker
        self._producer: KafkaProducer | None = None
        self.messages = messages
        self.tracer = tracer_for(settings)
        self.stopping = threading.Event()

    def run(self, stopping: threading.Event, *, drain: bool = False) -> None:
        """Relay until stopped (with drain, until caught up); while Kafka or the store is
        away, retry with backoff, from the last acknowledged position."""
        self.stopping = stopping
        try:
            follow_log(
                self.store,
                ASSESSMENT_TOPICS,
                self.tracker.position,
                self.publish,
                stopping,
                until=lambda: drain or stopping.wait(IDLE_WAIT),
                paused_by=(KafkaError, OperationalError, InterfaceError),
                on_pause=self._paused,
                beat=self.settings.beat,
                limit=BATCH,
            )
        finally:
            self._discard_producer()

    def _paused(self, error: Exception) -> None:
        log.warning("relay paused (%r); retrying", error)
        self._discard_producer()

    def publish(self, batch: Batch) -> None:
        """Publish a batch and track its last position once the broker acknowledged all."""
        producer = self._producer or self._new_producer()
        spans: list[Span] = []
        futures = [self._send(producer, event, position, spans) for event, position in batch]
        with ending(spans):  # a publish span lasts until the broker acknowledged it
            if not self._acknowledged(producer, futures):
                return  # stopping: the batch goes again after the restart
            for future in futures:
                future.get(timeout=0)  # raises the broker's error, if it refused one
        self.tracker.advance(batch[-1][1])

    def _acknowledged(self, producer: KafkaProducer, futures: list[Any]) -> bool:
        """Wait until the broker answered for every message (KafkaTimeoutError after
        ACK_SECONDS); False at once when the process is stopping."""
        deadline = time.monotonic() + ACK_SECONDS
        while not all(future.is_done for future in futures):
            if self.stopping.is_set():
                return False
            if time.monotonic() > deadline:
                raise KafkaTimeoutError(f"no acknowledgement within {ACK_SECONDS:.0f} s")
            with suppress(KafkaTimeoutError):
                producer.flush(timeout=0.25)
        return True

    def _send(
        self, producer: KafkaProducer, event: AggregateEvent, position: int, spans: list[Span]
    ) -> Any:
        message, headers = self.messages.message(event, position)
        if self.tracer is not None:
            spans.append(self._traced(event, message, headers))
        return producer.send(
            self.settings.kafka_topic,
            key=message["recordVerificationId"].encode(),
            value=msgspec.json.encode(message),
            headers=headers,
        )

    def _traced(
        self, event: AggregateEvent, message: dict[str, Any], headers: list[tuple[str, bytes]]
    ) -> Span:
        """Start the span of an event's publishing, in the trace of the command that stored
        it, and name both in its headers: `traceparent` this hop, `ce_traceparent` (the
        CloudEvents extension) the trace that started the event."""
        assert self.tracer is not None
        stored = stored_traceparent(event)
        publishing = self.tracer.start_span(
            f"publish {self.settings.kafka_topic}",
            context=parent(stored),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.name": "publish",
                "messaging.destination.name": self.settings.kafka_topic,
                "messaging.message.id": message["id"],
                "messaging.kafka.message.key": message["recordVerificationId"],
                "assess.event.type": message["type"],
            },
        )
        if stored is not None:
            headers.append((CE_TRACEPARENT, stored.encode()))
        if (hop := traceparent(publishing)) is not None:
            headers.append((TRACEPARENT, hop.encode()))
        return publishing

    def _new_producer(self) -> KafkaProducer:
        self._producer = KafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            batch_size=64 * 1024,
            max_block_ms=5000,
            bootstrap_timeout_ms=5000,  # a stop waits for it (the library's default is 30 s)
            request_timeout_ms=5000,
            delivery_timeout_ms=15000,
        )
        return self._producer

    def _discard_producer(self) -> None:
        # After a broker restart an idempotent producer stays broken: start afresh.
        if self._producer is not None:
            self._producer.close(timeout=1)
            self._producer = None
