"""Python's cycle collector held off while a search runs (`ido.planner.astar`).

A search makes millions of small objects that live until it ends (paths, states, the
frontier's entries) and none of them in cycles, so the collector, which walks every young
object and, as the heap grows, every object again and again, finds nothing in them to free:
it took 31 % of rovers p05's first 40,000 expansions and 13 % of gripper prob05's. Searches
may run on several threads at once (a decision's alternatives), so the collector is held
off while any of them runs and let go, as it was, when the last one ends; what other code
left in cycles meanwhile is collected then. Where the hold lasts (searches that keep
overlapping on a worker's threads, so none is ever the last; a CP-SAT decision with a long
`solve_time`), a watching thread collects each `HOLD_MOST` seconds the collector stays
held off (less often where collecting takes long: `COLLECTING_MOST`), so the garbage of
other threads does not pile up for good.
"""

from __future__ import annotations

import _thread
import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

HOLD_MOST = 10.0
"""Seconds the collector may stay held off before the watching thread collects (a full
collection: it walks the held blocks' objects too)."""

COLLECTING_MOST = 0.02
"""The share of the time the watching thread's collections may take: after one that took
`t` seconds, the next waits `t / COLLECTING_MOST` seconds at least (`HOLD_MOST` at the
least). A collection walks every object the searches have made, and holds the interpreter
while it does: each 10 s, about 1 s on depot p03's search at 200,000 expansions (11 % of
its CPU); searches with millions of paths would spend more in it than in searching."""

LOOK_EACH = 1.0
"""Seconds the watching thread sleeps at most between looks at how long the hold lasts."""

_sleep = time.sleep
"""The watching thread's sleep, taken when ido is imported: code that replaces `time.sleep`
for a while (a test that forbids real sleeps, a library's virtual clock) would otherwise
have it called on the watching thread, which then died of what it raised."""


class _Hold:
    """How many blocks hold the collector off, and whether it was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.watching: int | None = None
        """The process whose watching thread runs (`_watch`): none yet, a forked child's
        parent, whose threads the child does not have, or none again after the watcher
        ended on an error. Looked at as every block begins."""
        self.count = 0
        self.by_thread: dict[int, int] = {}
        """The blocks each thread is in: a child forked while another thread's block ran
        keeps only its own thread's (`_forked`), where it kept every thread's count and the
        collector stayed off there for good, let go by none of its threads."""
        self.was_enabled = False
        self.since = 0.0
        """When the collector was held off, or last collected while held off."""
        self.wait = HOLD_MOST
        """Seconds from `since` to the next collection: `HOLD_MOST`, or longer after a
        collection that took long (`COLLECTING_MOST`)."""


_hold = _Hold()


def _watch() -> None:
    """Collect each `HOLD_MOST` seconds while some block holds the collector off: a single
    long block would otherwise leave every other thread's cycles uncollected until it ends
    (RSS grew by gigabytes while a CP-SAT decision ran for minutes). It looks at least once
    a second rather than being woken: waking it as each block begins cost small problems,
    planned in milliseconds, the wait for the interpreter's lock."""
    threading.current_thread().name = "ido-collector"  # (for threading.enumerate, py-spy)
    try:
        while True:
            with _hold.lock:
                left = _hold.since + _hold.wait - time.monotonic() if _hold.count else LOOK_EACH
                due = _hold.count > 0 and left <= 0 and _hold.was_enabled
            if due:
                began = time.monotonic()
                gc.collect()
                ended = time.monotonic()
                with _hold.lock:
                    _hold.since = ended
                    _hold.wait = max(HOLD_MOST, (ended - began) / COLLECTING_MOST)
                left = _hold.wait
            _sleep(min(max(left, 0.01), LOOK_EACH))
    finally:  # (ended on an error: the next block starts another, where none would have)
        with _hold.lock:
            if _hold.watching == os.getpid():
                _hold.watching = None


@contextmanager
def held_off() -> Iterator[None]:
    """Hold the cycle collector off in the block; nested and threaded blocks count, and it
    is enabled again (if it was) when the last one ends."""
    with _hold.lock:
        if _hold.watching != os.getpid():
            # Started before anything changes: where no thread can start (a process at its
            # limit of threads), the error leaves the collector as it was and the next
            # block tries again. Not `threading.Thread`, whose `start` waits until the
            # thread runs: the first block of a process, a small problem's planning of a
            # few milliseconds, waited 4-18 ms on a busy machine for a thread it needs only
            # after `HOLD_MOST` seconds. (Like a daemon thread, it does not keep the
            # interpreter from exiting.)
            _thread.start_new_thread(_watch, ())
            _hold.watching = os.getpid()
        if _hold.count == 0:
            _hold.was_enabled = gc.isenabled()
            _hold.since = time.monotonic()
            _hold.wait = HOLD_MOST
            gc.disable()
        _hold.count += 1
        me = threading.get_ident()
        _hold.by_thread[me] = _hold.by_thread.get(me, 0) + 1
    try:
        yield
    finally:
        with _hold.lock:
            _hold.count -= 1
            if _hold.by_thread[me] == 1:
                del _hold.by_thread[me]
            else:
                _hold.by_thread[me] -= 1
            if _hold.count == 0 and _hold.was_enabled:
                gc.enable()


def _forked() -> None:
    """In a forked child: only the forking thread's blocks hold the collector off, the
    others' threads are not there to end theirs; with none, it is on again if it was. With
    some, the child starts a watcher of its own (the parent's thread is not there): its
    block went on unwatched, a new block alone started one."""
    try:
        mine = _hold.by_thread.get(threading.get_ident(), 0)
        held, _hold.count = _hold.count, mine
        _hold.by_thread = {threading.get_ident(): mine} if mine else {}
        if held and not mine and _hold.was_enabled:
            gc.enable()
        if mine:
            try:
                _thread.start_new_thread(_watch, ())
                _hold.watching = os.getpid()
            except RuntimeError:  # (no thread to be had: the next block tries again)
                pass
    finally:
        _hold.lock.release()


if hasattr(os, "register_at_fork"):
    # A fork while another thread holds the lock (the watcher looking, a block beginning or
    # ending) would give the child a lock held by a thread it does not have: its first
    # block would wait for good. The fork waits for the lock and the child gets it free,
    # with the hold of its one thread alone (`_forked`).
    os.register_at_fork(
        before=_hold.lock.acquire,
        after_in_parent=_hold.lock.release,
        after_in_child=_forked,
    )
