"""The downstream processes: webhook and email consumers on Kafka, or all of it in-process
fed straight from the event store (the embedded default, which has no Kafka)."""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from eventsourcing.domain import AggregateEvent

from application.public import ASSESSMENT_TOPICS
from application.settings import Settings
from application.store import EventStore
from application.webhooks import Webhooks
from consumers.delivery import DeliveryWorker
from consumers.emails import ResultEmails
from consumers.fanout import Fanout
from consumers.relay import PublicMessages
from consumers.topic import TRANSIENT, consume
from infrastructure.deliveries import Deliveries
from infrastructure.following import Tracker
from infrastructure.targets import refuse_private

log = logging.getLogger("assess.consumers")
# httpx logs every request's full URL at INFO, and a webhook URL may hold a password or a
# token: the delivery log already keeps each try, by delivery id.
logging.getLogger("httpx").setLevel(logging.WARNING)

EMBEDDED_FANOUT = "embedded_fanout"  # the follower name of its position


def _fanout(store: EventStore, settings: Settings) -> tuple[Fanout, Deliveries]:
    deliveries = Deliveries(store)
    check = partial(refuse_private, allow_private=settings.webhook_allow_private)
    return Fanout(store, Webhooks(store, check), deliveries), deliveries


def start(target: object, *args: object) -> threading.Thread:
    """Run a loop in a daemon thread."""
    thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def webhooks_consumer(store: EventStore, settings: Settings, stopping: threading.Event) -> None:
    """Group `webhooks`: queue deliveries for each event, and send what is due."""
    fanout, deliveries = _fanout(store, settings)
    sender = start(DeliveryWorker(deliveries, settings).run, stopping)
    consume(settings, "webhooks", lambda message: fanout.handle(message, time.time()), stopping)
    sender.join()


def emails_consumer(store: EventStore, settings: Settings, stopping: threading.Event) -> None:
    """Group `emails`: one result email per submit."""
    consume(settings, "emails", ResultEmails(store, settings).handle, stopping)


def embedded(store: EventStore, settings: Settings, stopping: threading.Event) -> None:
    """The same handlers, fed from the event store in order (at least once, tracked)."""
    fanout, deliveries = _fanout(store, settings)
    emails = ResultEmails(store, settings)
    messages = PublicMessages(store)
    tracker = Tracker(store, EMBEDDED_FANOUT)
    start(DeliveryWorker(deliveries, settings).run, stopping)
    while not stopping.is_set():
        try:
            notifications = store.recorder.select_notifications(
                start=tracker.position() + 1, limit=100, topics=ASSESSMENT_TOPICS
            )
            for notification in notifications:
                event = store.mapper.to_domain_event(notification)
                assert isinstance(event, AggregateEvent)
                message, _ = messages.message(event)
                try:
                    fanout.handle(message, time.time())
                    emails.handle(message)
                except TRANSIENT:
                    raise
                except Exception:  # no dead-letter topic here: log it and go on
                    log.exception("cannot process %s", message["id"])
                tracker.advance(notification.id)
            if not notifications:
                stopping.wait(0.1)
        except TRANSIENT as error:
            log.warning("embedded fan-out paused (%r); retrying", error)
            stopping.wait(1.0)
