"""Grounding: the task in finite-domain form, and pruning (unreachable, irrelevant, dominated)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ido.planner.grounding import ground
from ido.planner.types import Action, Limits, Task, Weights
from ido.state import close_world
from tests.planner.test_property import random_task


def action(
    name: str,
    requires: tuple[str, ...] = (),
    effects: dict[str, Any] | None = None,
    *,
    cost: float = 1.0,
    latency: float = 1.0,
    reliability: float = 1.0,
) -> Action:
    return Action(
        name=name,
        provider=name.split("-", 1)[0],
        cost=cost,
        latency=latency,
        reliability=reliability,
        requires=requires,
        effects=tuple((effects or {}).items()),
    )


def task(
    actions: list[Action],
    goal: tuple[str, ...],
    given: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Task:
    booleans = [p for a in actions for p, v in a.effects if isinstance(v, bool)]
    return Task(close_world(given or {}, booleans), goal, tuple(actions), **kwargs)


def reasons(found: Any) -> dict[str, str]:
    return {r.capability: r.reason for r in found.rejections}


PACK = action("pack", (), {"order.status": "packed"}, cost=0.2)
SHIP = action("ship", ("state.order.status == 'packed'",), {"order.status": "shipped"}, cost=0.5)
SHIPPED = ("state.order.status == 'shipped'",)


def test_earliest_step_follows_the_relaxed_planning_graph() -> None:
    """An action can appear no earlier than the layer where its preconditions first hold."""
    grounded = ground(task([SHIP, PACK], SHIPPED))
    earliest = dict(zip((a.name for a in grounded.actions), grounded.earliest))
    assert earliest == {"pack": 0, "ship": 1}


def test_a_capability_whose_precondition_never_holds_is_unreachable() -> None:
    """A precondition on a fact nothing writes and the state lacks makes the action unreachable."""
    vip = action("vip", ("state.customer.vip",), {"order.status": "shipped"})
    grounded = ground(task([vip], SHIPPED))
    (rejection,) = grounded.rejections
    assert rejection.reason == "unreachable"
    assert rejection.detail == "precondition never holds: state.customer.vip"
    assert grounded.unreachable_goal == SHIPPED


def test_a_capability_not_needed_for_the_goal_is_irrelevant() -> None:
    """An action whose effects the goal and the needed preconditions never read is dropped."""
    log = action("log", (), {"audit.logged": True})
    grounded = ground(task([PACK, SHIP, log], SHIPPED))
    assert reasons(grounded) == {"log": "irrelevant"}
    assert [a.name for a in grounded.actions] == ["pack", "ship"]


def test_relevance_is_transitive_through_preconditions() -> None:
    """An action that only enables a relevant action is itself relevant."""
    grounded = ground(task([PACK, SHIP], SHIPPED))
    assert reasons(grounded) == {}


def test_a_capability_over_the_budget_on_its_own_is_rejected() -> None:
    """An action costing more than max_cost alone cannot be in any plan."""
    gold = action("gold", (), {"order.status": "shipped"}, cost=9.5)
    grounded = ground(task([PACK, SHIP, gold], SHIPPED, limits=Limits(max_cost=5.0)))
    (rejection,) = grounded.rejections
    assert (rejection.capability, rejection.reason) == ("gold", "over_budget")
    assert rejection.detail == "costs 9.50 alone, over max_cost 5.00"


def test_capabilities_over_the_deadline_or_too_unreliable_alone_are_rejected() -> None:
    """Slower than the deadline, or less reliable than required, on its own: rejected."""
    slow = action("slow", (), {"order.status": "shipped"}, latency=60.0)
    flaky = action("flaky", (), {"order.status": "shipped"}, reliability=0.5)
    limits = Limits(deadline=30.0, min_success_probability=0.9)
    grounded = ground(task([PACK, SHIP, slow, flaky], SHIPPED, limits=limits))
    assert reasons(grounded) == {"slow": "over_deadline", "flaky": "too_unreliable"}
    detail = {r.capability: r.detail for r in grounded.rejections}
    assert detail["slow"] == "takes 1m alone, over deadline 30s"
    assert detail["flaky"] == "reliability 0.500 alone is under min_success_probability 0.900"


def test_a_capability_no_better_than_an_identical_one_is_dominated() -> None:
    """Same conditions and effects, no cheaper, faster or more reliable: dominated."""
    copy = action("ship-copy", SHIP.requires, dict(SHIP.effects), cost=0.6)
    grounded = ground(task([PACK, SHIP, copy], SHIPPED))
    (rejection,) = grounded.rejections
    assert (rejection.capability, rejection.reason) == ("ship-copy", "dominated")
    assert rejection.detail == (
        "ship does the same and is no costlier, slower or riskier (an alternative without "
        "ship may use it)"
    )


def test_a_trade_off_is_not_dominated() -> None:
    """A pricier but faster equivalent stays: some weights or deadlines prefer it."""
    fast = action("ship-fast", SHIP.requires, dict(SHIP.effects), cost=0.9, latency=0.2)
    grounded = ground(task([PACK, SHIP, fast], SHIPPED))
    assert reasons(grounded) == {}


def test_equal_capabilities_keep_the_first_by_name() -> None:
    """Between two identical actions, the alphabetically first survives, deterministically."""
    twin_b = action("b-ship", SHIP.requires, dict(SHIP.effects))
    twin_a = action("a-ship", SHIP.requires, dict(SHIP.effects))
    grounded = ground(task([PACK, twin_b, twin_a], SHIPPED))
    assert reasons(grounded) == {"b-ship": "dominated"}


def test_dominance_uses_the_objective_weights() -> None:
    """An action with a policy bias (avoid) scores worse and is dominated by its twin."""
    twin = Action("ship-b", "b", 0.5, 1.0, 1.0, SHIP.requires, SHIP.effects, bias=1.0)
    grounded = ground(task([PACK, SHIP, twin], SHIPPED, weights=Weights(cost=1.0)))
    assert reasons(grounded) == {"ship-b": "dominated"}


def test_a_goal_no_capability_can_make_true_is_unreachable() -> None:
    """A goal on a fact nothing writes, false now, is listed as unreachable."""
    grounded = ground(task([PACK, SHIP], ("state.order.paid",), {"order": {"paid": False}}))
    assert grounded.unreachable_goal == ("state.order.paid",)


def test_grounding_is_a_pure_function_of_the_task() -> None:
    """Grounding the same task twice gives equal results."""
    copy = action("ship-copy", SHIP.requires, dict(SHIP.effects), cost=0.6)
    one = task([PACK, SHIP, copy], SHIPPED, limits=Limits(max_cost=5.0))
    assert ground(one) == ground(one)


def test_facts_no_condition_reads_are_left_out_of_the_grounded_problem() -> None:
    """A receipt written but never read is not a fluent of the solver's problem."""
    pack = action("pack", (), {"order.status": "packed", "log.pack": "ok"})
    grounded = ground(task([pack, SHIP], SHIPPED))
    assert [f.path for f in grounded.fluents] == ["order.status"]
    assert all(f == 0 for effects in grounded.eff for f, _ in effects)


