"""The service's commands beside the thinnest same-stack service (`ceiling_app.py`): both up
on one PostgreSQL database, driven by the same client in interleaved rounds; per round the
ratio, over the rounds the median, with submit latencies, CPU per command and memory."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.load import Run, drive
from bench.meter import CpuMeter, largest_rss_mb
from tests.pgserver import fresh_database, running_server
from tests.processes import assess, free_port, running, wait_until_healthy
from tests.support import MASTER_KEY

BANK = Path(__file__).resolve().parents[1] / "application" / "banks" / "skill_001.json"
# Issue 25's aims: commands/s at 16 clients 1.3x the ceiling on uvicorn (1.0x the ceiling on
# granian, the service's other server); submit p50 and p99 at 60 flows/s at most the ceiling's.
AIM_RATE = {"uvicorn": 1.3, "granian": 1.0}
AIM_LATENCY, AIM_RSS_MB = 1.0, 150.0


@dataclass
class Server:
    """A server under test: its name, URL, key and the pid of its process tree."""

    name: str
    url: str
    key: str
    pid: int


@contextlib.contextmanager
def service(db_url: str, workers: int, log: Path, server: str) -> Iterator[Server]:
    """`assess serve --server SERVER` on the database, with a bank and a tenant key."""
    env = {
        "ASSESS_DATABASE_URL": db_url,
        "ASSESS_MASTER_KEY": MASTER_KEY,
        "ASSESS_DATA_DIR": str(log.parent),
        "ASSESS_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    assess("questions", "import", str(BANK), env=env)
    key = assess("keys", "create", "--tenant", "bench", env=env).splitlines()[-1]
    port = free_port()
    serve = ["serve", "--port", str(port), "--workers", str(workers), "--server", server]
    with running(*serve, env=env, log=log) as p:
        wait_until_healthy(f"http://127.0.0.1:{port}", p, log)
        yield Server("service", f"http://127.0.0.1:{port}", key, p.pid)


@contextlib.contextmanager
def ceiling(db_url: str, workers: int, log: Path, server: str) -> Iterator[Server]:
    """The reference app under uvicorn (or granian), with the same workers, on the same
    database."""
    os.environ["CEILING_DSN"] = db_url  # the reference reads it when imported
    from bench.ceiling_app import SCHEMA  # its workers race to create the table: create it first

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    port = free_port()
    if server == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--loop", "uvloop"]
        command += ["--port", str(port), "--workers", str(workers), "bench.ceiling_app:app"]
    else:
        command = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port)]
        command += ["--workers", str(workers), "--no-access-log"]
    env = {**os.environ, "CEILING_DSN": db_url}
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 404:
                    break  # a worker answers (uvicorn's parent accepts before they start)
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the ceiling did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server("ceiling", f"http://127.0.0.1:{port}", "none", process.pid)
    finally:
        process.terminate()
        process.wait(30)


@dataclass
class Measured:
    """One server's run in one round, with CPU per command: the machine's, the server's
    processes' and PostgreSQL's."""

    run: Run
    cpu_ms: float
    server_ms: float
    postgres_ms: float


def measure(server: Server, seconds: float, clients: int, rate: float) -> Measured:
    """Drive one server; CPU per command over the run."""
    meter = CpuMeter(server.pid)
    run = drive(server.url, server.key, seconds, clients=clients, rate=rate)
    machine, _, postgres, ours = meter.cores()
    for error, times in run.errors.most_common(3):
        print(f"    {server.name}: {times} x {error}")
    per_command = 1000 / run.rate if run.commands else float("nan")
    return Measured(run, machine * per_command, ours * per_command, postgres * per_command)


def median(values: list[float]) -> float:
    """The median (nan when empty)."""
    return statistics.median(values) if values else float("nan")


def compare(label: str, rounds: list[tuple[Measured, Measured]]) -> dict[str, float]:
    """Print each round and the medians of service / ceiling; return the median ratios."""
    ratios: dict[str, list[float]] = {"rate": [], "p50": [], "p99": []}
    for ours, theirs in rounds:
        a, b = ours.run, theirs.run
        ratios["rate"].append(a.rate / b.rate)
        ratios["p50"].append(a.percentile_ms(50) / b.percentile_ms(50))
        ratios["p99"].append(a.percentile_ms(99) / b.percentile_ms(99))
        print(
            f"  {label:>10}: cmd/s {a.rate:6.1f} / {b.rate:6.1f} = {ratios['rate'][-1]:.2f}x;"
            f" submit p50 {a.percentile_ms(50):5.1f} / {b.percentile_ms(50):5.1f} ms,"
            f" p99 {a.percentile_ms(99):6.1f} / {b.percentile_ms(99):6.1f} ms;"
            f" cpu/cmd {ours.cpu_ms:.2f} / {theirs.cpu_ms:.2f} ms"
            f" (server {ours.server_ms:.2f} / {theirs.server_ms:.2f},"
            f" postgres {ours.postgres_ms:.2f} / {theirs.postgres_ms:.2f});"
            f" errors {sum(a.errors.values())} / {sum(b.errors.values())}"
        )
    return {name: median(values) for name, values in ratios.items()}


def main() -> None:
    """Start both servers, run the interleaved rounds, print the medians and the aims."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--clients", default="1,4,16", help="closed-loop client counts")
    parser.add_argument("--rate", type=float, default=60.0, help="open-loop flows per second")
    parser.add_argument("--workers", type=int, default=4, help="workers of each server")
    servers = ["uvicorn", "granian"]
    parser.add_argument("--server", choices=servers, default="uvicorn", help="the service's")
    parser.add_argument("--ceiling-server", choices=servers, default="uvicorn")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    loads = [(f"C={c}", int(c), 0.0) for c in args.clients.split(",")]
    loads.append((f"{args.rate:g} flows/s", 0, args.rate))
    with (
        running_server() as pg,
        fresh_database(pg) as db,
        tempfile.TemporaryDirectory(prefix="assess-bench-") as tmp,
        service(db, args.workers, Path(tmp) / "serve.log", args.server) as ours,
        ceiling(db, args.workers, Path(tmp) / "ceiling.log", args.ceiling_server) as theirs,
    ):
        print(
            f"PostgreSQL {pg}; {args.workers} workers each; {args.seconds:g} s per run;"
            f" service on {args.server}, ceiling on {args.ceiling_server}"
        )
        for server in (ours, theirs):
            drive(server.url, server.key, 2.0, clients=16)  # warm pools, caches and banks
        results: dict[str, list[tuple[Measured, Measured]]] = {label: [] for label, *_ in loads}
        for number in range(args.rounds):
            print(f"round {number + 1} (service / ceiling)")
            for label, clients, rate in loads:
                order = (ours, theirs) if number % 2 == 0 else (theirs, ours)
                runs = {s.name: measure(s, args.seconds, clients, rate) for s in order}
                results[label].append((runs["service"], runs["ceiling"]))
            print()
        rss = largest_rss_mb(ours.pid), largest_rss_mb(theirs.pid)
        report(results, loads, rss, AIM_RATE[args.ceiling_server])


