"""`assess projector` as a real process: SIGKILLed under load, and racing writer processes."""

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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from api.bootstrap import open_migrated
from application.handlers.generate_questions import generate_questions
from application.handlers.start_verification import start_verification
from application.handlers.submit_answers import submit_answers
from application.messages import GenerateQuestions, StartVerification, SubmitAnswers
from application.service import AssessmentService
from application.settings import Settings
from application.store import EventStore
from domain.assessment import Assessment
from projections.queries import ReadSide
from projections.runner import MODELS, catch_up
from projections.views import open_live_view
from tests.oracle import mismatches
from tests.processes import assess
from tests.support import (
    ACME,
    PYTHON,
    REACT,
    STUDENT,
    answer_sheet,
    make_service,
    take_attempt,
)

ROOT = Path(__file__).resolve().parents[2]
STUDENTS = 4  # few students, so records share skill view rows
CATCH_UP_SECONDS = 30.0
WRITE_SECONDS = 6.0  # at least, in the crash test


@dataclass
class Tally:
    """What a writer did: the records it created, its submits and passes, its skill rows."""

    records: list[str] = field(default_factory=list)
    submits: int = 0
    passes: int = 0
    skill_rows: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        """Fold another writer's tally into this one."""
        self.records += other.records
        self.submits += other.submits
        self.passes += other.passes
        self.skill_rows += other.skill_rows


def flow(service: AssessmentService, rng: random.Random, tally: Tally) -> None:
    """Verify, generate, submit (0-10 of 10 right); after a fail, sometimes try once more."""
    student = {**STUDENT, "studentId": f"stu_{rng.randrange(STUDENTS)}"}
    skills = rng.choice([[REACT], [PYTHON], [REACT, PYTHON]])
    command = StartVerification(student=student, skills=skills)
    record_id = service.execute(start_verification, ACME, command, None).record_verification_id
    tally.records.append(record_id)
    tally.skill_rows += [f"{student['studentId']}/{skill['skillId']}" for skill in skills]
    for _ in range(rng.choice([1, 2])):
        service.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
        sheet = answer_sheet(service, record_id, rng.randrange(11))
        answers = [(answer["questionId"], answer["selectedAnswer"]) for answer in sheet]
        submitted = service.execute(submit_answers, ACME, SubmitAnswers(answers, record_id), None)
        tally.submits += 1
        if submitted.result.passed:
            tally.passes += 1
            return


def write_until(service: AssessmentService, seed: int, stopping: threading.Event) -> Tally:
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
        open_migrated(Settings(database_url=url)).close()


