"""When the journal commits: shared commits between threads, and step outcomes on disk in time.

Every test here reads the SQLite file from outside the journal (a second connection, or the
binding itself), as a process resuming after a crash would.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import ido.journal.connections as connections
from ido.errors import JournalError
from ido.journal import SqliteJournal, stamp
from ido.loading import load_catalog
from ido.model import Capability
from ido.runtime.bindings import load_callable, perform
from ido.runtime.context import ActionContext
from ido.runtime.local import LocalRuntime
from ido.testing import StepClock
from tests.runtime.test_parallel_steps import PARCEL


class CountingJournal(SqliteJournal):
    commits = 0

    def _commit(self, batch: list[Any]) -> None:
        self.commits += 1
        super()._commit(batch)


def _queued(journal: SqliteJournal, count: int) -> None:
    """Wait until `count` writes wait for the journal (which the test holds)."""
    deadline = time.monotonic() + 10
    while len(journal._queue) < count:
        assert time.monotonic() < deadline, "the writes never queued"
        time.sleep(0.005)


def test_writes_queued_while_the_journal_is_busy_share_one_commit(tmp_path: Path) -> None:
    """Eight threads that write while another holds the connection are committed together, each in full."""
    journal = CountingJournal(tmp_path / "j.db")
    for n in range(8):
        journal.start_run(f"r{n}", "intent", "2026-11-23T00:00:00.000+00:00", {})
    before = journal.commits
    events = [("observed", "2026-11-23T00:00:01.000+00:00", {"n": i}) for i in range(3)]
    with journal._lock:  # busy, as while another thread's commit is on its way to disk
        threads = [
            threading.Thread(target=journal.append_many, args=(f"r{n}", events)) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        _queued(journal, 8)
    for thread in threads:
        thread.join()
    assert journal.commits - before == 1
    journal.close()
    with sqlite3.connect(tmp_path / "j.db") as db:
        rows = db.execute("SELECT run_id, seq, kind FROM events ORDER BY run_id, seq").fetchall()
    assert rows == [
        (f"r{n}", seq, kind)
        for n in range(8)
        for seq, kind in enumerate(["run_started", "observed", "observed", "observed"], 1)
    ]


def test_a_write_that_fails_in_a_shared_commit_fails_alone(tmp_path: Path) -> None:
    """A run id used twice raises in its own thread (at its start, or at its next write when
    the start was queued without waiting), and nothing of it lands in the run that has the
    id; the writes committed beside it are kept."""
    journal = SqliteJournal(tmp_path / "j.db")
    journal.start_run("taken", "intent", "2026-11-23T00:00:00.000+00:00", {})
    errors: dict[str, BaseException] = {}
    event = [("observed", "2026-11-23T00:00:02.000+00:00", {"n": 1})]

    def start(run_id: str) -> None:
        try:
            journal.start_run(run_id, "intent", "2026-11-23T00:00:01.000+00:00", {"id": run_id})
            journal.append_many(run_id, event)
        except BaseException as exc:
            errors[run_id] = exc

    with journal._lock:
        threads = [threading.Thread(target=start, args=(r,)) for r in ("a", "taken", "b")]
        for thread in threads:
            thread.start()
        _queued(journal, 3)
    for thread in threads:
        thread.join()
    assert list(errors) == ["taken"] and isinstance(errors["taken"], JournalError)
    assert "already exists" in str(errors["taken"])
    assert sorted(r.id for r in journal.runs()) == ["a", "b", "taken"]
    assert [e.kind for e in journal.events("taken")] == ["run_started"]
    assert journal.events("a")[0].data == {"id": "a"}
    assert [e.kind for e in journal.events("b")] == ["run_started", "observed"]
    journal.close()


class HeldJournal(SqliteJournal):
    """Runs `after_first` when its first commit is done, and holds its second commit open
    until `release` is set."""

    after_first: Any = None
    release = threading.Event()
    commits = 0
    armed = False

    def _commit(self, batch: list[Any]) -> None:
        self.commits += self.armed
        if self.commits == 2:
            assert self.release.wait(10)
        super()._commit(batch)
        if self.commits == 1 and self.after_first is not None:
            self.after_first()


def test_a_committed_write_goes_on_while_the_next_commit_is_under_way(tmp_path: Path) -> None:
    """A thread whose write is committed returns at once, not once the connection is next
    free: it waits for its own commit, never for someone else's."""
    journal = HeldJournal(tmp_path / "j.db")
    journal.release = threading.Event()
    for run_id in ("lead", "follow", "next"):
        journal.start_run(run_id, "intent", "2026-11-23T00:00:00.000+00:00", {})
    journal.armed = True
    event: list[tuple[str, str, dict[str, Any]]] = [
        ("observed", "2026-11-23T00:00:01.000+00:00", {})
    ]
    later = threading.Thread(target=journal.append_many, args=("next", event))

    def queue_the_next_write() -> None:  # arrives during the first commit, leads the second
        later.start()
        _queued(journal, 1)

    journal.after_first = queue_the_next_write
    with journal._lock:
        lead = threading.Thread(target=journal.append_many, args=("lead", event))
        lead.start()
        _queued(journal, 1)
        follow = threading.Thread(target=journal.append_many, args=("follow", event))
        follow.start()
        _queued(journal, 2)
    follow.join(5)
    lead.join(5)
    assert not follow.is_alive() and not lead.is_alive(), "a committed write waited"
    deadline = time.monotonic() + 10
    while journal.commits < 2:  # the next write leads the second commit, held open
        assert time.monotonic() < deadline, "the next write never led a commit"
        time.sleep(0.005)
    assert later.is_alive()
    journal.release.set()
    later.join(5)
    assert [e.kind for e in journal.events("next")] == ["run_started", "observed"]
    journal.close()


