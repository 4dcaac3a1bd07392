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


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`assess <args>` in the background, its output to `log`."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints", *args],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def catches_sigterm(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process has its SIGTERM handler (Linux: the caught-signals mask)."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    mask = int(
        next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16
    )
    return bool(mask & (1 << (signal.SIGTERM - 1)))


def at_work(processes: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]) -> None:
    """Wait until every process catches SIGTERM (it has started), then a moment more, so
    that each is held by its silent peer when the stop comes."""
    deadline = time.monotonic() + 60
    for name, process in processes.items():
        while not catches_sigterm(process):
            assert process.poll() is None, logs[name].read_text(errors="replace")
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.1)
    time.sleep(3.0)  # the relay and the consumers are now waiting on Kafka


def stop_times(
    processes: dict[str, subprocess.Popen[bytes]], logs: dict[str, Path]
) -> dict[str, float]:
    """SIGTERM every process at once; the seconds each took to exit (each with 0)."""
    asked = time.monotonic()
    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    took = {}
    for name, process in processes.items():
        try:
            returncode = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        took[name] = time.monotonic() - asked
        assert returncode == 0, logs[name].read_text(errors="replace")
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


def test_every_worker_stops_in_time_while_kafka_never_answers(
    production: dict[str, str], tmp_path: Path
) -> None:
    """The relay, both consumers (the webhook one sending to a target that never answers)
    and the projector, side by side, each held by a silent peer when the stop comes."""
    workers = {
        "relay": ["relay"],
        "webhooks": ["consume", "webhooks"],
        "emails": ["consume", "emails"],
        "projector": ["projector"],
    }
    with black_hole() as kafka, black_hole() as smtp:
        env = {**production, "ASSESS_KAFKA_BOOTSTRAP": kafka, "ASSESS_SMTP_URL": f"smtp://{smtp}"}
        logs = {name: tmp_path / f"{name}.log" for name in workers}
        processes = {name: start(args, env, logs[name]) for name, args in workers.items()}
        at_work(processes, logs)
        took = stop_times(processes, logs)
    assert max(took.values()) < STOP_WITHIN, took


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_the_api_stops_in_time(production: dict[str, str], tmp_path: Path, server: str) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    serve = ["serve", "--port", str(port), "--workers", "2", "--server", server]
    process = start(serve, production, log)
    wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
    took = stop_times({"serve": process}, {"serve": log})
    assert took["serve"] < STOP_WITHIN, took


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
        process = start(["consume", "emails"], env, log)
        deadline = time.monotonic() + 45
        while not reached and time.monotonic() < deadline:
            time.sleep(0.1)
        assert reached, log.read_text(errors="replace")  # it is sending, and SMTP is silent
        took = stop_times({"emails": process}, {"emails": log})
    assert took["emails"] < STOP_WITHIN, took
