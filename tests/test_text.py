"""Text shown to people: the one "did you mean" every message words its own way around."""

from __future__ import annotations

import pytest

from ido.text import counted, did_you_mean, money, some


def test_did_you_mean_names_the_closest_known_word() -> None:
    """A typo is answered with the closest name known, quoted as every message quotes it."""
    assert did_you_mean("charge-stirpe", ["ship-dhl", "charge-stripe"]) == (
        "did you mean 'charge-stripe'?"
    )


def test_did_you_mean_says_nothing_when_no_name_is_close() -> None:
    """Nothing close, or nothing known: no guess at all rather than a wild one."""
    assert did_you_mean("refund", ["ship-dhl", "charge-stripe"]) is None
    assert did_you_mean("refund", []) is None


def test_a_long_list_of_names_is_cut_short_counted_or_marked() -> None:
    """The journal's, the CLI's and the planner's reasons cut a list the same way: a list
    that fits whole, else the first names and how many more, or `…`."""
    assert some(["a", "b"], 2) == "a, b"
    assert some(["a", "b", "c"], 2) == "a, b, …"
    assert some(["a", "b", "c"], 2, counted=True) == "a, b and 1 more"


def test_things_counted_agree_with_their_number() -> None:
    """One way to count things in words, where the planners each had their own (`1 state`,
    `1 deterministic second`): whole numbers with thousands marked, others as written."""
    assert counted(1, "state") == "1 state"
    assert counted(200_000, "state") == "200,000 states"
    assert counted(1.0, "deterministic second") == "1 deterministic second"
    assert counted(2.5, "second") == "2.5 seconds"
    assert counted(0, "policy", "policies") == "0 policies"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (12345.5, "12,345.50"),
        (1234567.891, "1,234,567.89"),
        (999.999, "1,000.00"),
        (0.0014, "0.0014"),
        (0.0, "0.00"),
    ],
)
def test_money_sets_thousands_apart(value: float, shown: str) -> None:
    """`12345.50` read as one digit too many or too few at a glance: an auditor's report
    sets the thousands apart, and keeps four places where the cents would hide a cost."""
    assert money(value) == shown
