"""Forwarded client addresses are believed only from the proxies the operator names: a
client on loopback (or behind a same-host proxy) rotating X-Forwarded-For is limited as
one address. Against the real server (uvicorn believes 127.0.0.1's header by default)."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.forwarded import client_address
from application.settings import Settings
from tests.processes import server

HOOKS = "/api/v1/webhooks"
LIMIT = 3


def bogus(n: int) -> dict[str, str]:
    return {"x-api-key": f"ak_live_{n:043d}"}


def statuses(url: str, forwarded: list[str]) -> list[int]:
    """Failed authentications, one per X-Forwarded-For value given."""
    return [
        httpx.get(url + HOOKS, headers={**bogus(n), "X-Forwarded-For": value}).status_code
        for n, value in enumerate(forwarded)
    ]


def test_a_loopback_client_rotating_x_forwarded_for_is_limited_as_one(tmp_path: Path) -> None:
    env = {"ASSESS_AUTH_FAILURES_PER_MINUTE": str(LIMIT), "ASSESS_DATA_DIR": str(tmp_path)}
    with server("dev", env=env, log=tmp_path / "dev.log") as url:
        rotated = statuses(url, [f"198.51.100.{n}" for n in range(LIMIT + 2)])
        forwarded_std = httpx.get(url + HOOKS, headers={**bogus(9), "Forwarded": "for=192.0.2.9"})
    assert rotated == [401] * LIMIT + [429, 429]
    assert forwarded_std.status_code == 429


def test_a_named_proxy_has_each_client_counted_on_its_own(tmp_path: Path) -> None:
    env = {
        "ASSESS_AUTH_FAILURES_PER_MINUTE": str(LIMIT),
        "ASSESS_DATA_DIR": str(tmp_path),
        "ASSESS_TRUSTED_PROXIES": "127.0.0.0/8",
    }
    with server("dev", env=env, log=tmp_path / "dev.log") as url:
        one = statuses(url, ["198.51.100.1"] * (LIMIT + 1))
        # what the client wrote before the proxy's own entry is not believed
        other = statuses(url, ["198.51.100.1, 198.51.100.2"] * LIMIT)
    assert one == [401] * LIMIT + [429]
    assert other == [401] * LIMIT


def test_the_client_address_is_the_rightmost_one_no_named_proxy_added() -> None:
    proxies = Settings(trusted_proxies="10.0.0.0/8, 2001:db8::1").proxy_networks()
    cases = {
        ("203.0.113.5", "198.51.100.1"): "203.0.113.5",  # not a proxy: its header ignored
        ("10.1.2.3", "198.51.100.1"): "198.51.100.1",
        ("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9"): "198.51.100.1",
        ("2001:db8::1", "2001:DB8::7"): "2001:db8::7",
        ("10.1.2.3", "10.0.0.1, 10.0.0.2"): "10.0.0.1",  # every hop a proxy
        ("10.1.2.3", "not-an-address"): "10.1.2.3",
        ("10.1.2.3", ""): "10.1.2.3",
    }
    found = {
        case: client_address(case[0], [case[1].encode()] if case[1] else [], proxies)
        for case in cases
    }
    assert found == cases
    # Several header lines are one list, in order
    lines = [b"6.6.6.6, 198.51.100.1", b"10.9.9.9"]
    assert client_address("10.1.2.3", lines, proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", [b"198.51.100.1", b"203.0.113.9"], proxies) == "203.0.113.9"
