"""What a decision says when too many facts make a map a condition looks into to read them:
the condition is read as if no step made the map, and the error says so (and that a plan
may be missed), rather than that the guard is written wrong."""

from __future__ import annotations

from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner
from ido.planner.types import Action, Task, Weights


def _makers(n: int) -> list[Action]:
    """`n` facts inside `order`, each written with two values: 3 ** n combinations."""
    found = [Action(f"set{k}", "p", 1.0, 1.0, 1.0, (), ((f"order.f{k}", 1),)) for k in range(n)]
    return found + [
        Action(f"reset{k}", "p", 1.0, 1.0, 1.0, (), ((f"order.f{k}", 2),)) for k in range(n)
    ]


def test_a_condition_read_without_its_makers_says_a_plan_may_be_missed() -> None:
    t = Task({}, ("!has(state.order.coupon)",), tuple(_makers(13)), Weights(cost=1.0))
    g = ground(t)
    assert len(g.errors) == 1
    error = g.errors[0]
    assert error.startswith('goal: !has(state.order.coupon): Key not found in map : "order"')
    # Not "the guard is written wrong": 13 facts make `order`, too many to read with it.
    assert "13 facts" in error and "'order'" in error
    assert "may be missed" in error
    assert "given" in error  # the way out: the map in the intent's state
    result = SearchPlanner().plan(t)
    assert result.status == "infeasible"
    assert any("may be missed" in e for e in result.condition_errors)


def test_the_way_out_it_names_finds_the_plan() -> None:
    """With `order: {}` given, the condition is read exactly: `order` exists and has no
    coupon, so the goal holds already."""
    t = Task({"order": {}}, ("!has(state.order.coupon)",), tuple(_makers(13)), Weights(cost=1.0))
    assert ground(t).errors == ()
    result = SearchPlanner().plan(t)
    assert result.status == "satisfied"
