"""A run named as a person has it at hand: an id, its start, its end, or one mistyped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ido.errors import NotFoundError
from ido.journal import SqliteJournal

IDS = [
    "r20261207-100553-45357393c544",
    "r20261207-100628-47255a561282",
    "r20261207-100628-a0a617dff650",
    "r20261207-100629-b0a617dff650",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteJournal]:
    with SqliteJournal(tmp_path / "ido.db") as journal:
        for run_id in IDS:
            journal.start_run(run_id, "nightly-report", "2026-12-07T10:06:28.000+00:00", {})
        yield journal


def test_an_id_copied_with_a_space_around_it_is_that_run(store: SqliteJournal) -> None:
    assert store.resolve(f" {IDS[0]} ") == IDS[0]


def test_the_end_of_an_id_as_ido_run_shows_it_is_that_run(store: SqliteJournal) -> None:
    """`ido run A B` prefixes each line with `[nightly-report …561282]`: that end names the
    run, with the ellipsis or without; an end two runs share is ambiguous, naming both."""
    assert store.resolve("…561282") == IDS[1]
    assert store.resolve("561282") == IDS[1]
    assert store.resolve("...47255A561282") == IDS[1]
    with pytest.raises(NotFoundError, match=r"'…17dff650' is ambiguous: r20261207-100628-a0a6"):
        store.resolve("…17dff650")
    with pytest.raises(NotFoundError, match="'1282' not found"):  # too short to tell
        store.resolve("1282")


def test_a_mistyped_id_names_the_run_it_likely_meant(store: SqliteJournal) -> None:
    """A digit wrong or left out said only "not found": at 3 a.m., in a journal of
    thousands, the run meant is named."""
    with pytest.raises(NotFoundError, match=f"did you mean {IDS[0]}\\? see ido runs"):
        store.resolve("r20261207-100553-45357393c54x")
    with pytest.raises(NotFoundError, match=f"did you mean {IDS[0]}\\?"):
        store.resolve("r20261207-100553-4535793c544")
    with pytest.raises(NotFoundError, match=r"^run 'r20261208-1' not found in .*; see ido runs$"):
        store.resolve("r20261208-1")


def test_last_copied_with_a_space_around_it_is_the_last_run(store: SqliteJournal) -> None:
    """A pasted id lost its spaces, but `last ` (a word typed as it was pasted) was sought
    as an id and said not found."""
    assert store.resolve(" last ") == store.resolve("last") == IDS[-1]
