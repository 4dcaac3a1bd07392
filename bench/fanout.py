"""Benchmark the Kafka fan-out: submit-to-webhook latency, and the relay against a producer."""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import msgspec
import psycopg

from application.callers import TenantCaller
from application.commands import (
    GenerateQuestions,
    RegisterWebhook,
    StartVerification,
    SubmitAnswers,
)
from application.handlers.generate_questions import generate_questions
from application.handlers.register_webhook import register_webhook
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.integration_events import ASSESSMENT_TOPICS
from application.settings import Settings
from bench.relay import AIM_RATIO, bench_relay, new_topic, read_topic
from entrypoints.bootstrap import Services, bootstrap
from entrypoints.migrations import seed_banks
from tests.broker import running_broker
from tests.pgserver import fresh_database, running_server
from tests.processes import running
from tests.receivers import Receiver, receiving
from tests.support import MASTER_KEY, REACT, answer_sheet

AIM_P99_MS = 250.0  # issue 13: submit to webhook p99 at 100 submits/s
BENCH = TenantCaller(tenant="bench", mode="live", key_id=UUID(int=1))
COMPLETED = "verification.completed"
SESSION_TIMEOUT_MS = 6000  # Tansu joins a group in about half of it
WARM_UPS = 20  # their webhooks (over every partition, surely) must come before the clock starts
JOIN_WAIT, GRACE = 90.0, 30.0  # seconds
COUNT_EVENTS = "SELECT count(*) FROM assess_events WHERE topic = ANY(%s)"
FIRST_TRIES = "SELECT payload, tries FROM webhook_deliveries WHERE tries <> '[]'"
Pending = tuple[str, list[tuple[str, int]]]  # a generated record and its answers


@dataclass
class Latency:
    """The steady run: submits made, their rate, each matched webhook's latency (s)."""

    submits: int
    rate: float
    latencies: list[float]

    @property
    def missing(self) -> int:
        """Submits whose webhook never came."""
        return self.submits - len(self.latencies)

    def percentile_ms(self, p: int) -> float:
        """The p-th percentile of the latencies in ms."""
        return percentile_ms(self.latencies, p)


def percentile_ms(seconds: list[float], p: int) -> float:
    """The p-th percentile of spans in seconds, in ms (nan with fewer than two)."""
    if len(seconds) < 2:
        return float("nan")
    return 1000 * statistics.quantiles(seconds, n=100)[p - 1]


def prepare(service: Services, count: int) -> list[Pending]:
    """Verify and generate `count` records; their answers (0-10 right), ready to submit."""
    pending = []
    for n in range(count):
        student = {"studentId": f"s{n}", "name": "Bench", "email": "b@example.com"}
        command = StartVerification(student=student, skills=[REACT])
        record_id = service.commands.execute(
            start_verification, BENCH, command, None
        ).record_verification_id
        service.commands.execute(generate_questions, BENCH, GenerateQuestions(record_id), None)
        sheet = answer_sheet(service, record_id, n % 11)
        pending.append((record_id, [(a["questionId"], a["selectedAnswer"]) for a in sheet]))
    return pending


def submit(service: Services, record: Pending) -> float:
    """Submit a record's answers; return the monotonic time of the response."""
    service.commands.execute(submit_answers, BENCH, SubmitAnswers(record[1], record[0]), None)
    return time.monotonic()


def arrivals(receiver: Receiver) -> dict[str, float]:
    """When each record's first completed webhook arrived (monotonic), by record id."""
    found: dict[str, float] = {}
    for hook in receiver.hooks():
        payload = hook.payload
        if payload["type"] == COMPLETED:
            found.setdefault(payload["data"]["recordVerificationId"], hook.at)
    return found


def wait_for(
    receiver: Receiver, records: set[str], timeout: float, processes: list[subprocess.Popen[bytes]]
) -> dict[str, float]:
    """The arrivals once every record's webhook came, or by the timeout or a process's exit."""
    deadline = time.monotonic() + timeout
    while not records <= (found := arrivals(receiver)).keys() and time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.1)
    return found


def steady(
    service: Services, records: list[Pending], rate: float
) -> tuple[dict[str, float], float]:
    """Submit at `rate` per second (or as fast as it goes); response times and the rate."""
    answered: dict[str, float] = {}
    started = time.monotonic()
    for n, record in enumerate(records):
        pause = started + n / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        answered[record[0]] = submit(service, record)
    return answered, len(records) / (time.monotonic() - started)


def bench_latency(base_url: str, servers: str, rate: float, seconds: float) -> Latency:
    """Relay and webhooks consumer as processes, steady submits, submit-to-webhook latency."""
    topic = new_topic(servers, "bench.fanout")
    with (
        fresh_database(base_url) as url,
        receiving() as receiver,
        tempfile.TemporaryDirectory(prefix="assess-fanout-") as tmp,
    ):
        settings = Settings(database_url=url, webhook_allow_private=True, master_key=MASTER_KEY)
        service = bootstrap(settings)
        try:
            seed_banks(service.banks)
            register = RegisterWebhook(url=receiver.url, events=[COMPLETED])
            service.commands.execute(register_webhook, BENCH, register, None)
            env = {
                "ASSESS_DATABASE_URL": url,
                "ASSESS_MASTER_KEY": MASTER_KEY,
                "ASSESS_DATA_DIR": tmp,
                "ASSESS_KAFKA_BOOTSTRAP": servers,
                "ASSESS_KAFKA_TOPIC": topic,
                "ASSESS_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
                "ASSESS_WEBHOOK_ALLOW_PRIVATE": "1",
            }
            # The webhook consumer reads each tenant's endpoints from a view the projector keeps.
            with (
                running("projector", env=env, log=Path(tmp) / "projector.log"),
                running("relay", env=env, log=Path(tmp) / "relay.log") as relay,
                running("consume", "webhooks", env=env, log=Path(tmp) / "webhooks.log") as consumer,
            ):
                began = time.monotonic()
                records = prepare(service, WARM_UPS + round(rate * seconds))
                for record in records[:WARM_UPS]:
                    submit(service, record)
                warm = {record[0] for record in records[:WARM_UPS]}
                came = len(warm & wait_for(receiver, warm, JOIN_WAIT, [relay, consumer]).keys())
                print(
                    f"prepared {len(records)} records; warm-up: {came} of {WARM_UPS} webhooks"
                    f" {time.monotonic() - began:.1f} s after the processes started"
                )
                answered, achieved = steady(service, records[WARM_UPS:], rate)
                came_at = wait_for(receiver, set(answered), GRACE, [relay, consumer])
            result = summarize(answered, came_at, achieved)
            stages(url, servers, topic, answered, came_at)
        finally:
            service.store.close()
    return result