def _run_ids(path: Path) -> list[str]:
    """The runs committed to the file, read on a connection of its own."""
    with sqlite3.connect(path) as db:
        return sorted(r[0] for r in db.execute("SELECT id FROM runs"))


def test_a_start_queued_behind_a_commit_returns_at_once_and_lands_before_the_runs_next_write(
    tmp_path: Path,
) -> None:
    """A run's start does not wait for a commit under way: it is queued (False: not on
    disk yet), and committed no later than the run's next write from the same thread. A
    start whose id is taken fails that thread's writes of the run up to its finish_run,
    which add nothing to the run that has the id, while that run's own writes go on."""
    path = tmp_path / "j.db"
    journal = SqliteJournal(path)
    at = "2026-11-23T00:00:00.000+00:00"
    assert journal.start_run("first", "intent", at, {}) is True  # no leader: on disk
    assert _run_ids(path) == ["first"]
    event: list[tuple[str, str, dict[str, Any]]] = [("observed", at, {})]
    with journal._lock:  # a commit under way
        lead = threading.Thread(target=journal.append_many, args=("first", event))
        lead.start()
        _queued(journal, 1)
        assert journal.start_run("second", "intent", at, {"n": 2}) is False
        assert journal.start_run("first", "intent", at, {"n": 3}) is False
        assert len(journal._queue) == 3 and _run_ids(path) == ["first"]
    lead.join(5)
    assert not lead.is_alive()
    journal.append_many("second", event)
    assert _run_ids(path) == ["first", "second"]
    twice: list[tuple[str, str, dict[str, Any]]] = [("observed", at, {"n": 3})]
    with pytest.raises(JournalError, match="run first already exists"):
        journal.append_many("first", twice)
    own = threading.Thread(target=journal.append_many, args=("first", [("observed", at, {"n": 1})]))
    own.start()  # the thread carrying the real run
    own.join(5)
    with pytest.raises(JournalError, match="run first already exists"):
        journal.finish_run("first", "achieved", None, 0.0, 1.0, at)
    assert journal._starts() == {}  # forgotten at its finish_run
    assert [e.data for e in journal.events("first")] == [{}, {}, {"n": 1}]
    assert journal.run("first").outcome is None
    assert [e.kind for e in journal.events("second")] == ["run_started", "observed"]
    journal.close()


