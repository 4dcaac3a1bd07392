"""The README's quick start, human-endorsement lines and Kafka consumer, run as written.

Each block is the fenced block after its marker in README.md
(`<!-- NAME: tests/integration/test_readme.py runs this block -->`). The shell blocks run in
bash, in a fresh folder that looks like the repository to them: its `.venv` links to this
interpreter's environment and its `var/` is the data folder of a real `assess dev`, so every
line runs unchanged, `.venv/bin/assess` and `var/outbox` included. The one line the test
changes is the address: the quick start's `BASE=http://127.0.0.1:8000` becomes the server's.
The server listens on a free port rather than on 8000, which a developer's own
`scripts/dev.sh` or another process of this shared machine may hold (a test that skipped
then would check nothing). bash runs with `set -euo pipefail` and `curl` with
`--fail-with-body` (a function in front of it), so a failing line or an HTTP error stops the
run with a non-zero exit. The consumer's address and topic are changed the same way, to a
broker and a topic of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.broker import Broker
from tests.processes import free_port, wait_until_healthy

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(
    r"<!-- (?P<name>[\w-]+): tests/integration/test_readme\.py runs this block -->\n"
    r"```(?:sh|python)\n(?P<body>.*?)\n```",
    re.DOTALL,
)
STRICT = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'
# Without the test's own ASSESS_* settings: the lines see what a newcomer's shell has.
CLEAN = {name: value for name, value in os.environ.items() if not name.startswith("ASSESS_")}


def block(name: str) -> str:
    """The README's block after the marker NAME."""
    found = {match["name"]: match["body"] for match in BLOCK.finditer(README.read_text())}
    assert name in found, f"README.md has no block marked {name!r} (found {sorted(found)})"
    return found[name]


def replaced(text: str, old: str, new: str) -> str:
    """TEXT with the one occurrence of OLD replaced."""
    assert text.count(old) == 1, f"expected {old!r} once in the README's block"
    return text.replace(old, new)


def bash(folder: Path, script: str) -> str:
    """Run SCRIPT strictly in FOLDER; it must exit 0. Its stdout."""
    result = subprocess.run(
        ["bash", "-c", STRICT + script],
        cwd=folder,
        env=CLEAN,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def documents(output: str) -> list[Any]:
    """The JSON documents printed one after another (json.tool's output): all of it."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while output[position:].strip():
        position += len(output[position:]) - len(output[position:].lstrip())
        document, position = decoder.raw_decode(output, position)
        found.append(document)
    return found


@contextmanager
def started(
    args: list[str], folder: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `assess ARGS` in FOLDER until the block ends (then SIGTERM: it must exit 0)."""
    log = folder / f"{args[0]}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints", *args],
            cwd=folder,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text(errors="replace")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder with `.venv` and `var/`, and the URL of `assess dev` serving `var/`."""
    folder = tmp_path_factory.mktemp("newcomer")
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    port = free_port()
    with started(["dev", "--port", str(port), "--data", "var"], folder, CLEAN) as process:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, folder / "dev.log")
        yield folder, url


def quick_start(url: str) -> str:
    """The quick start, pointed at URL."""
    return replaced(block("quick-start"), "BASE=http://127.0.0.1:8000 ", f"BASE={url} ")


@pytest.fixture(scope="module")
def quick_start_output(dev: tuple[Path, str]) -> list[Any]:
    """What the quick start printed, as JSON documents."""
    folder, url = dev
    return documents(bash(folder, quick_start(url)))


def test_the_quick_start_runs_and_shows_the_result(quick_start_output: list[Any]) -> None:
    banked, verified, generated, submitted, record, listed, skills, history, before = (
        quick_start_output
    )
    assert [skill["skillId"] for skill in banked["data"]][:2] == ["skill_001", "skill_002"]
    assert verified["data"]["sessionToken"]
    assert len(generated["data"]["questions"]) == 10
    assert submitted["message"] == "Assessment submitted successfully"
    result = submitted["data"]["result"]
    assert result["attemptNumber"] == 1
    assert result["totalQuestions"] == 10
    # Every answer is the first option: the score is what those happened to get right,
    # 10 points each of 10 questions; SPEC's pass mark is 60.
    assert result["score"] == 10 * result["correctAnswers"]
    assert result["passed"] is (result["score"] >= 60)
    record_id = submitted["data"]["recordVerificationId"]
    # The record, the list and the skills are views, which may lag the submit by a moment;
    # the list is read from the record's view after the record was found there.
    assert record["data"]["recordVerificationId"] == record_id
    assert [item["recordVerificationId"] for item in listed["data"]["items"]] == [record_id]
    assert {skill["skillId"] for skill in skills["data"]} <= {"skill_001"}
    # After a fail, the question preparer (in-process) makes the next attempt's set; the
    # first set may have been prepared before generate showed it, or drawn by generate.
    last = history["data"]["events"][-1]["type"]
    assert last == "Locked" if result["passed"] else last in ("Scored", "QuestionsPrepared")
    assert shown(before["events"]) == ["VerificationStarted", "QuestionsGenerated"]
    assert before["state"]["attempts"] == []


def shown(events: list[dict[str, Any]]) -> list[str]:
    """The types of a record's events, but the sets the question preparer made ahead."""
    return [event["type"] for event in events if event["type"] != "QuestionsPrepared"]


