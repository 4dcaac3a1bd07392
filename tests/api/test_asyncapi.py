"""GET /schema/asyncapi.json: a valid AsyncAPI 3.0 document of the public topic, with a
message for every event type the relay publishes."""

from __future__ import annotations

import copy
import re
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.utils import resolve_topic
from litestar import Litestar
from litestar.testing import TestClient

from api.asyncapi import asyncapi_document
from application.integration_events import ASSESSMENT_TOPICS
from domain.assessment import Assessment
from entrypoints.bootstrap import Services
from tests.asyncapi_checks import asyncapi_errors, resolve, strict_validator


@pytest.fixture
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    response = client.get("/schema/asyncapi.json")  # no credential
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any], service: Services) -> None:
    assert asyncapi_errors(document) == []
    assert document["asyncapi"] == "3.0.0"
    [channel] = document["channels"].values()
    assert channel["address"] == service.settings.kafka_topic == "assessment.events"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("operations", "publishEvents", "action"), "publish"),  # AsyncAPI 2's word
        (("components", "messages", "Scored", "payload"), {"type": "struct"}),
        (("components", "messages", "Scored", "bindings", "kafka", "key"), {"type": 7}),
    ],
)
def test_the_check_refuses_a_broken_document(
    document: dict[str, Any], where: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(document)
    *path, last = where
    part = broken
    for name in path:
        part = part[name]
    part[last] = value
    assert asyncapi_errors(broken) != []


def test_the_topic_setting_is_the_channel() -> None:
    [channel] = asyncapi_document("partner.events")["channels"].values()
    assert channel["address"] == "partner.events"
    assert channel["bindings"]["kafka"]["topic"] == "partner.events"


def record_events() -> set[type[AggregateEvent]]:
    """Every event type of a verification record (not the kinds every aggregate has)."""
    return {
        value
        for name in set(dir(Assessment)) - set(dir(Aggregate))
        if isinstance(value := getattr(Assessment, name), type)
        and issubclass(value, AggregateEvent)
    }


def test_every_event_a_record_has_is_relayed_and_documented(document: dict[str, Any]) -> None:
    relayed = {resolve_topic(topic) for topic in ASSESSMENT_TOPICS}
    assert record_events() == relayed  # a new event type reaches the topic
    names = {event.__name__ for event in relayed}
    assert len(names) == 11
    assert set(document["components"]["messages"]) == names
    [channel] = document["channels"].values()
    assert set(channel["messages"]) == names
    [operation] = document["operations"].values()
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]} == names
    for name in names:
        message = resolve(document, channel["messages"][name])
        payload = resolve(document, message["payload"])
        assert payload["properties"]["type"]["const"] == name
        assert set(payload["required"]) == {
            *("id", "recordVerificationId", "version", "type", "occurredAt", "data")
        }
        headers = resolve(document, message["headers"])
        assert headers["properties"]["ce_type"]["const"] == f"assess.{name}.v1"
        assert set(headers["required"]) == {
            *("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"),
            "ce_sequence",
            "content-type",
        }
        assert message["bindings"]["kafka"]["key"]["pattern"] == "^ver_(live|test)_[0-9a-f]{32}$"


def test_the_human_path_messages_say_what_they_carry(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["ReviewerInvitedData"]["properties"]) == {
        "invitation",
        "reviewer",
        "expiresAt",
    }
    assert set(schemas["SkillsEndorsedData"]["properties"]) == {
        *("invitation", "company", "endorsementType", "skills", "skillsUpdated")
    }
    assert schemas["ReviewerInvitedData"]["properties"]["expiresAt"]["format"] == "date-time"
    assert set(schemas["SkillOutcome"]["required"]) >= {"skillId", "status", "verifiedBy"}


def test_people_go_by_id_and_relation_never_by_name_or_email(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    student = schemas["VerificationStartedData"]["properties"]["student"]
    reviewer = schemas["ReviewerInvitedData"]["properties"]["reviewer"]
    assert student["$ref"].endswith("/StudentRef")
    assert reviewer["$ref"].endswith("/ReviewerRef")
    assert set(schemas["StudentRef"]["properties"]) == {"studentId"}
    assert set(schemas["ReviewerRef"]["properties"]) == {"company", "endorsementType"}
    assert schemas["PersonalDataErasedData"]["properties"] == {}
    for personal in ("contact", "Sealed", "Contact"):
        assert personal not in str(document)


def test_no_secret_is_in_the_document_and_names_are_clean(document: dict[str, Any]) -> None:
    text = str(document)
    for secret in ("answerKey", "answer_key", "sessionTokenHash", "tokenHash", "token_hash"):
        assert secret not in text
    for kind in ("schemas", "messages"):
        for name in document["components"][kind]:
            assert re.fullmatch("[A-Z][A-Za-z]+", name), name


def test_the_check_refuses_a_message_the_document_does_not_describe(
    document: dict[str, Any],
) -> None:
    scored = document["components"]["messages"]["Scored"]
    valid: dict[str, Any] = {
        "id": str(uuid4()),
        "recordVerificationId": f"ver_live_{uuid4().hex}",
        "version": 4,
        "type": "Scored",
        "occurredAt": "2026-01-05T10:00:00.000Z",
        "data": {
            "attemptNumber": 1,
            "correctAnswers": 1,
            "totalQuestions": 1,
            "score": 100,
            "passed": True,
            "skills": [],
            "skillsUpdated": 0,
        },
    }
    strict_validator(document, scored["payload"]).validate(valid)
    for broken in (
        {**valid, "type": "Locked"},
        {**valid, "occurredAt": "yesterday"},
        {**valid, "id": "not-a-uuid"},
        {**valid, "data": {**valid["data"], "answerKey": [0]}},
        {**valid, "data": {**valid["data"], "score": "100"}},
    ):
        assert not strict_validator(document, scored["payload"]).is_valid(broken)
