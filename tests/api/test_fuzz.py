"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): whatever a client sends,
valid or not, the service answers without a server error, with the content type and body
its schema documents for that status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis.openapi import from_asgi

from api.app import create_app
from application.service import AssessmentService
from tests.fuzzing import fuzz
from tests.support import make_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AssessmentService]:
    """A service on a fresh SQLite store; webhook targets are not resolved (no DNS)."""
    service = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", webhook_allow_private=True)
    yield service
    service.store.close()


def test_no_request_makes_a_server_error_or_leaves_its_schema(service: AssessmentService) -> None:
    key = service.access.issue_key("acme", "live")
    api = from_asgi("/schema/openapi.json", create_app(service))
    assert fuzz(api, {"x-api-key": key}, examples=30).failures == []
