"""The SDK's in-memory span exporter as the test process's tracer provider, and how the
tracing tests read spans and trace contexts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from entrypoints.bootstrap import Services

EXPORTER = InMemorySpanExporter()
_installed: list[TracerProvider] = []


def exported_spans() -> InMemorySpanExporter:
    """The exporter every span of this process ends in, emptied. OpenTelemetry takes one
    tracer provider per process, so the first call installs it and later ones reuse it."""
    if not _installed:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        _installed.append(provider)
    EXPORTER.clear()
    return EXPORTER


def w3c(span: ReadableSpan) -> str:
    """The traceparent that names a span."""
    context = span.context
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def parent_id(span: ReadableSpan) -> int | None:
    """The id of a span's parent span."""
    return span.parent.span_id if span.parent is not None else None


def one(
    spans: Sequence[ReadableSpan], name: str, attributes: dict[str, Any] | None = None
) -> ReadableSpan:
    """The one span of this name with these attributes."""
    found = [
        span
        for span in spans
        if span.name == name
        and all(
            (span.attributes or {}).get(key) == value for key, value in (attributes or {}).items()
        )
    ]
    assert len(found) == 1, f"{len(found)} spans {name} {attributes}: {[s.name for s in spans]}"
    return found[0]


def stored_states(service: Services, record_id: str) -> list[dict[str, Any]]:
    """A record's events as stored: the JSON of each, by version."""
    stored = service.store.recorder.select_events(UUID(record_id[-32:]))
    return [json.loads(event.state) for event in stored]