class StartingJournal(SqliteJournal):
    """Queues a run's start from inside its first commit, as a thread would during it."""

    started = False

    def _commit(self, batch: list[Any]) -> None:
        super()._commit(batch)
        if not self.started:
            self.started = True
            self.start_run("late", "intent", "2026-11-23T00:00:01.000+00:00", {})


def test_a_start_nobody_waits_for_is_committed_by_the_leader_before_it_returns(
    tmp_path: Path,
) -> None:
    """When only starts nobody waits for are queued after a commit, the leader commits
    them too: none is left in the queue for a write that may never come."""
    path = tmp_path / "j.db"
    journal = StartingJournal(path)
    journal.start_run("first", "intent", "2026-11-23T00:00:00.000+00:00", {})
    assert journal.started and journal._queue == [] and not journal._leading
    assert _run_ids(path) == ["first", "late"]
    journal.close()


class InterruptedJournal(SqliteJournal):
    """Its first commit queues a run's start, then is interrupted (Ctrl-C)."""

    interrupted = False

    def _commit(self, batch: list[Any]) -> None:
        if not self.interrupted:
            self.interrupted = True
            self.start_run("late", "intent", "2026-11-23T00:00:01.000+00:00", {})
            raise KeyboardInterrupt
        super()._commit(batch)


def test_a_leader_interrupted_leaves_its_queued_starts_to_the_next_write(tmp_path: Path) -> None:
    """Ctrl-C in a commit: the leader commits nothing more and leads no more; the start
    queued meanwhile is committed by the next write, before it."""
    path = tmp_path / "j.db"
    journal = InterruptedJournal(path)
    with pytest.raises(KeyboardInterrupt):
        journal.start_run("first", "intent", "2026-11-23T00:00:00.000+00:00", {})
    assert not journal._leading and len(journal._queue) == 1
    journal.append_many("late", [("observed", "2026-11-23T00:00:02.000+00:00", {})])
    assert _run_ids(path) == ["late"]
    assert [e.kind for e in journal.events("late")] == ["run_started", "observed"]
    journal.close()


class _Interrupting:
    """The journal's connection lock, but Ctrl-C lands as the leader first takes it."""

    def __init__(self, lock: Any) -> None:
        self.lock, self.fired = lock, False

    def __enter__(self) -> Any:
        if not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return self.lock.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.lock.__exit__(*exc)


def test_ctrl_c_as_the_leader_takes_the_connection_leaves_no_write_waiting(
    tmp_path: Path,
) -> None:
    """Interrupted before it took the queue, the leader takes its own write out of it and
    leads no more: the next write, from another thread, commits at once."""
    journal = SqliteJournal(tmp_path / "j.db")
    journal.start_run("r", "intent", "2026-11-23T00:00:00.000+00:00", {})
    real = journal._lock
    journal._lock = _Interrupting(real)  # type: ignore[assignment]
    with pytest.raises(KeyboardInterrupt):
        journal.append("r", "lost", "2026-11-23T00:00:01.000+00:00", {})
    assert not journal._leading and journal._queue == []
    journal._lock = real
    later = threading.Thread(
        target=journal.append, args=("r", "kept", "2026-11-23T00:00:02.000+00:00", {})
    )
    later.start()
    later.join(5)
    assert not later.is_alive(), "the next write waited for a leader that had gone"
    assert [e.kind for e in journal.events("r")] == ["run_started", "kept"]
    journal.close()


def test_stamps_are_isoformat_to_the_millisecond() -> None:
    """The journal's timestamps read as `datetime.isoformat` would write them, at the
    edges of seconds and milliseconds too."""
    rng = random.Random(7)
    moments = [0.0, 1.0, 0.9999995, 0.0004995, 1_764_000_000.9999996, -1.5, -0.0000004]
    for _ in range(20_000):
        moment = rng.uniform(0, 4e9)
        moments += [moment, round(moment, 3) + rng.choice((5e-7, -5e-7, 4.9e-7, 1e-9))]
    for moment in moments:
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
        assert stamp(moment) == expected, moment


