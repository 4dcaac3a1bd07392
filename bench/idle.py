"""What an idle `assess serve --workers 4` costs: the CPU of its process tree (and of
PostgreSQL) over a quiet stretch after one warming request per worker, on each HTTP server;
the aim is under 1% of a core."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.load import drive
from bench.meter import CpuMeter, largest_rss_mb
from bench.submit import service
from tests.pgserver import fresh_database, running_server

AIM_IDLE = 0.01  # cores


def main() -> None:
    """Start the service on each server in turn, let it idle, print its CPU and memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the quiet stretch")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--servers", default="uvicorn,granian")
    args = parser.parse_args()
    with running_server() as pg, tempfile.TemporaryDirectory(prefix="assess-idle-") as tmp:
        for server in args.servers.split(","):
            with (
                fresh_database(pg) as db,
                service(db, args.workers, Path(tmp) / f"{server}.log", server) as ours,
            ):
                drive(ours.url, ours.key, 1.0, clients=args.workers)  # every worker's pools
                time.sleep(2.0)  # the warming's connections settle
                meter = CpuMeter(ours.pid)
                time.sleep(args.seconds)
                _, _, postgres, tree = meter.cores()
                verdict = "ok" if tree < AIM_IDLE else "over the aim"
                print(
                    f"{server}: idle {args.workers} workers use {tree * 100:.2f}% of a core"
                    f" (aim < {AIM_IDLE * 100:.0f}%: {verdict}); PostgreSQL"
                    f" {postgres * 100:.2f}%; largest worker {largest_rss_mb(ours.pid):.0f} MB"
                )


if __name__ == "__main__":
    main()
