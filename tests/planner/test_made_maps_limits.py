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


def test_a_has_test_no_made_map_lets_hold_still_says_the_map_is_missing() -> None:
    """`!has(state.parcel.carrier)` without `parcel`, where the one step writing inside
    `parcel` writes the carrier: no map a plan makes lets it hold, so its failing now is
    the reason it never holds, and is said (the guard needs `parcel` given). It was
    silently 'no capability can make it true' (as before has() tables read the makers of
    the map: the old test of this said so); with a step making `parcel` without a
    carrier, it is only not true yet, and no error."""
    label = Action("label", "p", 1.0, 1.0, 1.0, (), (("parcel.carrier", "dhl"),))
    t = Task({}, ("!has(state.parcel.carrier)",), (label,), Weights(cost=1.0))
    assert ground(t).errors == (
        'goal: !has(state.parcel.carrier): Key not found in map : "parcel"',
    )
    weigh = Action("weigh", "p", 1.0, 1.0, 1.0, (), (("parcel.weight", 3),))
    assert ground(Task({}, t.goal, (label, weigh), Weights(cost=1.0))).errors == ()
    # A precondition too: `ship` is never usable, and why is said.
    ship = Action(
        "ship", "p", 1.0, 1.0, 1.0, ("has(state.parcel.carrier) == false",), (("sent", True),)
    )
    g = ground(Task({}, ("state.sent",), (weigh, ship), Weights(cost=1.0)))
    assert g.errors == ()  # `weigh` makes `parcel` without a carrier: it can hold
    never = Action("post", "p", 1.0, 1.0, 1.0, ("has(state.parcel.box)",), (("sent", True),))
    g = ground(Task({}, ("state.sent",), (weigh, never), Weights(cost=1.0)))
    assert g.errors == ('requires of post: has(state.parcel.box): Key not found in map : "parcel"',)
