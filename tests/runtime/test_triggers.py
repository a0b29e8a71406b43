"""Why a plan in progress is replanned: the pure checks of `ido.runtime.triggers`."""

from __future__ import annotations

from ido.conditions import compile_condition
from ido.runtime.triggers import changed

SHIP = compile_condition("state.stock.reserved && state.stock.count > 0")
PATHS = ["stock.count", "stock.reserved"]


def test_a_moved_fact_under_a_condition_that_still_says_the_same_is_no_replan() -> None:
    expected = {"stock": {"reserved": True, "count": 5}}
    assert changed(expected, {"stock": {"reserved": True, "count": 4}}, PATHS, [(SHIP, {})]) is None


def test_a_moved_fact_that_turns_a_condition_is_a_replan() -> None:
    expected = {"stock": {"reserved": True, "count": 5}}
    said = changed(expected, {"stock": {"reserved": True, "count": 0}}, PATHS, [(SHIP, {})])
    assert said == "observation changed: stock.count is now 0 (planned with 5)"


def test_a_condition_is_judged_with_what_the_rest_of_the_plan_sets() -> None:
    """Stock ran out after step 1 of check → reserve → ship: `reserved` not yet true, the
    condition read false both ways, and reserve was paid for before the replan."""
    expected = {"stock": {"reserved": False, "count": 5}}
    observed = {"stock": {"reserved": False, "count": 0}}
    assert changed(expected, observed, PATHS, [(SHIP, {})]) is None  # blind without the rest
    said = changed(expected, observed, PATHS, [(SHIP, {"stock.reserved": True})])
    assert said == "observation changed: stock.count is now 0 (planned with 5)"


def test_a_condition_is_not_judged_with_what_steps_after_it_set() -> None:
    """B needs the order open; C, after B, closes it. The order closed before B: judged
    with C's effect, B's condition read false both ways and the move went unseen."""
    needs_open = compile_condition("state.order.open")
    expected, observed = {"order": {"open": True}}, {"order": {"open": False}}
    said = changed(expected, observed, ["order.open"], [(needs_open, {})])
    assert said == "observation changed: order.open is now False (planned with True)"
    assert (
        changed(expected, observed, ["order.open"], [(needs_open, {"order.open": False})]) is None
    )
