"""Hostile input, as raw requests: a valid request with one value (a string, a number, an
object, a list, a path id, a query value) replaced by something a guard must refuse or a
decoder must survive, and bodies that are not JSON at all.

Tokens are raw JSON bytes, so they can hold what a JSON encoder never writes: lone
surrogate escapes, numbers past any float, 5,000 levels of nesting, bytes that are not
UTF-8."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

DEPTH = 5000
MARK = "\ue000hostile\ue000"  # a private-use placeholder no valid body holds


def nested(depth: int) -> bytes:
    """Arrays and objects nested `depth` levels deep."""
    half = depth // 2
    return b'{"a":' * half + b"[" * (depth - half) + b"]" * (depth - half) + b"}" * half


TOKENS: dict[str, bytes] = {
    "nul": b'"\\u0000"',
    "inner nul": b'"a\\u0000b"',
    "raw control": b'"a\x01b"',
    "header injection": b'"x@y.io\\r\\nBcc: x@y.io"',
    "trailing newline": b'"ada@example.com\\n"',
    "del": b'"\\u007f"',
    "line separator": b'"a\\u2028b"',
    "next line": b'"a\\u0085b"',
    "bidi override": b'"\\u202egnp.exe"',
    "lone high surrogate": b'"\\ud800"',
    "lone low surrogate": b'"a\\udfffb"',
    "swapped pair": b'"\\udc00\\ud800"',
    "not utf-8": b'"\xff\xfe"',
    "encoded surrogate": b'"\xed\xa0\x80"',
    "overlong slash": b'"\xc0\xaf"',
    "10,000 characters": b'"' + b"x" * 10_000 + b'"',
    "empty": b'""',
    "1e400": b"1e400",
    "-1e400": b"-1e400",
    "1e-400": b"1e-400",
    "-0": b"-0",
    "-0.0": b"-0.0",
    "2**63": b"9223372036854775808",
    "-2**63-1": b"-9223372036854775809",
    "10**5000": b"1" + b"0" * 5000,
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "true": b"true",
    "null": b"null",
    "empty list": b"[]",
    "empty object": b"{}",
    "deep nesting": nested(DEPTH),
    # Addresses a mailer refuses: a list, stray brackets, a display form, a special-use name
    "address list": b'"a,x@example.org"',
    "closing bracket": b'"x@example.org>"',
    "opening bracket": b'"x<y@example.org"',
    "display form": b'"Ada <ada@example.org>"',
    "local domain": b'"ada@school.local"',
    "localhost target": b'"http://LOCALHOST./hook"',
}
BODIES: dict[str, bytes] = {
    "no body": b"",
    "blank": b" \n\t ",
    "not utf-8": b"\xff\xfe{}",
    "byte order mark": b"\xef\xbb\xbf{}",
    "truncated": b'{"a": ',
    "two documents": b"{} {}",
    "deep arrays": b"[" * DEPTH + b"]" * DEPTH,
    "deep objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
}
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=latin-1",
    "application/xml",
]
# Path ids and query values, percent-encoded as a client would send them.
SEGMENTS: list[str] = [
    "%00",
    "a%00b",
    "%0D%0ABcc:%20x@y.io",
    "stu_1%0A",
    "%7F",
    "%E2%80%A8",
    "%C2%85",
    "%E2%80%AE",
    "%ED%A0%80",
    "%FF%FE",
    "%C0%AF",
    "x" * 10_000,
    "..",
    "%2E%2E%2F%2E%2E",
    "%2F",
    "%25",
]
NUMBERS = ["1e400", "-0", "9223372036854775808", "-1", "0", "NaN", "1" + "0" * 5000]
# Integers a lax reader would take: each is a VALIDATION_ERROR.
NUMBERS += ["1e2", "2.0", "null", "%2B5", "%205", "1_0", "0x10", "Infinity"]
# Forwarded client addresses, believed from no one unless ASSESS_TRUSTED_PROXIES names them.
FORWARDED = [
    {"x-forwarded-for": "198.51.100.7"},
    {"x-forwarded-for": "127.0.0.1, 10.0.0.1, ::1"},
    {"x-forwarded-for": "not-an-address"},
    {"x-forwarded-for": "x" * 8_000},
    {"forwarded": "for=192.0.2.60;proto=http;by=203.0.113.43"},
    {"forwarded": 'for="[2001:db8:cafe::17]:4711"'},
    {"x-real-ip": "127.0.0.1"},
]


@dataclass(frozen=True)
class Request:
    """A request to send: method, path (with its query), headers, raw body."""

    method: str
    path: str
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
    body: Any = None  # a JSON-able template, or raw bytes once a token is put in

    def content(self) -> bytes | None:
        """The body as sent."""
        if self.body is None or isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()

    def label(self) -> str:
        """How a failure names the request (bodies cut short)."""
        headers = {name: value for name, value in self.headers.items() if name != "x-api-key"}
        return f"{self.method} {self.path[:120]} {headers!r:.200} {self.content()!r:.300}"


def locations(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every value inside a body, outermost first (of a list, its first item only)."""
    if at:
        yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from locations(item, (*at, key))
    elif isinstance(value, list) and value:
        yield from locations(value[0], (*at, 0))


