"""A run a signal stops records `run_interrupted`: which signal, when, the steps it cut short."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal
from ido.journal.records import Journal, Pending
from ido.loading import load_catalog
from ido.runtime import interruption, stopping
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal, StepClock


def runtime(project: Path, journal: Journal) -> LocalRuntime:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    return LocalRuntime(catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r-1")


class TerminatedAfterStart(MemoryJournal):
    """SIGTERM comes once the second step's start is committed (as ido's handler raises it:
    `Terminated` in the main thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.fired = False
        self.asked: list[str] = []

    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().append_many(run_id, events, replies)
        kinds = [kind for kind, _, _ in events]
        if not self.fired and "action_finished" in kinds and kinds[-1] == "action_started":
            self.fired = True
            raise stopping.Terminated(signal.SIGTERM)

    def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
        if kind == "run_interrupted":
            self.asked.append(kind)
        return super().append(run_id, kind, at, data)


def test_a_run_stopped_by_sigterm_records_which_signal_stopped_it(project: Path) -> None:
    """A run SIGTERM stopped ended its journal with its last step's start: nothing said when
    or why it stopped. Its last event is now `run_interrupted`, naming the signal and the
    process, stamped when it stopped."""
    journal = TerminatedAfterStart()
    rt = runtime(project, journal)
    with pytest.raises(stopping.Terminated):
        rt.run(rt.catalog.intents["ship-order"])
    last = journal.events("r-1")[-1]
    assert last.kind == "run_interrupted", [e.kind for e in journal.events("r-1")]
    assert last.data["signal"] == "SIGTERM" and last.data["process"]["pid"] > 0
    assert last.at > journal.events("r-1")[-2].at


class TerminatedInSqlite(SqliteJournal):
    """`TerminatedAfterStart`, on a journal file."""

    fired = False

    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().append_many(run_id, events, replies)
        kinds = [kind for kind, _, _ in events]
        if not self.fired and "action_finished" in kinds and kinds[-1] == "action_started":
            self.fired = True
            raise stopping.Terminated(signal.SIGTERM)


def test_a_run_interrupted_so_is_resumed_as_before_and_its_journal_verifies(
    project: Path,
) -> None:
    """`run_interrupted` changes nothing for `ido resume`: it settles the step cut short; the journal's hash chain holds (`ido verify`), and `ido
    explain` says when and why the run stopped."""
    path = project / ".ido" / "ido.db"
    with TerminatedInSqlite(path) as store:
        rt = runtime(project, store)
        with pytest.raises(stopping.Terminated):
            rt.run(rt.catalog.intents["ship-order"])
        assert store.events("r-1")[-1].kind == "run_interrupted"
        report = runtime(project, store).resume("r-1")
        resumed = next(e for e in store.events("r-1") if e.kind == "run_resumed")
    # the step cut short is settled as one interrupted: nothing observes whether it was
    # made (not idempotent), and a person is asked
    assert resumed.data["interrupted_steps"] == [2] and report.outcome == "blocked"
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["explain", "r-1"])
    assert "interrupted by SIGTERM, left for ido resume" in result.output, result.output


class Blocked(TerminatedAfterStart):
    """A journal whose write of `run_interrupted` never ends (a disk that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.never = threading.Event()

    def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
        if kind != "run_interrupted":
            return super().append(run_id, kind, at, data)
        self.asked.append(kind)
        self.never.wait()
        return 0


class Failing(TerminatedAfterStart):
    """A journal that fails the write of `run_interrupted` (a full disk)."""

    def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
        if kind != "run_interrupted":
            return super().append(run_id, kind, at, data)
        self.asked.append(kind)
        raise OSError("No space left on device")


@pytest.mark.parametrize("journal", [Blocked, Failing])
def test_a_write_of_run_interrupted_that_blocks_or_fails_does_not_keep_the_run_from_stopping(
    project: Path, monkeypatch: pytest.MonkeyPatch, journal: type[TerminatedAfterStart]
) -> None:
    """The write is tried, and a journal that fails it or hangs in it (for at most
    `RECORD_SECONDS`) still lets the run stop with the signal that stopped it."""
    monkeypatch.setattr(interruption, "RECORD_SECONDS", 0.05)
    store = journal()
    rt = runtime(project, store)
    try:
        with pytest.raises(stopping.Terminated):
            rt.run(rt.catalog.intents["ship-order"])
        assert store.asked == ["run_interrupted"]
        assert store.events("r-1")[-1].kind == "action_started"
    finally:
        if isinstance(store, Blocked):
            store.never.set()


def test_a_run_stopped_with_no_signal_named_records_none(project: Path) -> None:
    """A run stopped by `stopping.stop()` with no signal (a Temporal worker leaving, whose
    workflow records it) records no `run_interrupted`."""
    stopping.stop()
    try:
        journal = TerminatedAfterStart()
        rt = runtime(project, journal)
        with pytest.raises(stopping.Stopped):
            rt.run(rt.catalog.intents["ship-order"])
        assert journal.asked == []
    finally:
        stopping.reset()


def test_a_write_given_up_for_a_journal_another_process_locks_does_not_hold_its_close(
    tmp_path: Path,
) -> None:
    """While another process held the journal's write lock, the `run_interrupted` given up
    after its bound still held the journal's connection, waiting (two minutes) for that
    lock, and the journal's `close` as the process ended waited with it: the bound did not
    bound the exit. It is now written on a connection of its own, and the close goes on."""
    path = tmp_path / "ido.db"
    store = SqliteJournal(path)
    store.start_run("r-1", "ship-order", "2026-01-01T00:00:00Z", {})
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's write, under way
    try:
        data = {"signal": "SIGTERM"}
        assert not interruption.record_interruption(store, "r-1", "2026-01-01T00:00:01Z", data, 0.2)
        closing = threading.Thread(target=store.close, daemon=True)
        closing.start()
        closing.join(60)  # (the write left behind waited 120 s for the lock)
        assert not closing.is_alive()
        for left in threading.enumerate():  # the write gives up while the lock is held
            if left.name == "ido:interrupted":
                left.join(60)
                assert not left.is_alive()
    finally:
        other.rollback()
        other.close()
    with SqliteJournal(path) as again:
        assert [e.kind for e in again.events("r-1")] == ["run_started"]


def test_run_interrupted_is_not_written_to_a_journal_file_put_in_its_place(
    tmp_path: Path,
) -> None:
    """The journal's own connection refuses to commit to a file removed or replaced since it
    was opened; `run_interrupted`, written on a connection of its own, must not go to the
    file now at that path (a restored backup, a new journal) either."""
    path = tmp_path / "ido.db"
    with SqliteJournal(path) as store:
        store.start_run("r-1", "ship-order", "2026-01-01T00:00:00Z", {})
        path.unlink()
        with SqliteJournal(path) as replacing:
            replacing.start_run("r-2", "ship-order", "2026-01-01T00:00:00Z", {})
        data = {"signal": "SIGTERM"}
        assert not interruption.record_interruption(store, "r-1", "2026-01-01T00:00:01Z", data)
    with SqliteJournal(path) as now:
        assert [r.id for r in now.runs(10)] == ["r-2"]
        assert now.events("r-1") == []
