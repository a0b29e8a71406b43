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
from typing import IO

Echo = Callable[[str, bool], None]  # a line, and whether it goes to stderr


def shares(references: Sequence[str], processes: int) -> list[list[str]]:
    """Round-robin: neighbours (often alike in cost) go to different workers."""
    count = max(1, min(processes, len(references)))
    return [list(references[i::count]) for i in range(count)]


def worker_command(arguments: Sequence[str]) -> list[str]:
    """The argv of one worker: this interpreter running `ido` with `arguments`."""
    return [sys.executable, "-m", "ido", *arguments]


def run_workers(commands: Sequence[Sequence[str]], echo: Echo) -> list[int]:
    """Start every command, pass their lines to `echo` (one at a time) and wait for all.

    On Ctrl-C the workers still running are interrupted too (each records its runs as
    interrupted, for `ido resume`) and waited for, then KeyboardInterrupt goes on."""
    lock = threading.Lock()
    workers = [
        subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        for command in commands
    ]
    relays = [
        threading.Thread(target=_relay, args=(stream, err, echo, lock), daemon=True)
        for worker in workers
        for stream, err in ((worker.stdout, False), (worker.stderr, True))
    ]
    for relay in relays:
        relay.start()
    try:
        codes = [worker.wait() for worker in workers]
    except KeyboardInterrupt:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait()
        raise
    finally:
        for relay in relays:
            relay.join()
    return codes


def _relay(stream: IO[str] | None, err: bool, echo: Echo, lock: threading.Lock) -> None:
    if stream is None:
        return
    with stream:
        for line in stream:
            with lock:
                echo(line.rstrip("\n"), err)
