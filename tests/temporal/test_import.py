"""`SqliteJournal.import_run`, the local copy of a run a Temporal workflow holds: pulled
again, or first blocked then ended, it adds only what is new; a run of the same id that is
another one is refused, not merged into."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.errors import JournalError
from ido.journal import SqliteJournal
from ido.testing import MemoryJournal

AT = "2026-01-01T00:00:0{}.000+00:00"


def _remote(steps: int, intent: str = "ship-order", first: str = "a") -> MemoryJournal:
    journal = MemoryJournal()
    journal.start_run("r-x", intent, AT.format(0), {"temporal": {"address": "h:1"}})
    for n in range(steps):
        journal.append("r-x", "note", AT.format(n + 1), {"n": first + str(n)})
    return journal


def _import(store: SqliteJournal, remote: MemoryJournal) -> int:
    return store.import_run(remote.run("r-x"), remote.events("r-x"), remote.replies())


def test_a_run_pulled_again_or_further_adds_only_its_new_events(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "ido.db") as store:
        assert _import(store, _remote(2)) == 3
        assert _import(store, _remote(2)) == 0  # pulled twice: nothing twice
        longer = _remote(4)
        longer.finish_run("r-x", "achieved", None, 0.0, 1.0, AT.format(9))
        assert _import(store, longer) == 3  # blocked before, ended now
        assert store.events("r-x") == longer.events("r-x")
        assert store.run("r-x").outcome == "achieved"


def test_another_run_of_the_same_id_is_refused_not_merged(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "ido.db") as store:
        _import(store, _remote(2))
        before = store.events("r-x")
        with pytest.raises(JournalError, match=r"another run than the one imported: their event 2"):
            _import(store, _remote(4, first="b"))
        with pytest.raises(JournalError, match="is of intent ship-order, not fulfil-order"):
            _import(store, _remote(2, intent="fulfil-order"))
        assert store.events("r-x") == before and store.run("r-x").outcome is None
