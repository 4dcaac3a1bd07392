"""Provide a real PostgreSQL server and throwaway databases for tests."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

ENV_URL = "ASSESS_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432"
LOG_TAIL_LINES = 40
# How to stop and start each private server, by its base URL.
_CONTROLS: dict[str, tuple[list[str], str, Path, Path, bool]] = {}


@contextmanager
def running_server(*, prefer_existing: bool = True) -> Iterator[str]:
    """Yield a trust-auth server's base URL (no database), starting one if needed."""
    if prefer_existing:
        env_url = os.environ.get(ENV_URL)
        if env_url:
            yield env_url.rstrip("/")
            return
        if _server_answers(DEFAULT_URL):
            yield DEFAULT_URL
            return
    with private_server() as url:
        yield url


@contextmanager
def private_server() -> Iterator[str]:
    """Start a private server in a temp dir on a free port and yield its base URL."""
    bin_dir = _find_bin_dir()
    as_root = os.geteuid() == 0
    tmp = Path(tempfile.mkdtemp(prefix="assess-pg-"))
    data, log = tmp / "data", tmp / "log"
    started = False
    try:
        if as_root:
            _chown_tree(tmp, "postgres")
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
        _run([*initdb, "--auth=trust", "-E", "UTF8", "--locale=C"], as_root, tmp, "initdb")
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp}"
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
        try:
            started = True
            start = [*pg_ctl, "-o", options, "-l", str(log), "-w", "start"]
            _run(start, as_root, tmp, "pg_ctl start")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n--- server log tail ---\n{_tail(log)}") from exc
        url = f"postgresql://postgres@127.0.0.1:{port}"
        _CONTROLS[url] = (pg_ctl, options, log, tmp, as_root)
        yield url
    finally:
        if started:
            stop = _as_user([*pg_ctl, "-m", "fast", "-w", "stop"], as_root)
            subprocess.run(stop, cwd=tmp, capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def outage(base_url: str) -> Iterator[None]:
    """Stop a private server abruptly for the block, then start it again on the same port."""
    pg_ctl, options, log, tmp, as_root = _CONTROLS[base_url]
    _run([*pg_ctl, "-m", "immediate", "-w", "stop"], as_root, tmp, "pg_ctl stop")
    try:
        yield
    finally:
        _run([*pg_ctl, "-o", options, "-l", str(log), "-w", "start"], as_root, tmp, "pg_ctl start")


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """Create a uniquely named database on base_url, yield its URL, then drop it."""
    name = f"assess_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{base_url}/{name}"
    finally:
        with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


def _server_answers(url: str) -> bool:
    """Return whether a server accepts a connection to the postgres db at url."""
    try:
        with psycopg.connect(f"{url}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _find_bin_dir() -> Path:
    """Return the directory with pg_ctl and initdb: PATH first, else newest version."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = [
        d
        for d in map(Path, glob.glob("/usr/lib/postgresql/*/bin"))
        if (d / "pg_ctl").is_file() and (d / "initdb").is_file()
    ]
    if not candidates:
        raise RuntimeError("pg_ctl/initdb not on PATH or in /usr/lib/postgresql/*/bin")
    return max(candidates, key=lambda d: _version_key(d.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    """Turn a version directory name like '15' or '9.6' into a sortable tuple."""
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def _free_port() -> int:
    """Return a currently free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _chown_tree(root: Path, user: str) -> None:
    """Recursively give root and everything under it to user."""
    shutil.chown(root, user=user)
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in (*dirnames, *filenames):
            shutil.chown(os.path.join(dirpath, entry), user=user)


def _as_user(cmd: list[str], as_root: bool) -> list[str]:
    """Prefix cmd with runuser so it runs as postgres when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if as_root else cmd


def _run(cmd: list[str], as_root: bool, cwd: Path, what: str) -> None:
    """Run cmd (as postgres when root); raise RuntimeError with output on failure."""
    result = subprocess.run(
        _as_user(cmd, as_root), cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = f"{result.stdout}{result.stderr}"
        raise RuntimeError(f"{what} failed (exit {result.returncode}):\n{output}")


def _tail(path: Path) -> str:
    """Return the last lines of a log file, or a note if it cannot be read."""
    try:
        lines = path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-LOG_TAIL_LINES:])
    except OSError as exc:
        return f"(could not read {path}: {exc})"