def test_runs_on_many_threads_can_share_one_journal(project: Path) -> None:
    """Twenty runs on ten threads, one journal: every run achieved, its events numbered 1..n."""
    catalog = load_catalog(["capabilities", "policies", "intents"])
    intent = catalog.intents["ship-order"]
    outcomes: list[str] = []
    with SqliteJournal(project / "j.db") as journal:

        def work() -> None:
            runtime = LocalRuntime(catalog, journal, base=project)
            for _ in range(2):
                outcomes.append(runtime.run(intent).outcome)

        threads = [threading.Thread(target=work) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        runs = journal.runs(100)
        assert outcomes == ["achieved"] * 20 and len(runs) == 20
        for row in runs:
            seqs = [e.seq for e in journal.events(row.id)]
            assert seqs == list(range(1, len(seqs) + 1))
            assert journal.events(row.id)[-1].kind == "run_finished"


def test_runs_side_by_side_each_add_what_they_learnt_to_the_shared_beliefs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten runs at once, each failing on the cheap provider once: each run stored its own
    view of the beliefs as it ended (those at its start, plus its own outcomes), so the
    last to end won, and the journal remembered one failure or two instead of ten."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    catalog = load_catalog(["capabilities", "policies", "intents"])
    intent = catalog.intents["ship-order"]
    with SqliteJournal(project / "j.db") as journal:
        threads = [
            threading.Thread(
                target=LocalRuntime(catalog, journal, base=project).run, args=(intent,)
            )
            for _ in range(10)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failed = [
            e
            for row in journal.runs()
            for e in journal.events(row.id)
            if e.kind == "action_finished" and not e.data["ok"]
        ]
        # A run that starts after others ended learnt from them and may not try cheappay.
        assert {e.data["capability"] for e in failed} == {"pay-cheap-eu"} and len(failed) > 1
        # Seconds apart, against a half-life of 15 minutes: each failure counts nearly whole.
        stored = journal.health()["pay-cheap-eu"].failures
        assert stored == pytest.approx(len(failed), abs=0.1)


def test_a_write_sqlite_refuses_is_a_journal_error_naming_the_file(tmp_path: Path) -> None:
    """A read-only journal (here: SQLite's query_only, as root may write any file) raised
    sqlite3.OperationalError, a traceback out of `ido run`."""
    with SqliteJournal(tmp_path / "j.db") as journal:
        journal._db.execute("PRAGMA query_only = 1")
        with pytest.raises(JournalError, match=r"^journal .*j\.db: attempt to write a readonly"):
            journal.start_run("r1", "i", "2026-12-06T00:00:00.000+00:00", {})
            journal.append("r1", "run_started", "2026-12-06T00:00:00.000+00:00", {})


PEEK = """\
import sqlite3


def call(ctx):
    db = sqlite3.connect('j.db')
    done = db.execute(
        "SELECT count(*) FROM events WHERE run_id=? AND kind='action_finished'", (ctx.run_id,)
    ).fetchone()[0]
    db.close()
    if done != ctx.step - 1:
        raise RuntimeError(f"step {ctx.step} found {done} earlier outcomes on disk")
    return None
"""


def test_each_step_finds_the_outcomes_of_the_steps_before_it_on_disk(project: Path) -> None:
    """A step's outcome waits for the next commit, but that commit comes before the next side effect."""
    (project / "fakesvc" / "peek.py").write_text(PEEK)
    catalog_file = project / "capabilities" / "catalog.yaml"
    catalog_file.write_text(
        catalog_file.read_text().replace("fakesvc.impl:call", "fakesvc.peek:call")
    )
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(project / "j.db") as journal:
        runtime = LocalRuntime(catalog, journal, base=project, clock=StepClock())
        report = runtime.run(catalog.intents["ship-order"])
        assert report.outcome == "achieved", report.reason
        finished = [e for e in journal.events(report.run_id) if e.kind == "action_finished"]
    assert [e.data["ok"] for e in finished] == [True, True]


WATCH = """\
import sqlite3
import time


def call(ctx):
    if ctx.capability != "label":
        return None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        db = sqlite3.connect('j.db')
        row = db.execute(
            "SELECT count(*) FROM events WHERE run_id=? AND kind='action_finished' "
            "AND data LIKE '%\\"pack\\"%'", (ctx.run_id,)
        ).fetchone()
        db.close()
        if row[0]:
            return {"saw_pack": True}
        time.sleep(0.02)
    raise RuntimeError("pack's outcome never reached the disk while label ran")
"""


def test_an_outcome_is_committed_while_other_steps_are_still_running(project: Path) -> None:
    """pack ends at once; label, running beside it, waits to see pack's outcome on disk."""
    (project / "capabilities" / "parcel.yaml").write_text(
        PARCEL.replace("fakesvc.meet:call", "fakesvc.watch:call")
    )
    (project / "intents" / "send-parcel.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: send-parcel}\n"
        'spec:\n  goal: ["state.parcel.sent"]\n  constraints: {deadline: 3500ms}\n'
    )
    (project / "fakesvc" / "watch.py").write_text(WATCH)
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(project / "j.db") as journal:
        runtime = LocalRuntime(catalog, journal, base=project)
        report = runtime.run(catalog.intents["send-parcel"])
        assert report.outcome == "achieved", report.reason
        outputs = {
            e.data["capability"]: e.data["output"]
            for e in journal.events(report.run_id)
            if e.kind == "action_finished"
        }
    assert outputs["label"] == {"saw_pack": True}


def _capability(reference: str, timeout: str = "5s") -> Capability:
    return Capability.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Capability",
            "metadata": {"name": "thing"},
            "spec": {
                "provider": "p",
                "effects": {"done": True},
                "timeout": timeout,
                "run": {"python": reference},
            },
        }
    )


