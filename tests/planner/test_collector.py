"""The collector held off around searches keeps working at a process's edges: a thread
that cannot start, a fork while another thread holds the count, debugging tools that list
the threads. (How it is held off and let go: `test_search_speed.py`.)"""

from __future__ import annotations

import _thread
import gc
import os
import signal
import sys
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
    """A watching thread of the child's own collects what is left in cycles during its own
    long block."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    # Again as soon as one ends: in a process of thousands of tests a collection
    # takes long, and the next would wait it out 50 times (`COLLECTING_MOST`).
    monkeypatch.setattr(collector, "COLLECTING_MOST", 1.0)
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


@forks
@forking_with_threads
def test_a_child_forked_during_another_threads_search_has_the_collector_on() -> None:
    """The child kept the count of a block whose thread it does not have: the collector
    stayed off there for good (collecting each `HOLD_MOST` seconds, by the watcher alone)."""
    inside, done = threading.Event(), threading.Event()

    def search() -> None:
        with held_off():
            inside.set()
            done.wait(30)

    other = threading.Thread(target=search)
    other.start()
    assert inside.wait(5)
    try:
        status = in_a_child(lambda: gc.isenabled() and collector._hold.count == 0)
    finally:
        done.set()
        other.join(5)
    assert status == 0
    assert gc.isenabled()


@forks
@forking_with_threads
def test_a_child_forked_inside_its_own_block_lets_go_as_the_block_ends() -> None:
    """The forking thread's own block goes on in the child: held off until it ends."""

    def plan() -> bool:
        held = not gc.isenabled()
        return held and collector._hold.count == 1

    with held_off():
        status = in_a_child(plan)
        child = os.fork()
        if child == 0:  # pragma: no cover (the child's lines are not traced)
            os._exit(0 if not gc.isenabled() else 1)
        assert os.waitpid(child, 0)[1] == 0
    assert status == 0
    assert gc.isenabled()


@forks
@forking_with_threads
def test_a_child_forked_inside_its_own_block_collects_while_the_block_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child's watcher was started by a block beginning there alone: the block the
    fork was made in went on unwatched, its cycles left for good while it lasted."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    # Again as soon as one ends: in a process of thousands of tests a collection
    # takes long, and the next would wait it out 50 times (`COLLECTING_MOST`).
    monkeypatch.setattr(collector, "COLLECTING_MOST", 1.0)

    class Cyclic:
        me: object

    def goes_on() -> bool:
        garbage = Cyclic()
        garbage.me = garbage
        gone = weakref.ref(garbage)
        del garbage
        return collected_soon(gone) and not gc.isenabled()

    with held_off():
        status = in_a_child(goes_on)
    assert status == 0
    assert gc.isenabled()


@forks
@forking_with_threads
def test_a_child_forked_with_the_collector_turned_off_by_its_owner_keeps_it_off() -> None:
    """Held off by nobody, the collector is left as the program set it."""
    with held_off():
        pass
    gc.disable()
    try:
        assert in_a_child(lambda: not gc.isenabled()) == 0
    finally:
        gc.enable()


def test_a_watcher_that_ended_on_an_error_is_started_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Had the watching thread ever raised, no block of the process started another, and
    a long hold was never collected again."""
    started: list[object] = []
    reported = threading.Event()  # the thread's error, as Python reports it when it ends

    def sleep_failing(seconds: float) -> None:
        raise RuntimeError("the watcher's sleep failed")

    real_start = _thread.start_new_thread

    def counted(function: Callable[[], None], arguments: tuple[()]) -> int:
        started.append(function)
        return real_start(function, arguments)

    monkeypatch.setattr(sys, "unraisablehook", lambda _: reported.set())
    monkeypatch.setattr(collector._hold, "watching", None)
    monkeypatch.setattr(collector, "_sleep", sleep_failing)
    monkeypatch.setattr(_thread, "start_new_thread", counted)
    with held_off():
        pass
    assert reported.wait(5)
    assert collector._hold.watching is None
    monkeypatch.setattr(collector, "_sleep", collector.time.sleep)
    with held_off():
        pass
    assert len(started) == 2
    assert collector._hold.watching == os.getpid()


def test_a_collection_that_takes_long_is_made_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each collection walks every object the searches made, the interpreter held: each
    10 s, about 1 s of a long search went to it. After one that took `t`, the next waits
    `t / COLLECTING_MOST` at least."""
    monkeypatch.setattr(collector, "HOLD_MOST", 0.0)  # as if held off that long already
    made: list[float] = []
    real = gc.collect
    waited = threading.Event()

    def slow_collect(generation: int = 2) -> int:
        made.append(collector.time.monotonic())
        waited.wait(0.05)  # a collection of a big heap: 0.05 s, so the next after 2.5 s
        return real(generation)

    monkeypatch.setattr(gc, "collect", slow_collect)
    with held_off():
        for _ in range(1000):  # the watcher looks once a second at most
            if made:
                break
            waited.wait(0.01)
        assert made
        waited.wait(1.0)
    assert len(made) <= 2, made  # (one each ~10 ms before, as often as the watcher looked)
