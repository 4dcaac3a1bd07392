"""One submit, one trace: its HTTP request, its stored events, the relay's publishing to
the Tansu broker, the webhook delivery (and the real receiver's `traceparent` header) and
the email over real SMTP, all with one trace id; and with tracing off, no trace context
anywhere. The relay and the consumers run in this process (as threads), so that the SDK's
in-memory exporter sees their spans."""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
from cloudevents.v1.kafka import KafkaMessage, from_binary
from litestar.testing import TestClient
from opentelemetry.trace import SpanKind

from api.app import create_app
from api.asyncapi import asyncapi_document
from tests.api.http import draw, start, submit
from tests.asyncapi_checks import resolve, strict_validator
from tests.broker import Broker, read_topic
from tests.kafka_flow import (
    consumer_settings,
    decoded,
    delivered,
    mailed_to,
    running_processes,
    wait_until,
)
from tests.receivers import Hook, receiving, smtp_server
from tests.support import STUDENT, Clock, answer_sheet, make_service, register_endpoint
from tests.tracing import EXPORTER, exported_spans, one, parent_id, stored_states, w3c


class Flow(NamedTuple):
    """What one submit left everywhere: its record, stored events, Kafka records (by
    type), the completed webhook the receiver got, and the result email's count."""

    record_id: str
    stored: list[dict[str, Any]]
    records: dict[str, Any]
    completed: Hook
    emails: int


def submit_through_everything(
    pg_url: str, broker: Broker, topic: str, clock: Clock, *, tracing: bool
) -> Flow:
    """verify, generate and submit over HTTP while the relay and both consumer groups run;
    wait for the completed webhook, the email and (when tracing) their spans."""
    service = make_service(pg_url, clock, webhook_allow_private=True, tracing=tracing)
    key = service.access.issue_key("acme", "live")
    spans = exported_spans()
    with (
        receiving() as receiver,
        smtp_server() as (smtp_port, mailbox),
        TestClient(create_app(service)) as client,
    ):
        register_endpoint(service, receiver.url, ["verification.completed"])
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        with running_processes(msgspec.structs.replace(settings, tracing=tracing)):
            record = start(client, key)
            draw(client, record)
            answers = answer_sheet(service, record.record_id, 8)
            assert submit(client, record.session, answers).status_code == 200
            wait_until(lambda: delivered(receiver.hooks(), record.record_id, "/hooks"), "webhook")
            wait_until(lambda: bool(mailed_to(mailbox, STUDENT["email"])), "the result email")
            if tracing:
                wait_until(
                    lambda: (
                        {"POST webhook", "send email"}
                        <= {span.name for span in spans.get_finished_spans()}
                    ),
                    "the webhook's and the email's spans",
                )
        [completed] = receiver.hooks()
        emails = len(mailed_to(mailbox, STUDENT["email"]))
    records = read_topic(
        broker.bootstrap, topic, lambda records: "Locked" in {decoded(r)["type"] for r in records}
    )
    stored = stored_states(service, record.record_id)
    service.store.close()
    by_type = {decoded(r)["type"]: r for r in records if r.key == record.record_id.encode()}
    return Flow(record.record_id, stored, by_type, completed, emails)


def test_one_submit_is_one_trace_from_its_request_to_its_webhook_and_email(
    pg_url: str, broker: Broker, topic: str, clock: Clock
) -> None:
    flow = submit_through_everything(pg_url, broker, topic, clock, tracing=True)
    document = asyncapi_document(topic)
    finished = EXPORTER.get_finished_spans()

    request = one(finished, "POST /api/v1/assessment/submit")
    assert request.kind == SpanKind.SERVER
    assert request.context is not None
    trace_id = request.context.trace_id
    in_trace = [span for span in finished if span.context and span.context.trace_id == trace_id]

    # Stored: the submit's events (answers, score, lock) carry its request's context.
    assert [state.get("traceparent") for state in flow.stored[2:]] == [w3c(request)] * 3

    # Published: a span per event, children of the request; on Kafka, `traceparent` names
    # the publish span (this hop) and `ce_traceparent` the request (where the event began).
    publish = {
        kind: one(in_trace, f"publish {flow.records[kind].topic}", {"assess.event.type": kind})
        for kind in ("AnswersSubmitted", "Scored", "Locked")
    }
    for kind, span in publish.items():
        assert span.kind == SpanKind.PRODUCER
        assert parent_id(span) == request.context.span_id
        headers = dict(flow.records[kind].headers)
        assert headers["traceparent"] == w3c(span).encode()
        assert headers["ce_traceparent"] == w3c(request).encode()
        header_schema = resolve(document, document["components"]["messages"][kind]["headers"])
        strict_validator(document, header_schema).validate(
            {name: value.decode() for name, value in headers.items()}
        )  # as the AsyncAPI document describes them
    scored = flow.records["Scored"]
    event = from_binary(
        KafkaMessage(headers=dict(scored.headers), key=scored.key, value=scored.value)
    )
    assert event["traceparent"] == w3c(request)  # the distributed-tracing extension

    # Consumed: the webhook try and the email are children of the Scored event's publish
    # span, and the receiver is told the try's span.
    webhook = one(in_trace, "POST webhook")
    email = one(in_trace, "send email", {"assess.event.type": "Scored"})
    assert parent_id(webhook) == parent_id(email) == publish["Scored"].context.span_id
    assert (webhook.kind, email.kind) == (SpanKind.CLIENT, SpanKind.CLIENT)
    assert webhook.attributes is not None
    assert webhook.attributes["http.response.status_code"] == 200
    assert flow.completed.headers["traceparent"] == w3c(webhook)
    assert flow.emails == 1


def test_with_tracing_off_no_trace_context_is_stored_or_sent(
    pg_url: str, broker: Broker, topic: str, clock: Clock
) -> None:
    flow = submit_through_everything(pg_url, broker, topic, clock, tracing=False)

    assert EXPORTER.get_finished_spans() == ()
    assert all("traceparent" not in state for state in flow.stored)
    for record in flow.records.values():
        assert {name for name, _ in record.headers} == {
            *("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"),
            "ce_sequence",
            "content-type",
        }
    assert "traceparent" not in flow.completed.headers
    assert flow.emails == 1
