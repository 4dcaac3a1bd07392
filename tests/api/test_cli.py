"""The operator's command line as a newcomer meets it: help on every option, the bank file
format in `questions import --help`, and mistakes named by their option."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from entrypoints.asgi import create
from entrypoints.cli import main
from tests.support import make_service, take_attempt

NO_URL = {"ASSESS_DATABASE_URL": "", "ASSESS_DATA_DIR": ""}


def options(group: click.Group, path: str = "assess") -> list[tuple[str, click.Option]]:
    found: list[tuple[str, click.Option]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += options(command, f"{path} {name}")
        else:
            found += [
                (f"{path} {name}", param)
                for param in command.params
                if isinstance(param, click.Option)
            ]
    return found


def test_every_option_has_help() -> None:
    missing = [f"{command} {opt.opts[0]}" for command, opt in options(main) if not opt.help]
    assert missing == []


def test_questions_import_help_shows_the_file_format() -> None:
    shown = CliRunner().invoke(main, ["questions", "import", "--help"]).output
    for word in ('"skillId"', '"questions"', '"options"', '"answer"'):
        assert word in shown


@pytest.mark.parametrize(
    "command",
    [
        ["questions", "list"],
        ["keys", "list"],
        ["keys", "revoke", "ak_live_x"],
        ["history", "ver_live_00000000000000000000000000000000"],
        ["projections", "dead-letters"],
        ["projections", "retry"],
        ["projections", "rebuild"],
    ],
)
def test_a_command_that_reads_refuses_a_folder_without_a_store(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "vra"
    result = CliRunner().invoke(main, [*command, "--data", str(typo)], env=NO_URL)
    assert result.exit_code == 2
    assert "--data" in result.output
    assert "holds no store" in result.output
    assert not typo.exists()  # no empty store made on the way


def test_a_bad_as_of_names_the_option(tmp_path: Path) -> None:
    runner = CliRunner()
    create = ["keys", "create", "--tenant", "acme", "--data", str(tmp_path)]
    made = runner.invoke(main, create, env=NO_URL)
    assert made.exit_code == 0, made.output
    result = runner.invoke(
        main, ["history", "ver_live_x", "--as-of", "yesterday", "--data", str(tmp_path)], env=NO_URL
    )
    assert result.exit_code == 2
    assert "--as-of" in result.output
    assert "asOf" not in result.output


def test_a_process_that_shows_personal_data_checks_the_master_key_at_its_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", data_dir=tmp_path)
    take_attempt(store, 8)  # a student's contact sealed under MASTER_KEY
    store.store.close()
    monkeypatch.setenv("ASSESS_DATABASE_URL", f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    monkeypatch.setenv("ASSESS_MASTER_KEY", "42" * 32)
    with pytest.raises(SystemExit, match="not the key this store's personal data is sealed"):
        create()  # the API's factory, as `assess serve` calls it in each worker
    # The audit log's tools read no personal data: they need no master key.
    env = {"ASSESS_DATABASE_URL": f"sqlite:///{tmp_path / 'assess.sqlite3'}"}
    checkpoint = ["audit", "checkpoint", "--data", str(tmp_path)]
    result = CliRunner().invoke(main, checkpoint, env={**env, "ASSESS_MASTER_KEY": "42" * 32})
    assert result.exit_code == 0, result.output


def test_the_version_and_the_dev_servers_address_are_options() -> None:
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0
    assert version.output == f"assess {metadata.version('assess')}\n"
    dev = main.commands["dev"]
    assert {option.name: option.default for option in dev.params}["host"] == "127.0.0.1"
