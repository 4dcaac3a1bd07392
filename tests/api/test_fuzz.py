"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): whatever a client sends,
valid or not, the service answers without a server error, with the content type and body
its schema documents for that status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode, Response
from schemathesis.openapi import from_asgi

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.fuzzing import CHECKS, fuzz
from tests.support import make_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Services]:
    """A service on a fresh SQLite store; webhook targets are not resolved (no DNS)."""
    service = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", webhook_allow_private=True)
    yield service
    service.store.close()


def test_no_request_makes_a_server_error_or_leaves_its_schema(service: Services) -> None:
    key = service.access.issue_key("acme", "live")
    api = from_asgi("/schema/openapi.json", create_app(service))
    tally = fuzz(api, {"x-api-key": key}, examples=30)
    assert tally.failures == []
    assert len(tally.fuzzed) == 25  # every operation of the document
    assert set(tally.fuzzed.values()) == {30}  # each sent all its cases


# The operations of a student's path and the partner's reads of it (the webhooks have their
# own stateless fuzz above).
WALKED = [
    "startVerification",
    "generateQuestions",
    "submitAssessment",
    "getVerification",
    "getVerificationHistory",
    "getStudentSkills",
]


def test_a_stateful_walk_follows_the_links_from_verify_to_submit(tmp_path: Path) -> None:
    """Schemathesis's stateful phase: it starts verifications, then follows the document's
    links with the record's id and session token to generate, submit and the reads; no
    answer is a server error or leaves its documented schema. Each scenario gets a fresh
    store, so that Hypothesis, replaying one, meets the same answers."""
    stores = count()
    first = make_service(f"sqlite:///{tmp_path / 'document.sqlite3'}")
    api = from_asgi("/schema/openapi.json", create_app(first)).include(operation_id=WALKED)
    api.config.generation.update(modes=[GenerationMode.POSITIVE])  # valid data, to go deep
    first.store.close()
    seen: Counter[tuple[str, int]] = Counter()

    class Walk(api.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            url = f"sqlite:///{tmp_path / f'walk-{next(stores)}.sqlite3'}"
            self.service = make_service(url, webhook_allow_private=True)
            self.key = self.service.access.issue_key("acme", "live")
            self.app = create_app(self.service)

        def teardown(self) -> None:
            self.service.store.close()

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            return {"app": self.app}  # this scenario's app, not the one the document came from

        def before_call(self, case: Case[Any]) -> None:
            # A session token a link carried stays; anything else is the partner's key.
            headers = case.headers if case.headers is not None else {}
            if not str(headers.get("x-api-key", "")).startswith("sess_"):
                headers["x-api-key"] = self.key
            case.headers = headers

        def after_call(self, response: Response, case: Case[Any]) -> None:
            super().after_call(response, case)
            seen[(case.operation.label, response.status_code)] += 1

        def validate_response(
            self, response: Response, case: Case[Any], *_: Any, **__: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, recorder=self.recorder)

    Walk.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    assert not [step for step in seen if step[1] >= 500], seen
    assert seen[("POST /api/v1/verify", 201)] > 0, seen
    assert seen[("POST /api/v1/assessment/generate", 200)] > 0, seen
    assert any(label == "POST /api/v1/assessment/submit" for label, _ in seen), seen
