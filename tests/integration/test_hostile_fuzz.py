"""Hostile input against the real processes on PostgreSQL: `assess serve` and `assess
projector`, fuzzed over HTTP by schemathesis (valid and invalid cases, strings with NUL,
control characters and lone surrogates) and by every hostile token at every place of a
valid request, between valid flows. No answer may be a 5xx or leave the error envelope;
afterwards the projector still follows (lag 0, nothing set aside) and no stored event
holds a control character or a lone surrogate.

ASSESS_FUZZ_EXAMPLES (default and least 10) sets the examples per operation and generation
mode; the mutation phase draws 20 times as many. The figures are shown at the end of the run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.openapi import from_url

from tests.fuzzing import Client, Tally, fuzz
from tests.hostile import (
    FORWARDED,
    NUMBERS,
    SEGMENTS,
    Request,
    locations,
    mutations,
    segments,
    tokens,
)
from tests.hostile import with_token as put
from tests.processes import prepare, running, server
from tests.stored import hostile_strings
from tests.support import MASTER_KEY, REACT, STUDENT

API = "/api/v1"
FEWEST_EXAMPLES = 10  # a run may fuzz more, never less (0 would fuzz nothing, in silence)
EXAMPLES = max(FEWEST_EXAMPLES, int(os.environ.get("ASSESS_FUZZ_EXAMPLES", "10")))
CATCH_UP_SECONDS = 30.0
ID_PATHS = [
    ("GET", f"{API}/verifications/{{}}"),
    ("GET", f"{API}/verifications/{{}}/history"),
    ("GET", f"{API}/students/{{}}/skills"),
    ("GET", f"{API}/webhooks/{{}}/deliveries"),
    ("DELETE", f"{API}/webhooks/{{}}"),
    ("POST", f"{API}/webhook-deliveries/{{}}/redeliver"),
]
QUERIES = [
    *(f"{API}/verifications?{name}={{}}" for name in ("studentId", "status", "limit", "cursor")),
    f"{API}/verifications/ver_live_{'0' * 32}/history?asOf={{}}",
    *(f"{API}/webhooks/callback/deliveries?{name}={{}}" for name in ("limit", "cursor")),
]
HEADER_VALUES = [b"\x7f", b"\xff\xfe", b"a\tb", b"x" * 10_000, b"ak_live_\xe9", b"sess_\x01"]


def answered(client: Client, request: Request, status: int) -> dict[str, Any]:
    """A request of a valid flow: it must succeed, and a replay with its key gives the same."""
    key = f"flow-{client.sent}"
    request = replace(request, headers={**request.headers, "idempotency-key": key})
    first, replay = client.send(request), client.send(request)
    assert first.status_code == status, first.text
    assert (replay.status_code, replay.content) == (status, first.content)
    data: dict[str, Any] = first.json()["data"]
    return data


def pending(client: Client, verify: Request) -> tuple[Request, Request]:
    """Start a record and draw its questions, as the student's client does with its session
    token; the requests that drew them and that would submit them (all answers 0)."""
    started = answered(client, verify, 201)
    record_id, session = started["recordVerificationId"], {"x-api-key": started["sessionToken"]}
    body = {"recordVerificationId": record_id}
    generate = Request("POST", f"{API}/assessment/generate", session, body)
    questions = answered(client, generate, 200)["questions"]
    answers = [{"questionId": q["questionId"], "selectedAnswer": 0} for q in questions]
    submit = Request("POST", f"{API}/assessment/submit", session, {**body, "answers": answers})
    return generate, submit


def valid_requests(client: Client, key: str) -> list[Request]:
    """A flow with Idempotency-Keys (verify, generate, submit: events for the projector), and
    the valid requests the mutations start from, on a second record with a pending set."""
    tenant = {"x-api-key": key}
    student = {"student": STUDENT, "skills": [REACT], "callbackWebhookUrl": "https://hooks.test/cb"}
    verify = Request("POST", f"{API}/verify", tenant, student)
    answered(client, pending(client, verify)[1], 200)
    webhook = {"url": "https://hooks.test/in", "events": ["verification.completed"]}
    return [verify, *pending(client, verify), Request("POST", f"{API}/webhooks", tenant, webhook)]


def catalogue(client: Client, key: str, bodies: list[Request]) -> None:
    """Every listed token at every place of every valid body; every listed path id, query
    value and header value."""
    for request in bodies:
        for mutated in mutations(request):
            client.send(mutated)
    tenant = {"x-api-key": key}
    for method, path in ID_PATHS:
        for segment in SEGMENTS:
            client.send(Request(method, path.format(segment), tenant))
    for query in QUERIES:
        for value in [*SEGMENTS, *NUMBERS]:
            client.send(Request("GET", query.format(value), tenant))
    for header in HEADER_VALUES:
        client.send(Request("GET", f"{API}/verifications", {"x-api-key": header}))
        client.send(replace(bodies[0], headers={**bodies[0].headers, "idempotency-key": header}))
    for forwarded in FORWARDED:
        client.send(Request("GET", f"{API}/verifications", {**tenant, **forwarded}))
        client.send(Request("GET", f"{API}/verifications", {"x-api-key": "ak_x", **forwarded}))
        client.send(replace(bodies[0], headers={**bodies[0].headers, **forwarded}))


def mutate(client: Client, key: str, bodies: list[Request]) -> None:
    """Hypothesis's hostile tokens at places of the valid bodies, and its hostile path ids
    and query values (derandomized: the same requests on every run)."""

    @given(data=st.data())
    @settings(
        max_examples=20 * EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def probe(data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(bodies))
        at = data.draw(st.sampled_from([(), *locations(request.body)]))
        client.send(put(request, at, data.draw(tokens())))
        method, path = data.draw(st.sampled_from([*ID_PATHS, *(("GET", q) for q in QUERIES)]))
        client.send(Request(method, path.format(data.draw(segments())), {"x-api-key": key}))

    probe()


def wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    """Poll until condition() holds, failing with the projector's log after a while."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"{what}:\n{log.read_text(errors='replace')}"
        time.sleep(0.1)


