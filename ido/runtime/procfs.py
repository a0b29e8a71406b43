"""What Linux's /proc says of processes: which there are, the fields of one's stat line,
whether it still runs and when it started, its environment and the files it holds open.
Off Linux there is no /proc, and nothing is known."""

from __future__ import annotations

import os
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


def processes() -> list[int]:
    """The ids of the processes there are now (none where there is no /proc)."""
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []


def environment(pid: int) -> set[bytes]:
    """The `NAME=value` entries of process `pid`'s environment; none when it is gone, not
    ours to read, or there is no /proc."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return set(environ.read().split(b"\0"))
    except OSError:
        return set()


def open_files(pid: int) -> set[str]:
    """What process `pid`'s open file descriptors point to (`pipe:[INODE]` for a pipe);
    none when it is gone, not ours to read, or there is no /proc."""
    try:
        return {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return set()
