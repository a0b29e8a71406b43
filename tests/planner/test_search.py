"""The search planner on its own, and against CP-SAT on seeded random problems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from test_cpsat import PAY_SLOW, SHIP, SHIP_DHL, SHOP, SMS, task
from test_property import LARGE_SEEDS, SMALL_SEEDS, brute_force, random_task, token_task

from ido.errors import PlanningError
from ido.planner import get_planner
from ido.planner.astar import AStarSearch, SearchGaveUp
from ido.planner.cpsat import CpSatPlanner
from ido.planner.cpsat._shortcuts import _fewest_steps
from ido.planner.estimates import Remaining
from ido.planner.grounding import Grounded, ground
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.solving import Question, Solution, measure, ordered
from ido.planner.successors import Successors, apply_step, compile_check
from ido.planner.types import SEARCH_STATES, Action, Limits, Metric, Plan, Task, Weights, units


def test_the_registry_returns_the_search_planner() -> None:
    """`planner: search` in an intent selects this backend."""
    assert isinstance(get_planner("search"), SearchPlanner)


def test_search_finds_the_cheapest_plan_and_its_alternatives() -> None:
    """On the shop catalog, search chooses what CP-SAT chooses, alternatives included."""
    t = task([*SHOP, PAY_SLOW, SHIP_DHL, SMS], alternatives=3)
    found = SearchPlanner().plan(t)
    reference = CpSatPlanner(small=0, search_first=0).plan(t)
    assert found.status == "planned" and found.plan is not None
    assert found.plan.capabilities == reference.plan.capabilities  # type: ignore[union-attr]
    assert [a.score_delta for a in found.alternatives] == pytest.approx([0.2, 0.5, 1.0])


def test_search_respects_the_limits_and_names_the_binding_one() -> None:
    """A budget below the cheapest plan is infeasible, with the same reason CP-SAT gives."""
    t = task(limits=Limits(max_cost=0.5))
    found, reference = SearchPlanner().plan(t), CpSatPlanner(small=0, search_first=0).plan(t)
    assert found.status == reference.status == "infeasible"
    assert found.blocking == reference.blocking == ("max_cost",)
    assert found.reason == reference.reason


def test_search_gives_up_with_a_clear_error_past_its_state_budget() -> None:
    """Past max_states expansions the search stops and says how to use CP-SAT instead,
    from an intent or from the command line (`ido plan --pddl` has no intent file)."""
    with pytest.raises(PlanningError, match=r"search expanded 1 state without finishing") as e:
        SearchPlanner(max_states=1).plan(task())
    assert "`planner: cpsat` in the intent, or `ido plan --planner cpsat`" in str(e.value)
    assert "a larger `limits.search_states` in the intent" in str(e.value)
    assert "`ido plan --search-states N`" in str(e.value)


def test_search_gives_up_past_its_comparison_budget() -> None:
    """Paths checked against cost time as expansions do, and are bounded too: a budget of
    exactly what the search needs settles it, one less gives up and says so."""
    t = task()
    settled = SearchPlanner().plan(t)
    assert settled.status == "planned"
    needed = next(n for n in range(10_000) if _settles(t, max_compared=n))
    assert needed > 0  # the task reaches some state by two paths
    assert SearchPlanner(max_compared=needed).plan(t).plan == settled.plan
    with pytest.raises(
        PlanningError, match=rf"search checked new paths against {needed - 1:,} kept paths"
    ):
        SearchPlanner(max_compared=needed - 1).plan(t)
    # The default grows with the state budget; it is recorded with each decision.
    assert SearchPlanner(max_states=10).parameters(t)["max_compared"] == 2_000


def _settles(t: Task, **budget: int) -> bool:
    """Whether the search settles `t` within `budget` (`max_states`, `max_compared`)."""
    try:
        SearchPlanner(**budget).plan(t)
    except PlanningError:
        return False
    return True


def test_both_backends_take_their_search_budget_from_the_task() -> None:
    """`limits.search_states` reaches the planners as the task's `search_states`: the
    search gives up past it and so does CP-SAT's (the search that goes first included,
    with the model out of time), and each decision records the budget it had."""
    t = task()
    assert t.search_states == SEARCH_STATES  # the default
    needed = next(n for n in range(1, 1_000) if _settles(t, max_states=n))
    assert needed > 1
    enough, short = replace(t, search_states=needed), replace(t, search_states=needed - 1)
    assert SearchPlanner().plan(enough).plan == SearchPlanner().plan(t).plan
    with pytest.raises(PlanningError, match=rf"search expanded {needed - 1:,} states"):
        SearchPlanner().plan(short)
    assert SearchPlanner().parameters(short)["max_states"] == needed - 1
    assert SearchPlanner().parameters(short)["max_compared"] == (needed - 1) * 200
    out_of_time = replace(short, time_limit=1e-9)
    for planner in (CpSatPlanner(small=0, search_first=0), CpSatPlanner(small=0)):
        with pytest.raises(PlanningError, match=rf"\(it expanded {needed - 1:,} states\)"):
            planner.plan(out_of_time)
        assert planner.plan(replace(enough, time_limit=1e-9)).status == "planned"
    recorded = str(CpSatPlanner().parameters(short)["search_first"])
    assert recorded.startswith(f"astar first, up to {needed - 1:,} expansions, when")
    assert f"alternatives' searches up to {needed - 1:,} expansions first" in recorded
    # A planner's own budget, where one is given, is what it keeps to.
    assert SearchPlanner(max_states=needed).plan(short).status == "planned"


def agree(t: Task) -> None:
    """Both backends agree on the outcome; every plan is valid; optimal scores are equal."""
    found, reference = SearchPlanner().plan(t), CpSatPlanner(small=0, search_first=0).plan(t)
    assert found.status == reference.status, (found.reason, reference.reason)
    if found.plan is not None and reference.plan is not None:
        assert check_plan(t, found.plan) == []
        if reference.proven_optimal:
            assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
            # Ties on the score go to the fewer steps in both.
            assert len(found.plan.steps) == len(reference.plan.steps)
        for alternative in found.alternatives:
            assert check_plan(t, alternative.plan) == []
    if found.status == "infeasible":
        assert found.blocking == reference.blocking


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_search_and_cpsat_agree_on_small_random_problems(seed: int) -> None:
    """Same feasibility, same optimal score, same blocking constraints."""
    agree(random_task(seed, small=True))


@pytest.mark.parametrize("seed", LARGE_SEEDS)
def test_search_and_cpsat_agree_on_larger_random_problems(seed: int) -> None:
    """The same on tasks with up to ten capabilities, delete effects and limits."""
    agree(random_task(seed, small=False))


@pytest.mark.parametrize("seed", range(40))
def test_search_and_cpsat_agree_when_plans_repeat_a_capability(seed: int) -> None:
    """Token-minting plans: the reference finds the same optimum as CP-SAT."""
    agree(token_task(seed))


@pytest.mark.parametrize("seed", range(0, 200, 5))
def test_search_scores_the_brute_force_optimum(seed: int) -> None:
    """On small tasks the search's plan scores exactly the exhaustive optimum."""
    scores_the_brute_force_optimum(seed)


