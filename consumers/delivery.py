"""Sending queued webhook deliveries: signed, retried on schedule, never blocking others."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from opentelemetry.trace import Span, SpanKind, StatusCode
from standardwebhooks.webhooks import Webhook

from application.ports import SecretSeal
from application.settings import Settings
from domain.moments import iso
from infrastructure.deliveries import Deliveries, Delivery
from infrastructure.egress import CheckedTransport, deadline
from infrastructure.tracing import TRACEPARENT, span, traceparent, tracer_for

log = logging.getLogger("assess.webhooks")

TIMEOUT = 10.0  # per try, in all (connect, send, status and headers, what is read of the body)
REPLY_BYTES = 64 * 1024  # of a reply's body, read only so that the connection can be reused
LEASE = 60.0  # a claimed delivery is left alone this long: more than a try can take
POLL = 0.05  # how often an idle worker looks for due deliveries
PER_TENANT = 8  # of a worker's threads, at most this many send one tenant's deliveries


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def skim(response: httpx.Response) -> None:
    """Read a small reply's body (its connection can then be reused); a larger one is left
    unread and its connection closed: a receiver's reply is never held in memory. The
    status decides the try, so a body cut short changes nothing."""
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > REPLY_BYTES:
                return
    except httpx.TransportError:
        return


class DeliveryWorker:
    """Sends due deliveries from the log, each in a thread of its own."""

    def __init__(
        self,
        deliveries: Deliveries,
        settings: Settings,
        secrets: SecretSeal,
        threads: int = 32,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
        per_tenant: int = PER_TENANT,
    ) -> None:
        self.deliveries = deliveries
        self.schedule = [float(delay) for delay in settings.webhook_retry_schedule.split(",")]
        self.threads = threads
        self.per_tenant = min(per_tenant, max(1, threads // 2))
        self._busy: Counter[str] = Counter()  # deliveries being sent, per tenant
        # Every connection is checked where it is dialled (consumers/egress.py); no
        # redirects, and no proxy or .netrc from the environment.
        self.timeout = timeout
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=transport or CheckedTransport(settings.webhook_allow_private),
        )
        self._in_flight = 0
        self._slot_freed = threading.Condition()
        self.tracer = tracer_for(settings)
        self.secrets = secrets  # the log keeps them sealed

    def run(self, stopping: threading.Event) -> None:
        """Claim and send due deliveries until stopped; a free thread takes the next."""
        with ThreadPoolExecutor(self.threads, thread_name_prefix="delivery") as pool:
            while not stopping.is_set():
                with self._slot_freed:
                    # Woken as soon as a try ends, not on the next poll.
                    self._slot_freed.wait_for(lambda: self._in_flight < self.threads, 0.5)
                    free = self.threads - self._in_flight
                    busy = dict(self._busy)
                due = (
                    self.deliveries.claim(time.time(), free, LEASE, self.per_tenant, busy)
                    if free
                    else []
                )
                with self._slot_freed:
                    self._in_flight += len(due)
                    self._busy.update(delivery.tenant for delivery in due)
                for delivery in due:
                    pool.submit(self._attempt_and_release, delivery)
                if not due:
                    stopping.wait(POLL)
        self.client.close()

    def _attempt_and_release(self, delivery: Delivery) -> None:
        try:
            self.attempt(delivery)
        except Exception:
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            with self._slot_freed:
                self._in_flight -= 1
                self._busy[delivery.tenant] -= 1
                if not self._busy[delivery.tenant]:
                    del self._busy[delivery.tenant]
                self._slot_freed.notify()

    def attempt(self, delivery: Delivery) -> None:
        """One try: sign, POST (in a span of the event's trace, when tracing), log it, and
        decide what comes next."""
        now = time.time()
        started = time.monotonic()
        about = {
            "http.request.method": "POST",
            "assess.delivery.id": delivery.id,
            "assess.event.id": delivery.event_id,
        }
        with span(
            self.tracer, "POST webhook", SpanKind.CLIENT, about, within=delivery.traceparent
        ) as sending:
            status_code, error, wait = self._post(delivery, now, sending)
            # The error's words may hold the target (a URL, a TLS error's host name): the
            # delivery log keeps them for the tenant; spans and logs say only this.
            kind = (error or "").partition(":")[0]  # the exception's class name
            failed = f"HTTP {status_code}" if status_code else f"no reply ({kind})"
            if sending is not None:
                if status_code is not None:
                    sending.set_attribute("http.response.status_code", status_code)
                if error is not None:
                    sending.set_status(StatusCode.ERROR, failed)
        attempt: dict[str, Any] = {
            "at": iso(datetime.fromtimestamp(now, UTC)),
            "statusCode": status_code,
            "error": error,
            "durationMs": round((time.monotonic() - started) * 1000),
        }
        tries = delivery.attempts + 1
        if error is None:
            self.deliveries.record_try(delivery.id, attempt, "delivered", now)
        elif tries > len(self.schedule):
            log.warning(
                "delivery %s failed for good after %d tries: %s", delivery.id, tries, failed
            )
            self.deliveries.record_try(delivery.id, attempt, "failed", now)
        else:
            delay = self.schedule[tries - 1] * random.uniform(0.9, 1.1)
            self.deliveries.record_try(
                delivery.id, attempt, "pending", now + max(delay, wait or 0.0)
            )

    def _post(
        self, delivery: Delivery, now: float, sending: Span | None
    ) -> tuple[int | None, str | None, float | None]:
        """POST a delivery, signed (with the span's traceparent when tracing); return the
        status code, the error, and how long the reply asked to wait."""
        status_code: int | None = None
        try:
            signed_at = datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": delivery.id,
                "webhook-timestamp": str(int(signed_at.timestamp())),
                "webhook-signature": Webhook(
                    self.secrets.open(delivery.secret, delivery.tenant, delivery.mode)
                ).sign(delivery.id, signed_at, delivery.payload),
            }
            if sending is not None and (hop := traceparent(sending)) is not None:
                headers[TRACEPARENT] = hop
            with (
                deadline(self.timeout),
                self.client.stream(
                    "POST", delivery.url, content=delivery.payload.encode(), headers=headers
                ) as response,
            ):
                status_code = response.status_code
                skim(response)
        except (httpx.HTTPError, OSError, ValueError) as failure:
            return status_code, f"{type(failure).__name__}: {failure}", None
        if response.is_success:
            return status_code, None, None
        return (
            status_code,
            f"HTTP {status_code}",
            retry_after(response.headers.get("retry-after"), now),
        )