def with_token(request: Request, at: tuple[Any, ...], token: bytes) -> Request:
    """The request with the value at `at` (the whole body for ()) replaced by a raw token."""
    if not at:
        return replace(request, body=token)
    body = json.loads(json.dumps(request.body))
    inner = body
    for step in at[:-1]:
        inner = inner[step]
    inner[at[-1]] = MARK
    raw = json.dumps(body).encode().replace(json.dumps(MARK).encode(), token)
    return replace(request, body=raw)


def duplicated(request: Request, token: bytes) -> Iterator[Request]:
    """The body with each of its keys given twice, the token before and after the value."""
    raw = json.dumps(request.body).encode()
    for key in request.body:
        field = json.dumps(key).encode() + b": " + token
        yield replace(request, body=b"{" + field + b", " + raw[1:])
        yield replace(request, body=raw[:-1] + b", " + field + b"}")


def mutations(request: Request) -> Iterator[Request]:
    """Every token at every place of a request's body, every key twice with a few tokens;
    then bodies and content types."""
    for at in [(), *locations(request.body)]:
        for token in TOKENS.values():
            yield with_token(request, at, token)
    for name in ["nul", "lone high surrogate", "10**5000", "deep nesting"]:
        yield from duplicated(request, TOKENS[name])
    for raw in BODIES.values():
        yield replace(request, body=raw)
    for content_type in CONTENT_TYPES:
        yield replace(request, headers={**request.headers, "content-type": content_type})


def hostile_text(surrogates: bool = True) -> st.SearchStrategy[str]:
    """Short text heavy in control characters, separators, format and private-use
    characters and (unless told otherwise) lone surrogates, with some letters."""
    categories = ["Cc", "Cf", "Co", "Zl", "Zp", "Zs", "Ll", "Nd", *(["Cs"] if surrogates else [])]
    return st.text(st.characters(codec=None, categories=categories), max_size=40)  # type: ignore[arg-type]


def tokens() -> st.SearchStrategy[bytes]:
    """Raw JSON values: hostile text escaped (surrogates as \\udXXX) or as raw bytes (then
    not UTF-8), numbers of any size, floats of any kind, nesting of any depth, any bytes."""
    return st.one_of(
        st.sampled_from(list(TOKENS.values())),
        hostile_text().map(lambda text: json.dumps(text).encode()),
        hostile_text().map(
            lambda text: json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")
        ),
        st.integers(-(10**600), 10**600).map(lambda number: str(number).encode()),
        st.floats().map(lambda number: repr(number).encode()),
        st.integers(1, 2 * DEPTH).map(nested),
        st.binary(max_size=20).map(lambda raw: b'"' + raw + b'"'),
    )


def segments() -> st.SearchStrategy[str]:
    """A path id or query value: hostile text, percent-encoded (a surrogate as the bytes
    UTF-8 would give it, which are not UTF-8), or a listed one."""
    encoded = hostile_text().map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe=""))
    return st.one_of(st.sampled_from(SEGMENTS), encoded)
