"""Where webhooks may be sent: public http(s) addresses, unless the operator allows more."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from domain.errors import InvalidInput


def is_private(address: str) -> bool:
    """Loopback, private, link-local and other non-public addresses."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def resolves_private(url: str) -> bool:
    """Whether the URL's host resolves to a non-public address (socket.gaierror if it
    does not resolve)."""
    parts = urlsplit(url)
    resolved = socket.getaddrinfo(parts.hostname or "", parts.port or 443, type=socket.SOCK_STREAM)
    return any(is_private(str(info[4][0])) for info in resolved)


def refuse_private(url: str, field: str, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address.
    A host that does not resolve now is let through; delivery checks again."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a port that is no number or out of range raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{field}: an http or https URL is required")
    if allow_private:
        return
    try:
        private = resolves_private(url)
    except (socket.gaierror, ValueError):  # ValueError: a host IDNA cannot encode, or a NUL
        return
    if private:
        raise InvalidInput(
            f"{field}: targets in private, loopback or link-local ranges are refused"
        )
