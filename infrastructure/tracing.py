"""Tracing with OpenTelemetry: one trace per command, from its HTTP request through its
stored events to Kafka, the webhook deliveries and the emails; off unless turned on
(docs/architecture.md, "Tracing")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import StoredEvent
from opentelemetry import context, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from application.settings import Settings
from infrastructure.transcoding import StructMapper

TRACEPARENT = "traceparent"  # the W3C header, and the key of the context in a stored event
CE_TRACEPARENT = "ce_traceparent"  # CloudEvents' distributed-tracing extension, binary mode
W3C = TraceContextTextMapPropagator()


def start_tracing(settings: Settings) -> None:
    """Give this process the SDK's tracer provider, if it traces: spans go over OTLP to
    OTEL_EXPORTER_OTLP_ENDPOINT, or, with none given, to standard output as JSON."""
    if not settings.tracing_on or isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "assess"}
    provider = TracerProvider(resource=Resource.create(named))
    exporter = OTLPSpanExporter() if settings.otlp_endpoint else ConsoleSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def tracer_for(settings: Settings) -> Tracer | None:
    """The tracer of a process that traces, else None."""
    return trace.get_tracer("assess") if settings.tracing_on else None


def traceparent(span: Span | None = None) -> str | None:
    """The W3C traceparent of a span (by default the current one), if there is one."""
    carrier: dict[str, str] = {}
    W3C.inject(carrier, trace.set_span_in_context(span) if span is not None else None)
    return carrier.get(TRACEPARENT)


def parent(value: str | None) -> context.Context | None:
    """The context a traceparent names, to start a span in (None: none given)."""
    return W3C.extract({TRACEPARENT: value}) if value else None


@contextmanager
def continued(value: str | None) -> Iterator[None]:
    """Make the span a traceparent names current for the block (nothing when None)."""
    if not value:
        yield
        return
    token = context.attach(W3C.extract({TRACEPARENT: value}))
    try:
        yield
    finally:
        context.detach(token)


def span(
    tracer: Tracer | None,
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    within: str | None = None,
) -> AbstractContextManager[Span | None]:
    """A span made current for the block, a child of `within` if given, else of the
    current span; nothing when the process does not trace."""
    if tracer is None:
        return nullcontext()
    return tracer.start_as_current_span(
        name, context=parent(within), kind=kind, attributes=attributes
    )


def header(headers: list[tuple[str, bytes]] | None, name: str) -> str | None:
    """A Kafka header's value as text, if the record has it."""
    for key, value in headers or []:
        if key == name:
            return value.decode(errors="replace")
    return None


@contextmanager
def ending(spans: list[Span]) -> Iterator[None]:
    """End the spans with the block; an error that leaves it is recorded on each."""
    try:
        yield
    except Exception as error:
        for each in spans:
            each.record_exception(error)
            each.set_status(Status(StatusCode.ERROR, type(error).__name__))
        raise
    finally:
        for each in spans:
            each.end()


def stored_traceparent(event: object) -> str | None:
    """The trace context an event was stored with, if it was stored by a traced command."""
    value = vars(event).get(TRACEPARENT)
    return value if isinstance(value, str) else None


class TracedMapper(StructMapper):
    """The store's mapper in a process that traces: an event saved while a span is current
    is stored with that span's traceparent, one more key of its JSON. Reading needs nothing
    more: the key comes back as an attribute of the event that no field declares, which
    the aggregates ignore and the public form of events leaves out."""

    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        current = traceparent()
        if current is not None:
            traced = object.__new__(type(domain_event))
            object.__setattr__(traced, "__dict__", {**vars(domain_event), TRACEPARENT: current})
            domain_event = traced
        return super().to_stored_event(domain_event)
