"""Webhook egress against real loopback receivers: a try dials the address its one lookup
approved, so DNS rebinding never reaches loopback, and Host and TLS keep the host name."""

from __future__ import annotations

import ipaddress
import logging
import ssl
import subprocess
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpcore
import pytest
from standardwebhooks.webhooks import Webhook

from consumers.delivery import DeliveryWorker
from entrypoints.bootstrap import Services
from infrastructure.deliveries import Deliveries, Delivery, new_delivery_id
from infrastructure.egress import CheckedTransport
from tests.receivers import receiving
from tests.support import Clock, make_service

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


class Resolver:
    """A resolver whose answers the test chooses: the first to the first lookup, and so
    on, the last to every lookup after; it records the names it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return [self.answers[min(len(self.lookups), len(self.answers)) - 1]]


class LoopbackOnly(httpcore.SyncBackend):
    """The real network, except that public addresses are unreachable from the test (so
    no signed POST leaves the machine); records every address dialled."""

    def __init__(self) -> None:
        self.dialled: list[str] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        self.dialled.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError("unreachable from the test")
        return super().connect_tcp(host, port, timeout, local_address, socket_options)


def send(service: Services, worker: DeliveryWorker, url: str, tries: int = 1) -> Any:
    """Queue one delivery to url, try it `tries` times, and return the logged tries."""
    delivery_id = new_delivery_id()
    delivery = Delivery(
        delivery_id, "acme", "live", delivery_id, url, SECRET, delivery_id, "t", "{}"
    )
    Deliveries(service.store).enqueue([delivery], time.time())
    for attempts in range(tries):
        worker.attempt(replace(delivery, attempts=attempts))
    [item], _ = Deliveries(service.store).page("acme", "live", delivery_id, 10, None)
    return item["tries"]


@pytest.fixture
def service(tmp_path: Path, clock: Clock) -> Services:
    return make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", clock)


def test_a_rebinding_host_never_reaches_the_loopback_receiver(service: Services) -> None:
    resolver, network = Resolver("8.8.8.8", "127.0.0.1"), LoopbackOnly()
    transport = CheckedTransport(allow_private=False, resolve=resolver, network=network)
    worker = DeliveryWorker(
        service.deliveries, service.settings, service.secrets, transport=transport
    )
    with receiving((200, {})) as receiver:
        port = receiver.base.rsplit(":", 1)[1]
        tries = send(service, worker, f"http://rebind.partner.test:{port}/hooks", 2)
    assert receiver.hooks() == []
    assert resolver.lookups == ["rebind.partner.test"] * 2  # one lookup a try
    assert network.dialled == ["8.8.8.8"]  # the approved address; loopback never dialled
    assert tries[0]["error"] == "ConnectError: unreachable from the test"
    assert tries[1]["error"] == "TargetRefused: target refused"  # no address, no port


def test_allowed_private_targets_keep_the_host_name_in_the_host_header(
    service: Services,
) -> None:
    resolver = Resolver("127.0.0.1")
    transport = CheckedTransport(allow_private=True, resolve=resolver)
    worker = DeliveryWorker(
        service.deliveries, service.settings, service.secrets, transport=transport
    )
    with receiving((200, {})) as receiver:
        port = receiver.base.rsplit(":", 1)[1]
        tries = send(service, worker, f"http://hooks.partner.test:{port}/hooks")
        [hook] = receiver.hooks()
    assert [t["statusCode"] for t in tries] == [200]
    assert resolver.lookups == ["hooks.partner.test"]
    assert hook.headers["host"] == f"hooks.partner.test:{port}"
    Webhook(SECRET).verify(hook.body, hook.headers)


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_sends_and_checks_the_host_name_not_the_address(
    service: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path, "hooks.partner.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the receiver's certificate
    server_names: list[str | None] = []
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _socket, name, _context: server_names.append(name)
    transport = CheckedTransport(allow_private=True, resolve=Resolver("127.0.0.1"))
    worker = DeliveryWorker(
        service.deliveries, service.settings, service.secrets, transport=transport
    )
    with receiving((200, {}), tls=tls) as receiver:
        port = receiver.base.rsplit(":", 1)[1]
        delivered = send(service, worker, f"https://hooks.partner.test:{port}/hooks")
        mismatched = send(service, worker, f"https://other.partner.test:{port}/hooks")
        [hook] = receiver.hooks()
    assert [t["statusCode"] for t in delivered] == [200]
    assert hook.headers["host"] == f"hooks.partner.test:{port}"
    assert server_names == ["hooks.partner.test", "other.partner.test"]
    assert "CERTIFICATE_VERIFY_FAILED" in mismatched[0]["error"]


def test_a_failed_tls_try_logs_no_target(
    service: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The TLS error names the host it expected; the delivery log (the tenant's own) keeps
    it, the service's log does not: logs never carry webhook targets."""
    cert, key = self_signed(tmp_path, "hooks.partner.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    transport = CheckedTransport(allow_private=True, resolve=Resolver("127.0.0.1"))
    worker = DeliveryWorker(
        service.deliveries, service.settings, service.secrets, transport=transport
    )
    every_try = len(service.settings.webhook_retry_schedule.split(",")) + 1
    with caplog.at_level(logging.DEBUG), receiving((200, {}), tls=tls) as receiver:
        port = receiver.base.rsplit(":", 1)[1]
        tries = send(service, worker, f"https://other.partner.test:{port}/hooks", every_try)
    assert len(tries) == every_try
    assert "other.partner.test" in tries[-1]["error"]
    failed = [r.getMessage() for r in caplog.records if "failed for good" in r.getMessage()]
    assert len(failed) == 1
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]  # as served
    assert not [text for text in shown if "partner.test" in text]
