"""The CPU each command costs the application itself, the service's against the ceiling's
(`ceiling_app.py`), measured in this process: ASGI calls straight into each app (no server,
no socket, no client), on one fresh PostgreSQL database, flow after flow (verify, generate,
submit), in interleaved rounds. The process's CPU time counts every thread of the app (the
service's worker threads too) and none of PostgreSQL's. Steadier than `bench.submit`
(within about 2% between rounds), so it is the one to compare changes of the request path
with; `bench.submit` says what a client sees."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec
import psycopg

from api.app import create_app
from api.limits import CREDIT, PROCESSES
from infrastructure.persistence import tune_gc
from tests.pgserver import fresh_database, running_server
from tests.support import make_service

COMMANDS = ("verify", "generate", "submit")
VERIFY = msgspec.json.encode(
    {
        "student": {"studentId": "s1", "name": "Ada", "email": "ada@example.com"},
        "skills": [{"skillId": "skill_001", "name": "React"}],
    }
)
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def post(app: App, path: str, credential: str, body: bytes = b"") -> Any:
    """POST through the app's ASGI interface; the decoded answer (which must be a 2xx)."""
    scope = {
        **{"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1"},
        **{"method": "POST", "scheme": "http", "path": path, "raw_path": path.encode()},
        **{"query_string": b"", "root_path": "", "client": ("127.0.0.1", 1)},
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"bench"),
            (b"x-api-key", credential.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    answer = b"".join(message.get("body", b"") for message in sent[1:])
    assert sent[0]["status"] in (200, 201), answer
    return msgspec.json.decode(answer)


async def flows(
    app: App, key: str, count: int, prepare: Callable[[UUID], object] | None = None
) -> dict[str, float]:
    """CPU milliseconds per command over `count` flows; `prepare`, if given, makes each
    record's question set between its verify and its generate, untimed (the question
    preparer's work, in another process in production)."""
    spent = dict.fromkeys(COMMANDS, 0.0)
    for _ in range(count):
        before = time.process_time()
        session = (await post(app, "/api/v1/verify", key, VERIFY))["data"]["sessionToken"]
        verified = time.process_time()
        if prepare is not None:
            prepare(UUID(session.split("_")[1]))
        drawn = time.process_time()
        before += drawn - verified  # the preparation is not verify's
        questions = (await post(app, "/api/v1/assessment/generate", session))["data"]
        answers = [
            {"questionId": question["questionId"], "selectedAnswer": 0}
            for question in questions["questions"]
        ]
        submitting = time.process_time()
        body = msgspec.json.encode({"answers": answers})
        await post(app, "/api/v1/assessment/submit", session, body)
        done = time.process_time()
        for command, (start, end) in zip(
            COMMANDS, [(before, drawn), (drawn, submitting), (submitting, done)], strict=True
        ):
            spent[command] += (end - start) * 1000 / count
    return spent


async def run(url: str, rounds: int, count: int) -> None:
    """Both apps up in this process; interleaved rounds; each round's figures and ratio."""
    service = make_service(url, rate_limit_per_minute=10**9)
    key = service.access.issue_key("bench", "live")
    ours = create_app(service)
    os.environ["CEILING_DSN"] = url  # the reference reads it when imported
    from bench.ceiling_app import SCHEMA
    from bench.ceiling_app import app as theirs

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(SCHEMA)
    ratios: list[float] = []
    async with ours.lifespan(), theirs.lifespan():
        apps: dict[str, tuple[App, str]] = {"service": (ours, key), "ceiling": (theirs, "none")}
        # The service's sets are prepared ahead, as `assess projector` does (the ceiling
        # draws at random in its generate).
        preparers = {"service": service.preparer().prepare, "ceiling": None}
        for name, (app, credential) in apps.items():
            await flows(app, credential, count // 5, preparers[name])  # warm pools and caches
        for number in range(rounds):
            spent = {
                name: await flows(app, cred, count, preparers[name])
                for name, (app, cred) in apps.items()
            }
            mean = {name: sum(s.values()) / len(COMMANDS) for name, s in spent.items()}
            ratios.append(mean["service"] / mean["ceiling"])
            per_command = ", ".join(
                f"{c} {spent['service'][c]:.2f} / {spent['ceiling'][c]:.2f}" for c in COMMANDS
            )
            print(
                f"round {number + 1}: CPU per command, service / ceiling: {per_command};"
                f" mean {mean['service']:.3f} / {mean['ceiling']:.3f} ms = {ratios[-1]:.2f}x"
            )
    print(f"median: the service's application CPU per command is {statistics.median(ratios):.2f}x")
    async with ours.lifespan():
        await limit_cost(ours)


async def limit_cost(app: Any) -> None:
    """What the deployment-wide rate limit costs a request (api/limits.py): CPU per take,
    and round trips to the ledger, for a tenant key used 6,000 times in a minute of a limit
    of 6,000 (leases get finer near it) and for 6,000 session-like keys used twice each."""
    windows = app.state.request_limit.windows
    windows.per_minute, windows.credit = 6000, int(6000 * CREDIT) // PROCESSES
    ledger, leases = windows.ledger, [0]

    async def counted(*args: Any) -> tuple[int, int]:
        leases[0] += 1
        granted: tuple[int, int] = await ledger.lease(*args)
        return granted

    windows.ledger = type("Counted", (), {"lease": staticmethod(counted)})()
    for name, keys in (
        ("one tenant key", ["tenant"] * 6000),
        ("sessions", [f"s{n}" for n in range(6000)] * 2),
    ):
        leases[0], before = 0, time.process_time()
        admitted = sum([(await windows.take(key))[0] for key in keys])
        spent = (time.process_time() - before) * 1e6 / len(keys)
        print(
            f"limits, {name}: {spent:.1f} µs CPU per request, {leases[0] * 1000 / len(keys):.1f}"
            f" round trips per 1000 requests, {admitted} of {len(keys)} admitted"
        )
    windows.ledger = ledger


def main() -> None:
    """Start PostgreSQL, make a database, run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--flows", type=int, default=300, help="flows per app per round")
    args = parser.parse_args()
    tune_gc()  # as every assess process does; the ceiling's process would not
    with running_server() as pg, fresh_database(pg) as url:
        asyncio.run(run(url, args.rounds, args.flows))


if __name__ == "__main__":
    main()
