"""Real servers on loopback for tests: an HTTP webhook receiver and an SMTP server."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.processes import free_port

Reply = tuple[int, dict[str, str]]


@dataclass(frozen=True)
class Hook:
    """One POST the receiver got, and the status it answered."""

    at: float  # time.monotonic()
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int

    @property
    def webhook_id(self) -> str:
        """The Standard Webhooks message id."""
        return self.headers.get("webhook-id", "")

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        payload: dict[str, Any] = json.loads(self.body)
        return payload


class Receiver:
    """Records every POST. Answers with the scripted replies in turn (then the last one),
    or, with failures_per_id, 503 to the first tries of each webhook-id and 200 after."""

    def __init__(self, replies: list[Reply], failures_per_id: int) -> None:
        self.replies = replies or [(200, {})]
        self.failures_per_id = failures_per_id
        self.base = ""
        self._hooks: list[Hook] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The default endpoint URL."""
        return self.url_for("/hooks")

    def url_for(self, path: str) -> str:
        """An endpoint URL on this receiver."""
        return f"{self.base}{path}"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Record a POST and choose its reply."""
        with self._lock:
            if self.failures_per_id:
                tries = sum(h.webhook_id == headers.get("webhook-id") for h in self._hooks)
                reply: Reply = (503 if tries < self.failures_per_id else 200, {})
            else:
                reply = self.replies[min(len(self._hooks), len(self.replies) - 1)]
            self._hooks.append(Hook(time.monotonic(), path, headers, body, reply[0]))
        return reply

    def hooks(self) -> list[Hook]:
        """Every POST so far."""
        with self._lock:
            return list(self._hooks)

    def wait_for(self, count: int, timeout: float = 20) -> list[Hook]:
        """The first `count` POSTs, once they have come."""
        deadline = time.monotonic() + timeout
        while len(hooks := self.hooks()) < count:
            assert time.monotonic() < deadline, f"{len(hooks)} of {count} requests came"
            time.sleep(0.05)
        return hooks[:count]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 makes a burst of deliveries retry after 1 s


@contextmanager
def receiving(
    *replies: Reply, failures_per_id: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[Receiver]:
    """An HTTP receiver on a free loopback port (HTTPS with a server context in tls)."""
    receiver = Receiver(list(replies), failures_per_id)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra = receiver.answer(self.path, headers, body)
            self.send_response(status)
            for name, value in {**extra, "content-length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver.base = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Endless:
    """What an endless receiver sent: bytes after its head, across its connections."""

    def __init__(self) -> None:
        self.sent = 0
        self.connections = 0


@contextmanager
def endless_reply(
    head: bytes, piece: bytes, pause: float, limit: int
) -> Iterator[tuple[str, Endless]]:
    """A hostile receiver on loopback: reads a request, sends `head`, then `piece` every
    `pause` seconds (0: as fast as the client reads) until `limit` bytes or the client
    hangs up. Yields its URL and what it sent."""
    endless = Endless()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stopping = threading.Event()

    def answer(connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request and not stopping.is_set():
                request += connection.recv(65536) or b"\r\n\r\n"
            try:
                connection.sendall(head)
                while endless.sent < limit and not stopping.is_set():
                    connection.sendall(piece)
                    endless.sent += len(piece)
                    time.sleep(pause)
            except OSError:
                pass

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            endless.connections += 1
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hooks", endless
    finally:
        stopping.set()
        thread.join(timeout=5)
        server.close()


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted: its envelope and its parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class Mailbox:
    """An aiosmtpd handler recording every message it accepts; it refuses the recipients
    in `refused` for good (550, as for an unknown mailbox)."""

    def __init__(self, refused: frozenset[str] = frozenset()) -> None:
        self.refused = refused
        self._mails: list[Mail] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self._mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def mails(self) -> list[Mail]:
        """Every message so far, with its envelope."""
        with self._lock:
            return list(self._mails)

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message so far."""
        return [mail.message for mail in self.mails()]

    def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        """The first `count` messages, once they have come."""
        deadline = time.monotonic() + timeout
        while len(messages := self.messages) < count:
            assert time.monotonic() < deadline, f"{len(messages)} of {count} emails came"
            time.sleep(0.05)
        return messages[:count]


@contextmanager
def smtp_server(
    port: int | None = None, mailbox: Mailbox | None = None
) -> Iterator[tuple[int, Mailbox]]:
    """A real SMTP server (aiosmtpd) on a loopback port (a free one unless given)."""
    box = mailbox or Mailbox()
    port = port or free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()
