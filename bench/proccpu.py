"""CPU time of local processes from ``/proc`` (Linux), for the benches' figures beside wall time:
on a shared, noisy machine the CPU a piece of work costs moves less than how long it takes."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (field 3 onwards), or None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cpu_seconds(pids: list[int], *, reaped_of: int | None = None) -> float:
    """User + system CPU of ``pids`` so far; with ``reaped_of``, also what that process's children
    that have exited used (a server's finished backends)."""
    total = 0
    for pid in pids:
        if (fields := _stat(pid)) is None:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == reaped_of:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / CLK_TCK


def postgres_cpu(connection) -> float | None:
    """CPU seconds the local PostgreSQL server (every backend, worker and exited backend) has used
    so far, from a psycopg ``connection`` to it; None if the server is not on this machine (its
    postmaster is then no process here)."""
    backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    fields = _stat(backend)
    if fields is None:
        return None
    postmaster = int(fields[1])
    return cpu_seconds(process_tree(postmaster), reaped_of=postmaster)
