"""The collector held off around searches keeps working at a process's edges: a thread
that cannot start, a fork while another thread holds the count, debugging tools that list
the threads. (How it is held off and let go: `test_search_speed.py`.)"""

from __future__ import annotations

import _thread
import gc
import os
import signal
import threading
import weakref
from collections.abc import Callable

import pytest
from test_search_speed import collected_soon

from ido.planner import collector
from ido.planner.collector import held_off

forks = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
# Python 3.12 warns that a fork with threads may deadlock the child: what these tests check.
forking_with_threads = pytest.mark.filterwarnings("ignore:This process:DeprecationWarning")


def test_a_watcher_that_cannot_start_leaves_the_collector_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where no thread can start (a process at its limit of threads), the block fails but
    the collector is on again, not off for the rest of the process; the next block tries
    to start the watcher again."""
    tried: list[object] = []

    def refused(function: Callable[[], None], arguments: tuple[()]) -> int:
        tried.append(function)
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(collector._hold, "watching", None)
    monkeypatch.setattr(_thread, "start_new_thread", refused)
    try:
        with pytest.raises(RuntimeError, match="can't start new thread"), held_off():
            pass
        assert gc.isenabled()
        assert collector._hold.count == 0
        with pytest.raises(RuntimeError, match="can't start new thread"), held_off():
            pass
        assert len(tried) == 2
        assert gc.isenabled()
    finally:
        gc.enable()


def test_the_watching_thread_is_named_for_who_lists_threads() -> None:
    """threading.enumerate (and py-spy, which reads its names) shows it as ido-collector."""
    with held_off():
        pass
    waited = threading.Event()
    for _ in range(500):
        if "ido-collector" in {t.name for t in threading.enumerate()}:
            break
        waited.wait(0.01)
    assert "ido-collector" in {t.name for t in threading.enumerate()}


def in_a_child(work: Callable[[], bool]) -> int:
    """Fork, do `work` in the child (killed after 20 s if it hangs) and return its exit
    status: 0 if it returned true."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's lines are not traced)
        signal.alarm(20)
        try:
            ok = work()
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    return os.waitpid(pid, 0)[1]


@forks
@forking_with_threads
def test_a_child_forked_while_another_thread_holds_the_lock_does_not_wait_for_it() -> None:
    """The watcher looks at the hold under its lock once a second, and blocks take it as
    they begin and end: a fork at that moment gave the child a lock held by a thread it
    does not have, and its first search waited for good."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with collector._hold.lock:
            holding.set()
            release.wait(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)

    def plan() -> bool:
        with held_off():
            return not gc.isenabled()

    try:
        status = in_a_child(plan)
    finally:
        release.set()
        holder.join(5)
    assert status == 0


@forks
@forking_with_threads
def test_a_child_forked_during_another_threads_search_still_collects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child keeps the count of a block whose thread it does not have, so the hold is
    never let go there: a watching thread of its own still collects what is left in cycles,
    during its own long block too."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    inside, done = threading.Event(), threading.Event()

    def search() -> None:
        with held_off():
            inside.set()
            done.wait(30)

    other = threading.Thread(target=search)
    other.start()
    assert inside.wait(5)

    class Cyclic:
        me: object

    def long_block() -> bool:
        with held_off():
            garbage = Cyclic()
            garbage.me = garbage
            gone = weakref.ref(garbage)
            del garbage
            return collected_soon(gone)

    try:
        status = in_a_child(long_block)
    finally:
        done.set()
        other.join(5)
    assert status == 0
    assert gc.isenabled()
