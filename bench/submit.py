"""Benchmark the service's commands/s and submit latency against plain and locked inserts."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import psycopg

from api.bootstrap import bootstrap
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.messages import GenerateQuestions, StartVerification, SubmitAnswers
from application.service import AssessmentService
from application.settings import from_env
from bench.wire import Wire, WireError
from tests.pgserver import fresh_database, running_server
from tests.processes import assess, free_port, running, wait_until_healthy

T = TypeVar("T")
BANK = Path(__file__).resolve().parents[1] / "application" / "banks" / "skill_001.json"
STUDENT = {"studentId": "s", "name": "Bench", "email": "b@example.com"}
SKILLS = [{"skillId": "skill_001", "name": "React"}]
VERIFY_BODY = {"student": STUDENT, "skills": SKILLS}
AIM_RATIO, AIM_P99_MS = 0.8, 50.0
TICK = os.sysconf("SC_CLK_TCK")
CREATE_EVENTS = (
    "DROP TABLE IF EXISTS events;"
    " CREATE TABLE events (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
    " topic text, state bytea, notification_id bigserial,"
    " PRIMARY KEY (originator_id, originator_version));"
    " CREATE UNIQUE INDEX ON events (notification_id)"
)
INSERT = (
    "INSERT INTO events (originator_id, originator_version, topic, state) VALUES (%s, 1, %s, %s)"
)
TOPIC = "domain.assessment:Assessment.AnswersSubmitted"
STATE = os.urandom(600)


@dataclass
class Tally:
    """What one client did: successful calls, submit latencies (s), errors by description."""

    commands: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Fold another client's tally into this one."""
        self.commands += other.commands
        self.latencies += other.latencies
        self.errors.update(other.errors)


@dataclass
class Run:
    """One measured run: its tally and the wall time it took."""

    tally: Tally
    seconds: float

    @property
    def errors(self) -> int:
        """How many calls failed."""
        return sum(self.tally.errors.values())

    @property
    def rate(self) -> float:
        """Successful commands per second."""
        return self.tally.commands / self.seconds

    def percentile_ms(self, p: int) -> float:
        """The p-th percentile of the submit latencies in ms (nan with fewer than two)."""
        if len(self.tally.latencies) < 2:
            return float("nan")
        return 1000 * statistics.quantiles(self.tally.latencies, n=100)[p - 1]


class CpuMeter:
    """CPU used (in cores) since creation: the machine, this process, a process tree."""

    def __init__(self, tree_root: int | None = None) -> None:
        self.tree_root = tree_root
        self.start = (time.monotonic(), *self.sample())

    def sample(self) -> tuple[float, float, float]:
        """Seconds of CPU so far: machine busy, this process, the tree under tree_root."""
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / TICK
        own = os.times()
        tree = _tree_cpu(self.tree_root) if self.tree_root else 0.0
        return busy, own.user + own.system, tree

    def cores(self) -> tuple[float, float, float]:
        """Average cores busy since creation: machine, this process, the tree."""
        now = (time.monotonic(), *self.sample())
        wall = now[0] - self.start[0]
        machine, own, tree = ((b - a) / wall for a, b in zip(self.start[1:], now[1:], strict=True))
        return machine, own, tree


def _tree_cpu(root: int) -> float:
    """User+system seconds of root and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree, grew = tree | found, bool(found)
    return sum(used.get(pid, 0.0) for pid in tree)


def in_threads(count: int, work: Callable[[], T]) -> tuple[list[T], float]:
    """Run work in count threads at once; return the results and the wall time."""
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        results = [future.result() for future in [pool.submit(work) for _ in range(count)]]
    return results, time.monotonic() - started


def record(tally: Tally, path: str, outcome: tuple[int, bytes] | Exception) -> Any:
    """Count a call's outcome; return its `data` on success, else None."""
    if isinstance(outcome, Exception):
        tally.errors[f"POST {path}: {outcome!r}"] += 1
        return None
    status, body = outcome
    if not 200 <= status < 300:
        tally.errors[f"POST {path}: {status} {body[:300]!r}"] += 1
        return None
    tally.commands += 1
    return msgspec.json.decode(body)["data"]


def answers_for(questions: list[dict[str, Any]]) -> dict[str, Any]:
    """A submit body answering every question with option 0."""
    return {"answers": [{"questionId": q["questionId"], "selectedAnswer": 0} for q in questions]}


