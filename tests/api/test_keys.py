"""Tenant keys as an operator handles them (`assess keys`, run in-process) and as the API
then treats them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from litestar.testing import TestClient

from api.app import create_app
from application.settings import Settings
from domain.errors import InvalidInput
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.operator import keys
from entrypoints.settings import from_env
from tests.api.http import assert_error

HOOKS = "/api/v1/webhooks"
NO_SUCH_KEY = "Error: no such key: give the key or its id from `assess keys list`"


def assess_keys(data: Path, *args: str) -> Result:
    """`assess keys ARGS --data DATA` in this process, on the embedded store under data."""
    return CliRunner().invoke(keys, [*args, "--data", str(data)], env={"ASSESS_DATABASE_URL": None})


def created(data: Path, tenant: str, *options: str) -> str:
    """A new key: alone on the last line of stdout."""
    result = assess_keys(data, "create", "--tenant", tenant, *options)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[-1]


def listed(data: Path, *options: str) -> list[list[str]]:
    """The rows of `assess keys list`, split at the tabs."""
    result = assess_keys(data, "list", *options)
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()]


def moment(column: str, word: str) -> datetime:
    """The time in a column such as 'created 2026-01-05T10:00:00.000Z'."""
    label, at = column.split(" ")
    assert label == word
    assert at.endswith("Z")
    return datetime.fromisoformat(at)


def statuses(data: Path, keys_by_tenant: dict[str, str]) -> dict[str, int]:
    """The status an app built afresh on the store answers each tenant's key with."""
    service = bootstrap(from_env(data))
    with TestClient(create_app(service)) as client:
        found = {
            tenant: client.get(HOOKS, headers={"x-api-key": key}).status_code
            for tenant, key in keys_by_tenant.items()
        }
    service.store.close()
    return found


def test_keys_are_created_listed_and_revoked_by_id(tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    result = assess_keys(tmp_path, "create", "--tenant", "acme")
    assert result.exit_code == 0, result.output
    acme = result.stdout.splitlines()[-1]
    assert re.fullmatch(r"ak_live_[A-Za-z0-9_-]{43}", acme)  # 256 random bits
    assert result.stderr == "created a live key for tenant acme; it is not shown again:\n"
    other = created(tmp_path, "other", "--mode", "test")
    assert re.fullmatch(r"ak_test_[A-Za-z0-9_-]{43}", other)
    after = datetime.now(UTC)

    rows = listed(tmp_path)
    assert [row[1:3] + row[4:] for row in rows] == [
        ["acme", "live", "active"],
        ["other", "test", "active"],
    ]
    assert all(before <= moment(row[3], "created") <= after for row in rows)
    assert len({row[0] for row in rows}) == 2
    assert acme not in str(rows)
    assert [row[1] for row in listed(tmp_path, "--tenant", "other")] == ["other"]
    assert statuses(tmp_path, {"acme": acme, "other": other}) == {"acme": 200, "other": 200}

    revoked = assess_keys(tmp_path, "revoke", rows[0][0])
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout == f"revoked the live key {rows[0][0]} of tenant acme\n"
    acme_row, other_row = listed(tmp_path)
    assert acme_row[:4] == rows[0][:4]
    assert moment(acme_row[4], "revoked") >= moment(acme_row[3], "created")
    assert other_row == rows[1]
    assert statuses(tmp_path, {"acme": acme, "other": other}) == {"acme": 401, "other": 200}


def test_a_revoked_key_is_refused_by_an_app_built_afresh(tmp_path: Path) -> None:
    key = created(tmp_path, "acme")
    revoked = assess_keys(tmp_path, "revoke", key)  # the key itself, not its id
    assert revoked.exit_code == 0, revoked.output
    service = bootstrap(from_env(tmp_path))
    with TestClient(create_app(service)) as client:
        response = client.get(HOOKS, headers={"x-api-key": key})
    service.store.close()
    assert assert_error(response, 401, "UNAUTHORIZED") == "a valid x-api-key is required"


def test_a_pasted_tenant_or_id_loses_its_surrounding_blanks(tmp_path: Path) -> None:
    key = created(tmp_path, "  acme ")
    [row] = listed(tmp_path, "--tenant", "acme")
    assert row[1] == "acme"
    revoked = assess_keys(tmp_path, "revoke", f" {row[0]}\n")
    assert revoked.exit_code == 0, revoked.output
    assert statuses(tmp_path, {"acme": key}) == {"acme": 401}


@pytest.mark.parametrize(
    "given", ["nonsense", "ak_live_unknown", "6f1d3a5e-0000-0000-0000-000000000000"]
)
def test_revoking_an_unknown_key_says_how_to_find_one(tmp_path: Path, given: str) -> None:
    created(tmp_path, "acme")
    result = assess_keys(tmp_path, "revoke", given)
    assert (result.exit_code, result.stderr) == (1, f"{NO_SUCH_KEY}\n")
    assert [row[4] for row in listed(tmp_path)] == ["active"]


@pytest.mark.parametrize(("tenant", "mode"), [("", "live"), (" ", "test")])
def test_a_key_needs_a_tenant(tmp_path: Path, tenant: str, mode: str) -> None:
    result = assess_keys(tmp_path, "create", "--tenant", tenant, "--mode", mode)
    assert result.exit_code == 1
    assert result.stderr == "Error: give a tenant name and a mode of live or test\n"
    assert listed(tmp_path) == []


def test_a_key_needs_a_known_mode(service: Services) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.access.issue_key("acme", "prod")
    assert str(refused.value) == "give a tenant name and a mode of live or test"
    assert service.access.list_keys() == []


def test_more_than_a_thousand_keys_are_all_listed_once(tmp_path: Path) -> None:
    service = bootstrap(Settings(data_dir=tmp_path))
    issued = [service.access.issue_key(f"tenant-{n:04d}", "live") for n in range(1_002)]
    service.access.revoke_key(issued[0])
    service.access.revoke_key(issued[-1])
    every = service.access.list_keys()
    assert [entry.tenant for entry in every] == [f"tenant-{n:04d}" for n in range(1_002)]
    assert [entry.revoked_at is not None for entry in every] == [True, *[False] * 1_000, True]
    [last] = service.access.list_keys("tenant-1001")
    assert last.id == every[-1].id
    service.store.close()
