"""The HTTP client webhooks leave by: each connection dials an address its own lookup
approved (no second lookup: no DNS rebinding), and `deadline` bounds a whole try
(docs/decisions.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpcore
import httpx

from infrastructure.targets import Resolve, approved_addresses, resolve_host

_deadlines = threading.local()  # a try runs in one thread, so its deadline is the thread's


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every network operation of this thread ends within `seconds` from now, in all."""
    _deadlines.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadlines.at = None


def time_left(timeout: float | None, late: type[Exception]) -> float | None:
    """The timeout of one operation, cut to what is left of the thread's deadline."""
    at: float | None = getattr(_deadlines, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise late("the try took longer than its timeout")
    return left if timeout is None else min(timeout, left)


class BoundedStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = time_left(timeout, httpcore.ConnectTimeout)
        return BoundedStream(self.stream.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


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
        timeout = time_left(timeout, httpcore.ConnectTimeout)
        ends = None if timeout is None else time.monotonic() + timeout
        failure: Exception | None = None
        for address in addresses:
            left = None if ends is None else ends - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                stream = self.network.connect_tcp(
                    address, port, left, local_address, socket_options
                )
                return BoundedStream(stream)
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
