"""What the projector-process tests share: writers (threads or processes) doing both paths' flows
and tallying them, `assess projector` as a real process, and what the views must hold."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from application.commands import GenerateQuestions, StartVerification, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.preparation import PREPARER, TRIGGERS
from application.settings import Settings
from application.store import EventStore
from entrypoints.bootstrap import Services
from entrypoints.migrations import open_migrated
from infrastructure.following import Tracker
from infrastructure.subjects import DataSubjects
from projections.queries import ReadSide
from tests.oracle import mismatches
from tests.support import (
    ACME,
    MASTER_KEY,
    PYTHON,
    REACT,
    STUDENT,
    answer_sheet,
    make_service,
    take_endorsement,
)

ROOT = Path(__file__).resolve().parents[1]
STUDENTS = 4  # few students, so records share skill view rows
CATCH_UP_SECONDS = 30.0
WRITE_SECONDS = 6.0  # at least, in the crash test


@dataclass
class Tally:
    """What a writer did: the records it created, its submits and passes, its human records
    and their endorsements, its skill rows."""

    records: list[str] = field(default_factory=list)
    submits: int = 0
    passes: int = 0
    human: int = 0
    endorsements: int = 0
    skill_rows: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Fold another writer's tally into this one."""
        self.records += other.records
        self.submits += other.submits
        self.passes += other.passes
        self.human += other.human
        self.endorsements += other.endorsements
        self.skill_rows += other.skill_rows


def flow(service: Services, rng: random.Random, tally: Tally) -> None:
    """Verify, generate, submit (0-10 of 10 right); after a fail, sometimes try once more.
    One flow in four is a human record instead: invited once or twice, then endorsed (some or
    all of its skills) or left in review."""
    student = {**STUDENT, "studentId": f"stu_{rng.randrange(STUDENTS)}"}
    skills = rng.choice([[REACT], [PYTHON], [REACT, PYTHON]])
    tally.skill_rows += [f"{student['studentId']}/{skill['skillId']}" for skill in skills]
    if rng.random() < 0.25:
        endorsed = rng.choice([None, [skills[0]["skillId"]], [s["skillId"] for s in skills]])
        invitations = rng.choice([1, 2])
        tally.records.append(
            take_endorsement(
                service,
                endorsed,
                student=student["studentId"],
                skills=tuple(skills),
                invitations=invitations,
            )
        )
        tally.human += 1
        tally.endorsements += endorsed is not None
        return
    command = StartVerification(student=student, skills=skills)
    record_id = service.commands.execute(
        start_verification, ACME, command, None
    ).record_verification_id
    tally.records.append(record_id)
    for _ in range(rng.choice([1, 2])):
        service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
        sheet = answer_sheet(service, record_id, rng.randrange(11))
        answers = [(answer["questionId"], answer["selectedAnswer"]) for answer in sheet]
        submitted = service.commands.execute(
            submit_answers, ACME, SubmitAnswers(answers, record_id), None
        )
        tally.submits += 1
        if submitted.result.passed:
            tally.passes += 1
            return


def write_until(service: Services, seed: int, stopping: threading.Event) -> Tally:
    """A writer thread: flows until stopped."""
    rng, tally = random.Random(seed), Tally()
    while not stopping.is_set():
        flow(service, rng, tally)
    return tally


def writer_process() -> None:
    """A writer process (argv: URL FLOWS SEED): opens the store, says ready, waits for a line
    on stdin, does FLOWS flows, then prints its tally as JSON."""
    url, flows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    service = make_service(url)
    print("ready", flush=True)
    sys.stdin.readline()
    rng, tally = random.Random(seed), Tally()
    for _ in range(flows):
        flow(service, rng, tally)
    service.store.close()
    print(json.dumps(asdict(tally)))


def opener_process() -> None:
    """A process (argv: URL START_AT) opening the store at START_AT + 0.3 s * k, 5 times."""
    url, start_at = sys.argv[1], float(sys.argv[2])
    for moment in range(5):
        time.sleep(max(0.0, start_at + 0.3 * moment - time.time()))
        open_migrated(Settings(database_url=url, master_key=MASTER_KEY)).close()


