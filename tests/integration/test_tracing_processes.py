"""Tracing in a real `assess dev` process: turned on by ASSESS_TRACING its spans are
written to standard output, and with OTEL_EXPORTER_OTLP_ENDPOINT they are sent over
OTLP/HTTP (to a real HTTP server standing in for a collector); a caller's traceparent is
continued."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.processes import assess, server
from tests.receivers import receiving
from tests.support import REACT, STUDENT

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"  # a caller's own trace, to be continued


def verify_in_a_callers_trace(tmp_path: Path, env: dict[str, str]) -> None:
    """Start `assess dev` with env, start a verification with the caller's traceparent,
    and stop the server (which exports the spans it still holds)."""
    data = str(tmp_path / "data")
    key = assess("keys", "create", "--tenant", "acme", "--data", data).splitlines()[-1]
    with (
        server("dev", "--data", data, env=env, log=tmp_path / "dev.log") as url,
        httpx.Client(base_url=url) as http,
    ):
        response = http.post(
            "/api/v1/verify",
            json={"student": STUDENT, "skills": [REACT]},
            headers={"x-api-key": key, "traceparent": CALLER},
        )
        assert response.status_code == 201, response.text


def printed_spans(log: Path) -> list[dict[str, object]]:
    """The spans the console exporter wrote (JSON objects, among the log's lines)."""
    decoder = json.JSONDecoder()
    text, spans, at = log.read_text(), [], 0
    while (at := text.find('{\n    "name"', at)) >= 0:
        span, end = decoder.raw_decode(text, at)
        spans.append(span)
        at = end
    return spans


def test_tracing_on_without_an_endpoint_prints_each_requests_span(tmp_path: Path) -> None:
    env = {"ASSESS_TRACING": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    verify_in_a_callers_trace(tmp_path, env)
    [request] = [s for s in printed_spans(tmp_path / "dev.log") if s["kind"] == "SpanKind.SERVER"]
    assert request["name"] == "POST /api/v1/verify"
    assert request["context"]["trace_id"] == f"0x{CALLER_TRACE}"  # type: ignore[index]


def test_an_otlp_endpoint_turns_tracing_on_and_receives_the_spans(tmp_path: Path) -> None:
    with receiving() as collector:
        verify_in_a_callers_trace(tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.base})
        exports = [hook for hook in collector.hooks() if hook.path == "/v1/traces"]
    assert exports
    spans = [
        span
        for hook in exports
        for resource in ExportTraceServiceRequest.FromString(hook.body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    [request] = [span for span in spans if span.name == "POST /api/v1/verify"]
    assert request.trace_id.hex() == CALLER_TRACE
