"""The OpenAPI document at /schema/openapi.json: valid OpenAPI 3.1, and what a client
generator needs: security, Idempotency-Key, a summary, description and example per
operation, typed answers, the constraints the API enforces, links and the webhooks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any, get_args
from urllib.parse import urljoin, urlsplit

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from api.schemas import RecordStatus
from application.commands import RevokeVerification
from application.handlers.revoke_verification import revoke_verification
from consumers.fanout import webhook_body, webhook_type
from consumers.known_records import RecordFacts
from entrypoints.bootstrap import Services
from projections.queries import STATUSES
from tests.support import ACME, public_messages, take_attempt

METHODS = {"get", "post", "delete", "put", "patch"}
# The reviewer's link token is their credential; anyone checks the audit log's checkpoints.
UNGUARDED = {"getReviewPage", "endorseSkills", "getAuditCheckpoint", "getAuditConsistency"}


@pytest.fixture
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def validator(document: dict[str, Any], schema: dict[str, Any]) -> OAS31Validator:
    """A JSON Schema validator of a schema whose #/components/... are the document's."""
    return OAS31Validator({**schema, "components": document["components"]})


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_operation_is_described_secured_and_retryable(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert scheme == {**scheme, "type": "apiKey", "name": "x-api-key", "in": "header"}
    for path, method, operation in operations(document):
        label = f"{method} {path}"
        assert operation["summary"][0].isupper(), label
        assert len(operation["description"]) > 40, label
        if operation["operationId"] in UNGUARDED:
            assert "security" not in operation, label
        else:
            assert operation["security"] == [{"apiKey": []}], label
        refs = [parameter.get("$ref") for parameter in operation.get("parameters", [])]
        assert ("#/components/parameters/IdempotencyKey" in refs) == (method == "post"), label
    idempotency = document["components"]["parameters"]["IdempotencyKey"]
    assert (idempotency["name"], idempotency["in"]) == ("Idempotency-Key", "header")


def test_every_answer_is_typed_and_every_operation_has_examples(document: dict[str, Any]) -> None:
    for _path, method, operation in operations(document):
        for status, answer in operation["responses"].items():
            media = answer["content"]["application/json"]
            if status.startswith("2"):
                check = validator(document, media["schema"])
                check.validate(media["example"])
            else:
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            validator(document, body["schema"]).validate(body["example"])
        elif method == "post":
            assert operation["operationId"] in {"rotateCallbackSecret", "redeliverWebhook"}


def test_the_submit_example_is_the_one_of_the_submit_page(document: dict[str, Any]) -> None:
    submit = document["paths"]["/api/v1/assessment/submit"]["post"]
    request = submit["requestBody"]["content"]["application/json"]["example"]
    assert request == {
        "answers": [
            {"questionId": "uuid-q-1", "selectedAnswer": 1},
            {"questionId": "uuid-q-2", "selectedAnswer": 0},
        ]
    }
    answer = submit["responses"]["200"]["content"]["application/json"]["example"]
    assert answer["data"]["result"]["score"] == 80
    assert answer["data"]["verifiedSkills"][0]["verifiedBy"] == "assessment"
    assert answer["message"] == "Assessment submitted successfully"


def test_schemas_are_named_plainly_and_typed(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in schemas), list(schemas)
    verified = schemas["Submitted"]["properties"]["verifiedSkills"]
    assert verified == {"type": "array", "items": {"$ref": "#/components/schemas/SkillOutcome"}}
    questions = schemas["Generated"]["properties"]["questions"]["items"]
    assert questions == {"$ref": "#/components/schemas/PublicQuestion"}
    assert schemas["Submitted"]["description"]  # each struct's docstring


def test_request_schemas_carry_the_constraints_the_api_enforces(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    skills = schemas["VerifyRequest"]["properties"]["skills"]
    assert (skills["minItems"], skills["maxItems"]) == (1, 10)
    proof = schemas["Skill"]["properties"]["proofUrls"]
    assert proof["maxItems"] == 5
    assert proof["items"]["pattern"].startswith("^https?://")
    email = schemas["Student"]["properties"]["email"]
    assert email["maxLength"] == 254
    assert "@" in email["pattern"]
    kinds = schemas["ReviewerRequest"]["properties"]["endorsementType"]["enum"]
    assert set(kinds) == {"reporting_manager", "tech_lead", "client", "founder_cxo", "peer"}
    events = schemas["WebhookRequest"]["properties"]["events"]["anyOf"][0]
    assert events["minItems"] == 1
    assert set(events["items"]["enum"]) == {"verification.initiated", "verification.completed"}
    listing = document["paths"]["/api/v1/verifications"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter["schema"] for parameter in listing}
    assert (by_name["limit"]["minimum"], by_name["limit"]["maximum"]) == (1, 100)
    assert by_name["status"] == {"type": "string", "enum": list(STATUSES)}
    assert get_args(RecordStatus) == STATUSES


def test_a_started_verification_links_to_the_calls_that_use_it(document: dict[str, Any]) -> None:
    started = document["paths"]["/api/v1/verify"]["post"]["responses"]["201"]["links"]
    assert {"generateQuestions", "submitAssessment", "getVerification"} <= set(started)
    generate = started["generateQuestions"]
    assert generate["parameters"] == {"header.x-api-key": "$response.body#/data/sessionToken"}
    assert generate["requestBody"] == {
        "recordVerificationId": "$response.body#/data/recordVerificationId"
    }
    read = started["getVerification"]["parameters"]
    assert read == {"path.record_verification_id": "$response.body#/data/recordVerificationId"}
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    for _, _, operation in operations(document):
        for answer in operation["responses"].values():
            assert {link["operationId"] for link in answer.get("links", {}).values()} <= ids


def test_the_webhooks_sent_match_the_documented_payloads(
    document: dict[str, Any], service: Services
) -> None:
    hooks = document["webhooks"]
    assert set(hooks) == {
        "verification.initiated",
        "verification.completed",
        "verification.revoked",
    }
    for hook in hooks.values():
        headers = {parameter["name"] for parameter in hook["post"]["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        body = hook["post"]["requestBody"]["content"]["application/json"]
        for example in body["examples"].values():
            validator(document, body["schema"]).validate(example["value"])
    record_id = take_attempt(service, correct=10)
    revoke = RevokeVerification(record_id, "The assessment was taken by someone else")
    service.commands.execute(revoke_verification, ACME, revoke, None)
    facts = RecordFacts("acme", "live", "stu_1", None, ["React"])
    bodies = [
        msgspec.to_builtins(webhook_body(message, facts))
        for message in public_messages(service)
        if webhook_type(message)
    ]
    assert [body["type"] for body in bodies] == [
        "verification.initiated",
        "verification.completed",
        "verification.revoked",
    ]
    for body in bodies:
        schema = hooks[body["type"]]["post"]["requestBody"]["content"]["application/json"]
        validator(document, schema["schema"]).validate(body)
        assert body["data"]["recordVerificationId"] == record_id


class Assets(HTMLParser):
    """The URLs a page loads: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag in {"script", "img"} else found.get("href")
        if tag in {"script", "img", "link"} and url:
            self.urls.append(url)


def test_the_reference_ui_loads_everything_from_the_service(
    client: TestClient[Litestar],
) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = Assets()
    assets.feed(page.text)
    assert len(assets.urls) >= 4  # icon, stylesheet, Swagger UI, the script that starts it
    for url in assets.urls:
        absolute = urljoin("http://testserver/schema", url)
        assert urlsplit(absolute).netloc == "testserver", url
        assert client.get(absolute).status_code == 200, url
    start = client.get("/schema/reference.js").text
    assert "validatorUrl: null" in start  # Swagger UI's online badge would call out
    assert "://" not in start
