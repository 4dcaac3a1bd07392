"""Benchmark rebuilding each read model from zero against one plain SELECT of the same events."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.synchronize import Lock
from uuid import UUID

import psycopg

from application.callers import TenantCaller
from application.commands import GenerateQuestions, StartVerification, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.settings import Settings
from entrypoints.bootstrap import Services
from entrypoints.migrations import open_migrated
from infrastructure.persistence import tune_gc
from projections.runner import MODELS, count_events, rebuild
from tests.pgserver import fresh_database, running_server
from tests.support import PYTHON, REACT, answer_sheet, make_service

AIM_RATIO = 0.5  # issue 13: rebuild at half the raw read
BENCH = TenantCaller(tenant="bench", mode="live", key_id=UUID(int=1))
STUDENTS = 2000
RAW_READS = 3
TOPICS = sorted({topic for model in MODELS.values() for topic in model.topics})
RAW_SELECT = "SELECT * FROM assess_events WHERE topic = ANY(%s) ORDER BY notification_id"
_opening: Lock | None = None


def _remember(lock: Lock) -> None:
    global _opening
    _opening = lock


def flow(service: Services, rng: random.Random) -> int:
    """Verify, generate, submit (0-10 of 10 right), after a fail sometimes again; the events."""
    student = {"studentId": f"s{rng.randrange(STUDENTS)}", "name": "Bench", "email": "b@e.com"}
    skills = rng.choice([[REACT], [PYTHON], [REACT, PYTHON]])
    command = StartVerification(student=student, skills=skills)
    record_id = service.commands.execute(
        start_verification, BENCH, command, None
    ).record_verification_id
    events = 1
    for _ in range(rng.choice([1, 2])):
        service.commands.execute(generate_questions, BENCH, GenerateQuestions(record_id), None)
        sheet = answer_sheet(service, record_id, rng.randrange(11))
        answers = [(answer["questionId"], answer["selectedAnswer"]) for answer in sheet]
        submitted = service.commands.execute(
            submit_answers, BENCH, SubmitAnswers(answers, record_id), None
        )
        events += 4 if submitted.result.passed else 3
        if submitted.result.passed:
            break
    return events


def fill_worker(url: str, events: int, seed: int) -> int:
    """One fill process: flows through the service until it stored `events`; how many it did."""
    assert _opening is not None
    with _opening:  # processes opening one store at the same moment race: open one by one
        service = make_service(url)
    rng, done = random.Random(seed), 0
    while done < events:
        done += flow(service, rng)
    service.store.close()
    return done


def fill(url: str, events: int, processes: int) -> None:
    """Store at least `events` assessment events from several processes; print the rate."""
    make_service(url).store.close()  # the banks, imported once
    share = -(-events // processes)
    started = time.perf_counter()
    lock = multiprocessing.Lock()
    with ProcessPoolExecutor(processes, initializer=_remember, initargs=(lock,)) as pool:
        done = sum(pool.map(fill_worker, [url] * processes, [share] * processes, range(processes)))
    seconds = time.perf_counter() - started
    print(
        f"fill: {done:,} assessment events by {processes} processes in {seconds:.1f} s"
        f" ({done / seconds:,.0f} events/s, through the service's commands)"
    )


def raw_read(url: str) -> float:
    """Events/s of one SELECT fetching every assessment event (best of RAW_READS)."""
    rates = []
    with psycopg.connect(url) as conn:
        for _ in range(RAW_READS):
            started = time.perf_counter()
            rows = conn.execute(RAW_SELECT, (TOPICS,)).fetchall()
            rates.append(len(rows) / (time.perf_counter() - started))
    print(
        f"raw SELECT: {len(rows):,} events; {', '.join(f'{r:,.0f}' for r in rates)} events/s"
        f" -> best {max(rates):,.0f}"
    )
    return max(rates)


def rebuild_rates(url: str) -> dict[str, float]:
    """Events/s of rebuilding each read model from position zero, in a process set up as
    `assess projections rebuild` is."""
    tune_gc()
    store = open_migrated(Settings(database_url=url))
    rates: dict[str, float] = {}
    for name, model in MODELS.items():
        applied = 0

        def count(batch: int, _: int) -> None:
            nonlocal applied
            applied += batch

        expected = count_events(store, model)
        started = time.perf_counter()
        old, new = rebuild(store, model, on_batch=count)
        seconds = time.perf_counter() - started
        assert applied == expected, f"{name}: applied {applied} of {expected} events"
        rates[name] = applied / seconds
        print(
            f"rebuild {name}: {applied:,} events in {seconds:.1f} s, {rates[name]:,.0f} events/s"
            f" (generation {old} -> {new})"
        )
    store.close()
    return rates


def report(raw: float, rebuilt: dict[str, float]) -> None:
    """Print each view's rate against the raw read and whether the aim is met."""
    print()
    print("| view | rebuild events/s | raw SELECT events/s | rebuild/raw |")
    print("|---|---|---|---|")
    for name, rate in rebuilt.items():
        print(f"| {name} | {rate:,.0f} | {raw:,.0f} | {rate / raw:.2f}x |")
    print()
    print(f"aim: rebuild >= {AIM_RATIO}x the raw read rate")
    for name, rate in rebuilt.items():
        if rate == 0:  # webhook registrations, credentials: the fill's flows make none
            print(f"  {name}: no events of its topics in this fill")
            continue
        verdict = "met" if rate / raw >= AIM_RATIO else "NOT met"
        print(f"  {name}: {rate / raw:.2f}x -> {verdict}")


def main() -> None:
    """Fill a fresh store, then measure the raw read and each rebuild; print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--fill-processes", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    with running_server() as base_url, fresh_database(base_url) as url:
        print(f"PostgreSQL {base_url}; at least {args.events:,} assessment events")
        fill(url, args.events, args.fill_processes)
        raw = raw_read(url)
        report(raw, rebuild_rates(url))


if __name__ == "__main__":
    main()