def scores_the_brute_force_optimum(seed: int) -> None:
    """The search's plan for a small random task scores exactly the exhaustive optimum."""
    t = replace(random_task(seed, small=True), alternatives=0)
    found = SearchPlanner().solve(t)
    best = brute_force(t)
    assert (found is None) == (best is None)
    if found is not None and best is not None:
        assert found.plan.score == pytest.approx(best.score, abs=1e-6)


@pytest.mark.parametrize("short", [2, 4, 16])
@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_a_long_horizon_is_deepened_without_losing_the_optimum(seed: int, short: int) -> None:
    """With max_steps 40 CP-SAT deepens from a short horizon; it still proves the optimum."""
    t = replace(token_task(seed), max_steps=40)
    found = CpSatPlanner(short_horizon=short).solve(t)
    reference = SearchPlanner().solve(t)
    assert found is not None and reference is not None
    assert found.optimal
    assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
    assert check_plan(t, found.plan) == []


@pytest.mark.parametrize("short", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_deepening_with_unit_costs_keeps_the_optimum(seed: int, short: int) -> None:
    """Every step costs 1, as in PDDL: a horizon without a plan proves each plan costs
    more than it has steps, and the next solve starts from that floor. The optimum, which
    meets the floor exactly when it is one step longer, is still found and proven (a floor
    one step too high fails most of these)."""
    unit = token_task(seed)
    actions = tuple(replace(a, cost=1.0, latency=0.0, reliability=1.0) for a in unit.actions)
    t = replace(unit, actions=actions, max_steps=40, limits=Limits())
    found = CpSatPlanner(short_horizon=short, small=0).solve(t)
    reference = SearchPlanner().solve(t)
    assert found is not None and reference is not None
    assert found.optimal
    assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
    assert check_plan(t, found.plan) == []


def unit_costs(t: Task) -> Task:
    """`t` with every step costing 1 and nothing else to weigh, as in STRIPS."""
    actions = tuple(replace(a, cost=1.0, latency=0.0, reliability=1.0) for a in t.actions)
    return replace(t, actions=actions, max_steps=40, limits=Limits())


@pytest.mark.parametrize("seed", range(40))
def test_the_landmark_floor_of_steps_is_a_lower_bound(seed: int) -> None:
    """No plan has fewer steps than `_fewest_steps` says, the optimum included."""
    t = unit_costs(token_task(seed))
    g = ground(t)
    reference = SearchPlanner().solve(t)
    assert reference is not None
    assert 1 <= _fewest_steps(g, frozenset(range(len(g.actions)))) <= len(reference.plan.steps)


def spied_horizons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The horizon of every `_solve_at` from now on."""
    horizons: list[int] = []
    solve_at = CpSatPlanner._solve_at

    def spy(self: CpSatPlanner, task: Task, g: Grounded, length: int, *rest: object) -> object:
        horizons.append(length)
        return solve_at(self, task, g, length, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(CpSatPlanner, "_solve_at", spy)
    return horizons


def test_a_plan_as_short_as_the_landmarks_allow_is_solved_on_a_short_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Steps all alike and a goal one step away, on a horizon (5) past the short one (4):
    one solve of one step settles it, where the short horizon's model was solved before
    (as it still is when the short horizon is under FEWEST_FIRST steps); same plan."""
    shortcut = replace(SHIP_DHL, name="ship-direct", requires=(), effects=SHIP.effects)
    t = task([*SHOP, PAY_SLOW, SHIP_DHL, shortcut], goal=("state.order.status == 'shipped'",))
    t = replace(t, actions=tuple(replace(a, cost=1.0, latency=0.0) for a in t.actions))
    t = replace(t, max_steps=40, weights=Weights(cost=1.0, latency=0.0, risk=0.0))
    horizons = spied_horizons(monkeypatch)
    found = CpSatPlanner(small=0, search_first=0, prune_from=10**6, short_horizon=4).solve(t)
    assert found is not None and found.optimal
    assert found.plan.capabilities == ("ship-direct",)
    assert horizons == [1]
    horizons.clear()
    found_before = CpSatPlanner(small=0, search_first=0, prune_from=10**6, short_horizon=3).solve(t)
    assert found_before is not None and found_before.plan == found.plan
    assert horizons == [3]
    horizons.clear()
    # Unlike metrics (one step at 1, the rest at 3): a one-step plan would not settle a
    # longer horizon's question, so the solve starts at the short horizon.
    unlike = replace(
        t, actions=tuple(replace(a, cost=3.0) for a in t.actions[:-1]) + t.actions[-1:]
    )
    found_unlike = CpSatPlanner(small=0, search_first=0, prune_from=10**6, short_horizon=4).solve(
        unlike
    )
    assert found_unlike is not None and found_unlike.plan == found.plan
    assert horizons == [4]


def test_a_miss_at_the_landmark_floor_goes_on_to_the_short_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The landmarks (b, and the a its maker needs) say two steps at least; the best plan
    takes three (a's makers each need something else first). The two-step solve finds
    nothing, the next is at the short horizon (8), and the plan is the optimum."""
    steps = (
        Action("make-b", "p", 1.0, 0.0, 1.0, requires=("state.a",), effects=(("b", True),)),
        Action("a1", "p", 1.0, 0.0, 1.0, requires=("state.x",), effects=(("a", True),)),
        Action("a2", "p", 1.0, 0.0, 1.0, requires=("state.y",), effects=(("a", True),)),
        Action("x-maker", "p", 1.0, 0.0, 1.0, effects=(("x", True),)),
        Action("y-maker", "p", 1.0, 0.0, 1.0, effects=(("y", True),)),
        # Undoes a: the state bound (15 steps) is then past the short horizon.
        Action("undo", "p", 1.0, 0.0, 1.0, requires=("state.a",), effects=(("a", False),)),
    )
    t = Task(
        state={"a": False, "b": False, "x": False, "y": False},
        goal=("state.b",),
        actions=steps,
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        max_steps=40,
    )
    g = ground(t)
    assert g.horizon > 8 and _fewest_steps(g, frozenset(range(len(g.actions)))) == 2
    horizons = spied_horizons(monkeypatch)
    found = CpSatPlanner(small=0, search_first=0, prune_from=10**6, short_horizon=8).solve(t)
    reference = SearchPlanner().solve(t)
    assert found is not None and reference is not None and found.optimal
    assert len(found.plan.steps) == 3
    assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
    assert horizons == [2, 8]


def test_cpsat_out_of_time_falls_back_to_the_search() -> None:
    """A time limit too short for CP-SAT to find anything: the search settles it exactly."""
    t = task(time_limit=1e-9)
    result = CpSatPlanner(small=0, search_first=0).plan(t)
    reference = CpSatPlanner(small=0, search_first=0).plan(task())
    assert result.status == "planned" and result.proven_optimal
    assert result.plan == reference.plan


def test_out_of_time_with_no_plan_is_not_reported_as_infeasible() -> None:
    """When neither CP-SAT's time nor the search's budget suffices, ido says so."""
    with pytest.raises(
        PlanningError,
        match=r"CP-SAT reached its time limit .* without a plan, and the search gave up too "
        r"\(it expanded 1 state\)",
    ):
        CpSatPlanner(small=0, search_first=0, fallback_states=1).plan(task(time_limit=1e-9))


def reachable(g: Grounded, actions: list[int], most: int = 3000) -> list[tuple[int, ...]]:
    """States reachable from the start with `actions`, breadth first, at most `most`."""
    start = tuple(0 for _ in g.fluents)
    found, todo = {start}, [start]
    while todo and len(found) < most:
        state = todo.pop(0)
        for a in actions:
            if all(tuple(state[f] for f in t.fluents) in t.true_rows for t in g.pre[a]):
                after = apply_values(state, g.eff[a])
                if after not in found:
                    found.add(after)
                    todo.append(after)
    return sorted(found)


def apply_values(state: tuple[int, ...], effects: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """The state after a step's effects, as a tuple of fluent values: the tests' own
    reckoning, beside the search's bitsets."""
    values = list(state)
    for f, v in effects:
        values[f] = v
    return tuple(values)


def grounded_cases() -> list[tuple[str, Task]]:
    cases = [(f"random-{seed}", random_task(seed, small=False)) for seed in LARGE_SEEDS]
    return cases + [(f"token-{seed}", token_task(seed)) for seed in range(20)]


@pytest.mark.parametrize(("name", "t"), grounded_cases(), ids=[n for n, _ in grounded_cases()])
def test_the_successors_are_exactly_the_actions_whose_preconditions_hold(
    name: str, t: Task
) -> None:
    """The index by fluent value finds the same actions, in the same order, as testing each."""
    g = ground(t)
    actions = list(range(len(g.actions)))
    successors = Successors(g, actions, g.packing)
    for state in reachable(g, actions):
        naive = [
            a
            for a in actions
            if all(tuple(state[f] for f in t.fluents) in t.true_rows for t in g.pre[a])
        ]
        assert successors.of(g.packing.pack(state)) == naive


@pytest.mark.parametrize(("name", "t"), grounded_cases(), ids=[n for n, _ in grounded_cases()])
def test_the_estimate_of_what_is_left_is_consistent(name: str, t: Task) -> None:
    """Zero where the goal holds, and one step never lowers it by more than the step's own
    weight: so it never overestimates, and A* with it returns optimal plans."""
    g = ground(t)
    actions = list(range(len(g.actions)))
    weight = {a: measure(t, g.actions[a], "score") for a in actions}
    remaining = Remaining(g, actions, weight, min(weight.values(), default=0.0))
    packing = g.packing
    goal = compile_check(packing, g.goal)
    successors = Successors(g, actions, packing)
    for values in reachable(g, actions):
        state = packing.pack(values)
        here = remaining(state, goal.holds(state))
        if goal.holds(state):
            assert here == 0.0
        for a in successors.of(state):
            after = apply_step(state, packing.step(g.eff[a]))
            assert packing.unpack(after) == apply_values(values, g.eff[a])
            assert here <= weight[a] + remaining(after, goal.holds(after)) + 1e-9


@pytest.mark.parametrize(("name", "t"), grounded_cases(), ids=[n for n, _ in grounded_cases()])
def test_the_missing_goal_values_worked_out_step_by_step_are_those_of_the_state(
    name: str, t: Task
) -> None:
    """The search works out which goal values a successor misses from its parent's and the
    step's writes: the same as looking in the successor, on every reachable state and step
    of the seeded tasks."""
    g = ground(t)
    actions = list(range(len(g.actions)))
    weight = {a: measure(t, g.actions[a], "score") for a in actions}
    remaining = Remaining(g, actions, weight, min(weight.values(), default=0.0))
    packing = g.packing
    successors = Successors(g, actions, packing)
    for values in reachable(g, actions):
        state = packing.pack(values)
        here = remaining.missing(state)
        assert here == sum(1 << i for i, (f, v) in enumerate(remaining.goals) if values[f] != v)
        for a in successors.of(state):
            after = apply_step(state, packing.step(g.eff[a]))
            assert remaining.after(here, a) == remaining.missing(after)


def test_the_estimate_counts_every_goal_value_still_missing() -> None:
    """Three goal values, each written by its own step costing 1, 2 and 3: from the start
    all three are missing, so at least 6 is left to pay, not one step's 1."""
    steps = [
        Action(
            f"do-{i}",
            "p",
            cost=float(i),
            latency=0.0,
            reliability=1.0,
            effects=((f"job.g{i}", True),),
        )
        for i in (1, 2, 3)
    ]
    t = Task(
        state={"job": {f"g{i}": False for i in (1, 2, 3)}},
        goal=tuple(f"state.job.g{i}" for i in (1, 2, 3)),
        actions=tuple(steps),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
    )
    g = ground(t)
    actions = list(range(len(g.actions)))
    weight = {a: measure(t, g.actions[a], "score") for a in actions}
    remaining = Remaining(g, actions, weight, min(weight.values()))
    assert remaining(g.packing.start, False) == pytest.approx(6.0)


def test_a_step_that_writes_two_goal_values_is_counted_once() -> None:
    """`both` (2) writes both goal values after `prep` (1): 3 in all, cheaper than `one-1`
    and `one-2` (2 each). Charging `both` in full to each value it writes would overestimate
    the path through `prep` and return the plan costing 4."""

    def step(
        name: str, cost: float, writes: tuple[str, ...], needs: tuple[str, ...] = ()
    ) -> Action:
        effects = tuple((f"job.{fact}", True) for fact in writes)
        requires = tuple(f"state.job.{fact}" for fact in needs)
        return Action(name, "p", cost, 0.0, 1.0, requires=requires, effects=effects)

    t = Task(
        state={"job": {"g1": False, "g2": False, "ready": False}},
        goal=("state.job.g1", "state.job.g2"),
        actions=(
            step("prep", 1.0, ("ready",)),
            step("both", 2.0, ("g1", "g2"), needs=("ready",)),
            step("one-1", 2.0, ("g1",)),
            step("one-2", 2.0, ("g2",)),
        ),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        alternatives=0,
    )
    found = SearchPlanner().solve(t)
    assert found is not None
    assert [s.capability for s in found.plan.steps] == ["prep", "both"]


def test_a_bound_rounded_to_whole_units_stays_below_the_cost_at_any_scale() -> None:
    """Eleven goal values written together by `z` (W + 1 millionths) or, after the free
    `x`, by `y` (W). At W near 1e13 units the goal values' shares (W / 11 each) sum to a
    little over W in floats; rounded up to whole units that was W + 1, the search took `z`
    for the cheapest and called it proven. The rounding's margin now grows with the bound."""
    big, k = 9761880762232, 11
    goals = [f"s.g{i}" for i in range(k)]
    state = {"s": {**{f"g{i}": False for i in range(k)}, "p": False, "q0": False, "q1": False}}
    writes = tuple((g, True) for g in goals)
    steps = (
        Action("z", "p", (big + 1) / 1e6, 0.0, 1.0, (), writes),
        Action("x", "p", 0.0, 0.0, 1.0, (), (("s.p", True),)),
        Action("y", "p", big / 1e6, 0.0, 1.0, ("state.s.p",), writes),
        *(
            Action(f"pad{i}", "p", 1.0, 0.0, 1.0, (), ((f"s.q{i}", True), ("s.p", True)))
            for i in range(2)
        ),
    )
    t = Task(
        state=state,
        goal=tuple(f"state.{g}" for g in goals),
        actions=steps,
        weights=Weights(cost=1.0),
        alternatives=0,
    )
    found = SearchPlanner().plan(t)
    assert found.plan is not None and found.plan.capabilities == ("x", "y")
    alone = CpSatPlanner(small=0, search_first=0).plan(t)
    assert alone.plan is not None and alone.plan.capabilities == ("x", "y")


def test_among_paths_as_promising_the_search_goes_on_with_the_longest() -> None:
    """Ten goal values, each written by a step of its own costing 1: the estimate is
    exact, so every path on the way is as promising as the goal. Going on with the longest
    of them reaches the goal in eleven expansions; going on with the shortest first would
    expand every subset of the ten, 1,023 states, before the goal."""
    k = 10
    steps = tuple(
        Action(f"do-{i}", "p", 1.0, 0.0, 1.0, effects=((f"job.g{i}", True),)) for i in range(k)
    )
    t = Task(
        state={"job": {f"g{i}": False for i in range(k)}},
        goal=tuple(f"state.job.g{i}" for i in range(k)),
        actions=steps,
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        alternatives=0,
    )
    found = SearchPlanner(max_states=k + 1).plan(t)
    assert found.plan is not None and found.proven_optimal
    assert len(found.plan.steps) == k and found.plan.cost == pytest.approx(k)


def _question(t: Task) -> tuple[Task, Grounded, int]:
    g = ground(t)
    return t, g, g.horizon


@pytest.mark.parametrize("kind", ["random", "token"])
def test_a_search_that_gave_up_goes_on_to_the_same_answer(kind: str) -> None:
    """Given up after k expansions and gone on with the full budget, the search ends where
    one run with that budget ends: the same answer, after the same expansions in all.
    Every k, on the seeded tasks that take three expansions or more (some under limits,
    where states keep several paths)."""
    tried = 0
    for seed in range(200 if kind == "random" else 40):
        made = random_task(seed, small=False) if kind == "random" else token_task(seed)
        t, g, length = _question(replace(made, alternatives=0))
        whole = AStarSearch(Question(t, g, length))
        answer = whole.run(SEARCH_STATES, SEARCH_STATES * 200)
        if whole.expanded < 3:
            continue
        tried += 1
        for k in range(whole.expanded):
            with pytest.raises(SearchGaveUp) as stop:
                AStarSearch(Question(t, g, length)).run(k, SEARCH_STATES * 200)
            paused = stop.value.paused
            assert paused is not None and paused.expanded == k
            assert paused.run(SEARCH_STATES, SEARCH_STATES * 200) == answer
            assert paused.expanded == whole.expanded
    assert tried >= 30


def _metric_units(t: Task, g: Grounded, plan: Plan, metric: Metric) -> int:
    """The plan's metric as the search counts it: whole millionths per step, or of the
    critical path once."""
    if metric == "latency":
        return units(ordered(g, plan).latency)
    return sum(units(measure(t, g.actions[g.position[n]], metric)) for n in plan.capabilities)


@pytest.mark.parametrize("metric", ["score", "cost", "risk", "latency"])
@pytest.mark.parametrize("kind", ["random", "token"])
def test_a_search_under_a_ceiling_answers_what_the_whole_search_does_below_it(
    kind: str, metric: Metric
) -> None:
    """Asked only for a plan below `under`, the search returns what the whole search does
    when that scores below it, after the same expansions, and None otherwise, after no
    more: every ceiling from below the start's estimate to past the optimum, on the seeded
    tasks (some under limits, where states keep several paths), with nothing left out and
    without the first step of the plan. Given up halfway, it goes on to the same answer."""
    cut_short = 0
    for seed in range(60 if kind == "random" else 30):
        made = random_task(seed, small=False) if kind == "random" else token_task(seed)
        t, g, length = _question(replace(made, alternatives=0))
        first = AStarSearch(Question(t, g, length, metric)).run(SEARCH_STATES, SEARCH_STATES * 200)
        questions = [frozenset[str]()]
        if first is not None and first.plan.steps:
            questions.append(frozenset(first.plan.capabilities[:1]))
        for without in questions:
            whole = AStarSearch(Question(t, g, length, metric, without))
            answer = whole.run(SEARCH_STATES, SEARCH_STATES * 200)
            best = None if answer is None else _metric_units(t, g, answer.plan, metric)
            tops = [0, 1, 10**12] if best is None else [0, best - 1, best, best + 1, 10**12]
            for under in tops:
                cut = AStarSearch(Question(t, g, length, metric, without, under))
                got = cut.run(SEARCH_STATES, SEARCH_STATES * 200)
                if best is not None and best < under:
                    assert got == answer
                    assert cut.expanded == whole.expanded
                else:
                    assert got is None
                    assert cut.expanded <= whole.expanded
                    cut_short += cut.expanded < whole.expanded
                if cut.expanded >= 2:  # given up halfway, then gone on with its own question
                    half = AStarSearch(Question(t, g, length, metric, without, under))
                    with pytest.raises(SearchGaveUp) as stop:
                        half.run(cut.expanded // 2, SEARCH_STATES * 200)
                    paused = stop.value.paused
                    searcher = SearchPlanner()
                    assert (
                        searcher.settle(Question(t, g, length, metric, without, under), paused)
                        == got
                    )
    assert cut_short >= 10


def test_a_paused_search_goes_on_with_its_own_question_only() -> None:
    """Going on needs the same task and grounding (the objects, not equal copies) and the
    same question: another metric, ceiling, length or capability left out is refused. A
    smaller budget than it has spent gives up at once, saying what it spent."""
    t, g, length = _question(task())
    with pytest.raises(SearchGaveUp) as stop:
        SearchPlanner(max_states=2).settle(Question(t, g, length))
    paused = stop.value.paused
    assert paused is not None
    with pytest.raises(ValueError, match="its own question only"):
        SearchPlanner().settle(Question(t, g, length, "cost"), paused)
    with pytest.raises(ValueError, match="its own question only"):
        SearchPlanner().settle(Question(replace(t), g, length), paused)  # an equal copy
    with pytest.raises(ValueError, match="its own question only"):
        SearchPlanner().settle(Question(t, g, length, under=10**9), paused)
    others = [
        Question(t, ground(t), length),  # an equal grounding
        Question(t, g, length - 1),
        Question(t, g, length, without=frozenset({t.actions[0].name})),
    ]
    for other in others:
        with pytest.raises(ValueError, match="its own question only"):
            SearchPlanner().settle(other, paused)
    with pytest.raises(SearchGaveUp, match="expanded 2 states"):
        SearchPlanner(max_states=1).settle(Question(t, g, length), paused)
    assert SearchPlanner().settle(Question(t, g, length), paused) == (
        SearchPlanner().settle(Question(t, g, length))
    )


def test_a_search_stopped_mid_expansion_cannot_go_on() -> None:
    """Out of comparisons, the search stops between two successors of a state: the rest
    would be lost, so it offers nothing to go on with."""
    t = task()
    needed = next(n for n in range(10_000) if _settles(t, max_compared=n))
    with pytest.raises(SearchGaveUp) as stop:
        SearchPlanner(max_compared=needed - 1).plan(t)
    assert stop.value.paused is None


def test_cpsat_out_of_time_goes_on_with_the_search_that_went_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search that went first gave up after one expansion, CP-SAT then ran out of time:
    the fallback is that same search, going on from its second expansion."""
    runs: list[tuple[int, int]] = []
    run = AStarSearch.run

    def spied(
        self: AStarSearch, max_states: int, max_compared: int, most: int | None = None
    ) -> Solution | None:
        runs.append((id(self), self.expanded))
        return run(self, max_states, max_compared, most)

    monkeypatch.setattr(AStarSearch, "run", spied)
    result = CpSatPlanner(small=0, search_first=1).plan(task(time_limit=1e-9))
    reference = CpSatPlanner(small=0, search_first=0).plan(task())
    assert result.status == "planned" and result.proven_optimal
    assert result.plan == reference.plan
    (first, at_first), (fallback, at_fallback) = runs[:2]
    assert fallback == first and (at_first, at_fallback) == (0, 1)


def test_the_goal_values_missed_are_added_up_afresh_at_any_scale() -> None:
    """`big` (W units) then `tri` (1 unit, three goal values) is cheapest; `one` does all in
    one step for W + 2. After `big`, the three values' shares (1/3 each) were once kept up
    by adding and taking away shares step by step, beside the 1e13-unit share of `a.h`:
    the sum came out 1.0019, rounded up to 2, and `one` was returned as proven optimal."""
    big = 4 * 10**13
    goals = (("b.g1", True), ("b.g2", True), ("b.g3", True))
    t = Task(
        state={"a": {"h": False}, "b": {"g1": False, "g2": False, "g3": False}},
        goal=("state.a.h", "state.b.g1", "state.b.g2", "state.b.g3"),
        actions=(
            Action("big", "p", big / 1e6, 0.0, 1.0, (), (("a.h", True),)),
            Action("tri", "p", 1e-6, 0.0, 1.0, ("state.a.h",), goals),
            Action("one", "p", (big + 2) / 1e6, 0.0, 1.0, (), (("a.h", True), *goals)),
        ),
        weights=Weights(cost=1.0),
        alternatives=0,
    )
    found = SearchPlanner().plan(t)
    assert found.plan is not None and found.plan.capabilities == ("big", "tri")


@pytest.mark.parametrize("seed", range(40))
def test_the_fastest_plan_is_found_when_it_repeats_a_step(seed: int) -> None:
    """By elapsed time, CP-SAT finds what the search finds on the token tasks, whose plans
    mint a token again before each use. Its bound on the elapsed time counted each step
    once, and it said "no plan" on 14 of these 40."""
    t = replace(token_task(seed), alternatives=0)
    g = ground(t)
    found = SearchPlanner().solve(t, g, "latency")
    reference = CpSatPlanner(small=0, search_first=0).solve(t, g, "latency")
    assert (found is None) == (reference is None)
    if found is not None and reference is not None:
        assert reference.plan.latency == pytest.approx(found.plan.latency, abs=1e-6)


def test_a_deadline_below_a_fastest_plan_that_repeats_a_step_is_explained() -> None:
    """The explanation of a deadline nothing meets names the fastest plan; where that plan
    mints a token twice, CP-SAT once found none, and `ido plan` failed with a traceback."""
    t = replace(token_task(3), alternatives=0, limits=Limits(deadline=4.0))
    result = CpSatPlanner(small=0, search_first=0).plan(t)
    assert result.status == "infeasible" and result.blocking == ("deadline",)
    assert result.reason is not None
    assert "the fastest plan takes 4.4s on its critical path (mint 400ms → step0" in result.reason


def test_by_elapsed_time_a_tie_in_whole_millionths_goes_to_fewer_steps() -> None:
    """p1 then p2 take 0.1 + 0.2 s, q1 to q3 0.2 + 0.05 + 0.05 s: in floats the first is
    0.30000000000000004, the second 0.3. In whole millionths they tie, and both backends
    take the two steps; the search took the three when it compared floats."""

    def step(name: str, latency: float, needs: str | None, writes: str) -> Action:
        requires = () if needs is None else (f"state.s.{needs}",)
        return Action(name, "p", 1.0, latency, 1.0, requires, ((f"s.{writes}", True),))

    t = Task(
        state={"s": {"a": False, "b": False, "c": False, "goal": False}},
        goal=("state.s.goal",),
        actions=(
            step("p1", 0.1, None, "a"),
            step("p2", 0.2, "a", "goal"),
            step("q1", 0.2, None, "b"),
            step("q2", 0.05, "b", "c"),
            step("q3", 0.05, "c", "goal"),
        ),
        alternatives=0,
    )
    g = ground(t)
    for planner in (SearchPlanner(), CpSatPlanner(small=0, search_first=0)):
        found = planner.solve(t, g, "latency")
        assert found is not None and found.plan.capabilities == ("p1", "p2"), planner.name


def test_an_alternative_the_search_cannot_settle_is_left_out_and_named() -> None:
    """The plan is found within the budget; the best plan without one of its capabilities
    is not. That alternative is left out and named in the solver record, where the whole
    decision used to fail ("search expanded 2 states without finishing")."""
    from ido.explain_decisions import decision_parts

    t = random_task(37, small=False)
    result = SearchPlanner(max_states=2).plan(t)
    assert result.status == "planned" and result.plan is not None
    check_plan(t, result.plan)
    (unsettled,) = result.solver["alternatives_unsettled"]
    assert unsettled.startswith("without a3: search expanded 2 states without finishing")
    assert len(result.alternatives) == 1
    decision = {"result": result.to_json(), "actions": [], "observed": {}}
    lines = decision_parts(decision)["alternatives"]
    assert lines[-1] == f"not settled, left out: {unsettled}"


@pytest.mark.parametrize("seed", [0, 54])
def test_by_elapsed_time_the_search_is_led_by_the_earliest_end_of_the_goal(seed: int) -> None:
    """By latency, every path is bounded by the earliest its goal can hold from its state and
    clocks, and its steps by the landmarks: on tasks of parallel chains the search walks
    to the fastest plan (12 and 11 expansions) where, with only "one more step", it
    expanded 126,981 and 79,964 states."""
    from benchmarks.fastest_plans import parallel_chains

    t = parallel_chains(seed)
    g = ground(t)
    search = AStarSearch(Question(t, g, t.max_steps, "latency"))
    found = search.run(1_000, 10**9)
    assert found is not None and found.optimal and search.expanded <= 50
    plan = ordered(g, found.plan)
    assert (len(plan.steps), check_plan(t, plan)) == ({0: 12, 54: 11}[seed], [])
    assert plan.latency == pytest.approx({0: 3.956, 54: 3.02}[seed])


def test_under_a_deadline_no_path_that_cannot_meet_it_is_expanded() -> None:
    """A deadline below the earliest end of the goal leaves nothing to expand; one just
    above it lets the search go straight to the plan."""
    state = {"a": False, "b": False, "c": False}
    actions = (
        Action("make-a", "p", 1.0, 0.5, 1.0, (), (("a", True),)),
        Action("make-b", "p", 1.0, 0.7, 1.0, ("state.a",), (("b", True),)),
        Action("make-c", "p", 1.0, 0.4, 1.0, (), (("c", True),)),
    )
    t = Task(state, ("state.b", "state.c"), actions, limits=Limits(deadline=1.1))
    g = ground(t)
    too_soon = AStarSearch(Question(t, g, 5, "cost"))
    assert too_soon.run(1_000, 10**9) is None and too_soon.expanded == 0
    t = replace(t, limits=Limits(deadline=1.2))
    g = ground(t)
    in_time = AStarSearch(Question(t, g, 5, "cost"))
    found = in_time.run(1_000, 10**9)
    assert found is not None and found.plan.capabilities == ("make-a", "make-b", "make-c")
    assert in_time.expanded == 3


@pytest.mark.parametrize("seed", range(0, 40, 5))
def test_under_a_ceiling_the_model_deepens_no_further_than_a_plan_below_it_could_reach(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every step costs 1: a plan below a ceiling of C units has fewer than C / 1,000,000
    steps, so CP-SAT's deepening stops at that horizon. At the optimum's own value it
    answers None without a longer model; one unit above, the optimum."""
    from ido.planner.solving import objective

    t = unit_costs(token_task(seed))
    planner = CpSatPlanner(small=0, search_first=0, prune_from=10**6, short_horizon=2)
    g = ground(t)
    best = planner.solve(t, g)
    assert best is not None
    value = objective(t, g, best.plan)
    horizons: list[int] = []
    solve_at = CpSatPlanner._solve_at

    def recorded(self: CpSatPlanner, task: Task, g: Grounded, length: int, *rest, **kw):  # type: ignore[no-untyped-def]
        horizons.append(length)
        return solve_at(self, task, g, length, *rest, **kw)

    monkeypatch.setattr(CpSatPlanner, "_solve_at", recorded)
    assert planner.solve(t, g, under=value) is None
    most = max(1, (value - 1) // units(1.0))
    assert horizons and max(horizons) <= most
    above = planner.solve(t, g, under=value + 1)
    assert above is not None and objective(t, g, above.plan) == value


def test_both_out_of_budget_errors_are_reworded_alike() -> None:
    """The search's give-up and CP-SAT's (both budgets spent) each carried its own `spent`
    and `advised`; they share `OutOfBudget` now: the CLI rewords the advice of either, and
    what the error carries (the paused search) stays."""
    from ido.errors import OutOfBudget
    from ido.planner.cpsat import BudgetsSpent

    paused = AStarSearch(Question(task(), ground(task()), 5))
    stop = SearchGaveUp("expanded 5 states", paused)
    spent = BudgetsSpent("CP-SAT reached its time limit")
    assert isinstance(stop, OutOfBudget) and isinstance(spent, OutOfBudget)
    again = stop.advised("`--search-states N` lets it go further")
    assert type(again) is SearchGaveUp and again.paused is paused and again.spent == stop.spent
    assert (
        str(again)
        == "search expanded 5 states without finishing; `--search-states N` lets it go further"
    )
    assert "in the intent" in str(stop) and again.advice.startswith("`--search-states")
    assert str(spent.advised("more")) == "CP-SAT reached its time limit; more"
    assert str(spent).startswith("CP-SAT reached its time limit; the catalog may be too large")


UNSET_GOALS = [
    "state.parcel.carrier == 'dhl'",
    "!(state.parcel.carrier == 'ups')",
    "state.parcel.carrier == 'dhl' || state.parcel.weight > 2",
    "state.parcel.carrier == 'dhl' ? true : false",
    "has(state.parcel.carrier)",
    "!has(state.parcel.carrier)",
    "state.parcel.box.size == 'm'",
]


@pytest.mark.parametrize("given", [{}, {"parcel": {}}])
@pytest.mark.parametrize("goal", UNSET_GOALS)
def test_search_and_cpsat_agree_on_goals_over_facts_not_set_yet(
    goal: str, given: dict[str, object]
) -> None:
    """A goal reading `parcel`, not set yet (no map, or a map without the fact), under
    `!`, `||`, `? :`, `has()` and a nested map: both backends and the brute force agree
    on whether a plan reaches it, and on its score. `!has(state.parcel.carrier)` with no
    `parcel` holds once `weigh` (or `box`) makes `parcel` without a carrier: its table reads
    the facts that make `parcel` too."""
    steps = [
        Action("label-dhl", "p", 1.0, 1.0, 1.0, (), (("parcel.carrier", "dhl"),)),
        Action("label-ups", "p", 0.5, 1.0, 1.0, (), (("parcel.carrier", "ups"),)),
        Action("weigh", "p", 0.2, 1.0, 1.0, (), (("parcel.weight", 3),)),
        Action("box", "p", 0.4, 1.0, 1.0, (), (("parcel.box", {"size": "m"}),)),
    ]
    t = Task(given, (goal,), tuple(steps), Weights(cost=1.0), max_steps=2)
    agree(t)
    found, best = SearchPlanner().solve(t), brute_force(t)
    assert (found is None) == (best is None), goal
    if found is not None and best is not None:
        assert found.plan.score == pytest.approx(best.score, abs=1e-6)