class Projector:
    """`assess projector` as a real process on a database; every run appends to one log."""

    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start a new projector process."""
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api", "projector"],
                env={**os.environ, "ASSESS_DATABASE_URL": self.url},
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
    snippet = "from tests.integration.test_projector_processes import writer_process as w; w()"
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
    """Whether every view has applied every stored assessment event."""
    return all(view["lag"] == 0 for view in read.status().values())


def open_read_side(url: str) -> tuple[EventStore, ReadSide]:
    """A store and the read side on it (creating the views before any projector runs)."""
    store = open_migrated(Settings(database_url=url))
    return store, ReadSide(store)


def assert_views_hold(url: str, store: EventStore, read: ReadSide, tally: Tally, log: str) -> None:
    """The views equal the fold of the history and count each record, attempt and skill once."""
    assert tally.records, "the writers created nothing"
    assert 0 < tally.passes < tally.submits, "the writers need both passes and fails"
    problems = mismatches(store, read)
    assert problems == [], "\n".join([*problems[:20], log])
    with psycopg.connect(url) as conn:
        ids = [row[0] for row in conn.execute("SELECT record_verification_id FROM record_view")]
        counts = conn.execute(
            "SELECT COALESCE(SUM(jsonb_array_length(attempts::jsonb)), 0),"
            " COUNT(*) FILTER (WHERE is_locked = 1) FROM record_view"
        ).fetchone()
        skill_rows = conn.execute("SELECT COUNT(*) FROM skill_view").fetchone()
    assert sorted(ids) == sorted(tally.records), log
    assert counts == (tally.submits, tally.passes), log
    assert skill_rows == (len(set(tally.skill_rows)),), log


def test_a_projector_killed_mid_stream_resumes_without_loss_or_double_counts(
    pg_url: str, tmp_path: Path
) -> None:
    service = make_service(pg_url)
    store, read = open_read_side(pg_url)
    chance = random.Random()
    stopping, kills = threading.Event(), []
    tally, started = Tally(), time.monotonic()
    with projector(pg_url, tmp_path / "projector.log") as runner, ThreadPoolExecutor(3) as pool:
        writers = [pool.submit(write_until, service, seed, stopping) for seed in range(3)]
        try:
            for _ in range(3):
                progressed = partial(advanced, read, lowest_position(read))
                wait_until(progressed, 20, "no progress after a start", runner)
                time.sleep(chance.uniform(0.0, 0.3))
                kills.append(read.status())
                runner.kill()
                runner.start()
            time.sleep(max(1.0, started + WRITE_SECONDS - time.monotonic()))
        finally:
            stopping.set()
            for writer in writers:
                tally.add(writer.result())
        wait_until(lambda: caught_up(read), CATCH_UP_SECONDS, "views not caught up", runner)
        log = f"views when killed: {kills}\n{runner.text()}"
        assert_views_hold(pg_url, store, read, tally, log)
        assert runner.stop() == 0, runner.text()
    print(f"{len(tally.records)} records, {tally.submits} submits; killed at {kills}")
    store.close()
    service.store.close()


def test_writer_processes_committing_at_once_skip_no_event(pg_url: str, tmp_path: Path) -> None:
    service = make_service(pg_url)  # the banks, imported once before the writers start
    store, read = open_read_side(pg_url)
    tally = Tally()
    flow(service, random.Random(), tally)  # something to follow, to see the projector is up
    with (
        writer_processes(pg_url, 3, 150, tmp_path) as writers,
        projector(pg_url, tmp_path / "projector.log") as runner,
    ):
        wait_until(partial(advanced, read, 0), 20, "the projector did not start", runner)
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        for seed, writer in enumerate(writers):
            assert writer.stdout is not None
            out = writer.stdout.read()
            assert writer.wait(timeout=60) == 0, (tmp_path / f"writer{seed}.log").read_text()
            tally.add(Tally(**json.loads(out)))
        wait_until(lambda: caught_up(read), CATCH_UP_SECONDS, "views not caught up", runner)
        assert_views_hold(pg_url, store, read, tally, runner.text())
        assert runner.stop() == 0, runner.text()
    store.close()
    service.store.close()


def test_processes_opening_the_store_at_the_same_moment_all_start(pg_url: str) -> None:
    """The API's workers, the projector and writers start together: none may fail to open."""
    start_at = time.time() + 2.0
    snippet = "from tests.integration.test_projector_processes import opener_process as o; o()"
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", snippet, pg_url, str(start_at)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [opener.communicate(timeout=60)[1].strip() for opener in openers]
    failed = ["\n".join(error.splitlines()[-3:]) for error in errors if error]
    assert failed == [], "\n---\n".join(failed)
    assert [opener.returncode for opener in openers] == [0, 0, 0, 0]


def test_the_operator_lists_dead_letters_and_retries_them(tmp_path: Path) -> None:
    service = make_service(f"sqlite:///{tmp_path / 'assess.sqlite3'}")
    take_attempt(service, correct=7)
    record = uuid4()
    [position] = service.store.recorder.insert_events(
        [StoredEvent(record, 1, get_topic(Assessment.VerificationStarted), b"{not json")]
    ) or [0]
    for model in MODELS.values():
        catch_up(open_live_view(service.store, model), until=lambda: True)
    service.store.close()
    listed = assess("projections", "dead-letters", "--data", str(tmp_path)).splitlines()
    assert [line.split("\t")[:4] for line in listed] == [
        [name, str(position), record.hex, get_topic(Assessment.VerificationStarted)]
        for name in ("record_view", "skill_view")
    ]
    retried = assess("projections", "retry", "record_view", "--data", str(tmp_path))
    assert retried.strip() == "record_view: 0 applied, 1 still set aside"
