"""Tenant keys: issued, listed and revoked in the store, and over the CLI as operators do."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from application.callers import TenantCaller
from domain.errors import InvalidInput, Unauthorized
from entrypoints.bootstrap import Services
from tests.processes import assess, server
from tests.support import MASTER_KEY

HOOKS = "/api/v1/webhooks"


@pytest.mark.parametrize(("tenant", "mode"), [("", "live"), ("  ", "test"), ("acme", "prod")])
def test_a_key_needs_a_tenant_and_a_known_mode(service: Services, tenant: str, mode: str) -> None:
    with pytest.raises(InvalidInput):
        service.access.issue_key(tenant, mode)
    assert service.access.list_keys() == []


def test_a_revoked_key_is_refused_at_once_by_the_process_that_revoked_it(
    service: Services,
) -> None:
    key = service.access.issue_key("acme", "live")
    assert isinstance(service.access.authenticate(key), TenantCaller)  # now remembered
    service.access.revoke_key(key)
    with pytest.raises(Unauthorized):
        service.access.authenticate(key)


def test_keys_are_listed_with_their_state_and_revoked_by_id(service: Services) -> None:
    acme = service.access.issue_key("acme", "live")
    service.access.issue_key("acme", "test")
    other = service.access.issue_key("other", "live")
    listed = service.access.list_keys()
    assert [(k.tenant, k.mode, k.revoked_at) for k in listed] == [
        ("acme", "live", None),
        ("acme", "test", None),
        ("other", "live", None),
    ]
    assert [k.mode for k in service.access.list_keys("acme")] == ["live", "test"]
    revoked = service.access.revoke_key(listed[2].id)
    assert (revoked.id, revoked.tenant, revoked.revoked_at is not None) == (
        listed[2].id,
        "other",
        True,
    )
    with pytest.raises(Unauthorized):
        service.access.authenticate(other)
    assert isinstance(service.access.authenticate(acme), TenantCaller)
    assert [k.revoked_at is None for k in service.access.list_keys()] == [True, True, False]


@pytest.mark.parametrize("given", ["nonsense", "ak_live_unknown", "6f1d3a5e-0000-0000-0000-0000"])
def test_revoking_an_unknown_key_is_refused(service: Services, given: str) -> None:
    with pytest.raises(InvalidInput):
        service.access.revoke_key(given)


def listed(*args: str, env: dict[str, str] | None = None) -> list[list[str]]:
    return [line.split("\t") for line in assess("keys", "list", *args, env=env).splitlines()]


def refused_within(url: str, key: str, seconds: float) -> float:
    """Poll a fresh connection each time (any worker may answer) until the key gets 401
    five times running; the seconds that took."""
    started = time.monotonic()
    refusals = 0
    while refusals < 5:
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"the revoked key was still accepted after {elapsed:.1f}s"
        status = httpx.get(f"{url}{HOOKS}", headers={"x-api-key": key}).status_code
        refusals = refusals + 1 if status == 401 else 0
        assert status in (200, 401)
    return time.monotonic() - started


def test_the_embedded_server_refuses_a_key_revoked_by_id_within_5_seconds(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "data")
    with server("dev", "--data", data, log=tmp_path / "dev.log") as url:
        key = assess("keys", "create", "--tenant", "acme", "--data", data).splitlines()[-1]
        assess("keys", "create", "--tenant", "other", "--mode", "test", "--data", data)
        for _ in range(3):
            assert httpx.get(f"{url}{HOOKS}", headers={"x-api-key": key}).status_code == 200
        rows = listed("--data", data)
        assert key not in assess("keys", "list", "--data", data)
        assert [row[1:3] for row in rows] == [["acme", "live"], ["other", "test"]]
        assert [row[4] for row in rows] == ["active", "active"]
        [acme] = listed("--tenant", "acme", "--data", data)
        assess("keys", "revoke", acme[0], "--data", data)
        refused_within(url, key, 5)
        [acme] = listed("--tenant", "acme", "--data", data)
        assert acme[4].startswith("revoked ")


def test_every_worker_refuses_a_revoked_key_within_5_seconds(pg_url: str, tmp_path: Path) -> None:
    env = {"ASSESS_DATABASE_URL": pg_url, "ASSESS_MASTER_KEY": MASTER_KEY}
    key = assess("keys", "create", "--tenant", "acme", env=env).splitlines()[-1]
    with server("serve", "--workers", "2", env=env, log=tmp_path / "serve.log") as url:
        for _ in range(10):  # fresh connections: both workers remember the key
            assert httpx.get(f"{url}{HOOKS}", headers={"x-api-key": key}).status_code == 200
        assess("keys", "revoke", key, env=env)
        refused_within(url, key, 5)
