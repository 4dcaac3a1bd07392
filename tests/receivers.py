"""Real servers on loopback for tests: an HTTP webhook receiver and an SMTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

Request = tuple[float, dict[str, str], bytes]


class Receiver:
    """Records every POST; answers with the scripted replies in turn, then the last one."""

    def __init__(self, replies: list[tuple[int, dict[str, str]]]) -> None:
        self.replies = replies
        self.requests: list[Request] = []
        self.url = ""

    def wait_for(self, count: int, timeout: float = 20) -> list[Request]:
        """The first `count` requests, once they have come."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {count} requests came"
            time.sleep(0.05)
        return self.requests[:count]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 makes a burst of deliveries retry after 1 s


@contextmanager
def receiving(*replies: tuple[int, dict[str, str]]) -> Iterator[Receiver]:
    """An HTTP receiver on a free loopback port."""
    receiver = Receiver(list(replies) or [(200, {})])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            index = min(len(receiver.requests), len(receiver.replies) - 1)
            receiver.requests.append((time.monotonic(), dict(self.headers.items()), body))
            status, headers = receiver.replies[index]
            self.send_response(status)
            for name, value in {**headers, "content-length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class Mailbox:
    """What an SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        """The first `count` messages, once they have come."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} emails came"
            time.sleep(0.05)
        return self.messages[:count]


@contextmanager
def smtp_server(port: int, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a loopback port."""
    box = mailbox or Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
