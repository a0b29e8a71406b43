"""Ending what a shell step started: its process tree, on a timeout or a stop, and the
processes a run killed mid-step left running (`stop_left_running`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from ido.runtime.procfs import environment, open_files, processes, running, stat_fields

KILL_PASSES = 20
"""How often killing a call's processes looks again for ones started meanwhile: each
pass stops what it finds, so a second pass finds none unless one ido may not stop (it
changed its user) keeps starting more."""


KILLED_WAIT_SECONDS = 5.0
"""How long a killed call's process is waited for: one ido may not kill is left."""


LINGER_SECONDS = 0.5
"""How long output may stay open after a shell binding's process exited before what holds
it is killed (`_subprocess`)."""


def stop_left_running(run_id: str, key: str) -> list[int]:
    """Kill what a shell step of run `run_id`, under idempotency key `key`, left running,
    and wait for it to end; the ids of the processes found (none where there is no /proc).

    An ido killed outright (`kill -9`, the machine's OOM killer) cannot kill its step's
    process: it lives on, and may do the step's side effect after `ido resume` has looked
    and planned the step again. Such a process, and what it started, is known by the
    environment the step gave it (`IDO_RUN_ID`, `IDO_IDEMPOTENCY_KEY`): a process that took
    the id of one that ended does not have it. It is killed as a timeout kills a step.
    Raises OSError naming the first still there after `KILLED_WAIT_SECONDS` (one ido may
    not kill: another user's)."""
    found = kill_step(run_id, key)
    deadline = time.monotonic() + KILLED_WAIT_SECONDS
    while left := [pid for pid in found if _started_for(pid, run_id, key)]:
        if time.monotonic() >= deadline:
            raise OSError(f"process {left[0]} could not be stopped")
        time.sleep(0.05)
    return found


def kill_step(run_id: str, key: str) -> list[int]:
    """Kill every process that has the environment of a shell step of run `run_id` under
    idempotency key `key`, with what it started; their ids. A step's process tree alone
    misses what it left to run on its own (`sh -c "(sleep 3; charge) &"` run by a shell that
    exits at once: another process's child by then, holding no output): a timeout must end
    that too, or it charges after the step was counted as not done, and a retry again."""
    ours = _ancestors()  # a shell that has the step's variables and ran this ido
    found = [pid for pid in processes() if pid not in ours and _started_for(pid, run_id, key)]
    for pid in found:
        _kill_tree(pid)
    return found


def _ancestors() -> set[int]:
    """This process and those above it, from /proc: none of them is a step's to kill."""
    found, pid = set(), os.getpid()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            pid = int(stat_fields(pid)[1])
        except (IndexError, ValueError):
            break
    return found


def _started_for(pid: int, run_id: str, key: str) -> bool:
    """Whether process `pid` is alive (not a zombie) with the environment of a shell step
    of run `run_id` under idempotency key `key` (as `_env` set it, or inherited)."""
    if pid == os.getpid():
        return False
    wanted = {f"IDO_RUN_ID={run_id}".encode(), f"IDO_IDEMPOTENCY_KEY={key}".encode()}
    return wanted <= environment(pid) and running(pid)


def _kill_tree(pid: int) -> None:
    """Kill `pid` and the processes below it, stopping them all first, from the top down
    until no new one shows. Killed children first, a child's death woke its parent to run
    what came next: `sh -c "sleep 3; charge"` timed out and charged anyway, four runs in
    ten, and a retry charged again."""
    stopped: list[int] = []
    try:
        todo = [pid]
        for _ in range(KILL_PASSES):  # one ido may not stop, starting more, ends it
            for each in todo:
                with contextlib.suppress(OSError):  # gone, or not ours to signal (setuid)
                    os.kill(each, signal.SIGSTOP)
                stopped.append(each)
            here = os.getpid()  # (never this process: it would stop for good)
            todo = [below for below in _descendants(pid) if below not in stopped and below != here]
            if not todo:
                break
    finally:  # whatever stopped the stopping (Ctrl-C), none is left stopped and alive
        _kill_all(stopped or [pid])


def _kill_all(pids: list[int]) -> None:
    """SIGKILL each of `pids`; one gone already, or not ours to signal, is passed over."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _holding(process: subprocess.Popen[bytes]) -> list[int]:
    """The other processes holding `process`'s stdout or stderr pipe open, from /proc."""
    pipes = {
        f"pipe:[{os.fstat(stream.fileno()).st_ino}]"
        for stream in (process.stdout, process.stderr)
        if stream is not None and not stream.closed
    }
    here = os.getpid()
    return [pid for pid in processes() if pid != here and open_files(pid) & pipes]


def _descendants(pid: int) -> list[int]:
    """The processes below `pid` now (children first), from /proc; none where there is no
    /proc. One a process left in the background after it exited has another parent by
    then, and is not found."""
    below: dict[int, list[int]] = {}
    for entry in processes():
        try:
            parent = int(stat_fields(entry)[1])
        except (ValueError, IndexError):
            continue  # gone since, or not ours to read
        below.setdefault(parent, []).append(entry)
    found, todo = [], [pid]
    while todo:
        for child in below.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