def test_a_monotone_problem_needs_no_more_steps_than_facts_that_change() -> None:
    """When every fact only ever changes to one value, the horizon is the number of such facts."""
    pay = action("pay", ("!state.order.paid",), {"order.paid": True})
    notify = action("notify", ("state.order.paid",), {"customer.notified": True})
    grounded = ground(task([pay, notify], ("state.customer.notified",)))
    assert grounded.horizon == 2


def test_a_fact_that_takes_several_values_bounds_the_horizon_by_the_states() -> None:
    """order.status takes three values: at most 3 - 1 = 2 steps without revisiting a state."""
    assert ground(task([PACK, SHIP], SHIPPED)).horizon == 2
    unpack = action("unpack", (), {"order.status": "packed", "order.paid": False})
    pay = action("pay", ("state.order.status == 'packed'",), {"order.paid": True})
    goal = ("state.order.status == 'shipped' && state.order.paid",)
    # (absent, packed, shipped) x (false, true): 6 states, so at most 5 steps.
    assert ground(task([PACK, SHIP, unpack, pay], goal)).horizon == 5


def test_a_dominated_capability_is_kept_for_when_its_dominator_is_left_out() -> None:
    """The dominated action stays in the grounded problem, marked with its dominator."""
    copy = action("ship-copy", SHIP.requires, dict(SHIP.effects), cost=0.6)
    grounded = ground(task([PACK, SHIP, copy], SHIPPED))
    dominators = dict(zip((a.name for a in grounded.actions), grounded.dominator))
    assert dominators == {"pack": None, "ship": None, "ship-copy": "ship"}


