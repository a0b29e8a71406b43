"""Plans as partial orders: independent steps run side by side; deadlines bound the critical path."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from ido.planner.cpsat import CpSatPlanner
from ido.planner.order import critical_path, footprints, interferes, schedule, waits
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.types import Action, Limits, Plan, Step, Task, Weights
from ido.state import close_world
from tests.planner.test_property import brute_force, elapsed


def act(name: str, latency: float, *, cost: float = 1.0, requires=(), effects=()) -> Action:
    return Action(name, "p", cost, latency, 1.0, tuple(requires), tuple(effects))


RESERVE = act("reserve", 2.0, cost=0.1, effects=[("stock.reserved", True)])
CHARGE = act("charge", 2.0, cost=0.3, effects=[("payment.ok", True)])
CHARGE_FAST = act("charge-fast", 0.5, cost=0.8, effects=[("payment.ok", True)])
SHIP = act(
    "ship",
    1.0,
    cost=0.5,
    requires=["state.stock.reserved && state.payment.ok"],
    effects=[("shipped", True)],
)
SHOP = Task(
    {"stock": {"reserved": False}, "payment": {"ok": False}, "shipped": False},
    ("state.shipped",),
    (RESERVE, CHARGE, CHARGE_FAST, SHIP),
)


# --- what waits for what ----------------------------------------------------------------


def test_steps_that_share_no_fact_wait_for_nothing() -> None:
    """Reserving and charging touch different facts; shipping reads both, so it waits for both."""
    prints = footprints([RESERVE, CHARGE, SHIP])
    assert not interferes(prints[0], prints[1])
    assert waits(prints) == ((), (), (0, 1))


def test_a_write_inside_a_path_another_step_reads_orders_them() -> None:
    """Writing `order.status` interferes with reading `order` as a whole, and vice versa."""
    writer = act("w", 1, effects=[("order.status", "paid")])
    reader = act("r", 1, requires=["has(state.order.id)"], effects=[("done", True)])
    whole = act("x", 1, requires=["size(state.order) > 0"], effects=[("seen", True)])
    sibling = act("s", 1, requires=["state.orderly"], effects=[("calm", True)])
    prints = footprints([writer, reader, whole, sibling])
    assert not interferes(prints[0], prints[1])  # order.status vs order.id: siblings
    assert interferes(prints[0], prints[2])  # order.status is inside order
    assert not interferes(prints[0], prints[3])  # `orderly` is not inside `order`


def test_a_condition_that_reads_the_whole_state_waits_for_every_write() -> None:
    writer = act("w", 1, effects=[("a.b", 1)])
    everything = act("e", 1, requires=["size(state) > 0"], effects=[("z", True)])
    assert waits(footprints([writer, everything])) == ((), (0,))


def test_two_writes_of_one_fact_are_ordered_even_when_nothing_reads_it() -> None:
    """Side by side, the last write would be a race; the order keeps the outcome definite."""
    one = act("one", 1, effects=[("note", "a"), ("x", True)])
    two = act("two", 1, effects=[("note", "b"), ("y", True)])
    assert waits(footprints([one, two])) == ((), (0,))


def test_waits_implied_by_a_chain_are_not_repeated() -> None:
    """c waits for b, which waits for a: c's wait for a is implied, not listed."""
    a = act("a", 1, effects=[("f", 1)])
    b = act("b", 1, requires=["state.f == 1"], effects=[("f", 2)])
    c = act("c", 1, requires=["state.f == 2"], effects=[("f", 3)])
    assert waits(footprints([a, b, c])) == ((), (0,), (1,))


def test_the_critical_path_is_the_longest_chain_of_waits() -> None:
    latencies = [2.0, 0.5, 1.0, 3.0]
    after = [(), (), (0, 1), ()]
    assert schedule(latencies, after) == (0.0, 0.0, 2.0, 0.0)
    assert critical_path(latencies, after) == (0, 2)
    plan = Plan(tuple(Step(f"s{i}", "p", 0, lat, 1, 0) for i, lat in enumerate(latencies)), after)
    assert plan.latency == 3.0
    assert plan.work == 6.5
    assert Plan(plan.steps).latency == 6.5  # without waits, a plain sequence


