"""What a benchmark run cost the machine: CPU in cores (machine, this process, a process
tree, PostgreSQL's processes) from /proc, and the resident memory of a process tree."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes(named: str | None = None) -> dict[int, list[str]]:
    """Every process's /proc/<pid>/stat fields after the command name (only those of this
    command name, if given)."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except (OSError, ValueError):
                continue
            if named is None or head.split("(", 1)[1] == named:
                found[int(entry.name)] = tail.split()
    return found


def tree(root: int) -> dict[int, list[str]]:
    """root and all its descendants, each with its stat fields."""
    processes = _processes()
    members, grew = {root}, True
    while grew:
        found = {pid for pid, fields in processes.items() if int(fields[1]) in members}
        grew = bool(found - members)
        members |= found
    return {pid: processes[pid] for pid in members if pid in processes}


def tree_cpu(root: int) -> float:
    """User+system seconds of root and all its descendants."""
    return _cpu(tree(root).values())


def postgres_cpu() -> float:
    """User+system seconds of the PostgreSQL server's processes, with those of the ended
    backends (which the server's main process counts once it has reaped them)."""
    return _cpu(_processes("postgres").values())


def _cpu(processes: Iterable[list[str]]) -> float:
    """Their user and system seconds and those of their reaped children (utime, stime,
    cutime, cstime): a process that ends moves its seconds to its parent, not out of sight."""
    return sum(sum(int(field) for field in f[11:15]) / TICK for f in processes)


def largest_rss_mb(root: int) -> float:
    """The resident memory of the largest process under root (an API worker), in MB."""
    return max((int(f[21]) * PAGE / 1e6 for f in tree(root).values()), default=0.0)


class CpuMeter:
    """CPU used, in cores, since creation: the machine, this process, PostgreSQL, the trees
    under roots."""

    def __init__(self, *roots: int) -> None:
        self.roots = roots
        self.start = (time.monotonic(), *self.sample())

    def sample(self) -> tuple[float, ...]:
        """Seconds of CPU so far: machine busy, this process, PostgreSQL, each tree."""
        with open("/proc/stat") as stat:
            ticks = [int(n) for n in stat.readline().split()[1:]]
        own = os.times()
        busy = (sum(ticks) - ticks[3] - ticks[4]) / TICK
        trees = (tree_cpu(root) for root in self.roots)
        return busy, own.user + own.system, postgres_cpu(), *trees

    def cores(self) -> tuple[float, ...]:
        """Average cores busy since creation: machine, this process, PostgreSQL, each tree."""
        now = (time.monotonic(), *self.sample())
        wall = now[0] - self.start[0]
        return tuple((b - a) / wall for a, b in zip(self.start[1:], now[1:], strict=True))
