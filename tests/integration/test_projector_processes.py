"""`assess projector` as a real process: SIGKILLed under load, and racing writer processes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.assessment import Assessment
from projections.runner import MODELS, catch_up
from projections.views import open_live_view
from tests.processes import assess
from tests.projector_flow import (
    CATCH_UP_SECONDS,
    ROOT,
    WRITE_SECONDS,
    Tally,
    advanced,
    assert_views_hold,
    caught_up,
    flow,
    lowest_position,
    open_read_side,
    projector,
    wait_until,
    write_until,
    writer_processes,
)
from tests.support import make_service, take_attempt


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
    print(
        f"{len(tally.records)} records ({tally.human} human, {tally.endorsements} endorsed),"
        f" {tally.submits} submits; killed at {kills}"
    )
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
    snippet = "from tests.projector_flow import opener_process as o; o()"
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
        for name in ("record_view", "skill_view", "contact_view")  # not webhook_targets
    ]
    retried = assess("projections", "retry", "record_view", "--data", str(tmp_path))
    assert retried.strip() == "record_view: 0 applied, 1 still set aside"