def _context(timeout: float) -> ActionContext:
    return ActionContext("r1", "intent", "thing", "p", 1, 1, "r1/1/1", timeout, {})


THREADS = """\
import threading
import time

hung = []


def where(ctx):
    return {"thread": threading.get_ident()}


def hang(ctx):
    hung.append(threading.get_ident())
    time.sleep(1.5)
"""


def test_binding_threads_are_reused_but_never_one_still_busy_after_a_timeout(
    project: Path,
) -> None:
    """Back-to-back calls share a worker thread; one left running by a timeout gets no more calls."""
    (project / "fakesvc" / "threads.py").write_text(THREADS)
    first = perform(_capability("fakesvc.threads:where"), _context(5.0), project)
    second = perform(_capability("fakesvc.threads:where"), _context(5.0), project)
    assert first.ok and second.ok and first.output == second.output
    hung = perform(_capability("fakesvc.threads:hang", "100ms"), _context(0.1), project)
    assert not hung.ok and hung.timed_out
    busy = sys.modules["fakesvc.threads"].hung[0]
    later = [
        perform(_capability("fakesvc.threads:where"), _context(5.0), project) for _ in range(3)
    ]
    assert all(o.ok and o.output["thread"] != busy for o in later)


def test_a_remembered_binding_is_imported_again_once_its_module_is_gone(project: Path) -> None:
    """Binding functions are remembered only while their module stays imported."""
    module = project / "fakesvc" / "again.py"
    module.write_text("def call(ctx):\n    return {'v': 1}\n")
    assert load_callable("fakesvc.again:call", project)(None) == {"v": 1}
    module.write_text("def call(ctx):\n    return {'v': 2}\n")
    assert load_callable("fakesvc.again:call", project)(None) == {"v": 1}
    del sys.modules["fakesvc.again"]
    assert load_callable("fakesvc.again:call", project)(None) == {"v": 2}