def report(
    results: dict[str, list[tuple[Measured, Measured]]],
    loads: list[tuple[str, int, float]],
    rss: tuple[float, float],
    aim_rate: float,
) -> None:
    """Each round per load, the medians, and the aims."""
    medians = {label: compare(label, rounds) for label, rounds in results.items()}
    print("\n| load | cmd/s service/ceiling | submit p50 | submit p99 |")
    print("|---|---|---|---|")
    for label, ratio in medians.items():
        print(f"| {label} | {ratio['rate']:.2f}x | {ratio['p50']:.2f}x | {ratio['p99']:.2f}x |")
    top, open_loop = loads[-2][0], loads[-1][0]
    rate, latency = medians[top]["rate"], medians[open_loop]
    print("\naims (medians of the rounds):")
    print(f"  {top}: commands/s {rate:.2f}x the ceiling (aim >= {aim_rate}x)")
    print(
        f"  {open_loop}: submit p50 {latency['p50']:.2f}x, p99 {latency['p99']:.2f}x the"
        f" ceiling's (aim <= {AIM_LATENCY}x)"
    )
    print(
        f"  largest API worker RSS {rss[0]:.0f} MB (aim < {AIM_RSS_MB:.0f});"
        f" ceiling {rss[1]:.0f} MB"
    )


if __name__ == "__main__":
    main()
