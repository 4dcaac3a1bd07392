"""On PostgreSQL every production process refuses to start without ASSESS_MASTER_KEY: a
message that says how to make one, and nothing written (no table, no key file); only the
embedded store makes a key of its own."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from application.settings import STORE_FILE, Settings
from entrypoints.asgi import create
from entrypoints.cli import main
from tests.support import MASTER_KEY, make_service

PROCESSES = [
    ["serve"],
    ["relay"],
    ["projector"],
    ["consume", "webhooks"],
    ["consume", "emails"],
]


def public_tables(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("process", PROCESSES, ids=" ".join)
def test_a_production_process_on_postgresql_needs_the_master_key(
    process: list[str], pg_url: str, tmp_path: Path
) -> None:
    env = {"ASSESS_DATABASE_URL": pg_url, "ASSESS_MASTER_KEY": "", "ASSESS_DATA_DIR": ""}
    result = CliRunner().invoke(main, [*process, "--data", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "ASSESS_MASTER_KEY is not set" in result.output
    assert "secrets.token_hex(32)" in result.output
    assert list(tmp_path.iterdir()) == []  # no key file
    assert public_tables(pg_url) == []  # not one table


def test_the_apis_workers_check_it_before_opening_the_store(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSESS_DATABASE_URL", pg_url)
    monkeypatch.setenv("ASSESS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ASSESS_MASTER_KEY", raising=False)
    with pytest.raises(SystemExit, match="ASSESS_MASTER_KEY is not set"):
        create()
    assert public_tables(pg_url) == []
    assert list(tmp_path.iterdir()) == []


def test_a_bad_key_is_refused_too_and_the_embedded_store_makes_its_own(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="64 hex digits"):
        Settings(database_url="postgresql://x/y", master_key="abc").check_production()
    embedded = Settings(data_dir=tmp_path)
    embedded.check_production()  # nothing to check: the embedded store's key is its own
    assert not (tmp_path / "master.key").exists()
    assert len(embedded.master_secret()) == 32
    assert (tmp_path / "master.key").exists()


def test_a_production_process_refuses_the_data_folder_of_assess_dev(
    pg_url: str, tmp_path: Path
) -> None:
    make_service(f"sqlite:///{tmp_path / STORE_FILE}", data_dir=tmp_path).store.close()
    env = {"ASSESS_DATABASE_URL": pg_url, "ASSESS_MASTER_KEY": MASTER_KEY}
    result = CliRunner().invoke(main, ["relay", "--data", str(tmp_path)], env=env)
    assert result.exit_code == 1
    assert "holds the embedded store of `assess dev`" in result.output
    assert public_tables(pg_url) == []
