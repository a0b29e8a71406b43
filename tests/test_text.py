"""Text shown to people: the one "did you mean" every message words its own way around."""

from __future__ import annotations

from ido.text import did_you_mean


def test_did_you_mean_names_the_closest_known_word() -> None:
    """A typo is answered with the closest name known, quoted as every message quotes it."""
    assert did_you_mean("charge-stirpe", ["ship-dhl", "charge-stripe"]) == (
        "did you mean 'charge-stripe'?"
    )


def test_did_you_mean_says_nothing_when_no_name_is_close() -> None:
    """Nothing close, or nothing known: no guess at all rather than a wild one."""
    assert did_you_mean("refund", ["ship-dhl", "charge-stripe"]) is None
    assert did_you_mean("refund", []) is None
