"""Conditions over maps a plan makes: `has()`, `!has()` and comparisons of facts inside a map
the state lacks, which a step writing any fact inside it makes.

Seeded random problems where capabilities make `parcel` (and `parcel.box`) with and
without some keys: both planners agree with each other and with the brute force on
feasibility and score, every plan passes the independent simulator, and every order of
its steps its waits allow reaches the goal too.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from test_property import brute_force, holds
from test_search import agree

from ido.planner.cpsat import CpSatPlanner
from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.types import Action, Plan, Task, Weights
from ido.state import apply_effects

WRITES: list[tuple[str, Any]] = [
    ("parcel.carrier", "dhl"),
    ("parcel.carrier", "ups"),
    ("parcel.weight", 3),
    ("parcel.weight", 1),
    ("parcel.box.size", "m"),
    ("parcel.box.seal", True),
    ("parcel.box", {"size": "s"}),
    ("label.printed", True),
]
CONDITIONS = [
    "has(state.parcel.carrier)",
    "!has(state.parcel.carrier)",
    "!has(state.parcel.box.size)",
    "has(state.parcel.box.seal)",
    "!has(state.parcel.box.seal)",
    "state.parcel.carrier == 'dhl'",
    "!(state.parcel.carrier == 'ups')",
    "state.parcel.box.size == 'm'",
    "!has(state.parcel.carrier) && has(state.parcel.weight)",
    "!has(state.parcel.carrier) || state.parcel.weight > 2",
    "!has(state.parcel.box.size) && !has(state.label.printed)",
    "has(state.parcel.box) ? !has(state.parcel.box.seal) : false",
    "!has(state.parcel.weight) || !has(state.parcel.box.size)",
    "state.label.printed",
]
STATES: list[dict[str, Any]] = [
    {},
    {"parcel": {}},
    {"parcel": {"box": {}}},
    {"parcel": {"carrier": "ups"}},
    {"label": {"printed": False}},
]


def made_maps_task(seed: int) -> Task:
    """Three to six capabilities writing one or two facts in and around `parcel`, some with
    a precondition from CONDITIONS, and one or two goals from them."""
    rng = random.Random(seed)
    actions = []
    for k in range(rng.randint(3, 6)):
        effects = dict(rng.sample(WRITES, rng.randint(1, 2)))
        if "parcel.box" in effects and any(p.startswith("parcel.box.") for p in effects):
            effects.pop("parcel.box")
        # Effects must not nest across capabilities either: `parcel.box` whole, or its keys.
        requires = (rng.choice(CONDITIONS),) if rng.random() < 0.35 else ()
        cost = rng.choice([0.1, 0.3, 0.5, 1.0, 1.7])
        actions.append(Action(f"c{k}", "p", cost, 1.0, 1.0, requires, tuple(effects.items())))
    whole = rng.random() < 0.5
    actions = [
        a
        for a in actions
        if all((p == "parcel.box") == whole or not p.startswith("parcel.box") for p, _ in a.effects)
    ]
    goal = tuple(rng.sample(CONDITIONS, rng.randint(1, 2)))
    state = rng.choice(STATES)
    return Task(state, goal, tuple(actions), Weights(cost=1.0), max_steps=3, alternatives=1)


def orders_reach_the_goal(t: Task, plan: Plan) -> None:
    """Every order of the plan's steps its waits allow meets each precondition and the goal:
    a step that makes a map another step's condition looks into is waited for."""
    actions = {a.name: a for a in t.actions}
    steps = [actions[s.capability] for s in plan.steps]
    for order in itertools.permutations(range(len(steps))):
        at = {s: n for n, s in enumerate(order)}
        if any(at[i] > at[j] for j, wait in enumerate(plan.waits) for i in wait):
            continue
        state = dict(t.state)
        for s in order:
            assert all(holds(r, state) for r in steps[s].requires), (order, steps[s].name)
            state = apply_effects(state, dict(steps[s].effects))
        assert all(holds(g, state) for g in t.goal), order


@pytest.mark.parametrize("seed", range(150))
def test_both_planners_reach_goals_over_maps_steps_make(seed: int) -> None:
    t = made_maps_task(seed)
    agree(t)
    best = brute_force(t)
    for planner in (SearchPlanner(), CpSatPlanner(small=0, search_first=0)):
        found = planner.solve(t)
        assert (found is None) == (best is None), (planner.name, t.goal, t.state)
        if found is not None and best is not None:
            assert found.plan.score == pytest.approx(best.score, abs=1e-6)
            assert check_plan(t, found.plan) == []
            orders_reach_the_goal(t, found.plan)


