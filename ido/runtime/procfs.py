"""What Linux's /proc says of a process: the fields of its stat line, whether it still runs
and when it started. Off Linux there is no /proc, and nothing is known."""

from __future__ import annotations

from collections.abc import Sequence


def stat_fields(pid: int) -> list[str]:
    """The fields of `/proc/PID/stat` after the command's name (which may hold spaces and
    parentheses): its state first, then its parent's id, …; none when it is gone, not ours
    to read, or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()
    except OSError:
        return []


def ended(fields: Sequence[str]) -> bool:
    """Whether the process these stat fields tell of has ended and only waits to be reaped
    (a zombie, or one dying): killed, its parent not having waited for it yet (a
    container's first process that reaps nothing), it still answers a signal."""
    return bool(fields) and fields[0] in ("Z", "X")


def started(fields: Sequence[str]) -> str | None:
    """When the process started (clock ticks since boot), so that a reused pid is not
    taken for it; None when that is not known."""
    return fields[19] if len(fields) > 19 else None


def running(pid: int) -> bool:
    """Whether process `pid` is there and has not ended (a zombie does not run)."""
    fields = stat_fields(pid)
    return bool(fields) and not ended(fields)
