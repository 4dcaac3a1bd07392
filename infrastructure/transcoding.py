"""How events that carry typed values (msgspec structs) are stored and read back.

Stored JSON is a permanent schema: a struct is written as the JSON object of its fields (by
their stored names, in order, None included), exactly what the dict of the same keys was
written as before the values were typed; reading gives each field the type its event class
declares. Chosen in the store's environment (infrastructure/persistence.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar, TypeVar, cast, get_args, get_origin, get_type_hints
from uuid import UUID

import msgspec
from eventsourcing.domain import AggregateEvent, DomainEventProtocol
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

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
    """The library's mapper, which gives each decoded event its fields' declared types.

    An event whose class declares a precise type for every field (no `Any`) is decoded by
    msgspec in one pass straight into those types (its `StoredForm`): the library's objects
    for a value of a registered type (`{"_type_": "datetime_iso", "_data_": "…"}`) are read
    as the string they hold, which the declared type (datetime, UUID, Decimal) reads back.
    Anything else (an unknown key, a missing field, an older class version to upcast, a
    value of another type) is read by the library's own decoding and then converted, so
    both ways give the same event; tests/integration/test_transcoding.py compares them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for topic in domain_topics(AggregateEvent):  # while the process has one thread
            stored_decoder(topic)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        state = self.stored_state(stored_event)
        if state is None:
            return self.read_by_library(stored_event)
        return state.event(stored_event)

    def stored_state(self, stored_event: StoredEvent) -> StoredForm | None:
        """The event's stored JSON read into its class's stored form, or None where the
        library's decoding must read it."""
        decoder = stored_decoder(stored_event.topic)
        if decoder is None or self.cipher is not None or self.compressor is not None:
            return None
        try:
            state = decoder.decode(UNWRAP.sub(rb"\1", stored_event.state))
        except msgspec.DecodeError:  # not of the declared types, or JSON msgspec refuses
            return None
        return state if state.class_version == state.class_version_now else None

    def read_by_library(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The event as the library's decoding reads it, its typed fields then converted."""
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


# The library's object for a value of a registered type, its data a JSON string. Only the
# library's encoder writes one: inside a JSON string its quotes would be escaped.
UNWRAP = re.compile(rb'\{"_type_":"(?:datetime_iso|uuid_hex|decimal_str)","_data_":("[^"\\]*")\}')
KEPT = {"originator_id", "originator_version"}  # the stored event's columns, not its JSON


class StoredForm(msgspec.Struct, forbid_unknown_fields=True):
    """An event class's stored JSON, typed: `stored_form` adds the class's fields; these
    two keys are the mapper's (the class version, when above 1) and a traced command's."""

    event_class: ClassVar[type]
    class_version_now: ClassVar[int]
    class_version: int = 1
    traceparent: str | msgspec.UnsetType = msgspec.UNSET

    def event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The domain event, as the library's mapper would build it."""
        cls = self.event_class
        fields = msgspec.structs.asdict(self)  # this form's two keys first, then the event's
        del fields["class_version"]
        if fields["traceparent"] is msgspec.UNSET:
            del fields["traceparent"]
        originator_id = stored_event.originator_id
        convert = find_id_convertor(cls, cast("Hashable", type(originator_id)))
        fields["originator_id"] = convert(originator_id)
        fields["originator_version"] = stored_event.originator_version
        event: DomainEventProtocol[UUID] = object.__new__(cls)
        object.__setattr__(event, "__dict__", fields)
        return event


DECODERS: dict[str, msgspec.json.Decoder[StoredForm] | None] = {}
MAKING = threading.Lock()


def stored_decoder(topic: str) -> msgspec.json.Decoder[StoredForm] | None:
    """The decoder of the stored form of this topic's event class, made once (None if the
    class has a field of no precise type). Made under a lock: msgspec builds a new type's
    decoding information without one, and a thread decoding with it while another builds
    it crashes the process."""
    try:
        return DECODERS[topic]
    except KeyError:
        with MAKING:
            if topic not in DECODERS:
                form = stored_form(resolve_topic(topic))
                DECODERS[topic] = None if form is None else msgspec.json.Decoder(form)
            return DECODERS[topic]


def stored_form(cls: type) -> type[StoredForm] | None:
    """The stored form of an event class, or None if a field's declared type is not
    precise (Any: the library's decoding decides what such a value becomes)."""
    declared = get_type_hints(cls)
    hints = {
        name: kind
        for name, kind in declared.items()
        if name not in KEPT and get_origin(kind) is not ClassVar
    }
    if any(holds_any(kind) for kind in hints.values()) or KEPT - set(declared):
        return None
    form = cast(
        "type[StoredForm]",
        msgspec.defstruct(
            f"Stored{cls.__qualname__.replace('.', '')}",
            list(hints.items()),
            bases=(StoredForm,),
            forbid_unknown_fields=True,
            kw_only=True,
        ),
    )
    form.event_class = cls
    form.class_version_now = getattr(cls, "class_version", 1)
    return form


def domain_topics(base: type) -> set[str]:
    """The topics of the domain's event classes (subclasses of base, at any depth)."""
    found: set[str] = set()
    subclass: type
    for subclass in base.__subclasses__():
        if subclass.__module__.startswith("domain.") and "<locals>" not in subclass.__qualname__:
            found.add(f"{subclass.__module__}:{subclass.__qualname__}")
        found |= domain_topics(subclass)
    return found


def holds_any(kind: Any) -> bool:
    """Whether a type is or holds Any (or object), or a type variable."""
    if kind is Any or kind is object or isinstance(kind, TypeVar):
        return True
    return any(holds_any(arg) for arg in get_args(kind))


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