class Projector:
    """`assess projector` as a real process on a database; every run appends to one log."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start a new projector process."""
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints", "projector"],
                env={
                    **os.environ,
                    "ASSESS_DATABASE_URL": self.url,
                    "ASSESS_MASTER_KEY": MASTER_KEY,
                    "ASSESS_DATA_DIR": str(self.log.parent / "data"),
                },
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> subprocess.Popen[bytes]:
        """The process, failing with the log if it has exited or a view has stopped."""
        assert self.process is not None
        code = self.process.poll()
        assert code is None, f"the projector exited with {code}\n{self.text()}"
        assert " ERROR " not in self.text(), self.text()
        return self.process

    def kill(self) -> None:
        """SIGKILL: no chance to finish a batch or close a connection."""
        process = self.running()
        process.kill()
        assert process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        process = self.running()
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=30)

    def text(self) -> str:
        """The log of every run so far."""
        return f"--- projector log ---\n{self.log.read_text(errors='replace')}"


@contextmanager
def projector(url: str, log: Path) -> Iterator[Projector]:
    """A started projector; killed on the way out if a failed test left it running."""
    runner = Projector(url, log)
    runner.start()
    try:
        yield runner
    finally:
        if runner.process is not None and runner.process.poll() is None:
            runner.process.kill()
            runner.process.wait(timeout=10)


@contextmanager
def writer_processes(
    url: str, count: int, flows: int, logs: Path
) -> Iterator[list[subprocess.Popen[str]]]:
    """Writer processes, started one by one (processes opening the store at the same moment
    race: see the last test), each ready with its store open; killed if left running."""
    snippet = "from tests.projector_flow import writer_process as w; w()"
    started: list[subprocess.Popen[str]] = []
    try:
        for seed in range(count):
            log = logs / f"writer{seed}.log"
            with log.open("w") as sink:
                writer = subprocess.Popen(
                    [sys.executable, "-c", snippet, url, str(flows), str(seed)],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=sink,
                    text=True,
                )
            started.append(writer)
            assert writer.stdout is not None
            assert writer.stdout.readline() == "ready\n", log.read_text()
        yield started
    finally:
        for writer in started:
            if writer.poll() is None:
                writer.kill()
                writer.wait(timeout=10)


def wait_until(condition: Callable[[], bool], seconds: float, what: str, runner: Projector) -> None:
    """Poll until condition() holds, failing with the projector's log after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        runner.running()
        assert time.monotonic() < deadline, f"{what} within {seconds} s\n{runner.text()}"
        time.sleep(0.05)


def lowest_position(read: ReadSide) -> int:
    """The position of the view furthest behind."""
    return min(view["position"] for view in read.status().values())


def advanced(read: ReadSide, before: int) -> bool:
    """Whether every view has moved past a position."""
    return lowest_position(read) > before


def caught_up(read: ReadSide) -> bool:
    """Whether the question preparer has handled every event that calls for a set (the
    projector runs it too), and then every view has applied every stored assessment event."""
    store = read.store
    after = Tracker(store, PREPARER).position() + 1
    if store.recorder.select_notifications(start=after, limit=1, topics=TRIGGERS):
        return False
    return all(view["lag"] == 0 for view in read.status().values())


def open_read_side(url: str) -> tuple[EventStore, ReadSide]:
    """A store and the read side on it (creating the views before any projector runs)."""
    settings = Settings(database_url=url, master_key=MASTER_KEY)
    store = open_migrated(settings)
    return store, ReadSide(store, DataSubjects(store, settings))


def assert_views_hold(url: str, store: EventStore, read: ReadSide, tally: Tally, log: str) -> None:
    """The views equal the fold of the history and count each record, attempt, lock and skill
    once."""
    assert tally.records, "the writers created nothing"
    assert 0 < tally.passes < tally.submits, "the writers need both passes and fails"
    assert 0 < tally.endorsements < tally.human, "the writers need open and endorsed reviews"
    problems = mismatches(store, read)
    assert problems == [], "\n".join([*problems[:20], log])
    with psycopg.connect(url) as conn:
        ids = [row[0] for row in conn.execute("SELECT record_verification_id FROM record_view")]
        counts = conn.execute(
            "SELECT COALESCE(SUM(jsonb_array_length(attempts::jsonb)), 0),"
            " COUNT(*) FILTER (WHERE is_locked = 1),"
            " COUNT(*) FILTER (WHERE method = 'human_endorsement') FROM record_view"
        ).fetchone()
        skill_rows = conn.execute("SELECT COUNT(*) FROM skill_view").fetchone()
    assert sorted(ids) == sorted(tally.records), log
    assert counts == (tally.submits, tally.passes + tally.endorsements, tally.human), log
    assert skill_rows == (len(set(tally.skill_rows)),), log
