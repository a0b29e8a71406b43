"""The collector held off around searches keeps working at a process's edges: a thread
that cannot start, a fork while another thread holds the count, debugging tools that list
the threads. (How it is held off and let go: `test_search_speed.py`.)"""

from __future__ import annotations

import _thread
import gc
import os
from collections.abc import Callable

import pytest

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
