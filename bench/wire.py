"""A minimal keep-alive HTTP/1.1 JSON client on asyncio streams, so that the load generator
spends a small fraction of the CPU the server does (httpx costs about as much per request as
the service itself, and the benchmark shares two cores with the server and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import msgspec


class WireError(Exception):
    """The server answered with something this client does not understand."""


class Wire:
    """One keep-alive connection sending JSON POSTs."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, api_key: str, body: Any) -> tuple[int, bytes]:
        """POST body as JSON; return the status and the raw response body."""
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = msgspec.json.encode(body) if body is not None else b""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nx-api-key: {api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        if not status_line:
            raise WireError("connection closed")
        status, length = int(status_line.split()[1]), 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