def summarize(answered: dict[str, float], came: dict[str, float], rate: float) -> Latency:
    """Match webhooks to submits; print the latencies, and their p50 by quarter of the run."""
    latencies = [came[record] - at for record, at in answered.items() if record in came]
    result = Latency(len(answered), rate, latencies)
    print(
        f"latency: {result.submits} submits at {rate:.1f}/s, {len(latencies)} webhooks"
        f" matched, {result.missing} missing; p50 {result.percentile_ms(50):.0f} ms,"
        f" p99 {result.percentile_ms(99):.0f} ms, max {1000 * max(latencies, default=0):.0f} ms"
    )
    quarter = max(1, -(-len(latencies) // 4))
    p50s = [
        f"{percentile_ms(latencies[n : n + quarter], 50):.0f}"
        for n in range(0, len(latencies), quarter)
    ]
    print(f"  p50 by quarter of the run (growing: it falls behind): {', '.join(p50s)} ms")
    return result


def stages(
    url: str, servers: str, topic: str, answered: dict[str, float], came: dict[str, float]
) -> None:
    """Print the spans to the relay's send (message timestamp) and the first try (its log)."""
    wall = time.time() - time.monotonic()  # the stamps are wall-clock: shift them to monotonic
    with psycopg.connect(url) as conn:
        [(events,)] = conn.execute(COUNT_EVENTS, (list(ASSESSMENT_TOPICS),)).fetchall()
        rows = conn.execute(FIRST_TRIES).fetchall()
    sent: dict[str, float] = {}
    for record in read_topic(servers, topic, events):
        message = msgspec.json.decode(record.value)
        if message["type"] == "Scored":
            sent.setdefault(message["recordVerificationId"], record.timestamp / 1000 - wall)
    tried: dict[str, float] = {}
    for payload, tries in rows:
        record_id = msgspec.json.decode(payload)["data"]["recordVerificationId"]
        first = datetime.fromisoformat(msgspec.json.decode(tries)[0]["at"])
        tried[record_id] = first.timestamp() - wall
    timed = [r for r in answered if r in sent and r in tried and r in came]
    steps = {
        "submit -> relay sends": [sent[r] - answered[r] for r in timed],
        "-> first delivery try": [tried[r] - sent[r] for r in timed],
        "-> received": [came[r] - tried[r] for r in timed],
    }
    print(f"where the time goes ({len(timed)} webhooks; p50 / p99 ms, clocks to the ms):")
    for step, spans in steps.items():
        print(f"  {step}: {percentile_ms(spans, 50):.0f} / {percentile_ms(spans, 99):.0f}")


def report(rate: float, latency: Latency, relay: float, plain: float) -> None:
    """Print the markdown tables and whether each aim is met."""
    p50, p99 = latency.percentile_ms(50), latency.percentile_ms(99)
    print()
    print("| target submits/s | achieved | submits | webhooks | missing | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {rate:g} | {latency.rate:.1f} | {latency.submits} | {len(latency.latencies)}"
        f" | {latency.missing} | {p50:.0f} | {p99:.0f} |"
    )
    print()
    print("| relay events/s | plain producer events/s | relay/plain |")
    print("|---|---|---|")
    print(f"| {relay:,.0f} | {plain:,.0f} | {relay / plain:.2f}x |")
    print()
    print(f"aims: webhook p99 < {AIM_P99_MS:.0f} ms at 100 submits/s; relay >= {AIM_RATIO}x plain")
    on_time = p99 < AIM_P99_MS and latency.missing == 0
    print(
        f"  latency: p99 {p99:.0f} ms, {latency.missing} missing, at {latency.rate:.1f} submits/s"
        f" -> {'met' if on_time else 'NOT met'}"
    )
    ratio = relay / plain
    print(f"  relay: {ratio:.2f}x plain -> {'met' if ratio >= AIM_RATIO else 'NOT met'}")


def main() -> None:
    """Parse the options, start PostgreSQL and a broker, run both parts, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as after Ctrl-C
    with running_server() as base_url, running_broker() as broker:
        print(
            f"PostgreSQL {base_url}; Kafka {broker.bootstrap}; {args.rate:g} submits/s for"
            f" {args.seconds:g} s; relay of at least {args.events:,} events"
        )
        latency = bench_latency(base_url, broker.bootstrap, args.rate, args.seconds)
        relay, plain = bench_relay(base_url, broker.bootstrap, args.events)
        report(args.rate, latency, relay, plain)


if __name__ == "__main__":
    main()
