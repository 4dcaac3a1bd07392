"""What the relay publishes is what GET /schema/asyncapi.json says: both paths and an erasure
run through the API, the real relay publishes to a real broker, and every message, its key
and its headers are checked against the document's schemas."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from application.integration_events import ASSESSMENT_TOPICS
from entrypoints.bootstrap import Services
from tests.api.http import draw, endorse, generated, invite, start, start_human, submitted
from tests.asyncapi_checks import resolve, strict_validator
from tests.broker import Broker, read_topic
from tests.support import Clock, answer_sheet, link_token, make_service, prepare_questions


@pytest.fixture
def service(pg_url: str, clock: Clock, broker: Broker) -> Iterator[Services]:
    topic = f"assessment.events.{uuid4().hex[:8]}"
    service = make_service(pg_url, clock, kafka_bootstrap=broker.bootstrap, kafka_topic=topic)
    yield service
    service.store.close()


def assessment_path(client: TestClient[Litestar], service: Services) -> None:
    """verify, generate, submit a fail; the next set prepared; generate again, submit a
    pass; its credential issued; the record revoked."""
    key = service.access.issue_key("acme", "live")
    record = start(client, key)
    draw(client, record)
    submitted(client, record.session, answer_sheet(service, record.record_id, correct=1))
    assert prepare_questions(service, record.record_id)
    generated(client, record.session)
    submitted(client, record.session, answer_sheet(service, record.record_id, correct=10))
    assert service.credential_issuer().issue(UUID(record.record_id[-32:])) == 1
    revoked = client.post(
        f"/api/v1/verifications/{record.record_id}/revoke",
        json={"reason": "taken by someone else"},
        headers={"x-api-key": key},
    )
    assert revoked.status_code == 200, revoked.text


def human_path(client: TestClient[Litestar], service: Services) -> None:
    """verify (human_endorsement, test mode), invite, invite again, endorse one skill."""
    record_id, session = start_human(client, service.access.issue_key("acme", "test"))
    for _ in range(2):
        assert invite(client, session).status_code == 200
    response = endorse(client, link_token(service, record_id, 2), {"skillIds": ["skill_001"]})
    assert response.status_code == 200, response.text


def erasure(client: TestClient[Litestar], service: Services) -> None:
    """The live student's personal data erased: PersonalDataErased on their record."""
    key = service.access.issue_key("acme", "live")
    response = client.delete("/api/v1/students/stu_1", headers={"x-api-key": key})
    assert response.json()["data"]["recordsAffected"] == 1, response.text


def published(service: Services) -> list[Any]:
    """Every stored event as the relay publishes it to the service's topic."""
    stored = len(
        service.store.recorder.select_notifications(start=1, limit=1000, topics=ASSESSMENT_TOPICS)
    )
    stopping = threading.Event()
    relay = threading.Thread(target=service.relay().run, args=(stopping,))
    relay.start()
    try:
        settings = service.settings
        return read_topic(
            settings.kafka_bootstrap, settings.kafka_topic, lambda r: len(r) >= stored
        )
    finally:
        stopping.set()
        relay.join()


def test_every_published_message_is_as_the_document_says(service: Services) -> None:
    with TestClient(create_app(service)) as client:
        assessment_path(client, service)
        human_path(client, service)
        erasure(client, service)
        document = client.get("/schema/asyncapi.json").json()
    records = published(service)
    [channel] = document["channels"].values()
    assert channel["address"] == service.settings.kafka_topic
    seen = set()
    for record in records:
        value = msgspec.json.decode(record.value)
        message = resolve(document, channel["messages"][value["type"]])
        strict_validator(document, message["payload"]).validate(value)
        headers = {name: raw.decode() for name, raw in record.headers}
        assert len(headers) == len(record.headers)  # no header twice
        header_schema = resolve(document, message["headers"])
        assert set(header_schema["required"]) <= set(headers)  # extras: the validator's
        strict_validator(document, header_schema).validate(headers)
        strict_validator(document, message["bindings"]["kafka"]["key"]).validate(
            record.key.decode()
        )
        assert record.key.decode() == value["recordVerificationId"]
        seen.add(value["type"])
    assert seen == set(document["components"]["messages"])  # every type was checked
    assert {value[:9] for value in (r.key.decode() for r in records)} == {"ver_live_", "ver_test_"}
