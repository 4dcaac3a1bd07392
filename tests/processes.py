"""Run `assess` commands and servers as real subprocesses, as operators do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BANKS = Path(__file__).resolve().parents[1] / "application" / "banks"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def assess(*args: str, env: dict[str, str] | None = None) -> str:
    """Run an `assess` command to completion and return its stdout. It runs in a folder of
    its own, with a data folder of its own unless `--data` or the environment names one:
    nothing it writes (a store, a master key) lands where pytest runs, to outlive the run."""
    with tempfile.TemporaryDirectory(prefix="assess-command-") as folder:
        result = subprocess.run(
            [sys.executable, "-m", "entrypoints", *args],
            cwd=folder,
            env={"ASSESS_DATA_DIR": str(Path(folder) / "var"), **os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    return result.stdout


def prepare(env: dict[str, str]) -> str:
    """Import the React bank and create a tenant key with the CLI, as an operator does."""
    assess("questions", "import", str(BANKS / "skill_001.json"), env=env)
    return assess("keys", "create", "--tenant", "acme", env=env).splitlines()[-1]


@contextmanager
def running(
    *args: str, env: dict[str, str] | None = None, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `assess <args>` for the block (output to log), then SIGTERM it; it must exit 0.
    Its data folder is beside the log unless the environment names one."""
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints", *args],
            env={"ASSESS_DATA_DIR": str(log.parent / "data"), **os.environ, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            returncode = process.wait()
    assert returncode == 0, f"exit {returncode} on SIGTERM:\n{log.read_text(errors='replace')}"


@contextmanager
def server(*args: str, env: dict[str, str] | None = None, log: Path) -> Iterator[str]:
    """Start `assess <args> --port P`, wait until /health answers, yield its URL; SIGTERM after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(*args, "--port", str(port), env=env, log=log) as process:
        wait_until_healthy(url, process, log)
        yield url


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /health until it answers, failing with the log if the process dies."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"server did not become healthy:\n{log.read_text()}")
