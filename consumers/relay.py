"""The relay: every stored assessment event, in order, to the public Kafka topic.

It follows the notification log from its tracked position, publishes a batch, waits until
the broker has acknowledged all of it (acks=all), and only then records the batch's last
position. A crash between the two republishes that batch: every event arrives at least
once, and in the order of the store for each record (the message key).

A process of its own (the builder) reads the log and builds the messages, the next batch
while this one is published: the relay's process only sends, as a plain producer would
(one Python process cannot build and send at once: docs/performance.md)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import suppress
from typing import Any, NamedTuple

import msgspec
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from opentelemetry.trace import Span, SpanKind

from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from application.settings import Settings
from application.store import EventStore
from infrastructure.following import Tracker, fetched, follow_log
from infrastructure.persistence import open_store
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


class Built(NamedTuple):
    """A message as the builder made it: what the producer sends, and what the span of its
    publishing names."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    message_id: str
    type: str
    stored_traceparent: str | None


_building: tuple[EventStore, PublicMessages] | None = None  # the builder process's


def _open_building(settings: Settings, relay: int) -> None:
    """The builder process's start: its own store (one connection: it reads one batch at a
    time), and what builds messages from it; it ends with the relay's process (`relay`, its
    id as the relay gave it: one killed while this process started is already gone)."""
    global _building
    threading.Thread(target=_ending_with, args=(relay,), daemon=True).start()
    store = open_store(settings)
    _building = store, PublicMessages(store)


def _ending_with(relay: int) -> None:
    """End the builder once the relay's process is gone: a relay that is killed cannot stop
    it, and its idle builder would wait for work forever, holding a connection."""
    while os.getppid() == relay:
        time.sleep(1.0)
    os._exit(0)


def _built(start: int, limit: int) -> list[tuple[Built, int]]:
    """In the builder process: the messages of the events from `start` on, at most `limit`,
    each with its notification id."""
    assert _building is not None
    store, messages = _building
    batch = []
    for event, position in fetched(store, start, ASSESSMENT_TOPICS, limit):
        message, headers = messages.message(event, position)
        key, value = message["recordVerificationId"], msgspec.json.encode(message)
        kept = Built(
            key.encode(), value, headers, message["id"], message["type"], stored_traceparent(event)
        )
        batch.append((kept, position))
    return batch


def built_ahead(
    builder: Executor, position: int, limit: int
) -> Iterator[tuple[list[tuple[Built, int]], int]]:
    """The log's messages after a position, in batches built by the builder, the next one
    while the caller publishes this one; an empty batch when caught up (built again when
    the caller asks for the next)."""
    ahead = builder.submit(_built, position + 1, limit)
    while True:
        batch = ahead.result()
        if batch:
            position = batch[-1][1]
            ahead = builder.submit(_built, position + 1, limit)
            yield batch, 0
        else:
            yield batch, 0
            ahead = builder.submit(_built, position + 1, limit)


class Relay:
    """Publishes the store's assessment events to Kafka, at least once and in order."""

    def __init__(self, store: EventStore, settings: Settings, tracker: Tracker) -> None:
        self.store = store
        self.settings = settings
        self.tracker = tracker
        self._producer: KafkaProducer | None = None
        self.tracer = tracer_for(settings)
        self.stopping = threading.Event()

    def run(self, stopping: threading.Event, *, drain: bool = False) -> None:
        """Relay until stopped (with drain, until caught up); while Kafka or the store is
        away, retry with backoff, from the last acknowledged position."""
        self.stopping = stopping
        builder = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_open_building,
            initargs=(msgspec.structs.replace(self.settings, db_pool_size=1), os.getpid()),
        )
        try:
            follow_log(
                self.store,
                ASSESSMENT_TOPICS,
                self.tracker.position,
                self.publish,
                stopping,
                read=lambda position: built_ahead(builder, position, BATCH),
                until=lambda: drain or stopping.wait(IDLE_WAIT),
                paused_by=(KafkaError, OperationalError, InterfaceError),
                on_pause=self._paused,
                beat=self.settings.beat,
                limit=BATCH,
            )
        finally:
            self._discard_producer()
            builder.shutdown(wait=False, cancel_futures=True)

    def _paused(self, error: Exception) -> None:
        log.warning("relay paused (%r); retrying", error)
        self._discard_producer()

    def publish(self, batch: list[tuple[Built, int]]) -> None:
        """Publish a batch and track its last position once the broker acknowledged all."""
        producer = self._producer or self._new_producer()
        spans: list[Span] = []
        futures = [self._send(producer, built, spans) for built, _ in batch]
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

    def _send(self, producer: KafkaProducer, built: Built, spans: list[Span]) -> Any:
        headers = built.headers
        if self.tracer is not None:
            headers = list(headers)
            spans.append(self._traced(built, headers))
        return producer.send(
            self.settings.kafka_topic, key=built.key, value=built.value, headers=headers
        )

    def _traced(self, built: Built, headers: list[tuple[str, bytes]]) -> Span:
        """Start the span of an event's publishing, in the trace of the command that stored
        it, and name both in its headers: `traceparent` this hop, `ce_traceparent` (the
        CloudEvents extension) the trace that started the event."""
        assert self.tracer is not None
        stored = built.stored_traceparent
        publishing = self.tracer.start_span(
            f"publish {self.settings.kafka_topic}",
            context=parent(stored),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.name": "publish",
                "messaging.destination.name": self.settings.kafka_topic,
                "messaging.message.id": built.message_id,
                "messaging.kafka.message.key": built.key.decode(),
                "assess.event.type": built.type,
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
