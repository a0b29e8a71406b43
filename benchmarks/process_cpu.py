"""One planner run as the benchmarks measure it: its whole process tree's CPU, whether it
ends or is killed at the time limit.

The planner runs in a session (and process group) of its own. At the limit the whole
group is killed, not only the process started: Fast Downward's driver runs its translator
and search as children (`driver/call.py`, `subprocess.check_call`), and killing the driver
alone left the search running, orphaned, its CPU never counted. On Linux this process
becomes a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) while the planner runs, so
a child whose parent died is handed to it rather than to init; every process of the group
is reaped here with `os.wait4` and its user + system time added up. Elsewhere only the
process started and the children it reaped itself are counted.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
"""prctl's option (linux/prctl.h) that hands this process the orphans of its descendants."""

PR_GET_CHILD_SUBREAPER = 37
"""prctl's option (linux/prctl.h) that tells whether this process is a subreaper."""


@dataclass(frozen=True)
class Ran:
    """How a run ended: its exit status (None when killed at the time limit), what it
    wrote, and the CPU (user + system) of all its processes and the wall time it took."""

    returncode: int | None
    stdout: str
    stderr: str
    cpu_s: float
    wall_s: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_measured(
    argv: list[str], cwd: Path, limit: float, env: dict[str, str] | None = None
) -> Ran:
    """Run `argv` in `cwd` (with the environment `env`, else this one's) for at most `limit`
    seconds, in a session of its own; kill its process group at the limit (and whatever of
    it is left when it ends, or when this process is interrupted or terminated while it
    waits) and count the CPU of every process of it."""
    with (
        _subreaper(),
        _terminated_as_interrupted(),
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        waiter = threading.Thread(target=_await_end, args=(process.pid,), daemon=True)
        waiter.start()
        try:
            waiter.join(limit)
            timed_out = waiter.is_alive()
        finally:  # (interrupted too: in a session of its own, the planner got no Ctrl-C)
            _kill_group(process.pid)  # (before it is reaped: its pid names the group till then)
            waiter.join()
            wall = time.perf_counter() - started
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)  # (reaped here, not by Popen)
            cpu = usage.ru_utime + usage.ru_stime + _reap_group(process.pid)
        out.seek(0)
        err.seek(0)
        return Ran(
            None if timed_out else process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            cpu,
            wall,
        )


def _await_end(pid: int) -> None:
    """Wait for process `pid` to end, leaving it to be reaped (and its CPU read) later."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _reap_group(group: int) -> float:
    """Reap every process left of process group `group` (handed to this subreaper when
    their parents died), once it is killed: the CPU they took."""
    cpu = 0.0
    while True:
        try:
            _, _, usage = os.wait4(-group, 0)
        except ChildProcessError:
            return cpu
        cpu += usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM (`timeout`, `kill`) raised as KeyboardInterrupt while a run lasts, so that
    this process kills the planner's group on its way out: the planner, in a session of
    its own, gets neither signal. Only in the main thread and where nothing else handles
    SIGTERM."""
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def _subreaper() -> Iterator[None]:
    """This process as the subreaper of its descendants while a run lasts (Linux only),
    and as it was afterwards: one that was a subreaper before (a supervisor, a test
    harness) stays one."""
    prctl = _prctl()
    was = ctypes.c_int(0)
    if prctl is None or prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(was), 0, 0, 0) != 0:
        yield
        return
    if was.value or prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        yield
        return
    try:
        yield
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl
