"""The HTTP client webhooks leave by: each connection dials an address that was checked.

A guard that resolves the host and then lets httpx resolve it again to connect can be
fooled by DNS rebinding: a first answer that is public, a second that is 127.0.0.1. So
the check sits where the socket is opened, in httpcore's network backend: `connect_tcp`
gets the host name, looks it up once (`approved_addresses`) and dials one of the
addresses that lookup approved, by IP. Everything above the socket is stock httpx: the
Host header comes from the URL, and TLS sends the host name as SNI and checks the
certificate against it. Connections are pooled per host name, so a reused connection is
one that was checked when it was opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial

import httpcore
import httpx

from infrastructure.targets import Resolve, approved_addresses, resolve_host


class CheckedDialer(httpcore.NetworkBackend):
    """Connects to a host by one lookup whose every answer was approved."""

    def __init__(
        self, approve: Callable[[str, int], list[str]], network: httpcore.NetworkBackend
    ) -> None:
        self.approve = approve
        self.network = network

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Dial the approved addresses in turn, within one connect timeout in all."""
        addresses = self.approve(host, port)  # TargetRefused, or socket.gaierror
        deadline = None if timeout is None else time.monotonic() + timeout
        failure: Exception | None = None
        for address in addresses:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                return self.network.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        raise failure or httpcore.ConnectTimeout("connect timed out")


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport (TLS verified against certifi's CAs, or SSL_CERT_FILE's), with
    the checked dialer under its connection pool."""

    def __init__(
        self,
        allow_private: bool,
        resolve: Resolve = resolve_host,
        network: httpcore.NetworkBackend | None = None,
    ) -> None:
        super().__init__()
        approve = partial(approved_addresses, allow_private=allow_private, resolve=resolve)
        # httpx offers no public way to choose the network backend, so its pool is rebuilt
        # as httpx builds it (its default limits), with the checked dialer.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=CheckedDialer(approve, network or httpcore.SyncBackend()),
        )
