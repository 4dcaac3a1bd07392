"""Checking the AsyncAPI document: against the official AsyncAPI 3.0.0 JSON Schema, and the
messages the relay publishes against the document's schemas."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, Draft202012Validator

ASYNCAPI_3 = json.loads((Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json").read_text())


def asyncapi_errors(document: dict[str, Any]) -> list[str]:
    """Where the document breaks AsyncAPI 3.0.0 (none: it is a valid document)."""
    validator = Draft7Validator(ASYNCAPI_3)
    return [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(document)]


def _closed(schema: Any) -> Any:
    """The schema with every object closed: a field it does not name is an error."""
    if isinstance(schema, dict):
        closed = {name: _closed(value) for name, value in schema.items()}
        if "properties" in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def strict_validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator of `schema` (a part of the document, its references resolved in it) that
    also refuses fields the document does not name and checks formats (uuid, date-time)."""
    root = {**_closed(copy.deepcopy(schema)), "components": _closed(document["components"])}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def resolve(document: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The part of the document that a {"$ref": "#/..."} names."""
    found: Any = document
    for part in reference["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    assert isinstance(found, dict)
    return found
