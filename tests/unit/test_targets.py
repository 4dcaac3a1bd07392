"""Which webhook targets are refused: every spelling of a non-public address, and bad URLs."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from domain.errors import InvalidInput
from infrastructure.targets import (
    TargetRefused,
    approved_addresses,
    is_public,
    refuse_private,
    resolve_host,
)


def numeric_only(host: str, port: int) -> list[str]:
    """The system resolver for IP spellings (decimal, octal, hex too), without DNS: any
    name is one that does not resolve."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [str(info[4][0]) for info in found]


@pytest.mark.parametrize(
    "address",
    [
        *("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254"),
        *("100.64.0.1", "0.0.0.0", "192.0.2.1", "198.18.0.1", "240.0.0.1", "255.255.255.255"),
        *("224.0.0.1", "239.255.255.250"),  # multicast, which is_global calls global
        *("::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "2001:db8::1", "ff02::1", "ff0e::1"),
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible: is_global says True
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1: is_global says True
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64, not global whatever it embeds
        "2002:7f00:1::",  # 6to4 of 127.0.0.1: is_global says True
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:808:808:8000:63bf:3fff:fdd2",  # Teredo, even with a public server and client
    ],
)
def test_non_public_addresses_in_any_spelling_are_refused(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        *("8.8.8.8", "1.1.1.1", "2606:4700::1111"),
        *("::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"),  # mapped, NAT64, 6to4
    ],
)
def test_public_addresses_may_be_targets(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://2130706433/x",  # decimal 127.0.0.1
        "http://0177.0.0.1/x",  # octal
        "http://0x7f.1/x",  # hex, two parts
        "http://0x7f000001/x",
        "http://127.1/x",
        "http://0/x",
        "http://[::127.0.0.1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:7f00:1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::]/x",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",
        "https://[fd00::1]:8443/x",
        "http://169.254.169.254/latest",
        "http://100.100.100.200/x",
    ],
)
def test_every_spelling_of_a_private_target_is_refused_at_registration(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"^url: .*refused"):
        refuse_private(url, "url", allow_private=False, resolve=numeric_only)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://8.8.8.8/x",
        "file:///etc/passwd",
        "gopher://8.8.8.8/x",
        "http:///x",
        "http://8.8.8.8:0/x",
        "http://hooks.partner.invalid:0/x",
        "http://8.8.8.8:99999/x",
        "http://8.8.8.8:http/x",
        "http://hooks\x00.partner.invalid/x",  # NUL
        "http://" + "a" * 64 + ".partner.invalid/x",  # a label over 63 characters
        "http://" + "a." * 127 + "invalid/x",  # a name over 253 characters
        "http://xn--zz.partner.invalid/x",  # punycode that does not decode
        "http://xn--abc-.partner.invalid/x",
        "http://xn--.partner.invalid/x",
        "http://\N{GRINNING FACE}.partner.invalid/x",  # IDNA cannot encode it
        "http://-hooks.partner.invalid/x",
        "http://hooks..partner.invalid/x",
        "http://hooks partner.invalid/x",
        "http://[127.0.0.1]/x",
        "http://[::1/x",
        "http://[zz::1]/x",
    ],
)
def test_malformed_targets_are_refused_whatever_the_operator_allows(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(InvalidInput, match=r"^callbackWebhookUrl: "):
            refuse_private(url, "callbackWebhookUrl", allow_private, numeric_only)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.partner.invalid/x",  # does not resolve now: delivery checks again
        "https://b\N{LATIN SMALL LETTER U WITH DIAERESIS}cher.partner.invalid/x",
        "http://r3---sn-a.partner.invalid:8080/x",
        "http://_dmarc.partner.invalid/x",
        "https://hooks.partner.invalid./x",
    ],
)
def test_well_formed_names_that_do_not_resolve_are_let_through(url: str) -> None:
    refuse_private(url, "url", allow_private=False, resolve=numeric_only)


def test_private_targets_pass_when_the_operator_allows_them() -> None:
    refuse_private("http://[::ffff:127.0.0.1]:8080/x", "url", allow_private=True)
    assert approved_addresses("0x7f.1", 80, True, numeric_only) == ["127.0.0.1"]


def test_the_system_resolver_reads_every_ipv4_spelling_as_the_connector_does() -> None:
    for spelling in ("2130706433", "0177.0.0.1", "0x7f.1", "127.1"):
        assert resolve_host(spelling, 80) == ["127.0.0.1"]


def test_a_name_is_looked_up_once_and_refused_if_any_answer_is_private() -> None:
    lookups: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return ["8.8.8.8", "::ffff:10.0.0.1"]

    with pytest.raises(TargetRefused) as refused:
        approved_addresses("hooks.partner.test", 443, False, resolve)
    assert str(refused.value) == "target refused"  # no addresses in the delivery log
    assert lookups == [("hooks.partner.test", 443)]


def test_the_approved_addresses_are_the_ones_resolved() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"xn--bcher-kva.partner.test": ["8.8.8.8", "2606:4700::1111"]}[host]

    host = "b\N{LATIN SMALL LETTER U WITH DIAERESIS}cher.partner.test"
    assert approved_addresses(host, 443, False, resolve) == ["8.8.8.8", "2606:4700::1111"]
    assert approved_addresses("1.1.1.1", 443, False, resolve) == ["1.1.1.1"]  # no lookup


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost./hook",
        "http://LOCALHOST./hook",
        "https://LocalHost/hook",
        "http://api.localhost./hook",
        "http://x.y.localhost:8080/hook",
    ],
)
def test_localhost_in_any_spelling_is_refused_whatever_the_resolver_says(url: str) -> None:
    """RFC 6761: localhost and names under it are loopback. A resolver that does not answer
    for `localhost.` (a name that does not resolve passes registration) changes nothing."""
    with pytest.raises(InvalidInput, match="non-public ranges are refused"):
        refuse_private(url, "url", allow_private=False, resolve=numeric_only)
    refuse_private(url, "url", allow_private=True, resolve=numeric_only)  # the operator's call