def test_one_plan_listed_in_two_orders_has_one_shape() -> None:
    """Reserving and charging side by side, then shipping: either order of the first two
    is one plan, of one shape. A step more, the same steps waiting for others (a second
    reservation before shipping rather than after), or a plain sequence is another."""

    def plan(*actions: Action) -> Plan:
        prints = footprints(list(actions))
        return Plan(
            tuple(Step(a.name, "p", a.cost, a.latency, 1, 0) for a in actions), waits(prints)
        )

    first, second = plan(RESERVE, CHARGE, SHIP), plan(CHARGE, RESERVE, SHIP)
    assert first.capabilities != second.capabilities
    assert first.shape == second.shape
    again = act(
        "reserve-again", 1.0, requires=["state.shipped"], effects=[("stock.reserved", True)]
    )
    assert plan(RESERVE, CHARGE, SHIP, again).shape != plan(RESERVE, CHARGE, SHIP).shape
    assert plan(RESERVE, CHARGE, SHIP, RESERVE).shape == plan(CHARGE, RESERVE, SHIP, RESERVE).shape
    assert plan(RESERVE, CHARGE, SHIP, RESERVE).shape != plan(RESERVE, CHARGE, RESERVE, SHIP).shape
    sequence = Plan(first.steps)  # no waits given: each step waits for the one before
    assert sequence.shape != first.shape


# --- planning with a deadline on the critical path ----------------------------------------


@pytest.mark.parametrize(
    "planner", [CpSatPlanner(small=0, search_first=0), SearchPlanner()], ids=["cpsat", "search"]
)
def test_a_deadline_below_the_sum_but_above_the_critical_path_is_met(planner) -> None:
    """5 s of work fits a 3.5 s deadline: reserve and charge run side by side, then ship."""
    task = Task(SHOP.state, SHOP.goal, SHOP.actions, limits=Limits(deadline=3.5))
    result = planner.plan(task)
    assert result.status == "planned"
    assert result.plan is not None
    assert sorted(result.plan.capabilities) == ["charge", "reserve", "ship"]
    assert result.plan.latency == 3.0
    assert result.plan.work == 5.0
    assert result.plan.waits[2] == (0, 1)
    assert check_plan(task, result.plan) == []
    (deadline,) = result.constraints
    assert deadline.value == 3.0
    assert deadline.slack == pytest.approx(0.5)


@pytest.mark.parametrize(
    "planner", [CpSatPlanner(small=0, search_first=0), SearchPlanner()], ids=["cpsat", "search"]
)
def test_an_infeasible_deadline_names_the_critical_path(planner) -> None:
    task = Task(SHOP.state, SHOP.goal, SHOP.actions, limits=Limits(deadline=2.9))
    result = planner.plan(task)
    assert result.status == "infeasible"
    assert result.blocking == ("deadline",)
    assert result.reason == (
        "no plan within deadline 2.9s: the fastest plan takes 3s on its critical path "
        "(reserve 2s → ship 1s, with 1 more step alongside); raise deadline to 3s"
    )


def test_the_checker_refuses_steps_side_by_side_that_interfere() -> None:
    """Claiming that ship need not wait for charge is caught by the independent checker."""
    steps = tuple(
        Step(a.name, "p", a.cost, a.latency, 1.0, a.cost) for a in (RESERVE, CHARGE, SHIP)
    )
    wrong = Plan(steps, ((), (), (0,)))
    problems = check_plan(SHOP, wrong)
    assert problems == [
        "steps 2 and 3 may run side by side but one writes what the other reads or writes"
    ]
    assert check_plan(SHOP, Plan(steps, ((), (), (0, 1)))) == []
    assert check_plan(SHOP, Plan(steps, ((1,), (), (0, 1)))) != []


# --- random wide problems: branches that can run side by side ----------------------------