def test_a_remembered_binding_follows_a_function_rebound_in_its_module(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A function patched or reloaded in its module is the one called next."""
    (project / "fakesvc" / "patched.py").write_text("def call(ctx):\n    return {'v': 1}\n")
    assert load_callable("fakesvc.patched:call", project)(None) == {"v": 1}
    monkeypatch.setattr(sys.modules["fakesvc.patched"], "call", lambda ctx: {"v": "patched"})
    assert load_callable("fakesvc.patched:call", project)(None) == {"v": "patched"}


@pytest.fixture(autouse=True)
def _forget_fakesvc_modules() -> None:
    for name in [n for n in sys.modules if n.startswith("fakesvc.")]:
        del sys.modules[name]


def test_a_run_that_stops_on_an_exception_keeps_its_outcomes_and_resume_does_not_repeat(
    project: Path,
) -> None:
    """A listener that raises (`ido run … | head` gets a broken pipe) stops the run after a
    step finished; that step's outcome is committed anyway, so resume does not pay twice."""
    catalog = load_catalog(["capabilities", "policies", "intents"])

    def listener(kind: str, data: Any) -> None:
        if kind == "action_finished":
            raise BrokenPipeError(32, "Broken pipe")

    with SqliteJournal(project / "j.db") as journal:
        runtime = LocalRuntime(catalog, journal, base=project, listener=listener)
        with pytest.raises(BrokenPipeError):
            runtime.run(catalog.intents["ship-order"])
        run_id = journal.runs()[0].id
        kinds = [e.kind for e in journal.events(run_id)]
        assert kinds[-2:] == ["action_finished", "run_released"], kinds
        report = LocalRuntime(catalog, journal, base=project).resume(run_id)
    assert report.outcome == "achieved"
    calls = (project / "calls.log").read_text().split()
    assert len([c for c in calls if c.startswith("pay-")]) == 1, calls


def test_writes_in_a_commit_that_fails_to_roll_back_all_raise(tmp_path: Path) -> None:
    """When the connection is gone under a shared commit (closed, an I/O error), every write
    in it raises; none returns as if it were on disk."""
    journal = SqliteJournal(tmp_path / "j.db")
    for run_id in "ab":
        journal.start_run(run_id, "intent", "2026-11-23T00:00:00.000+00:00", {})
    results: dict[str, str] = {}

    def write(run_id: str) -> None:
        try:
            journal.append(run_id, "observed", "2026-11-23T00:00:01.000+00:00", {})
            results[run_id] = "returned"
        except Exception as exc:
            results[run_id] = type(exc).__name__

    with journal._lock:
        threads = [threading.Thread(target=write, args=(r,)) for r in "ab"]
        for thread in threads:
            thread.start()
        _queued(journal, 2)
        journal._db.close()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["a", "b"] and "returned" not in results.values(), results


def test_a_write_waits_for_another_process_s_write_lock_then_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holding SQLite's write lock past several busy-handler rounds is
    waited for; past `BUSY_SECONDS` the write fails with a JournalError, nothing written."""
    monkeypatch.setattr(connections, "BUSY_STEP_SECONDS", 0.05)
    monkeypatch.setattr(connections, "BUSY_SECONDS", 0.3)
    journal = SqliteJournal(tmp_path / "j.db")
    journal.start_run("r", "intent", "2026-11-23T00:00:00.000+00:00", {})
    other = sqlite3.connect(tmp_path / "j.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process writing, and writing, and writing
    with pytest.raises(JournalError, match="busy: other processes have held its write lock"):
        journal.append("r", "observed", "2026-11-23T00:00:01.000+00:00", {})
    monkeypatch.setattr(connections, "BUSY_SECONDS", 10.0)
    release = threading.Timer(0.4, lambda: other.execute("COMMIT"))  # several rounds later
    release.start()
    journal.append("r", "observed", "2026-11-23T00:00:02.000+00:00", {"after": "waiting"})
    release.join()
    assert [e.data for e in journal.events("r")] == [{}, {"after": "waiting"}]
    other.close()
    journal.close()
