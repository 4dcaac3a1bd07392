"""The relay: every stored assessment event, in order, to the public Kafka topic.

It follows the notification log from its tracked position, publishes a batch, waits until
the broker has acknowledged all of it (acks=all), and only then records the batch's last
position. A crash between the two republishes that batch: every event arrives at least
once, and in the order of the store for each record (the message key)."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import KafkaProducer
from kafka.errors import KafkaError

from application.public import ASSESSMENT_TOPICS, event_id, public_event
from application.settings import Settings
from application.store import EventStore
from domain.assessment import Assessment, record_verification_id
from infrastructure.following import Batch, Tracker, follow_log

log = logging.getLogger("assess.relay")

BATCH = 2000
IDLE_WAIT = 0.05
SOURCE = "/assess"

RELAY = "relay"  # the follower name of its position


class Relay:
    """Publishes the store's assessment events to Kafka, at least once and in order."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.tracker = Tracker(store, RELAY)
        self._producer: KafkaProducer | None = None
        self.messages = PublicMessages(store)

    def run(self, stopping: threading.Event, *, drain: bool = False) -> None:
        """Relay until stopped (with drain, until caught up); while Kafka or the store is
        away, retry with backoff, from the last acknowledged position."""
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
        futures = [self._send(producer, event) for event, _ in batch]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=0)  # raises the broker's error, if it refused one
        self.tracker.advance(batch[-1][1])

    def _send(self, producer: KafkaProducer, event: AggregateEvent) -> Any:
        message, headers = self.messages.message(event)
        return producer.send(
            self.settings.kafka_topic,
            key=message["recordVerificationId"].encode(),
            value=msgspec.json.encode(message),
            headers=headers,
        )

    def _new_producer(self) -> KafkaProducer:
        self._producer = KafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            batch_size=64 * 1024,
            max_block_ms=5000,
            request_timeout_ms=5000,
            delivery_timeout_ms=15000,
        )
        return self._producer

    def _discard_producer(self) -> None:
        # After a broker restart an idempotent producer stays broken: start afresh.
        if self._producer is not None:
            self._producer.close(timeout=1)
            self._producer = None


class PublicMessages:
    """Builds the public message of a stored event (what Kafka and the consumers see)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._record_ids: OrderedDict[UUID, str] = OrderedDict()

    def message(self, event: AggregateEvent) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
        """The public message of an event and its CloudEvents binary-mode headers."""
        public = public_event(event)
        message = {
            "id": event_id(event),
            "recordVerificationId": self._record_id(event),
            **public,
        }
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", message["id"].encode()),
            ("ce_source", SOURCE.encode()),
            ("ce_type", f"assess.{public['type']}.v1".encode()),
            ("ce_time", public["occurredAt"].encode()),
            ("ce_subject", message["recordVerificationId"].encode()),
            ("content-type", b"application/json"),
        ]
        return message, headers

    def _record_id(self, event: AggregateEvent) -> str:
        """ver_<mode>_<hex>: the mode is in the record's first event, remembered here."""
        if isinstance(event, Assessment.VerificationStarted):
            found = record_verification_id(event.mode, event.originator_id)
        else:
            found = self._record_ids.get(event.originator_id) or self._load_record_id(event)
        self._record_ids[event.originator_id] = found
        self._record_ids.move_to_end(event.originator_id)
        if len(self._record_ids) > 100_000:
            self._record_ids.popitem(last=False)
        return found

    def _load_record_id(self, event: AggregateEvent) -> str:
        [started] = self.store.repository.event_store.get(event.originator_id, lte=1)
        assert isinstance(started, Assessment.VerificationStarted)
        return record_verification_id(started.mode, started.originator_id)
