"""The collector's watching thread keeps to its own clock: code that replaces `time.sleep`
while a search holds the collector off does not reach it."""

from __future__ import annotations

import time

import pytest

from ido.planner import collector
from ido.planner.collector import held_off


def test_the_watcher_sleeps_on_though_time_sleep_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A test that forbids real sleeps (`time.sleep` made to raise) while a search ran had
    the watcher call the replacement once its own sleep ended: it died of the error, which
    pytest reports as an exception in a thread and so fails the test."""
    real_sleep = time.sleep

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s for real")

    with held_off():  # the watcher is running from here
        monkeypatch.setattr(time, "sleep", no_sleep)
        real_sleep(collector.LOOK_EACH * 1.5)  # its sleep ends and it sleeps again
        monkeypatch.undo()
