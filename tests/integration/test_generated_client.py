"""A client generated from the service's own OpenAPI document by a real generator
(openapi-python-client, offline, into a temporary folder) drives a running `assess dev`:
verify, generate and submit as a partner's developer would, with typed answers."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.processes import assess, server

PACKAGE = "assess_generated_client"


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`assess dev` on a fresh data folder, and a tenant key."""
    folder = tmp_path_factory.mktemp("dev")
    data = str(folder / "data")
    with server("dev", "--data", data, log=folder / "dev.log") as url:
        key = assess("keys", "create", "--tenant", "acme", "--data", data).splitlines()[-1]
        yield url, key


@pytest.fixture(scope="module")
def generated(
    dev: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    """The client package generated from the running server's /schema/openapi.json."""
    folder = tmp_path_factory.mktemp("client")
    document = folder / "openapi.json"
    document.write_bytes(httpx.get(f"{dev[0]}/schema/openapi.json").content)
    config = folder / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    source = ["--path", str(document), "--config", str(config), "--meta", "none"]
    result = subprocess.run(
        [str(generator), "generate", *source, "--output-path", str(folder / PACKAGE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def part(package: ModuleType, name: str) -> Any:
    """A module of the generated package (assess_generated_client.<name>)."""
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_verifies_generates_and_submits(
    generated: ModuleType, dev: tuple[str, str]
) -> None:
    url, key = dev
    models = part(generated, "models")
    client = part(generated, "client")
    verifications = part(generated, "api.verifications.start_verification")
    generate = part(generated, "api.assessment.generate_questions")
    submit = part(generated, "api.assessment.submit_assessment")
    read = part(generated, "api.verifications.get_verification")

    def credential(token: str) -> Any:
        return client.AuthenticatedClient(
            base_url=url, token=token, prefix="", auth_header_name="x-api-key"
        )

    partner = credential(key)
    body = models.VerifyRequest(
        student=models.Student(student_id="stu_gen", name="Ada", email="ada@example.com"),
        skills=[models.Skill(skill_id="skill_001", name="React")],
    )
    started = verifications.sync(client=partner, body=body, idempotency_key="start-1")
    assert isinstance(started, models.StartedResponse), started
    again = verifications.sync(client=partner, body=body, idempotency_key="start-1")
    assert again.data.record_verification_id == started.data.record_verification_id

    student = credential(started.data.session_token)
    drawn = generate.sync(client=student)
    assert isinstance(drawn, models.GeneratedResponse), drawn
    assert drawn.data.total_questions == len(drawn.data.questions) == 10
    assert all(question.skill_id == "skill_001" for question in drawn.data.questions)

    answers = [
        models.Answer(question_id=question.question_id, selected_answer=0)
        for question in drawn.data.questions
    ]
    submitted = submit.sync(client=student, body=models.SubmitRequest(answers=answers))
    assert isinstance(submitted, models.SubmittedResponse), submitted
    assert submitted.data.record_verification_id == started.data.record_verification_id
    assert submitted.data.result.total_questions == 10
    [skill] = submitted.data.verified_skills
    assert (skill.skill_id, skill.status) == (
        "skill_001",
        "verified" if submitted.data.result.passed else "rejected",
    )

    refused = submit.sync(client=student, body=models.SubmitRequest(answers=answers))
    assert isinstance(refused, models.ErrorResponse), refused
    # A pass locks the record; after a fail the next attempt's questions are not drawn yet.
    assert refused.error.code == (
        "ASSESSMENT_LOCKED" if submitted.data.result.passed else "NO_QUESTIONS"
    )

    deadline = time.monotonic() + 10  # the record view follows the store a little behind
    while True:
        record = read.sync(started.data.record_verification_id, client=partner)
        assert isinstance(record, models.RecordResponse), record
        if record.data.attempts or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert record.data.attempts[0].score == submitted.data.result.score
