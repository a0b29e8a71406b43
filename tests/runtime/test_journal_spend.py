"""What a run that has not ended has spent, as both journals report it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.journal import Journal, SqliteJournal
from ido.testing import MemoryJournal

AT = "2026-11-23T00:00:00.000+00:00"


def _record(journal: Journal) -> None:
    """Two paid steps (one failed, still charged), a model call, and a step never
    finished; then a second run that ended, whose row cost stands."""
    journal.start_run("r1", "deliver", AT, {})
    journal.append(
        "r1", "decided", AT, {"number": 1, "result": {"solver": {"llm": {"cost": 0.25}}}}
    )
    journal.append("r1", "action_started", AT, {"step": 1, "capability": "charge"})
    journal.append("r1", "action_finished", AT, {"step": 1, "ok": True, "cost": 1.5})
    journal.append("r1", "action_finished", AT, {"step": 2, "ok": False, "cost": 0.5})
    journal.append("r1", "decided", AT, {"number": 2, "result": {"solver": {"name": "cpsat"}}})
    journal.append("r1", "action_started", AT, {"step": 3, "capability": "ship", "cost": 9.0})
    journal.start_run("r2", "deliver", AT, {})
    journal.append("r2", "action_finished", AT, {"step": 1, "ok": True, "cost": 4.0})
    journal.finish_run("r2", "achieved", None, 3.0, 1.0, AT)


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_run_that_has_not_ended_costs_what_its_events_paid(kind: str, tmp_path: Path) -> None:
    """Both journals: steps finished (failed or not) and model calls count, a step only
    started does not, and an ended run's row cost is kept as written."""
    if kind == "sqlite":
        with SqliteJournal(tmp_path / "ido.db") as store:
            _record(store)
            rows = {r.id: r.cost for r in store.runs()}
            one = store.run("r1").cost
    else:
        memory = MemoryJournal()
        _record(memory)
        rows = {r.id: r.cost for r in memory.runs()}
        one = memory.run("r1").cost
    assert rows == {"r1": pytest.approx(2.25), "r2": 3.0}
    assert one == pytest.approx(2.25)


def test_a_run_s_cost_shows_in_json_without_the_noise_of_float_sums() -> None:
    """`ido runs --format json` said `"cost": 3.3099999999999996` for 0.30 + 2.50 + 0.50 +
    0.01: a sum of floats, shown to its last bit."""
    from ido.journal import RunRow

    spent = 0.30 + 2.50 + 0.50 + 0.01
    assert spent != 3.31
    row = RunRow("r", "i", "2026-12-06T09:00:00", None, "achieved", None, spent, 1.0)
    assert row.to_json()["cost"] == 3.31


def test_every_read_of_the_shared_connection_takes_the_lock() -> None:
    """Found in the read-through: adding `prunes` took `approvals_since`'s lock decorator,
    so the runner's read ran on the shared connection beside a committing write, and a
    SQLite error came out raw."""
    for name in ("approvals_since", "prunes", "blocked", "health", "events", "run", "runs"):
        assert getattr(SqliteJournal, name).__code__.co_name == "locked", name
