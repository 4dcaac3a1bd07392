"""Every production process stops within 10 seconds of SIGTERM, exit 0, whatever its peers
do: a Kafka that accepts connections and never answers, a webhook target that never
answers, an SMTP server that never greets. What it had not finished is done again later
(the relay republishes, a delivery's lease ends, an offset was not committed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import pytest

from infrastructure.deliveries import Delivery, new_delivery_id
from tests.broker import Broker
from tests.processes import free_port, wait_until_healthy
from tests.support import MASTER_KEY, make_service, project, take_attempt

pytestmark = pytest.mark.slow
STOP_WITHIN = 10.0


@contextmanager
def black_hole(accepted: list[socket.socket] | None = None) -> Iterator[str]:
    """host:port of a server that accepts every connection (kept in `accepted`) and never
    says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = [] if accepted is None else accepted
    stopping = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stopping.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def stop_time(args: list[str], env: dict[str, str], log: Path, busy_for: float = 4.0) -> float:
    """Start `assess <args>`, let it work (and hang on its peers) for a while, SIGTERM it;
    the seconds it took to exit (which must be with 0)."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints", *args],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    time.sleep(busy_for)
    assert process.poll() is None, log.read_text(errors="replace")
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    took = time.monotonic() - asked
    assert returncode == 0, log.read_text(errors="replace")
    return took


@pytest.fixture
def production(pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A PostgreSQL store with a scored record and a webhook delivery due to a target that
    never answers; the environment of its processes."""
    service = make_service(pg_url, webhook_allow_private=True)
    take_attempt(service, 8)
    with black_hole() as target:
        service.deliveries.enqueue(
            [
                Delivery(
                    new_delivery_id(),
                    "acme",
                    "live",
                    "whe_1",
                    f"http://{target}/hook",
                    service.webhooks.stored_callback_secret("acme", "live"),
                    "evt_1",
                    "verification.completed",
                    "{}",
                )
            ],
            0.0,
        )
        service.store.close()
        yield {
            "ASSESS_DATABASE_URL": pg_url,
            "ASSESS_MASTER_KEY": MASTER_KEY,
            "ASSESS_DATA_DIR": str(tmp_path),
            "ASSESS_WEBHOOK_ALLOW_PRIVATE": "true",
        }


@pytest.mark.parametrize(
    "args",
    [["relay"], ["consume", "webhooks"], ["consume", "emails"], ["projector"]],
    ids=" ".join,
)
def test_a_process_stops_in_time_while_kafka_never_answers(
    args: list[str], production: dict[str, str], tmp_path: Path
) -> None:
    with black_hole() as kafka, black_hole() as smtp:
        env = {
            **production,
            "ASSESS_KAFKA_BOOTSTRAP": kafka,
            "ASSESS_SMTP_URL": f"smtp://{smtp}",
        }
        took = stop_time(args, env, tmp_path / "process.log")
    assert took < STOP_WITHIN, f"{' '.join(args)} took {took:.1f} s to stop"


def test_the_api_stops_in_time(production: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints", "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, **production},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()
    assert time.monotonic() - asked < STOP_WITHIN


def test_the_email_consumer_stops_in_time_while_smtp_never_greets(
    pg_url: str, broker: Broker, tmp_path: Path
) -> None:
    topic = f"assessment.events.{uuid4().hex[:8]}"
    service = make_service(pg_url, kafka_bootstrap=broker.bootstrap, kafka_topic=topic)
    take_attempt(service, 8)
    service.relay().run(threading.Event(), drain=True)  # the record's events on the topic
    project(service)  # the contacts the consumer reads
    service.store.close()
    reached: list[socket.socket] = []
    with black_hole(reached) as smtp:
        env = {
            "ASSESS_DATABASE_URL": pg_url,
            "ASSESS_MASTER_KEY": MASTER_KEY,
            "ASSESS_DATA_DIR": str(tmp_path),
            "ASSESS_KAFKA_BOOTSTRAP": broker.bootstrap,
            "ASSESS_KAFKA_TOPIC": topic,
            "ASSESS_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "ASSESS_SMTP_URL": f"smtp://{smtp}",
        }
        log = tmp_path / "emails.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints", "consume", "emails"],
                env={**os.environ, **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 45
        while not reached and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reached, log.read_text(errors="replace")  # it is sending, and SMTP is silent
        asked = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text(errors="replace")
        took = time.monotonic() - asked
    assert took < STOP_WITHIN, f"took {took:.1f} s"