async def client(url: str, key: str, deadline: float) -> Tally:
    """One client on its own connection: the verify/generate/submit flow until the deadline."""
    tally, wire = Tally(), Wire(url)

    async def post(path: str, auth: str, body: dict[str, Any] | None = None) -> Any:
        try:
            outcome: tuple[int, bytes] | Exception = await wire.post(path, auth, body)
        except (OSError, WireError, asyncio.IncompleteReadError) as error:
            wire.reader = wire.writer = None
            outcome = error
        return record(tally, path, outcome)

    while time.monotonic() < deadline:
        started = await post("/api/v1/verify", key, VERIFY_BODY)
        token = started and started["sessionToken"]
        generated = token and await post("/api/v1/assessment/generate", token)
        if generated:
            began = time.perf_counter()
            await post("/api/v1/assessment/submit", token, answers_for(generated["questions"]))
            tally.latencies.append(time.perf_counter() - began)
    await wire.close()
    return tally


def drive(url: str, key: str, count: int, seconds: float) -> Run:
    """Run count clients (asyncio tasks in this process) for seconds; merge their tallies."""

    async def all_clients() -> list[Tally]:
        deadline = time.monotonic() + seconds
        return list(await asyncio.gather(*(client(url, key, deadline) for _ in range(count))))

    started = time.monotonic()
    tallies = asyncio.run(all_clients())
    wall = time.monotonic() - started
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return Run(total, wall)


@contextmanager
def service(env: dict[str, str], workers: int) -> Iterator[tuple[str, int]]:
    """Start `assess serve`, wait for /health, yield its URL and pid; SIGTERM it after."""
    with tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp:
        log, port = Path(tmp) / "serve.log", free_port()
        command = ["serve", "--port", str(port), "--workers", str(workers)]
        with running(*command, env=env, log=log) as process:
            wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
            yield f"http://127.0.0.1:{port}", process.pid


def prepared(db_url: str) -> str:
    """Import the bank and create a tenant key with the CLI; return the key."""
    env = {"ASSESS_DATABASE_URL": db_url}
    assess("questions", "import", str(BANK), env=env)
    return assess("keys", "create", "--tenant", "bench", env=env).splitlines()[-1]


def bench_service(
    db_url: str, key: str, clients: list[int], seconds: float, workers: int
) -> dict[int, Run]:
    """Start the service on the prepared store and drive it with each client count."""
    env = {"ASSESS_DATABASE_URL": db_url, "ASSESS_RATE_LIMIT_PER_MINUTE": "100000000"}
    runs: dict[int, Run] = {}
    with service(env, workers) as (url, pid):
        warm = drive(url, key, max(clients), min(seconds, 2.0))
        print(f"warm-up: {warm.tally.commands} commands, {warm.errors} errors")
        for count in clients:
            meter = CpuMeter(pid)
            run = runs[count] = drive(url, key, count, seconds)
            machine, own, server = meter.cores()
            print(
                f"service C={count:>2}: {run.rate:7.1f} commands/s, submit p50"
                f" {run.percentile_ms(50):6.1f} ms, p99 {run.percentile_ms(99):6.1f} ms,"
                f" errors {run.errors}; cpu cores: server {server:.2f}, bench {own:.2f},"
                f" rest {machine - server - own:.2f} (PostgreSQL and anything else);"
                f" machine cpu {1000 * machine / run.rate:.2f} ms per command"
            )
            for error, times in run.tally.errors.most_common():
                print(f"    {times} x {error}")
    return runs


def layer_client(service: AssessmentService, key: str, deadline: float) -> int:
    """The benchmark's flow without HTTP: the service's own calls, as the handlers make them."""
    commands = 0
    while time.monotonic() < deadline:
        tenant = service.access.authenticate(key)
        started = service.execute(
            start_verification, tenant, StartVerification(student=STUDENT, skills=SKILLS), None
        )
        session = service.access.authenticate(started.session_token)
        generated = service.execute(generate_questions, session, GenerateQuestions(), None)
        session = service.access.authenticate(started.session_token)
        answers = [(question["questionId"], 0) for question in generated.questions]
        service.execute(submit_answers, session, SubmitAnswers(answers=answers), None)
        commands += 3
    return commands


