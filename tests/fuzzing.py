"""Fuzzing the HTTP API: schemathesis over every operation of the service's OpenAPI
document (the in-process fuzz test and the hostile-input run against real processes), and
a client that sends hand-made requests and checks each answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.schemas import BaseSchema

from tests.hostile import Request

CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@dataclass
class Tally:
    """What a run tried: requests sent, server errors seen, and every failure in words."""

    cases: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    fuzzed: dict[str, int] = field(default_factory=dict)  # cases per operation and mode

    def saw(self, status: int) -> None:
        """Count one answered request."""
        self.cases += 1
        self.server_errors += status >= 500


def fuzz(
    schema: BaseSchema,
    headers: dict[str, str],
    examples: int,
    modes: Sequence[GenerationMode] = (GenerationMode.POSITIVE,),
    tally: Tally | None = None,
) -> Tally:
    """Send `examples` generated cases per operation and mode (the same ones on every run,
    so a failure is reproducible); every operation is tried and all failures are kept. An
    operation and mode that sent no case is a failure, unless it is the negative mode of an
    operation without parameters (there is nothing to break)."""
    tally = tally or Tally()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid OpenAPI
        operation = result.ok()
        for mode in modes:
            name = f"{operation.label} ({mode.value})"
            tally.fuzzed[name] = 0

            @given(case=operation.as_strategy(mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case[Any]) -> None:
                response = case.call(headers=headers)
                tally.saw(response.status_code)
                tally.fuzzed[name] += 1  # noqa: B023  (called at once, within its iteration)
                case.validate_response(response, checks=CHECKS, headers=headers)

            try:
                check()
            except Unsatisfiable:
                if mode != GenerationMode.NEGATIVE or has_parameters(operation):
                    tally.failures.append(f"{name}: no case could be generated")
            except Exception as error:
                tally.failures.append(f"{name}: {error}")
            else:
                if tally.fuzzed[name] == 0:
                    tally.failures.append(f"{name}: no case was sent")
    return tally


def has_parameters(operation: Any) -> bool:
    """Whether an operation takes anything a negative case could break."""
    parts = (operation.path_parameters, operation.headers, operation.cookies, operation.query)
    return any(len(part) for part in parts) or bool(len(operation.body))


class Client:
    """Sends requests to the server and checks every answer: below 500, and an error in
    the envelope {success: false, error: {code, message}}."""

    def __init__(self, http: httpx.Client, tally: Tally) -> None:
        self.http, self.tally, self.sent = http, tally, 0

    def send(self, request: Request) -> httpx.Response:
        """Send a request (a POST with an Idempotency-Key of its own) and check the answer."""
        self.sent += 1
        headers = {
            name.encode(): value if isinstance(value, bytes) else value.encode()
            for name, value in request.headers.items()
        }
        if request.method == "POST":
            headers.setdefault(b"idempotency-key", f"fuzz-{self.sent}".encode())
        response = self.http.request(
            request.method, request.path, headers=headers, content=request.content()
        )
        self.tally.saw(response.status_code)
        if not acceptable(response):
            self.tally.failures.append(f"{request.label()}: {response.status_code} {response.text}")
        return response


def acceptable(response: httpx.Response) -> bool:
    """Below 500, and an error in the envelope (or refused by uvicorn itself)."""
    if response.is_server_error:
        return False
    return response.status_code < 400 or enveloped(response) or refused_by_uvicorn(response)


def refused_by_uvicorn(response: httpx.Response) -> bool:
    """Whether uvicorn refused a request it could not parse (a control character in a
    header), before the app saw it: a plain-text 400 the app cannot shape."""
    return response.status_code == 400 and response.text == "Invalid HTTP request received."


def enveloped(response: httpx.Response) -> bool:
    """Whether an answer is the error envelope, as JSON."""
    if response.headers.get("content-type") != "application/json":
        return False
    body = response.json()
    return (
        body.keys() == {"success", "error"}
        and body["success"] is False
        and body["error"].keys() == {"code", "message"}
        and all(isinstance(text, str) for text in body["error"].values())
    )
