"""Validation errors in words: the field, then what is wrong with it ("student.email must be
an email address", "answers[0].selectedAnswer must be an integer, not a string"), never a
regular expression or a decoder's jargon; malformed JSON with its line, column and byte."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from api.schemas import EMAIL, PRINTABLE, URL

_TYPES = {
    "int": "an integer",
    "float": "a decimal number",
    "str": "a string",
    "bool": "true or false",
    "array": "an array",
    "object": "an object",
    "null": "null",
}
_PATTERNS = {
    repr(PRINTABLE)[1:-1]: "text without control characters",
    repr(EMAIL)[1:-1]: "an email address",
    repr(URL)[1:-1]: "an http or https URL",
}
_UNITS = {"str": "character", "array": "item", "object": "field"}
_BOUNDS = {"<=": "at most", ">=": "at least", "<": "less than", ">": "greater than"}

_WRONG_TYPE = re.compile(r"Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")
_PATTERN = re.compile(r"Expected `str` matching regex '(?P<pattern>.*)'")
_LENGTH = re.compile(r"Expected `(?P<kind>\w+)` of length (?P<op>[<>]=?) (?P<n>\d+)")
_BOUND = re.compile(r"Expected `(?:int|float)` (?P<op>[<>]=?) (?P<n>-?[\d.]+)")
_ENUM = re.compile(r"Invalid enum value (?P<value>.*)")
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")
_AT_BYTE = re.compile(r"\s*\(byte (?P<byte>\d+)\)$")


_FIELD_REASON = re.compile(r"(?P<name>[a-z][A-Za-z]*): (?P<why>.+)", re.DOTALL)


def _types(names: str) -> str:
    return " or ".join(_TYPES.get(name, f"`{name}`") for name in names.split(" | "))


def in_words(field: str, reason: str, allowed: list[Any] | None = None) -> str:
    """What is wrong with a field, from msgspec's reason (and an enum's allowed values)."""
    if match := _WRONG_TYPE.fullmatch(reason):
        return f"{field} must be {_types(match['expected'])}, not {_types(match['got'])}"
    if match := _PATTERN.fullmatch(reason):
        return f"{field} must be {_PATTERNS.get(match['pattern'], 'of the documented form')}"
    if match := _LENGTH.fullmatch(reason):
        n, unit = int(match["n"]), _UNITS.get(match["kind"], "item")
        return f"{field} must have {_BOUNDS[match['op']]} {n} {unit}{'' if n == 1 else 's'}"
    if match := _BOUND.fullmatch(reason):
        return f"{field} must be {_BOUNDS[match['op']]} {match['n']}"
    if match := _ENUM.fullmatch(reason):
        if allowed:
            return f"{field} must be one of {', '.join(map(str, allowed))}, not {match['value']}"
        return f"{field} must not be {match['value']}"
    if match := _MISSING.fullmatch(reason):
        missing = match["name"] if field == "body" else f"{field}.{match['name']}"
        return f"{missing} is required"
    if match := _UNKNOWN.fullmatch(reason):
        return f"{field} has no field {match['name']}"
    if match := _FIELD_REASON.fullmatch(reason):  # a struct's own check, naming its field
        named = match["name"] if field == "body" else f"{field}.{match['name']}"
        return f"{named}: {match['why']}"
    if "encoded date" in reason and "datetime" not in reason:
        return f"{field} must be a date (YYYY-MM-DD)"
    if "encoded datetime" in reason:
        return f"{field} must be a date-time (ISO 8601)"
    return f"{field}: {reason}"


def malformed(raw: bytes, error: msgspec.DecodeError) -> str:
    """Where and why a body is not JSON: line, column and byte of the first fault."""
    reason = str(error).removeprefix("JSON is malformed: ")
    if match := _AT_BYTE.search(reason):
        at, reason = int(match["byte"]), reason[: match.start()]
    else:  # msgspec names no position when the input stops short: its end is the fault
        at, reason = len(raw), "it ends too early"
    line = raw.count(b"\n", 0, at) + 1
    column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
    return f"body is not valid JSON: {reason}, at line {line}, column {column} (byte {at})"


def allowed_values(body_type: Any, path: str) -> list[Any] | None:
    """The values an enum field allows, found by following the path ("sources[0].type")
    through the request struct; None if the path leads elsewhere."""
    info: Any = msgspec.inspect.type_info(body_type)
    for step in re.findall(r"[^.\[\]]+", path):
        info = _unwrapped(info)
        if isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.encode_name == step), None)
        elif isinstance(info, msgspec.inspect.ListType) and step.isdigit():
            info = info.item_type
        else:
            return None
    info = _unwrapped(info)
    return list(info.values) if isinstance(info, msgspec.inspect.LiteralType) else None


def _unwrapped(info: Any) -> Any:
    """A type without its constraints, and an optional type without its None."""
    while True:
        if isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        elif isinstance(info, msgspec.inspect.UnionType):
            kinds = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
            if len(kinds) != 1:
                return info
            info = kinds[0]
        else:
            return info


def parameter_name(field: Any) -> str:
    """A handler parameter's name as the request spells it (a query's alias, such as
    `from` for `first`), from Litestar's parsed signature."""
    definition = field.kwarg_definition
    name: str = (
        getattr(definition, "name", None) or getattr(definition, "query", None) or field.name
    )
    return name