def bench_layer(db_url: str, key: str, count: int, seconds: float) -> float:
    """The command layer alone, in count threads of this process (one GIL, so its rate is
    not the point): the machine's cpu per command before any HTTP, PostgreSQL included,
    which no serving model can take below. Returns it in ms."""
    service = bootstrap(from_env(environ={"ASSESS_DATABASE_URL": db_url}))
    layer_client(service, key, time.monotonic() + 1.0)  # warm the pool and the caches
    meter = CpuMeter()
    deadline = time.monotonic() + seconds
    commands, wall = in_threads(count, partial(layer_client, service, key, deadline))
    rate = sum(commands) / wall
    machine, own, _ = meter.cores()
    print(
        f" no HTTP C={count:>2}: {rate:7.1f} commands/s; cpu cores: service {own:.2f},"
        f" rest {machine - own:.2f}; machine cpu {1000 * machine / rate:.2f} ms per command"
    )
    service.store.close()
    return 1000 * machine / rate


def inserter(db_url: str, locked: bool, deadline: float) -> int:
    """Insert one event row per transaction until the deadline; return the commits."""
    commits = 0
    with psycopg.connect(db_url) as conn:
        while time.monotonic() < deadline:
            if locked:
                conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            conn.execute(INSERT, (uuid.uuid4(), TOPIC, STATE))
            conn.commit()
            commits += 1
    return commits


def bench_inserts(
    db_url: str, clients: list[int], seconds: float, locked: bool
) -> dict[int, float]:
    """Commits/s of one-row transactions from each number of threads, on a fresh table."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(CREATE_EVENTS)
    rates: dict[int, float] = {}
    for count in clients:
        meter = CpuMeter()
        deadline = time.monotonic() + seconds
        commits, wall = in_threads(count, partial(inserter, db_url, locked, deadline))
        rates[count] = sum(commits) / wall
        machine, own, _ = meter.cores()
        kind = "locked" if locked else "plain"
        print(
            f"{kind:>6} insert C={count:>2}: {rates[count]:7.1f} commits/s;"
            f" cpu cores: bench {own:.2f}, rest {machine - own:.2f}"
        )
    return rates


def report(
    service: dict[int, Run], layer_ms: float, plain: dict[int, float], locked: dict[int, float]
) -> None:
    """Print the markdown table and whether the aim is met at the largest client count."""
    print()
    print(
        "| C | service cmd/s | submit p50 ms | submit p99 ms | errors | plain ins/s"
        " | locked ins/s | service/locked | service/plain |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for count, run in service.items():
        p50, p99 = run.percentile_ms(50), run.percentile_ms(99)
        print(
            f"| {count} | {run.rate:.1f} | {p50:.1f} | {p99:.1f} | {run.errors}"
            f" | {plain[count]:.1f} | {locked[count]:.1f}"
            f" | {run.rate / locked[count]:.2f} | {run.rate / plain[count]:.2f} |"
        )
    top = max(service)
    ratio, p99 = service[top].rate / locked[top], service[top].percentile_ms(99)
    print()
    print(
        f"aim at C={top}: commands/s >= {AIM_RATIO}x locked inserts/s, submit p99 < {AIM_P99_MS} ms"
    )
    print(f"  throughput: {ratio:.2f}x locked -> {'met' if ratio >= AIM_RATIO else 'NOT met'}")
    print(f"  latency: p99 {p99:.1f} ms -> {'met' if p99 < AIM_P99_MS else 'NOT met'}")
    budget = 1000 * (os.cpu_count() or 1) / (AIM_RATIO * locked[top])
    print(
        f"  cpu: the aim leaves {budget:.2f} ms of machine cpu per command on"
        f" {os.cpu_count()} cores; the command layer alone, without HTTP, takes {layer_ms:.2f} ms"
    )


def main() -> None:
    """Parse the options, run the service and the baselines, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    with (
        running_server() as base_url,
        fresh_database(base_url) as service_db,
        fresh_database(base_url) as baseline_db,
    ):
        print(f"PostgreSQL {base_url}; {args.seconds:g} s per run; {args.workers} workers")
        key = prepared(service_db)
        runs = bench_service(service_db, key, clients, args.seconds, args.workers)
        layer_ms = bench_layer(service_db, key, max(clients), args.seconds)
        plain = bench_inserts(baseline_db, clients, args.seconds, locked=False)
        locked = bench_inserts(baseline_db, clients, args.seconds, locked=True)
        report(runs, layer_ms, plain, locked)


if __name__ == "__main__":
    main()
