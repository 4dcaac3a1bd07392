"""GET /schema/asyncapi.json: the AsyncAPI 3.0 document of the public Kafka topic. Its
schemas are generated from the structs the relay encodes each message and its headers from
(application/integration_forms.py), for every event type the relay publishes."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from litestar import Request, get

from application.integration_events import PUBLIC_EVENTS
from application.integration_forms import RecordId, headers_form, message_form

CHANNEL = "assessmentEvents"
KAFKA_BINDING = "0.5.0"
SCHEMAS = "#/components/schemas/{name}"

DESCRIPTION = """Every stored event of a verification record, in its public form: never an
answer key, a session token or a reviewer token, and no personal data (a student goes by
their id). Delivery is at least once: a message may come again, with the same `id` (and
`ce_id`), so dedupe on it. The key is the record's `recordVerificationId`, and a record's
messages come in the order of its versions."""


@cache
def asyncapi_document(topic: str) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the public topic `topic`."""
    names = [event_class.__name__ for event_class in PUBLIC_EVENTS]
    summaries = list(PUBLIC_EVENTS.values())
    values = [message_form(event_class) for event_class in PUBLIC_EVENTS]
    headers = [headers_form(event_class) for event_class in PUBLIC_EVENTS]
    _, schemas = msgspec.json.schema_components([*values, *headers], ref_template=SCHEMAS)
    key = msgspec.json.schema(RecordId)
    messages = {
        name: {
            "name": name,
            "title": name,
            "summary": summary,
            "contentType": "application/json",
            "headers": {"$ref": SCHEMAS.format(name=header.__name__)},
            "payload": {"$ref": SCHEMAS.format(name=value.__name__)},
            "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}},
        }
        for name, value, header, summary in zip(names, values, headers, summaries, strict=True)
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Skill verification assessments: public events",
            "version": "1.0.0",
            "description": DESCRIPTION.replace("\n", " "),
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": topic,
                "title": "The public event topic",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in names},
                "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING}},
            }
        },
        "operations": {
            "publishEvents": {
                "action": "send",
                "title": "The relay publishes each stored event",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{name}"} for name in names],
            }
        },
        "components": {"schemas": schemas, "messages": messages},
    }


@get(
    "/schema/asyncapi.json", operation_id="asyncapi", include_in_schema=False, sync_to_thread=False
)
def asyncapi(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the public Kafka topic (no credential)."""
    return asyncapi_document(request.app.state.service.settings.kafka_topic)
