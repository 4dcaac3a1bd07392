"""The load: the verify → generate → submit flow over HTTP, closed loop (N clients, each
starting its next flow when the last ends) or open loop (a new flow every 1/rate seconds,
whatever the server's pace), from one asyncio process with the lean client of `wire.py`."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from bench.wire import Wire, WireError

STUDENT = {"studentId": "s", "name": "Bench", "email": "b@example.com"}
VERIFY_BODY = {"student": STUDENT, "skills": [{"skillId": "skill_001", "name": "React"}]}


@dataclass
class Run:
    """One measured run: successful commands, submit latencies (s), errors, wall time."""

    commands: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Successful commands per second."""
        return self.commands / self.seconds

    def percentile_ms(self, p: int) -> float:
        """The p-th percentile of the submit latencies in ms (nan with fewer than two)."""
        if len(self.latencies) < 2:
            return float("nan")
        return 1000 * statistics.quantiles(self.latencies, n=100)[p - 1]


class Flows:
    """Runs flows against one server, counting into one Run; keeps idle connections."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key, self.run = url, key, Run()
        self.idle: list[Wire] = []

    async def post(self, wire: Wire, path: str, auth: str, body: Any = None) -> Any:
        """POST and count the outcome; return the response's `data`, or None on failure."""
        try:
            status, raw = await wire.post(path, auth, body)
        except (OSError, WireError, asyncio.IncompleteReadError) as error:
            wire.reader = wire.writer = None
            self.run.errors[f"POST {path}: {error!r}"] += 1
            return None
        if not 200 <= status < 300:
            self.run.errors[f"POST {path}: {status} {raw[:300]!r}"] += 1
            return None
        self.run.commands += 1
        return msgspec.json.decode(raw)["data"]

    async def flow(self) -> None:
        """verify, generate, submit (every answer 0) on an idle connection."""
        wire = self.idle.pop() if self.idle else Wire(self.url)
        started = await self.post(wire, "/api/v1/verify", self.key, VERIFY_BODY)
        token = started and started["sessionToken"]
        generated = token and await self.post(wire, "/api/v1/assessment/generate", token)
        if generated:
            questions = generated["questions"]
            answers = [{"questionId": q["questionId"], "selectedAnswer": 0} for q in questions]
            began = time.perf_counter()
            await self.post(wire, "/api/v1/assessment/submit", token, {"answers": answers})
            self.run.latencies.append(time.perf_counter() - began)
        self.idle.append(wire)

    async def close(self) -> None:
        """Close every connection."""
        await asyncio.gather(*(wire.close() for wire in self.idle))


async def _closed(flows: Flows, clients: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            await flows.flow()

    await asyncio.gather(*(client() for _ in range(clients)))


async def _open(flows: Flows, rate: float, seconds: float) -> None:
    started, tasks = time.monotonic(), []
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(flows.flow()))
    await asyncio.gather(*tasks)


def drive(url: str, key: str, seconds: float, clients: int = 0, rate: float = 0.0) -> Run:
    """Closed loop with `clients`, or open loop at `rate` flows/s, for `seconds`."""

    async def main() -> Run:
        flows = Flows(url, key)
        began = time.monotonic()
        await (_closed(flows, clients, seconds) if clients else _open(flows, rate, seconds))
        flows.run.seconds = time.monotonic() - began
        await flows.close()
        return flows.run

    return asyncio.run(main())
