"""Stopping this process's runs from the main thread: `ido run A B …` on Ctrl-C, or on
SIGTERM or SIGHUP, which the command takes as Ctrl-C (`Terminated`).

Ctrl-C (KeyboardInterrupt) reaches only the main thread, and runs side by side run on
others. After `stop()`, each of them raises `Stopped`, a KeyboardInterrupt, at its next
decision or step, its next look at a call in flight, or during a backoff: it ends as Ctrl-C
ends a run alone, interrupted, with every outcome already known saved, for `ido resume`. A
Python call in flight is not stopped (a thread cannot be killed), a shell call's process is
killed, and an HTTP request goes on to its end or its timeout; the step is left started
without an end, as after a crash, and is settled by `ido resume`.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.1
"""How often a run waiting for a call looks whether it should stop."""

_stop = threading.Event()
_by: list[str] = []
"""The name of the signal `stop()` was called for, if it was told one."""


class Stopped(KeyboardInterrupt):
    """This run was stopped because the process is being interrupted."""


class Terminated(KeyboardInterrupt):
    """The process was asked to end (SIGTERM from systemd, docker or Kubernetes; SIGHUP
    from a closed terminal): it ends as on Ctrl-C, its runs interrupted and a shell step's
    process killed (by default it died at once, and the step's process finished its side
    effect after it), with exit code 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


STOPPING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that stop ido's runs (SIGINT as KeyboardInterrupt, the others `Terminated`)."""


def terminate(signum: int, frame: object) -> None:
    """The handler of SIGTERM and SIGHUP: raise `Terminated` in the main thread."""
    raise Terminated(signum)


STEPS = "ido_steps"
"""The attribute of a KeyboardInterrupt that holds the steps it cut short (`cut_short`)."""


def cut_short(interrupt: KeyboardInterrupt, steps: list[tuple[int, str, bool]]) -> None:
    """Name on `interrupt` the steps in flight it cut short, each (step, capability,
    whether it is idempotent), for the command to say which and what `ido resume` does
    with them; the first run to say so keeps its word (runs side by side each raise one)."""
    if steps and not hasattr(interrupt, STEPS):
        setattr(interrupt, STEPS, steps)


def steps_cut(interrupt: BaseException) -> list[tuple[int, str, bool]]:
    """The steps `interrupt` cut short (`cut_short`): none when it came between steps."""
    return list(getattr(interrupt, STEPS, []))


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The exit code of a command stopped by `interrupt`: 128 + the signal's number."""
    return 128 + interrupt.signum if isinstance(interrupt, Terminated) else 130


def stop(interrupt: KeyboardInterrupt | None = None) -> None:
    """Make every run of this process stop at its next chance; `interrupt`: the signal
    that stops them (each run's `Stopped` names it, `signal_of`)."""
    if interrupt is not None and not _by:
        _by.append(signal_of(interrupt) or "SIGINT")
    _stop.set()


def reset() -> None:
    """Let runs go on again (a new command in the same process: tests, embedding)."""
    _stop.clear()
    _by.clear()


def signal_of(interrupt: KeyboardInterrupt) -> str | None:
    """The name of the signal that raised `interrupt` (`SIGTERM`, `SIGHUP`, `SIGINT` for
    Ctrl-C); None for a run stopped with no signal named (a Temporal worker leaving)."""
    if isinstance(interrupt, Terminated):
        return signal.Signals(interrupt.signum).name
    if isinstance(interrupt, Stopped):
        return _by[0] if _by else None
    return "SIGINT"


def check() -> None:
    if _stop.is_set():
        raise Stopped("stopped: the process is being interrupted")


def coming(seconds: float) -> bool:
    """Whether `stop()` was called or comes within `seconds`."""
    return _stop.wait(seconds)


def sleep(seconds: float) -> None:
    """`time.sleep`, cut short by `stop()`."""
    if _stop.wait(seconds):
        check()


def get(replies: queue.SimpleQueue[T], timeout: float) -> T:
    """`replies.get(timeout=timeout)`, cut short by `stop()` (queue.Empty on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return replies.get(timeout=max(0.0, min(POLL_SECONDS, deadline - time.monotonic())))
        except queue.Empty:
            check()
            if time.monotonic() >= deadline:
                raise
