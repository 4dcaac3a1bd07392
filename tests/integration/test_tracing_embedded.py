"""Tracing in the embedded mode (`assess dev`): the fan-out from the store continues the
trace of the command whose events it handles, as the Kafka consumers do. Real receivers,
the SDK's in-memory exporter."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient
from opentelemetry.trace import SpanKind

from api.app import create_app
from tests.api.http import draw, start, submit
from tests.kafka_flow import wait_until
from tests.receivers import receiving
from tests.support import (
    STUDENT,
    Clock,
    answer_sheet,
    fanning_out,
    make_service,
    register_endpoint,
)
from tests.tracing import exported_spans, one, parent_id, stored_states, w3c


def test_the_embedded_fan_out_continues_a_submits_trace_to_its_webhook_and_email(
    tmp_path: Path, clock: Clock
) -> None:
    spans = exported_spans()
    outbox = tmp_path / "outbox"
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    service = make_service(url, clock, webhook_allow_private=True, outbox_dir=outbox, tracing=True)
    key = service.access.issue_key("acme", "live")
    with (
        receiving() as receiver,
        fanning_out(service),
        TestClient(create_app(service)) as client,
    ):
        register_endpoint(service, receiver.url, ["verification.completed"])
        record = start(client, key)
        draw(client, record)
        answers = answer_sheet(service, record.record_id, 8)
        assert submit(client, record.session, answers).status_code == 200
        [hook] = receiver.wait_for(1)
        wait_until(lambda: len(list(outbox.glob("*.eml"))) == 1, "the result email")
        wait_until(
            lambda: {"POST webhook", "send email"} <= {s.name for s in spans.get_finished_spans()},
            "the webhook's and the email's spans",
        )
        history = client.get(
            f"/api/v1/verifications/{record.record_id}/history", headers={"x-api-key": key}
        ).json()["data"]["events"]

    finished = spans.get_finished_spans()
    request = one(finished, "POST /api/v1/assessment/submit")
    assert request.kind == SpanKind.SERVER
    assert request.context is not None
    in_trace = [s for s in finished if s.context and s.context.trace_id == request.context.trace_id]
    webhook = one(in_trace, "POST webhook")
    email = one(in_trace, "send email", {"assess.event.type": "Scored"})
    # No relay here: both continue from the context stored with the submit's events.
    assert parent_id(webhook) == parent_id(email) == request.context.span_id
    assert (webhook.kind, email.kind) == (SpanKind.CLIENT, SpanKind.CLIENT)
    assert hook.headers["traceparent"] == w3c(webhook)
    assert hook.payload["type"] == "verification.completed"

    # Started, generated, then submitted (answers, score, lock): three commands, three traces.
    stored = [state["traceparent"] for state in stored_states(service, record.record_id)]
    assert stored[2:] == [w3c(request)] * 3
    assert len({traceparent.split("-")[1] for traceparent in stored}) == 3
    assert len(history) == 5
    assert all("traceparent" not in event["data"] for event in history)
    assert STUDENT["email"] in next(outbox.glob("*.eml")).read_text()
