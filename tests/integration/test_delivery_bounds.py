"""A receiver cannot hold or swell the delivery worker: a try ends by its timeout in all
(not per read), and a reply's body is read only a little, so a trickling or an endless
reply costs one thread for one timeout and no memory, and a try never outlives its lease."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from consumers.delivery import DeliveryWorker
from entrypoints.bootstrap import Services
from infrastructure.deliveries import Deliveries, Delivery, new_delivery_id
from infrastructure.egress import CheckedTransport
from tests.receivers import endless_reply, receiving
from tests.support import Clock, make_service

MiB = 1 << 20


@pytest.fixture
def service(store_url: str, clock: Clock) -> Iterator[Services]:
    service = make_service(store_url, clock)
    yield service
    service.store.close()


# The trickling replies below would last 2,000 s if a try waited for them: a try that ends
# within GENEROUS seconds ended by its timeout, however busy the machine.
GENEROUS = 20.0


def timed_try(service: Services, url: str, timeout: float) -> tuple[float, Any]:
    """One try to url by a worker with this timeout: how long it took, and its log entry
    (None if it had not ended within GENEROUS seconds)."""
    worker = DeliveryWorker(
        service.deliveries,
        service.settings,
        service.secrets,
        transport=CheckedTransport(allow_private=True),
        timeout=timeout,
    )
    delivery_id = new_delivery_id()
    delivery = Delivery(delivery_id, "acme", "live", "ep", url, "whsec_c2VjcmV0", "e", "t", "{}")
    Deliveries(service.store).enqueue([delivery], time.time())
    started = time.monotonic()
    thread = threading.Thread(target=worker.attempt, args=(delivery,), daemon=True)
    thread.start()
    thread.join(timeout=GENEROUS)
    took = time.monotonic() - started
    [item], _ = Deliveries(service.store).page("acme", "live", "ep", 1, None)
    return took, (item["tries"] or [None])[0]


def test_a_reply_trickling_its_headers_ends_at_the_timeout(service: Services) -> None:
    with endless_reply(b"HTTP/1.1 200 OK\r\n", b"x-a: b\r\n", 0.2, 10_000) as (url, _):
        took, tried = timed_try(service, url, timeout=1.0)
    assert tried is not None, "the try was still running"
    assert 1.0 <= took < GENEROUS
    assert tried["statusCode"] is None
    assert tried["error"].startswith("ReadTimeout")


def test_a_reply_trickling_its_body_ends_at_the_timeout(service: Services) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n"
    with endless_reply(head, b"x", pause=0.2, limit=100_000) as (url, _):
        took, tried = timed_try(service, url, timeout=1.0)
    assert tried is not None, "the try was still running"
    assert 1.0 <= took < GENEROUS
    assert (tried["statusCode"], tried["error"]) == (200, None)  # the status decides


def test_an_endless_reply_body_is_not_read(service: Services) -> None:
    head = b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n"
    chunk = b"100000\r\n" + b"x" * MiB + b"\r\n"
    with endless_reply(head, chunk, pause=0, limit=256 * MiB) as (url, endless):
        _, tried = timed_try(service, url, timeout=2.0)
    assert tried is not None, "the try was still running"
    assert tried["statusCode"] == 500, tried
    assert tried["error"] == "HTTP 500"
    assert endless.sent < 16 * MiB  # what the socket buffers hold, not the body


def test_one_tenants_slow_backlog_does_not_hold_back_another_tenant(
    service: Services,
) -> None:
    worker = DeliveryWorker(
        service.deliveries,
        service.settings,
        service.secrets,
        threads=4,
        transport=CheckedTransport(allow_private=True),
        timeout=1.0,
    )
    stopping = threading.Event()
    running = threading.Thread(target=worker.run, args=(stopping,), daemon=True)
    with (
        endless_reply(b"HTTP/1.1 200 OK\r\n", b"x-a: b\r\n", 0.2, 10_000) as (slow, _),
        receiving() as receiver,
    ):
        backlog = [
            Delivery(
                new_delivery_id(), "evil", "live", f"ep{n}", slow, "whsec_c2VjcmV0", "e", "t", "{}"
            )
            for n in range(48)  # twelve rounds of every thread held for a whole timeout
        ]
        Deliveries(service.store).enqueue(backlog, time.time() - 1)
        ours = Delivery(
            new_delivery_id(), "acme", "live", "ep", receiver.url, "whsec_c2VjcmV0", "e", "t", "{}"
        )
        Deliveries(service.store).enqueue([ours], time.time())
        started = time.monotonic()
        running.start()
        try:
            [hook] = receiver.wait_for(1, timeout=10)
        finally:
            stopping.set()
            running.join(timeout=10)
    # Held back, it would come after evil's twelve rounds (12 s); it comes at once (the
    # bound is generous for a busy machine, and far from those rounds).
    assert hook.at - started < 5.0