def test_the_production_lines_run_the_quick_start_on_postgresql(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("operator")
    (folder / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    port = str(free_port())
    production = replaced(
        block("production"), "postgresql://postgres@127.0.0.1:5432/assess ", f"{pg_url} "
    )
    production = replaced(production, "--port 8000 ", f"--port {port} ")
    production = replaced(production, "http://127.0.0.1:8000 ", f"http://127.0.0.1:{port} ")
    quick = replaced(
        block("quick-start"), "BASE=http://127.0.0.1:8000 ", f"BASE=http://127.0.0.1:{port} "
    )
    script = "\n".join(
        [
            "{",
            production,
            "} > production.out",
            quick,
            "kill $(jobs -p)",
            "wait",
        ]
    )
    output = bash(folder, script)
    said = (folder / "production.out").read_text().splitlines()
    assert said[0].startswith("created ")
    assert said[1].startswith("imported the shipped question banks: skill_001")
    _, verified, _, submitted, *_ = documents(output)
    assert verified["data"]["recordVerificationId"] == submitted["data"]["recordVerificationId"]
    assert (folder / "production").is_dir()
    assert not (folder / "production" / "master.key").exists()  # the key is the operator's
    assert not (folder / "var").exists()  # nothing of the embedded default


def test_the_human_endorsement_lines_email_a_link_that_endorses(dev: tuple[Path, str]) -> None:
    folder, url = dev
    *lines, grep = block("human-endorsement").splitlines()
    assert grep.startswith("grep "), "the block ends with the grep for the emailed link"
    # A reader looks for the email a moment later; the consumer writes it right after the call.
    wait_for_email = (
        "for _ in $(seq 300); do grep -qs /review/ var/outbox/*.eml && break; sleep 0.1; done"
    )
    script = "\n".join([quick_start(url), *lines, wait_for_email, grep])
    output = bash(folder, script).splitlines()
    link = output[-1]
    assert link.startswith(f"{url}/review/rvw_"), output[-3:]
    assert len(list((folder / "var" / "outbox").glob("*.eml"))) > 1  # the newest's link only
    page = httpx.get(link, timeout=10)
    assert page.status_code == 200
    assert "Endorse selected skills" in page.text
    endorsed = httpx.post(link, data={"skillIds": "skill_001"}, timeout=10)
    assert endorsed.status_code == 200
    assert "Your endorsement was recorded" in endorsed.text


def test_the_kafka_consumer_prints_the_quick_starts_events(
    dev: tuple[Path, str], quick_start_output: list[Any], broker: Broker
) -> None:
    folder, _ = dev
    record_id = quick_start_output[1]["data"]["recordVerificationId"]
    topic = f"assessment.events.{uuid4().hex[:8]}"
    consumer = replaced(block("consumer"), '"localhost:9092"', f'"{broker.bootstrap}"')
    consumer = replaced(consumer, '"assessment.events"', f'"{topic}"')
    relay_env = {**CLEAN, "ASSESS_KAFKA_BOOTSTRAP": broker.bootstrap, "ASSESS_KAFKA_TOPIC": topic}
    printed = folder / "consumer.out"
    with (
        started(["relay", "--data", "var"], folder, relay_env),
        printed.open("wb") as sink,
    ):
        process = subprocess.Popen(
            [sys.executable, "-c", consumer], cwd=folder, env=CLEAN, stdout=sink, stderr=sink
        )
        try:
            expected = f"assess.Scored.v1 {record_id} "
            deadline = time.monotonic() + 60
            while expected not in printed.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, printed.read_text()
                time.sleep(0.2)
        finally:
            process.terminate()
            process.wait(timeout=10)
    lines = printed.read_text().splitlines()
    ours = [line.split(" ", 3)[:3] for line in lines if f" {record_id} " in line]
    assert [int(version) for _, _, version in ours] == list(range(1, len(ours) + 1)), lines
    types = [kind for kind, _, _ in ours if kind != "assess.QuestionsPrepared.v1"]
    assert types[:4] == [
        *("assess.VerificationStarted.v1", "assess.QuestionsGenerated.v1"),
        *("assess.AnswersSubmitted.v1", "assess.Scored.v1"),
    ], lines
