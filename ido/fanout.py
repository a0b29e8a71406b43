"""Runs shared out over worker processes: `ido run A B … --processes N`.

A Python process runs Python on one core at a time (the GIL), so runs side by side in one
process are bound by one core. Each worker is an `ido run` of its share of the intents, in
a process of its own, on the same journal file: SQLite's write lock (waited for, see
`SqliteJournal._begin`) serialises their commits, and each worker's runs share their
commits among themselves. The workers' lines are passed on whole, as they come.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from ido.runtime import stopping

Echo = Callable[[str, bool], None]  # a line, and whether it goes to stderr


def shares(references: Sequence[str], processes: int) -> list[list[str]]:
    """Round-robin: neighbours (often alike in cost) go to different workers."""
    count = max(1, min(processes, len(references)))
    return [list(references[i::count]) for i in range(count)]


def worker_command(arguments: Sequence[str]) -> list[str]:
    """The argv of one worker: this interpreter running `ido` with `arguments`."""
    return [sys.executable, "-m", "ido", *arguments]


def concurrencies(total: int, workers: int) -> list[int]:
    """`total` runs at once split over `workers`, as evenly as may be (workers ≤ total)."""
    return [total // workers + (i < total % workers) for i in range(workers)]


FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals passed on to the workers (they run in sessions of their own, so that a terminal's
Ctrl-C reaches them once, through this process)."""


def run_workers(commands: Sequence[Sequence[str]], echo: Echo) -> list[int]:
    """Start every command, pass their lines to `echo` (one at a time) and wait for all;
    their return codes (negative: killed by that signal).

    SIGINT, SIGTERM and SIGHUP are passed on to the workers still running (each records
    its runs as interrupted, for `ido resume`) and the workers are waited for; then
    KeyboardInterrupt goes on after a SIGINT."""
    lock = threading.Lock()
    workers: list[subprocess.Popen[str]] = []
    relays: list[threading.Thread] = []

    def forward(signum: int, frame: object) -> None:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signum)

    previous = _install(forward)
    try:
        for command in commands:
            worker = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="backslashreplace",
                bufsize=1,
                start_new_session=True,
            )
            workers.append(worker)
            for stream, err in ((worker.stdout, False), (worker.stderr, True)):
                relay = threading.Thread(target=_relay, args=(stream, err, echo, lock), daemon=True)
                relay.start()
                relays.append(relay)
        return [_wait(worker) for worker in workers]
    except KeyboardInterrupt:
        forward(signal.SIGINT, None)
        for worker in workers:
            _wait_through_interrupts(worker)
        raise
    finally:
        _restore(previous)
        for relay in relays:
            relay.join()


def _install(handler: Any) -> dict[signal.Signals, Any]:
    """Install `handler` for the signals passed on other than SIGINT (which comes as
    KeyboardInterrupt); the handlers it replaced. Only the main thread may."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in FORWARDED[1:]}


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for signum, old in previous.items():
        if old is not None:  # None: not installed from Python, nothing to put back
            signal.signal(signum, old)


def _wait(worker: subprocess.Popen[str]) -> int:
    """`worker.wait()` in short waits: blocked in `waitpid` for good, this thread would take
    a signal only a quarter of a second late."""
    while True:
        try:
            return worker.wait(stopping.POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue


def _wait_through_interrupts(worker: subprocess.Popen[str]) -> None:
    """Wait for `worker`; another Ctrl-C meanwhile is passed on, not a reason to leave."""
    while True:
        try:
            _wait(worker)
            return
        except KeyboardInterrupt:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)


def _relay(stream: IO[str] | None, err: bool, echo: Echo, lock: threading.Lock) -> None:
    """Pass lines on; if passing them on fails (`| head` closed the pipe), keep draining, so
    the worker never writes into a closed pipe."""
    if stream is None:
        return
    passing = True
    with stream:
        for line in stream:
            if not passing:
                continue
            with lock:
                try:
                    echo(line.rstrip("\n"), err)
                except (OSError, ValueError):
                    passing = False


def exit_code(returncode: int) -> int:
    """A worker's return code as a shell shows it: 128 + N when killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def death(returncode: int) -> str | None:
    """Why a worker ended without an exit code of its own, or None."""
    if returncode >= 0:
        return None
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"