def wide_task(seed: int) -> Task:
    """Two or three branches of one or two facts each, reached by a choice of providers.

    Some actions also write a shared `audit.last` fact, which forces them into sequence;
    the deadline falls between the fastest critical path and the fastest sum, often.
    """
    rng = random.Random(seed)
    branches = [[f"b{b}.f{i}" for i in range(rng.randint(1, 2))] for b in range(rng.randint(2, 3))]
    while sum(len(b) for b in branches) > 4:
        branches[-1].pop()
        branches = [b for b in branches if b]
    actions = []
    for chain in branches:
        for i, fact in enumerate(chain):
            for k in range(rng.randint(1, 2)):
                effects: list[tuple[str, object]] = [(fact, True)]
                if rng.random() < 0.3:
                    effects.append(("audit.last", fact))
                actions.append(
                    Action(
                        f"{fact}-{k}",
                        rng.choice("pq"),
                        round(rng.uniform(0.1, 2.0), 2),
                        round(rng.uniform(0.1, 3.0), 1),
                        rng.choice([0.95, 0.99, 1.0]),
                        (f"state.{chain[i - 1]}",) if i else (),
                        tuple(effects),
                    )
                )
    facts = [f for chain in branches for f in chain]
    total = sum(min(a.latency for a in actions if a.effects[0][0] == f) for f in facts)
    return Task(
        state={**close_world({}, facts), "audit": {"last": ""}},
        goal=tuple(f"state.{chain[-1]}" for chain in branches),
        actions=tuple(actions),
        weights=Weights(cost=1.0, latency=rng.choice([0.0, 0.5])),
        limits=Limits(
            deadline=round(total * rng.uniform(0.4, 1.0), 1),
            max_cost=None if rng.random() < 0.7 else round(rng.uniform(1.0, 5.0), 2),
        ),
        max_steps=len(facts),
        alternatives=2,
    )


WIDE_SEEDS = range(60)


@pytest.mark.parametrize("seed", WIDE_SEEDS)
def test_on_wide_problems_both_backends_and_brute_force_agree(seed: int) -> None:
    """Feasibility and optimal score agree with exhaustive enumeration under the critical path."""
    task = wide_task(seed)
    best = brute_force(task)
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = planner.plan(task)
        assert (result.status == "planned") == (best is not None), (planner.name, seed)
        if result.plan is None or best is None:
            continue
        assert result.plan.score == pytest.approx(best.score, abs=1e-6), (planner.name, seed)
        assert check_plan(task, result.plan) == []
        assert result.plan.latency == pytest.approx(elapsed(_actions(task, result.plan)))
        for alternative in result.alternatives:
            assert check_plan(task, alternative.plan) == []


def test_the_wide_problems_need_parallel_steps_to_meet_their_deadlines() -> None:
    """The generator is not trivial: many tasks are feasible only because steps overlap."""
    only_parallel = 0
    for seed in WIDE_SEEDS:
        task = wide_task(seed)
        result = CpSatPlanner(small=0, search_first=0).plan(task)
        if result.plan is not None and task.limits.deadline is not None:
            only_parallel += result.plan.work > task.limits.deadline + 1e-9
    assert only_parallel >= 10


def _actions(task: Task, plan: Plan) -> list[Action]:
    by_name = {a.name: a for a in task.actions}
    return [by_name[c] for c in plan.capabilities]


@pytest.mark.parametrize(
    "planner", [CpSatPlanner(small=0, search_first=0), SearchPlanner()], ids=["cpsat", "search"]
)
def test_a_cheaper_capability_that_would_serialise_the_plan_does_not_dominate(planner) -> None:
    """label-cheap also books the warehouse, which packing writes: it would make the plan
    serial and miss the deadline, so the dearer label that runs beside packing must stay."""
    pack = act("pack", 2.0, cost=0.1, effects=[("parcel.packed", True), ("warehouse.busy", True)])
    cheap = act(
        "label-cheap", 2.0, cost=0.1, effects=[("parcel.labelled", True), ("warehouse.busy", True)]
    )
    dear = act("label-dear", 2.0, cost=0.2, effects=[("parcel.labelled", True)])
    dispatch = act(
        "dispatch",
        1.0,
        cost=0.1,
        requires=["state.parcel.packed && state.parcel.labelled"],
        effects=[("parcel.sent", True)],
    )
    state = {"parcel": {"packed": False, "labelled": False, "sent": False}, "warehouse": {}}
    actions = (pack, cheap, dear, dispatch)
    free = planner.plan(Task(state, ("state.parcel.sent",), actions))
    assert free.plan is not None
    assert "label-cheap" in free.plan.capabilities  # cheapest when time does not matter
    timed = planner.plan(Task(state, ("state.parcel.sent",), actions, limits=Limits(deadline=3.5)))
    assert timed.status == "planned", timed.reason
    assert timed.plan is not None
    assert sorted(timed.plan.capabilities) == ["dispatch", "label-dear", "pack"]
    assert timed.plan.latency == 3.0