def test_hostile_input_gets_no_5xx_and_the_projector_keeps_following(
    pg_url: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    env = {
        "ASSESS_DATABASE_URL": pg_url,
        "ASSESS_MASTER_KEY": MASTER_KEY,
        "ASSESS_WEBHOOK_ALLOW_PRIVATE": "1",
        # The run is one client sending thousands of requests, hostile keys among them:
        # the per-key and failed-authentication limits would answer most of it with 429.
        "ASSESS_RATE_LIMIT_PER_MINUTE": "1000000",
        "ASSESS_AUTH_FAILURES_PER_MINUTE": "1000000",
        "ASSESS_DB_CONNECT_TIMEOUT": "20",  # a busy machine is slow, not hostile
    }
    key, tally, projector_log = prepare(env), Tally(), tmp_path / "projector.log"
    with (
        server("serve", env=env, log=tmp_path / "serve.log") as url,
        running("projector", env=env, log=projector_log) as projector,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        client = Client(http, tally)
        schema = from_url(f"{url}/schema/openapi.json")
        schema.config.generation.codec = None  # any code point, lone surrogates too
        bodies = valid_requests(client, key)
        fuzz(schema, {"x-api-key": key}, EXAMPLES, list(GenerationMode), tally)
        catalogue(client, key, valid_requests(client, key))
        mutate(client, key, bodies)
        valid_requests(client, key)

        def following() -> bool:
            views = http.get("/ready").json()["details"]["projections"]
            return all(view["lag"] == 0 for view in views.values())

        wait_for(following, f"the projector caught up within {CATCH_UP_SECONDS} s", projector_log)
        views = http.get("/ready").json()["details"]["projections"]
        assert projector.poll() is None, projector_log.read_text()
    summary = f"hostile input: {tally.cases} cases, {tally.server_errors} server errors"
    record_property("summary", summary)
    print(summary)
    failures = "\n".join(failure[:500] for failure in tally.failures[:20])
    assert tally.failures == [], f"{len(tally.failures)} failures, the first 20:\n{failures}"
    assert {name: view["deadLetters"] for name, view in views.items()} == dict.fromkeys(views, 0)
    stored = hostile_strings(pg_url)
    assert stored == [], f"stored with a control character or a lone surrogate: {stored}"
