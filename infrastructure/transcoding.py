"""How events that carry typed values (msgspec structs) are stored and read back.

Stored JSON is a permanent schema: a struct is written as the JSON object of its fields (by
their stored names, in order, None included), exactly what the dict of the same keys was
written as before the values were typed; reading converts each field back to the type its
event class declares. Chosen in the store's environment (infrastructure/persistence.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, get_args, get_origin, get_type_hints
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
)

# The types of the library's own transcodings (UUIDAsHex, DecimalAsStr, DatetimeAsISO).
TRANSCODED = (UUID, Decimal, datetime)


class StructTranscoder(JSONTranscoder):
    """The library's JSON transcoder (same encoder, same registered types), which also
    writes a struct as the plain object of its fields."""

    def encode(self, obj: Any) -> bytes:
        # Structs become their fields in one pass in C (the encoder's hook for unknown types
        # would run once per struct, a quarter slower); what the library transcodes itself
        # (Application.register_transcodings) passes through to it unchanged.
        return super().encode(msgspec.to_builtins(obj, builtin_types=TRANSCODED))


class StructMapper(Mapper[UUID]):
    """The library's mapper, which gives each decoded event its fields' declared types."""

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        fields = vars(event)
        try:
            for name, kind in typed_fields(type(event)):
                if name in fields:
                    fields[name] = msgspec.convert(fields[name], kind)
        except msgspec.ValidationError as error:
            raise MapperDeserialisationError(
                f"Stored event with topic '{stored_event.topic}', originator_id"
                f" '{stored_event.originator_id}' and originator_version"
                f" {stored_event.originator_version} does not fit its types: {error}"
            ) from error
        return event


@cache
def typed_fields(event_class: type) -> tuple[tuple[str, Any], ...]:
    """The fields of an event class whose declared type holds a struct, with that type."""
    return tuple(
        (name, kind) for name, kind in get_type_hints(event_class).items() if holds_struct(kind)
    )


def holds_struct(kind: Any) -> bool:
    """Whether a type is a struct or is made of one (list[Skill], Student | None, …)."""
    if get_origin(kind) is None and isinstance(kind, type):
        return issubclass(kind, msgspec.Struct)
    return any(holds_struct(arg) for arg in get_args(kind))