def test_dominance_compares_conditions_by_meaning_not_by_spelling() -> None:
    """`state.order.status == 'packed'` and `'packed' == state.order.status` are the same."""
    copy = action("ship-copy", ("'packed' == state.order.status",), dict(SHIP.effects), cost=0.6)
    grounded = ground(task([PACK, SHIP, copy], SHIPPED))
    assert reasons(grounded) == {"ship-copy": "dominated"}


def test_rivals_writing_values_json_tells_apart_are_grounded_apart() -> None:
    """Actions with the same conditions are grounded once per distinct set of effects, and
    `1`, `1.0`, `true`, `"1"` and `[1]` are five values (Python's `==` would merge three)."""
    values: list[Any] = [1, 1.0, True, "1", [1]]
    rivals = [action(f"w{n}-x", (), {"box.v": v}) for n, v in enumerate(values)]
    goals = ("state.box.v == 1 || state.box.v == '1' || state.box.v == true",)
    found = ground(task(rivals, goals, given={"box": {"v": 0}}))
    (fluent,) = found.fluents
    assert [json.dumps(v) for v in fluent.values] == ["0", "1", "1.0", "true", '"1"', "[1]"]
    written = {a.name: fluent.values[found.eff[n][0][1]] for n, a in enumerate(found.actions)}
    assert written == {f"w{n}-x": v for n, v in enumerate(values)}
    assert [type(v) for v in written.values()] == [int, float, bool, str, list]


@pytest.mark.parametrize("seed", range(40))
def test_a_copy_of_an_action_is_grounded_as_the_action_is(seed: int) -> None:
    """Copies of actions (other names and numbers, same conditions and effects: rival
    providers) get the same tables, effects, first layer and footprint as the original,
    or the same reason to be left out; and the originals are grounded as without them."""
    base = random_task(seed, small=seed % 2 == 0)
    copies = [
        Action(
            name=f"copy-{a.name}",
            provider="rival",
            cost=a.cost + 0.5,
            latency=a.latency * 2,
            reliability=a.reliability,
            requires=a.requires,
            effects=a.effects,
        )
        for a in base.actions
    ]
    alone = ground(base)
    both = ground(Task(base.state, base.goal, base.actions + tuple(copies), max_steps=8))
    why = {r.capability: (r.reason, r.detail) for r in both.rejections}
    index = {a.name: n for n, a in enumerate(both.actions)}
    for original in base.actions:
        copy = f"copy-{original.name}"
        if original.name not in index:
            assert why[copy][0] == why[original.name][0]
            if why[original.name][0] != "dominated":
                assert why[copy] == why[original.name]
            continue
        a, c = index[original.name], index[copy]
        assert both.pre[c] == both.pre[a] and both.eff[c] == both.eff[a]
        assert both.earliest[c] == both.earliest[a]
        assert both.footprints[c] == both.footprints[a]
        assert both.dominator[c] is not None  # dearer and slower than the original
    kept = [n for n, a in enumerate(both.actions) if not a.name.startswith("copy-")]
    assert [both.actions[n] for n in kept] == list(alone.actions)
    assert [both.pre[n] for n in kept] == list(alone.pre)
    assert [both.eff[n] for n in kept] == list(alone.eff)
    assert both.fluents == alone.fluents and both.goal == alone.goal


def test_a_capability_a_hair_over_the_deadline_reads_apart_from_it() -> None:
    """4.0004s over a 4s deadline read "takes 4s alone, over deadline 4s"."""
    slow = action("slow", (), {"order.status": "shipped"}, latency=4.0004)
    grounded = ground(task([PACK, SHIP, slow], SHIPPED, limits=Limits(deadline=4.0)))
    detail = {r.capability: r.detail for r in grounded.rejections}
    assert detail["slow"] == "takes 4.0004s alone, over deadline 4s"