def test_a_receipt_only_one_capability_writes_does_not_stop_dominance() -> None:
    """Writing a fact nothing else touches orders nothing, so the dearer twin is still dominated."""
    from ido.planner.grounding import ground

    cheap = act("label-cheap", 2.0, cost=0.1, effects=[("parcel.labelled", True), ("log.l", "a")])
    dear = act("label-dear", 2.0, cost=0.2, effects=[("parcel.labelled", True)])
    state = {"parcel": {"labelled": False}, "log": {}}
    g = ground(Task(state, ("state.parcel.labelled",), (cheap, dear)))
    assert dict(zip([a.name for a in g.actions], g.dominator)) == {
        "label-cheap": None,
        "label-dear": "label-cheap",
    }


@pytest.mark.parametrize("seed", WIDE_SEEDS)
def test_no_plan_ends_before_the_earliest_end_of_its_goal(seed: int) -> None:
    """`earliest_units` (posted in CP-SAT's timed models) is a floor: never above the
    fastest plan's elapsed time, as the exact search finds it, with or without a step."""
    from ido.planner.earliest import earliest_units
    from ido.planner.grounding import ground
    from ido.planner.types import units

    task = replace(wide_task(seed), limits=Limits())
    g = ground(task)
    everything = frozenset(range(len(g.actions)))
    for left_out in [None, *range(len(g.actions))]:
        allowed = everything - {left_out}
        floor = earliest_units(g, allowed)
        without = frozenset() if left_out is None else frozenset({g.actions[left_out].name})
        fastest = SearchPlanner().solve(task, g, "latency", without=without)
        if fastest is None:
            assert floor is None or left_out is not None
            continue
        assert floor is not None and floor <= units(fastest.plan.latency), (seed, left_out)


def test_the_earliest_end_is_often_the_fastest_plan_and_never_nothing() -> None:
    """The floor is not a trivial one: on the wide problems it is above nothing always, and
    it is the fastest plan's elapsed time on most."""
    from ido.planner.earliest import earliest_units
    from ido.planner.grounding import ground
    from ido.planner.types import units

    met = 0
    for seed in WIDE_SEEDS:
        task = replace(wide_task(seed), limits=Limits())
        g = ground(task)
        floor = earliest_units(g, frozenset(range(len(g.actions))))
        fastest = SearchPlanner().solve(task, g, "latency")
        assert fastest is not None and floor is not None and floor > 0
        met += floor == units(fastest.plan.latency)
    assert met >= len(WIDE_SEEDS) // 2


def test_from_any_path_no_plan_through_it_ends_before_the_earliest_end() -> None:
    """The search's bound, checked against every plan itself rather than against the search
    it guides: from each path's state and clocks (every path of up to four steps), no plan
    that extends it reaches the goal sooner than `Earliest.end` says, and no plan at all
    sooner than `earliest_units` (40 random tasks, every plan of up to four steps)."""
    from ido.planner.astar import AStarSearch
    from ido.planner.critical import critical_units
    from ido.planner.earliest import earliest_units
    from ido.planner.grounding import ground
    from ido.planner.order import atom_count
    from ido.planner.paths import tick
    from ido.planner.solving import Question
    from ido.planner.successors import apply_step
    from tests.planner.test_property import random_task

    reached = 0

    def walk(state, clock, path, elapsed, bounds) -> None:  # type: ignore[no-untyped-def]
        nonlocal reached
        bound = search._earliest(state, clock)
        bounds = (*bounds, math.inf if bound is None else bound)
        if search.goal.holds(state):
            reached += 1
            assert max(bounds) <= elapsed + 1e-9, (seed, path)
            assert floor is not None and floor <= critical_units(g, list(path)), (seed, path)
        if len(path) < 4:
            for a in search.successors.of(state):
                after = apply_step(state, g.packing.step(g.eff[a]))
                ticked, end = tick(clock, g.footprints[a], search.waits_on[a], g.actions[a].latency)
                walk(after, ticked, (*path, a), max(elapsed, end), bounds)

    for seed in range(0, 120, 3):
        task = replace(random_task(seed, small=seed % 2 == 0), limits=Limits())
        g = ground(task)
        search = AStarSearch(Question(task, g, 4, "latency"))
        floor = earliest_units(g, frozenset(search.successors.tests))
        walk(g.packing.start, (0.0,) * (2 * atom_count(g.footprints)), (), 0.0, ())
    assert reached > 1_000, reached  # plans checked, from all their paths
