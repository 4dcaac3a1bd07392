"""The downstream processes: webhook and email consumers on Kafka, or all of it in-process
fed straight from the event store (the embedded default, which has no Kafka)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from application.integration_events import ASSESSMENT_TOPICS, PublicMessages
from application.settings import Settings
from application.store import EventStore
from consumers.delivery import DeliveryWorker
from consumers.emails import Emails
from consumers.fanout import Fanout
from consumers.topic import TRANSIENT, Report, consume
from infrastructure.following import Batch, Tracker, UndecodableEvent, follow_log
from infrastructure.progress import ProgressLog
from infrastructure.tracing import continued, stored_traceparent

log = logging.getLogger("assess.consumers")
# httpx logs every request's full URL at INFO, and a webhook URL may hold a password or a
# token: the delivery log already keeps each try, by delivery id.
logging.getLogger("httpx").setLevel(logging.WARNING)

EMBEDDED_FANOUT = "embedded_fanout"  # the follower name of its position


def start(target: object, *args: object) -> threading.Thread:
    """Run a loop in a daemon thread."""
    thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def webhooks_consumer(
    settings: Settings,
    fanout: Fanout,
    sender: DeliveryWorker,
    stopping: threading.Event,
    progress: ProgressLog | None = None,
) -> None:
    """Group `webhooks`: queue deliveries for each event, and send what is due."""
    sending = start(sender.run, stopping)
    consume(
        settings,
        "webhooks",
        lambda message, position: fanout.handle(message, time.time(), position),
        stopping,
        reporter(progress, "webhooks"),
    )
    sending.join()


def emails_consumer(
    settings: Settings,
    emails: Emails,
    stopping: threading.Event,
    progress: ProgressLog | None = None,
) -> None:
    """Group `emails`: the emails events call for."""
    handle = lambda message, position: emails.handle(message)  # noqa: E731
    consume(settings, "emails", handle, stopping, reporter(progress, "emails"))


def reporter(progress: ProgressLog | None, group: str) -> Report:
    """Where a group's member reports its place on the topic (nowhere without a log)."""
    if progress is None:
        return lambda partition, position, lag: None
    return lambda partition, position, lag: progress.report(group, partition, position, lag)


def attempt(part: str, message_id: str, work: Callable[..., object], *args: object) -> None:
    """Do one part of an event's work; log a failure that is the event's own and go on
    (one that waiting can cure stops the follower, which tries again)."""
    try:
        work(*args)
    except TRANSIENT:
        raise
    except Exception:
        log.exception("cannot process the %s of %s", part, message_id)


class Embedded(NamedTuple):
    """The downstream parts the embedded default runs in-process, fed from the store."""

    fanout: Fanout
    emails: Emails
    sender: DeliveryWorker
    messages: PublicMessages
    tracker: Tracker


def embedded(
    store: EventStore, settings: Settings, parts: Embedded, stopping: threading.Event
) -> None:
    """The same handlers, fed from the event store in order (at least once, tracked)."""
    fanout, emails, sender, messages, tracker = parts
    traced = settings.tracing_on
    start(sender.run, stopping)

    def handle(batch: Batch) -> None:
        for event, position in batch:
            message, _ = messages.message(event, position)
            # In the trace of the command that stored the event, when tracing; each part on
            # its own (no dead-letter topic here: a failure is logged and the other goes on).
            with continued(stored_traceparent(event) if traced else None):
                attempt("webhooks", message["id"], fanout.handle, message, time.time(), position)
                attempt("email", message["id"], emails.handle, message)
        tracker.advance(batch[-1][1])

    follow_tracked(store, ASSESSMENT_TOPICS, tracker, handle, stopping, "embedded fan-out")


def follow_tracked(
    store: EventStore,
    topics: Sequence[str],
    tracker: Tracker,
    handle: Callable[[Batch], None],
    stopping: threading.Event,
    name: str,
) -> None:
    """Feed the log's events of `topics` after the tracker's position to `handle`, in
    batches of 100 (it records its position), until stopped: an event that does not decode
    is logged and passed, an outage pauses the follower and it goes on from its position."""

    def set_aside(error: UndecodableEvent) -> None:
        log.error("%s skips an event it cannot decode: %s", name, error)
        tracker.advance(error.position)

    follow_log(
        store,
        topics,
        tracker.position,
        handle,
        stopping,
        paused_by=TRANSIENT,
        on_pause=lambda error: log.warning("%s paused (%r); retrying", name, error),
        set_aside=set_aside,
        limit=100,
    )
