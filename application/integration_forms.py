"""The typed public form of each event: the structs its Kafka message and headers are encoded
from, and the AsyncAPI document's schemas are generated from, so the two cannot differ.

A form is derived from the event class itself: its fields, less the base attributes (shown as
version and occurredAt) and the secrets that never leave the service; a person (a student, a
reviewer) leaves without their sealed contact: ids and what is not personal data only."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from functools import cache
from typing import Annotated, Any, get_type_hints

import msgspec
from eventsourcing.domain import AggregateEvent

from application.webhook_bodies import ReviewerRef, StudentRef
from domain.values import Reviewer, Student

# Base attributes every stored event has, shown as version/occurredAt instead.
_BASE = {"originator_id", "originator_version", "timestamp", "originator_topic"}
# Never shown outside the service: answer keys, session and reviewer-token hashes, and
# which of a tenant's keys started a record (the keys are the operator's business).
# The seed too: with it, the banks and the counts, a draw's option order (so its answers)
# could be replayed.
_HIDDEN = {"answer_key", "seed", "session_token_hash", "token_hash", "api_key_id", "asked_by"}

SPECVERSION = "1.0"  # CloudEvents
SOURCE = "/assess"  # the CloudEvents source of the public messages
CONTENT_TYPE = "application/json"

Moment = Annotated[
    str,
    msgspec.Meta(
        description="UTC ISO-8601 with milliseconds", extra_json_schema={"format": "date-time"}
    ),
]
EventId = Annotated[
    str,
    msgspec.Meta(
        description="the event's id, the same on every republication: dedupe on it",
        extra_json_schema={"format": "uuid"},
    ),
]
TraceParent = Annotated[
    str,
    msgspec.Meta(
        pattern="^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        description="W3C Trace Context traceparent",
    ),
]
LogSequence = Annotated[
    str,
    msgspec.Meta(
        pattern="^[0-9]{20}$",
        description="The event's place in the event store's log (CloudEvents' sequence"
        " extension): 20 digits, so that text order is log order.",
    ),
]
RecordId = Annotated[
    str,
    msgspec.Meta(
        pattern="^ver_(live|test)_[0-9a-f]{32}$",
        description="the record's recordVerificationId (ver_<mode>_<hex>)",
    ),
]
Version = Annotated[int, msgspec.Meta(ge=1, description="the event's version in its record")]


# The values that hold a person's sealed contact, and the forms they leave in (as in the
# webhooks): a student by their id, a reviewer by how they know the student.
PEOPLE: dict[Any, Any] = {Student: StudentRef, Reviewer: ReviewerRef}


def public_value(value: Any) -> Any:
    """A field's value as it leaves the service: a person without their contact."""
    if isinstance(value, Student):
        return StudentRef(value.student_id)
    if isinstance(value, Reviewer):
        return ReviewerRef(value.company, value.endorsement_type)
    return value


def constant(value: str) -> Any:
    """A text field that always holds `value`."""
    return Annotated[str, msgspec.Meta(extra_json_schema={"const": value})]


def cloudevents_type(type_name: str) -> str:
    """The ce_type header of an event type's messages."""
    return f"assess.{type_name}.v1"


@cache
def public_fields(event_class: type[AggregateEvent]) -> tuple[str, ...]:
    """The event's own fields that leave the service, in their stored order."""
    return tuple(
        field.name
        for field in dataclasses.fields(event_class)
        if field.name not in _BASE and field.name not in _HIDDEN
    )


@cache
def data_form(event_class: type[AggregateEvent]) -> type[msgspec.Struct]:
    """The message's `data`: the event's public fields in camelCase, moments as text."""
    hints = get_type_hints(event_class)
    fields = [
        (name, Moment if hints[name] is datetime else PEOPLE.get(hints[name], hints[name]))
        for name in public_fields(event_class)
    ]
    return msgspec.defstruct(
        f"{event_class.__name__}Data", fields, module=__name__, frozen=True, rename="camel"
    )


@cache
def message_form(event_class: type[AggregateEvent]) -> type[msgspec.Struct]:
    """The message's value (JSON): the event's id, record, version, type, time and data."""
    type_name = event_class.__name__
    fields = [
        ("id", EventId),
        ("record_verification_id", RecordId),
        ("version", Version),
        ("type", constant(type_name)),
        ("occurred_at", Moment),
        ("data", data_form(event_class)),
    ]
    return msgspec.defstruct(type_name, fields, module=__name__, frozen=True, rename="camel")


@cache
def headers_form(event_class: type[AggregateEvent]) -> type[msgspec.Struct]:
    """The message's CloudEvents binary-mode headers."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = [
        ("ce_specversion", constant(SPECVERSION)),
        ("ce_id", EventId),
        ("ce_source", constant(SOURCE)),
        ("ce_type", constant(cloudevents_type(event_class.__name__))),
        ("ce_time", Moment),
        ("ce_subject", RecordId),
        ("ce_sequence", LogSequence),
        ("content_type", constant(CONTENT_TYPE)),
        # Only when the service traces: the context the event was stored in (CloudEvents'
        # distributed-tracing extension) and the relay's publish span (W3C Trace Context).
        ("ce_traceparent", TraceParent | msgspec.UnsetType, msgspec.UNSET),
        ("traceparent", TraceParent | msgspec.UnsetType, msgspec.UNSET),
    ]
    return msgspec.defstruct(
        f"{event_class.__name__}Headers",
        fields,
        module=__name__,
        frozen=True,
        rename={"content_type": "content-type"},
    )
