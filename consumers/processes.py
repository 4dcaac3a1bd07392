"""The downstream processes: webhook and email consumers on Kafka, or all of it in-process
fed straight from the event store (the embedded default, which has no Kafka)."""

from __future__ import annotations

import logging
import threading
import time

from application.public import ASSESSMENT_TOPICS, PublicMessages
from application.settings import Settings
from application.store import EventStore
from application.webhooks import Webhooks
from consumers.delivery import DeliveryWorker
from consumers.emails import ResultEmails
from consumers.fanout import Fanout
from consumers.records import KnownRecords
from consumers.topic import TRANSIENT, consume
from infrastructure.deliveries import Deliveries
from infrastructure.following import Batch, Tracker, UndecodableEvent, follow_log
from infrastructure.sealing import WebhookSecrets
from infrastructure.subjects import DataSubjects
from infrastructure.targets import target_check
from infrastructure.tracing import continued, stored_traceparent

log = logging.getLogger("assess.consumers")
# httpx logs every request's full URL at INFO, and a webhook URL may hold a password or a
# token: the delivery log already keeps each try, by delivery id.
logging.getLogger("httpx").setLevel(logging.WARNING)

EMBEDDED_FANOUT = "embedded_fanout"  # the follower name of its position


def _fanout(store: EventStore, settings: Settings) -> tuple[Fanout, Deliveries]:
    deliveries = Deliveries(store)
    check = target_check(settings.webhook_allow_private)
    webhooks = Webhooks(store, check, WebhookSecrets(settings.master_secret))
    return Fanout(KnownRecords(store), webhooks, deliveries), deliveries


def result_emails(store: EventStore, settings: Settings) -> ResultEmails:
    """The email handler, which reads addresses and names through the data subjects."""
    return ResultEmails(store, settings, DataSubjects(store, settings).check_master_key())


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
    consume(settings, "emails", result_emails(store, settings).handle, stopping)


def embedded(store: EventStore, settings: Settings, stopping: threading.Event) -> None:
    """The same handlers, fed from the event store in order (at least once, tracked)."""
    fanout, deliveries = _fanout(store, settings)
    emails = result_emails(store, settings)
    messages = PublicMessages(store)
    tracker = Tracker(store, EMBEDDED_FANOUT)
    traced = settings.tracing_on
    start(DeliveryWorker(deliveries, settings).run, stopping)

    def handle(batch: Batch) -> None:
        for event, _ in batch:
            message, _ = messages.message(event)
            try:  # in the trace of the command that stored the event, when tracing
                with continued(stored_traceparent(event) if traced else None):
                    fanout.handle(message, time.time())
                    emails.handle(message)
            except TRANSIENT:
                raise
            except Exception:  # no dead-letter topic here: log it and go on
                log.exception("cannot process %s", message["id"])
        tracker.advance(batch[-1][1])

    def set_aside(error: UndecodableEvent) -> None:
        log.error("embedded fan-out skips an event it cannot decode: %s", error)
        tracker.advance(error.position)

    follow_log(
        store,
        ASSESSMENT_TOPICS,
        tracker.position,
        handle,
        stopping,
        paused_by=TRANSIENT,
        on_pause=lambda error: log.warning("embedded fan-out paused (%r); retrying", error),
        set_aside=set_aside,
        limit=100,
    )
