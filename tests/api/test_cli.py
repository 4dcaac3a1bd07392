"""The operator's command line as a newcomer meets it: help on every option, the bank file
format in `questions import --help`, and mistakes named by their option."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.cli import main

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
