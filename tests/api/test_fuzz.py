"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): whatever a client sends,
valid or not, the service answers without a server error, with the content type and body
its schema documents for that status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.openapi import from_asgi

from api.app import create_app
from application.service import AssessmentService
from tests.support import make_service

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AssessmentService]:
    """A service on a fresh SQLite store; webhook targets are not resolved (no DNS)."""
    service = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}", webhook_allow_private=True)
    yield service
    service.store.close()


def test_no_request_makes_a_server_error_or_leaves_its_schema(service: AssessmentService) -> None:
    key = service.access.issue_key("acme", "live")
    api = from_asgi("/schema/openapi.json", create_app(service))
    failures = []
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid OpenAPI
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,  # the same examples on every run: a failure is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers={"x-api-key": key}, checks=CHECKS)

        try:
            check()
        except Exception as error:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {error}")
    assert failures == []
