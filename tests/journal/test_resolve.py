"""A run named as a person has it at hand: an id, its start, its end, or one mistyped."""

from __future__ import annotations

import random
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


def test_the_id_a_mistyped_one_meant_is_difflib_s_pick_among_a_day_of_runs() -> None:
    """The ids that cannot be close enough are set aside before difflib reads them (it
    took 1.4 s over 50,000 runs of one day): what is left must hold difflib's pick, for
    a digit wrong, one left out, one added, or several, and for none close enough."""
    from difflib import get_close_matches

    from ido.journal.near import closest

    chance = random.Random(7)
    hex_digits = "0123456789abcdef"

    def made() -> str:
        moment = f"{chance.randrange(24):02d}{chance.randrange(60):02d}{chance.randrange(60):02d}"
        return f"r20261207-{moment}-{''.join(chance.choices(hex_digits, k=12))}"

    ids = [made() for _ in range(3000)]
    picked = 0
    for _ in range(300):
        typed = list(chance.choice(ids))
        for _ in range(chance.randrange(1, 5)):  # a few slips past the day
            at = chance.randrange(9, len(typed))
            slip = chance.choice(("wrong", "gone", "added"))
            if slip == "wrong":
                typed[at] = chance.choice(hex_digits)
            elif slip == "gone":
                del typed[at]
            else:
                typed.insert(at, chance.choice(hex_digits))
        reference = "".join(typed)
        meant = get_close_matches(reference, ids, n=1, cutoff=0.9)
        assert closest(reference, ids) == (meant[0] if meant else None), reference
        picked += bool(meant)
    assert 50 < picked < 300  # both kinds of answer were put to the test
