"""Hostile input at the boundary, on both stores: every text field refuses control
characters and over-long values, every malformed body, query value, cursor and path id is
a 4xx in the envelope, and a refused request stores nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.support import REACT, STUDENT, Clock, make_service

API = "/api/v1"
POSTS = [
    f"{API}/verify",
    f"{API}/assessment/generate",
    f"{API}/assessment/submit",
    f"{API}/webhooks",
]
BAD_TEXT = ["nul\u0000id", "line\nbreak", "cr\rlf", "del\u007f", "tab\tbed"]


@pytest.fixture
def hostile(store_url: str) -> Iterator[tuple[TestClient[Litestar], Services, str]]:
    """The app on each store, and a live key of acme."""
    service = make_service(store_url, Clock())
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        yield client, service, key
    service.store.close()


def head(service: Services) -> int:
    """The last notification id: it moves only when something is stored."""
    return service.store.recorder.max_notification_id() or 0


def assert_refused(response: httpx.Response, field: str = "") -> None:
    """A 400 VALIDATION_ERROR in the envelope, naming the field when one is given."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["message"]


def verify_body(**student: str) -> dict[str, Any]:
    return {"student": {**STUDENT, **student}, "skills": [REACT]}


@pytest.mark.parametrize("text", BAD_TEXT)
@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("student.studentId", lambda text: verify_body(studentId=text)),
        ("student.name", lambda text: verify_body(name=text)),
        ("student.email", lambda text: verify_body(email=f"a{text}@example.com")),
        ("skills[0].name", lambda text: {"student": STUDENT, "skills": [{**REACT, "name": text}]}),
        ("skills[0].skillId", lambda text: {"student": STUDENT, "skills": [{"skillId": text}]}),
        (
            "callbackWebhookUrl",
            lambda text: {**verify_body(), "callbackWebhookUrl": f"https://x.example/{text}"},
        ),
    ],
)
def test_text_with_control_characters_is_refused_and_nothing_is_stored(
    hostile: tuple[TestClient[Litestar], Services, str],
    field: str,
    body: Any,
    text: str,
) -> None:
    client, service, key = hostile
    before = head(service)
    response = client.post(f"{API}/verify", json=body(text), headers={"x-api-key": key})
    assert_refused(response, field)
    assert head(service) == before


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        (f"{API}/verify", "student.studentId", verify_body(studentId="stu_1\n")),
        (f"{API}/verify", "student.name", verify_body(name="Ada\n")),
        (f"{API}/verify", "student.email", verify_body(email="ada@example.com\n")),
        (
            f"{API}/verify",
            "skills[0].name",
            {"student": STUDENT, "skills": [{**REACT, "name": "R\n"}]},
        ),
        (
            f"{API}/verify",
            "callbackWebhookUrl",
            {**verify_body(), "callbackWebhookUrl": "https://x.example/\n"},
        ),
        (f"{API}/webhooks", "url", {"url": "https://x.example/\n"}),
        (f"{API}/assessment/generate", "recordVerificationId", {"recordVerificationId": "v\n"}),
    ],
)
def test_a_trailing_line_break_is_refused_and_nothing_is_stored(
    hostile: tuple[TestClient[Litestar], Services, str], path: str, field: str, body: Any
) -> None:
    """A pattern's `$` also matches before a final line break, in Python's regular
    expressions (so in msgspec's): the guard must not end with it."""
    client, service, key = hostile
    before = head(service)
    assert_refused(client.post(path, json=body, headers={"x-api-key": key}), field)
    assert head(service) == before


@pytest.mark.parametrize(
    ("field", "body"),
    [
        ("student.studentId", verify_body(studentId="s" * 129)),
        ("student.name", verify_body(name="n" * 201)),
        ("student.email", verify_body(email="e" * 250 + "@x.io")),
        ("skills[0].name", {"student": STUDENT, "skills": [{**REACT, "name": "n" * 201}]}),
    ],
)
def test_over_long_text_is_refused(
    hostile: tuple[TestClient[Litestar], Services, str], field: str, body: Any
) -> None:
    client, service, key = hostile
    before = head(service)
    assert_refused(client.post(f"{API}/verify", json=body, headers={"x-api-key": key}), field)
    assert head(service) == before


def test_text_at_its_bounds_is_taken(
    hostile: tuple[TestClient[Litestar], Services, str],
) -> None:
    client, _, key = hostile
    body = verify_body(studentId="s" * 128, name="n" * 200, email="e" * 240 + "@example.com")
    response = client.post(f"{API}/verify", json=body, headers={"x-api-key": key})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"student":' * 3000 + b"1" + b"}" * 3000,
        b'{"student": "\xff\xfe"}',
        b"\xff\xfe{}",
        b'{"student": ',
        b'{"student": {"studentId": "\\ud800"}}',
    ],
    ids=["deep-array", "deep-object", "bad-utf8-string", "bad-utf8", "truncated", "surrogate"],
)
def test_a_malformed_body_is_a_validation_error(
    hostile: tuple[TestClient[Litestar], Services, str], path: str, raw: bytes
) -> None:
    client, service, key = hostile
    before = head(service)
    headers = {"x-api-key": key, "content-type": "application/json"}
    assert_refused(client.post(path, content=raw, headers=headers), "body")
    assert head(service) == before


def huge_list_cursor() -> str:
    return base64.urlsafe_b64encode(b"p" + b"9" * 40).decode().rstrip("=")


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/verifications?studentId=nul%00id",
        f"{API}/verifications?cursor={huge_list_cursor()}",
        f"{API}/verifications?cursor={'9' * 5000}",
        f"{API}/verifications/ver_live_%00",
        f"{API}/verifications/ver_live_%00/history",
        f"{API}/verifications/ver_live_x/history?asOf=2026%00",
        f"{API}/students/nul%00id/skills",
        f"{API}/students/{'s' * 129}/skills",
        f"{API}/webhooks/callback/deliveries?cursor=%C2%B2.x",
        f"{API}/webhooks/callback/deliveries?cursor={'9' * 5000}.x",
        f"{API}/webhooks/callback/deliveries?cursor=9223372036854775808.x",
        f"{API}/webhooks/callback/deliveries?cursor=1%00.x",
        f"{API}/webhooks/whe_%00/deliveries",
        f"{API}/verifications?studentId=stu_1%0A",
        f"{API}/verifications?cursor=x%0A",
        f"{API}/verifications/ver_live_x/history?asOf=2026-01-01%0A",
        f"{API}/students/stu_1%0A/skills",
        f"{API}/verifications/ver_live_x%0A",
        f"{API}/webhooks/whe_x%0A/deliveries",
    ],
)
def test_a_malformed_query_value_cursor_or_path_id_is_a_validation_error(
    hostile: tuple[TestClient[Litestar], Services, str], path: str
) -> None:
    client, _, key = hostile
    assert_refused(client.get(path, headers={"x-api-key": key}))


def test_a_malformed_delivery_id_is_a_validation_error(
    hostile: tuple[TestClient[Litestar], Services, str],
) -> None:
    client, _, key = hostile
    response = client.post(
        f"{API}/webhook-deliveries/nul%00id/redeliver", headers={"x-api-key": key}
    )
    assert_refused(response, "delivery_id")
