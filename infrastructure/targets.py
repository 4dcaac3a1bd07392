"""Where webhooks may be sent: well-formed http(s) URLs whose host resolves only to public
addresses (checked on the resolved addresses), unless ASSESS_WEBHOOK_ALLOW_PRIVATE."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit

import idna

from application.ports import TargetCheck
from domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int], list[str]]

LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, but still dialled as IPv6
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # embeds the IPv4 in its last 32 bits
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # local use only (RFC 8215)


class TargetRefused(ValueError):
    """The target is malformed or not public; says no more (the delivery log shows it)."""

    def __init__(self) -> None:
        super().__init__("target refused")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host (socket.gaierror if none)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, compatible, NAT64, 6to4, Teredo."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in IPV4_COMPATIBLE or ip in NAT64:
        return [low32]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    return list(ip.teredo or ())


def is_public(ip: IPAddress) -> bool:
    """Whether ip may be a target: global unicast, and so is every IPv4 it embeds
    (is_global alone calls ::127.0.0.1, 64:ff9b::7f00:1 and 2002:7f00:1:: global)."""
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        return ip not in LOCAL_NAT64 and all(is_public(v4) for v4 in embedded_ipv4(ip))
    return True


def host_name(host: str) -> str:
    """The host as DNS sees it, encoded as httpx encodes it (IDNA 2008 when not ASCII);
    ValueError for a NUL, an empty label, one over 63 characters, or bad punycode."""
    name = (host if host.isascii() else idna.encode(host).decode()).lower()
    labels = name.removesuffix(".").split(".")
    if len(name) > 253 or not all(LABEL.fullmatch(label) for label in labels):
        raise ValueError(host)
    for label in labels:
        if label.startswith("xn--"):
            idna.decode(label)
    return name


def is_loopback_name(name: str) -> bool:
    """Whether a name is `localhost` or under it (RFC 6761: always loopback), with or without
    the root's trailing dot (a resolver may not answer `localhost.`, a dialler does)."""
    bare = name.removesuffix(".")
    return bare == "localhost" or bare.endswith(".localhost")


def split_target(url: str) -> tuple[str, int]:
    """The host (an IP literal or a name as DNS sees it) and port of an http(s) URL;
    ValueError if it is no such URL."""
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if port == 0 or not parts.hostname or parts.scheme not in ("http", "https"):
        raise ValueError(url)
    if parts.netloc.rpartition("@")[2].startswith("["):
        return str(ipaddress.IPv6Address(parts.hostname)), port
    return host_name(parts.hostname), port


def approved_addresses(host: str, port: int, allow_private: bool, resolve: Resolve) -> list[str]:
    """Look the host up once and return the addresses a try may dial. TargetRefused if the
    host is malformed or any address is not public (unless allowed); socket.gaierror if it
    does not resolve."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            name = host_name(host)
        except ValueError:
            raise TargetRefused from None
        if is_loopback_name(name) and not allow_private:
            raise TargetRefused from None  # whatever the resolver says of it now
        addresses = [ipaddress.ip_address(found) for found in resolve(name, port)]
    if not addresses or not (allow_private or all(map(is_public, addresses))):
        raise TargetRefused
    return [str(address) for address in addresses]


def refuse_private(
    url: str, field: str, allow_private: bool, resolve: Resolve = resolve_host
) -> None:
    """Refuse (InvalidInput, naming the field) a malformed target, or one whose host
    resolves to a non-public address. A host that does not resolve now is let through:
    each try checks again."""
    try:
        host, port = split_target(url)
    except ValueError:
        raise InvalidInput(
            f"{field}: an http or https URL with a valid host name or IP literal and port"
            " is required"
        ) from None
    if allow_private:
        return
    try:
        approved_addresses(host, port, allow_private, resolve)
    except socket.gaierror:
        return
    except TargetRefused:
        raise InvalidInput(
            f"{field}: targets in private, loopback, link-local, shared, unique-local or"
            " other non-public ranges are refused (an operator may allow them, for a test"
            " or a private network, with ASSESS_WEBHOOK_ALLOW_PRIVATE=true)"
        ) from None


def target_check(allow_private: bool) -> TargetCheck:
    """The webhook target check as the use cases take it (application.ports.TargetCheck):
    refuse_private with the operator's setting."""
    return partial(refuse_private, allow_private=allow_private)