def test_a_not_has_goal_is_reached_by_a_step_making_the_map_without_the_key() -> None:
    """`!has(state.parcel.carrier)` without `parcel`: `weigh` makes `parcel` with no
    carrier, and is the plan; the condition fails now, which is not yet an error."""
    weigh = Action("weigh", "p", 0.2, 1.0, 1.0, (), (("parcel.weight", 3),))
    label = Action("label", "p", 0.1, 1.0, 1.0, (), (("parcel.carrier", "dhl"),))
    t = Task({}, ("!has(state.parcel.carrier)",), (weigh, label), Weights(cost=1.0))
    for planner in (SearchPlanner(), CpSatPlanner(small=0, search_first=0)):
        result = planner.plan(t)
        assert result.status == "planned" and result.plan is not None
        assert [s.capability for s in result.plan.steps] == ["weigh"]
        assert result.condition_errors == ()


def test_a_step_waits_for_the_step_that_makes_the_map_it_looks_into() -> None:
    """`ship` requires `!has(state.parcel.carrier)`, which holds only once `weigh` made
    `parcel`: it waits for `weigh`, though neither names a fact of the other."""
    weigh = Action("weigh", "p", 0.2, 1.0, 1.0, (), (("parcel.weight", 3),))
    ship = Action("ship", "p", 0.2, 1.0, 1.0, ("!has(state.parcel.carrier)",), (("sent", True),))
    t = Task({}, ("state.sent",), (weigh, ship), Weights(cost=1.0))
    for planner in (SearchPlanner(), CpSatPlanner(small=0, search_first=0)):
        found = planner.solve(t)
        assert found is not None
        assert [s.capability for s in found.plan.steps] == ["weigh", "ship"]
        assert found.plan.waits == ((), (0,))


def test_has_in_a_map_nothing_makes_stays_an_error() -> None:
    """`has(state.order.coupon)` with no `order`, which no capability writes inside: the
    guard is written wrong, and the error is said, as before."""
    pay = Action("pay", "p", 1.0, 1.0, 1.0, ("!has(state.order.coupon)",), (("paid", True),))
    g = ground(Task({}, ("state.paid",), (pay,), Weights(cost=1.0)))
    assert len(g.errors) == 1 and "order" in g.errors[0]
    made = Action("open", "p", 1.0, 1.0, 1.0, (), (("order.id", 7),))
    g = ground(Task({}, ("state.paid",), (pay, made), Weights(cost=1.0)))
    assert g.errors == ()


def test_too_many_facts_making_a_map_read_the_condition_as_before() -> None:
    """Thirteen facts each make `order`, with two values each besides none: 3 ** 13 rows
    are too many to tabulate. The condition is read without them, as before (a plan it
    would need is not found, and the `has()` error is said), and nothing is refused."""
    makers = [Action(f"set{k}", "p", 1.0, 1.0, 1.0, (), ((f"order.f{k}", 1),)) for k in range(13)]
    makers += [
        Action(f"reset{k}", "p", 1.0, 1.0, 1.0, (), ((f"order.f{k}", 2),)) for k in range(13)
    ]
    t = Task({}, ("!has(state.order.coupon)",), tuple(makers), Weights(cost=1.0))
    g = ground(t)
    assert len(g.errors) == 1
    assert g.errors[0].startswith('goal: !has(state.order.coupon): Key not found in map : "order"')
    assert "may be missed" in g.errors[0]
    few = Task({}, ("!has(state.order.coupon)",), tuple(makers[:3]), Weights(cost=1.0))
    assert ground(few).errors == ()
    assert [s.capability for s in SearchPlanner().plan(few).plan.steps] == ["set0"]  # type: ignore[union-attr]


def test_a_proposed_plan_waits_for_the_step_that_makes_the_map_it_looks_into() -> None:
    """A plan a model proposes whole gets its waits from its own steps: `ship`, which needs
    `!has(state.parcel.carrier)`, waits for `weigh`, which makes `parcel`."""
    from ido.planner.llm_answers import _in_order
    from ido.planner.types import Step

    weigh = Action("weigh", "p", 0.2, 1.0, 1.0, (), (("parcel.weight", 3),))
    ship = Action("ship", "p", 0.2, 1.0, 1.0, ("!has(state.parcel.carrier)",), (("sent", True),))
    t = Task({}, ("state.sent",), (weigh, ship), Weights(cost=1.0))
    proposed = Plan(tuple(Step(a.name, a.provider, 0.2, 1.0, 1.0, 0.2) for a in (weigh, ship)))
    assert _in_order(t, proposed).waits == ((), (0,))
