"""Landmark bounds (`ido.planner.bounds`): never above a real plan, and pruning keeps the optimum.

The bounds are checked against every plan a depth-first enumeration finds on small random
tasks; the pruning CP-SAT does with them is checked by solving the same tasks with and
without it, on the random tasks of the property tests and on larger provider catalogs.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from ido.errors import PlanningError
from ido.planner import astar, cpsat, solving
from ido.planner.bounds import (
    LAMBDAS,
    beyond,
    landmarks,
    lower_bounds,
    objective_bounds,
    over,
    plan_floor,
)
from ido.planner.cpsat import CpSatPlanner
from ido.planner.cpsat._encoding import _Encoding
from ido.planner.cpsat._shortcuts import _swapped
from ido.planner.grounding import goal_reachable, ground
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.solving import Question, horizon, objective, usable
from ido.planner.types import Action, Limits, Task, Weights
from ido.state import apply_effects, close_world
from tests.planner.test_property import holds, random_task, token_task


def plans(task: Task, limit: int = 400) -> Iterator[list[Action]]:
    """Valid plans (any within max_steps, not only optimal ones), depth first."""
    found = 0

    def walk(state: dict[str, Any], chosen: list[Action]) -> Iterator[list[Action]]:
        nonlocal found
        if found >= limit:
            return
        if chosen and all(holds(g, state) for g in task.goal):
            found += 1
            yield chosen
        if len(chosen) == min(task.max_steps, 5):
            return
        for action in task.actions:
            if all(holds(r, state) for r in action.requires):
                yield from walk(apply_effects(state, dict(action.effects)), [*chosen, action])

    yield from walk(dict(task.state), [])


@pytest.mark.parametrize("seed", range(120))
def test_no_plan_costs_less_than_the_bound_of_an_action_in_it(seed: int) -> None:
    """For every plan found and every action in it: plan score ≥ that action's landmark bound."""
    task = random_task(seed, small=True)
    g = ground(task)
    allowed = frozenset(range(len(g.actions)))
    marks = landmarks(g, allowed)
    if marks is None:
        return
    index = {a.name: i for i, a in enumerate(g.actions)}
    scores = [task.weights.score(a) for a in g.actions]
    bounds = lower_bounds(scores, marks, allowed)
    cost_of = [a.cost for a in g.actions]
    risk_of = [a.risk for a in g.actions]
    for chosen in plans(task):
        score = sum(task.weights.score(a) for a in chosen)
        cost = sum(a.cost for a in chosen)
        risk = sum(a.risk for a in chosen)
        for action in chosen:
            if action.name in index:
                assert score >= bounds[index[action.name]] - 1e-9, (action.name, chosen)
        # The plan is within the limits it meets exactly, and no better than itself: none of
        # its actions may be ruled out.
        ruled_out = beyond(
            allowed,
            marks,
            lambda a: scores[a],
            score,
            [(lambda a: cost_of[a], cost), (lambda a: risk_of[a], risk)],
        )
        assert not ruled_out & {index[a.name] for a in chosen if a.name in index}


def provider_task(seed: int) -> Task:
    """A chain of stages, many providers each (cost, latency and reliability traded), some
    irrelevant or locked ones, and one limit that cuts off the unconstrained optimum."""
    rng = random.Random(f"bounds:{seed}")
    stages = rng.randint(3, 6)
    actions = []
    for stage in range(stages):
        for p in range(rng.randint(4, 12)):
            quality = rng.random()
            requires = ["state.env.ready"] if stage == 0 else [f"state.job.s{stage - 1}"]
            if stage and rng.random() < 0.3:
                requires.append(f"!state.job.s{stage}")
            actions.append(
                Action(
                    name=f"s{stage}-p{p}",
                    provider=f"p{p}",
                    cost=round(rng.uniform(0.5, 2.0) * (0.4 + 1.2 * quality), 3),
                    latency=round(rng.uniform(0.5, 2.0) * (1.6 - 1.2 * quality), 3),
                    reliability=round(1 - 0.08 * (1 - quality) - 0.002, 4),
                    requires=tuple(requires),
                    effects=((f"job.s{stage}", True),),
                )
            )
    for j in range(rng.randint(0, 8)):
        actions.append(
            Action(
                name=f"aux-{j}",
                provider="aux",
                cost=0.1,
                latency=0.1,
                reliability=0.99,
                requires=(f"state.job.s{rng.randrange(stages)}",),
                effects=((f"aux.a{j}", True),),
            )
        )
    booleans = {p for a in actions for p, v in a.effects if isinstance(v, bool)}
    which = rng.choice(["cost", "risk", "deadline", None])
    cheapest = sum(
        min(a.cost for a in actions if a.name.startswith(f"s{s}-")) for s in range(stages)
    )
    safest = sum(min(a.risk for a in actions if a.name.startswith(f"s{s}-")) for s in range(stages))
    fastest = sum(
        min(a.latency for a in actions if a.name.startswith(f"s{s}-")) for s in range(stages)
    )
    limits = Limits(
        max_cost=cheapest * rng.uniform(1.02, 1.3) if which == "cost" else None,
        min_success_probability=math.exp(-safest * rng.uniform(1.05, 1.6))
        if which == "risk"
        else None,
        deadline=fastest * rng.uniform(1.05, 1.5) if which == "deadline" else None,
    )
    return Task(
        state=close_world({"env": {"ready": True}}, booleans),
        goal=(f"state.job.s{stages - 1}",),
        actions=tuple(actions),
        weights=Weights(cost=1.0, latency=0.5, risk=2.0),
        limits=limits,
        max_steps=20,
    )


def _same(task: Task) -> None:
    pruned = CpSatPlanner(prune_from=1, threads=1).solve(task)
    plain = CpSatPlanner(prune_from=10**9, small=0, threads=1).solve(task)  # CP-SAT alone
    assert (pruned is None) == (plain is None)
    if pruned is None or plain is None:
        return
    assert pruned.optimal and plain.optimal
    assert pruned.plan.score == pytest.approx(plain.plan.score, abs=1e-6)
    assert not check_plan(task, pruned.plan)


@pytest.mark.parametrize("seed", range(60))
def test_pruning_keeps_the_optimum_on_random_tasks(seed: int) -> None:
    """With and without the bounds, CP-SAT finds a plan on the same tasks, of the same score."""
    _same(random_task(seed, small=False))


@pytest.mark.parametrize("seed", range(30))
def test_pruning_keeps_the_optimum_on_provider_catalogs(seed: int) -> None:
    """Catalogs of 12–80 providers under a binding limit: same optimum with and without."""
    _same(provider_task(seed))


def test_pruning_leaves_out_providers_that_cannot_be_in_the_best_plan() -> None:
    """With the best plan's score as the bound, some providers are left out, none of the plan's."""
    task = provider_task(3)
    g = ground(task)
    allowed = frozenset(range(len(g.actions)))
    marks = landmarks(g, allowed)
    assert marks is not None and len(marks) >= 3
    best = CpSatPlanner(prune_from=10**9, small=0, threads=1).solve(task)
    assert best is not None
    scores = [task.weights.score(a) for a in g.actions]
    ruled_out = beyond(allowed, marks, lambda a: scores[a], best.plan.score)
    assert ruled_out and not ruled_out & {
        i for i, a in enumerate(g.actions) if a.name in best.plan.capabilities
    }


@pytest.mark.parametrize("seed", range(8))
def test_a_decision_with_alternatives_on_two_threads_is_repeatable(seed: int) -> None:
    """The alternatives' solves run side by side; the decision is the same every time."""
    task = provider_task(seed)
    first = CpSatPlanner(prune_from=1, threads=2).plan(task).to_json()
    for _ in range(2):
        assert CpSatPlanner(prune_from=1, threads=2).plan(task).to_json() == first


@pytest.mark.parametrize("seed", range(8))
def test_the_alternatives_threads_build_each_encoding_once(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Side by side, the alternatives' solves share their encodings: none is built twice
    (two threads building the same one at once took twice the time). The check relies on
    timing: the slowed build makes the two threads ask for the encoding at once, so without
    the lock it fails on most seeds (7 of 8 when it was written), never with it."""
    built: list[tuple[int, bool, frozenset[int]]] = []
    build = _Encoding.__init__

    def counted(self: Any, g: Any, horizon: int, actions: frozenset[int], timed: bool) -> None:
        time.sleep(0.01)  # a slow build: the other thread asks for it meanwhile
        build(self, g, horizon, actions, timed)
        built.append((horizon, timed, actions))

    monkeypatch.setattr(_Encoding, "__init__", counted)
    result = CpSatPlanner(prune_from=1, threads=2).plan(provider_task(seed))
    assert len(result.alternatives) >= 2
    assert len(built) == len(set(built)), built


@pytest.mark.parametrize("seed", range(40))
def test_an_alternative_turned_away_unsolved_has_no_plan(seed: int) -> None:
    """A solve leaving out a capability is answered without searching when the relaxed
    planning graph cannot reach the goal; A* run anyway finds no plan then."""
    task = random_task(seed, small=True)
    g = ground(task)
    if g.unreachable_goal:
        return
    planner = SearchPlanner()
    for action in g.actions:
        without = frozenset({action.name})
        searched = planner._solve(Question(task, g, horizon(task, g), "score", without))
        if not goal_reachable(g, usable(g, without)):
            assert searched is None, f"{action.name} was needed, yet a plan exists"
            assert planner.solve(task, g, without=without) is None


def test_leaving_out_a_capability_every_plan_needs_is_turned_away() -> None:
    """The one action that makes the goal true cannot be left out: the check says so."""
    only = Action("only", "p", 1.0, 1.0, 1.0, effects=(("done", True),))
    other = Action("other", "q", 1.0, 1.0, 1.0, effects=(("side", True),))
    task = Task(state={"done": False, "side": False}, goal=("state.done",), actions=(only, other))
    g = ground(task)
    names = [a.name for a in g.actions]
    assert not goal_reachable(g, usable(g, frozenset({"only"})))
    assert goal_reachable(g, usable(g, frozenset()))
    assert "only" in names


def _alternatives(task: Task, prune_from: int) -> list[float]:
    """The alternatives' scores; with `prune_from` 10**9, of CP-SAT alone (`small=0`)."""
    small = 0 if prune_from >= 10**9 else cpsat.SMALL
    result = CpSatPlanner(prune_from=prune_from, small=small, threads=1).plan(task)
    for alternative in result.alternatives:
        assert not check_plan(task, alternative.plan)
    return [round(a.plan.score, 6) for a in result.alternatives]


@pytest.mark.parametrize("seed", range(30))
def test_alternatives_are_the_same_with_and_without_the_bounds(seed: int) -> None:
    """Each alternative's solve starts from the chosen plan with a stand-in for the step it
    leaves out; the alternatives found are as good as those of the unpruned solves."""
    task = provider_task(seed)
    assert _alternatives(task, 1) == _alternatives(task, 10**9)


@pytest.mark.parametrize("seed", range(30))
def test_a_stand_in_plan_is_valid_within_the_limits(seed: int) -> None:
    """The swapped plan an alternative starts from is a real plan without the capability:
    valid, within the limits, and no better than the alternative the solve then proves."""
    task = provider_task(seed)
    planner = CpSatPlanner(prune_from=1, threads=1)
    result = planner.plan(task)
    assert result.plan is not None
    g = ground(task)
    everything = frozenset(range(len(g.actions)))
    swaps = 0
    for name in dict.fromkeys(result.plan.capabilities):
        without = frozenset({name})
        swapped = _swapped(
            task,
            g,
            result.plan,
            without,
            everything - {i for i, a in enumerate(g.actions) if a.name == name},
            "score",
        )
        if swapped is None:
            continue
        swaps += 1
        assert name not in swapped.capabilities
        assert not check_plan(task, swapped)
        best = planner.solve(task, g, without=without)
        assert best is not None and best.plan.score <= swapped.score + 1e-6
    assert swaps  # each of these catalogs has another provider for some chosen step


def tied_task(seed: int) -> Task:
    """Two chains of stages whose providers cost 1 or 2 and nothing else: many plans tie,
    as in a PDDL problem where another gripper or driver does the same job."""
    rng = random.Random(f"tied:{seed}")
    actions = []
    goal = []
    for chain in "ab":
        stages = rng.randint(2, 4)
        for stage in range(stages):
            before = "state.env.ready" if stage == 0 else f"state.{chain}.s{stage - 1}"
            for p in range(rng.randint(1, 4)):
                actions.append(
                    Action(
                        name=f"{chain}{stage}-p{p}",
                        provider=f"p{p}",
                        cost=rng.choice([1.0, 1.0, 2.0]),
                        latency=0.0,
                        reliability=1.0,
                        requires=(before,),
                        effects=((f"{chain}.s{stage}", True),),
                    )
                )
        goal.append(f"state.{chain}.s{stages - 1}")
    booleans = {p for a in actions for p, v in a.effects if isinstance(v, bool)}
    return Task(
        state=close_world({"env": {"ready": True}}, booleans),
        goal=tuple(goal),
        actions=tuple(actions),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        max_steps=20,
    )


class CountingPlanner(CpSatPlanner):
    solves = 0

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        self.solves += bool(kwargs.get("without"))
        return super().solve(*args, **kwargs)


class CountingSearch(SearchPlanner):
    solves = 0

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        self.solves += bool(kwargs.get("without"))
        return super().solve(*args, **kwargs)


def _are_the_best_alternatives(task: Task, result: Any, planner: Any) -> None:
    """`result`'s alternatives are as good as the best `task.alternatives` of solving without
    each chosen capability in turn (whichever of tied plans each is), and each is the best
    plan without one of them."""
    assert result.plan is not None
    g = ground(task)
    best: dict[str, int] = {}  # per chosen capability, the best score without it
    plans: dict[tuple[str, ...], int] = {}
    for name in dict.fromkeys(result.plan.capabilities):
        other = planner.solve(task, g, without=frozenset({name}))
        if other is not None:
            best[name] = objective(task, g, other.plan)
            if other.plan.capabilities != result.plan.capabilities:
                plans[other.plan.capabilities] = best[name]
    got = [a.plan for a in result.alternatives]
    wanted = sorted(plans.values())[: task.alternatives]
    assert sorted(objective(task, g, p) for p in got) == wanted
    for plan in got:
        assert not check_plan(task, plan)
        left_out = set(result.plan.capabilities) - set(plan.capabilities)
        assert any(best.get(n) == objective(task, g, plan) for n in left_out), left_out


@pytest.mark.parametrize("seed", range(30))
def test_alternatives_stop_once_the_rest_cannot_make_the_list(seed: int) -> None:
    """The alternatives are the best plans without each chosen capability, whichever are
    skipped by their floors: as good as solving every one, on one thread or two."""
    task = replace(provider_task(seed), alternatives=2)
    result = CountingPlanner(threads=1).plan(task)
    _are_the_best_alternatives(task, result, CpSatPlanner(threads=1))
    two = CpSatPlanner(threads=2).plan(task)
    assert two.to_json() == result.to_json()


@pytest.mark.parametrize("backend", ["cpsat", "search"])
@pytest.mark.parametrize("seed", range(40))
def test_alternatives_that_tie_with_the_plan_end_the_search(seed: int, backend: str) -> None:
    """No plan without a capability beats an optimal plan; once enough alternatives tie
    with it, the rest could at best tie too, and a tie goes to the one solved first. The
    list is still the best there is, and the same on one thread or two."""
    task = replace(tied_task(seed), alternatives=seed % 3 + 1)
    planner = CountingPlanner(threads=1) if backend == "cpsat" else CountingSearch()
    result = planner.plan(task)
    fresh = CpSatPlanner(threads=1) if backend == "cpsat" else SearchPlanner()
    _are_the_best_alternatives(task, result, fresh)
    if backend == "cpsat":
        assert CpSatPlanner(threads=2).plan(task).to_json() == result.to_json()


@pytest.mark.parametrize("backend", ["cpsat", "search"])
@pytest.mark.parametrize("wanted", [1, 2, 3])
def test_as_many_solves_as_alternatives_when_every_one_ties(backend: str, wanted: int) -> None:
    """Five stages, two providers at the same price each: leaving out any chosen step leaves
    a plan at the same score, so the first `wanted` solves settle the list."""
    task = Task(
        state=close_world({"env": {"ready": True}}, {f"job.s{s}" for s in range(5)}),
        goal=("state.job.s4",),
        actions=tuple(
            Action(
                name=f"s{s}-p{p}",
                provider=f"p{p}",
                cost=1.0,
                latency=0.0,
                reliability=1.0,
                requires=("state.env.ready" if s == 0 else f"state.job.s{s - 1}",),
                effects=((f"job.s{s}", True),),
            )
            for s in range(5)
            for p in range(2)
        ),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        max_steps=20,
        alternatives=wanted,
    )
    planner = CountingPlanner(threads=1) if backend == "cpsat" else CountingSearch()
    result = planner.plan(task)
    assert [a.score_delta for a in result.alternatives] == [0.0] * wanted
    assert planner.solves == wanted


@pytest.mark.parametrize("backend", ["cpsat", "search"])
def test_alternatives_that_tie_with_the_plan_spare_solves(backend: str) -> None:
    """On tasks full of ties, the ties end the alternatives' solves early: of one solve per
    chosen capability (58), 48 are spared; the floors alone spared 16."""
    spared = 0
    for seed in range(10):
        task = replace(tied_task(seed), alternatives=1)
        planner = CountingPlanner(threads=1) if backend == "cpsat" else CountingSearch()
        result = planner.plan(task)
        assert result.plan is not None
        spared += len(set(result.plan.capabilities)) - planner.solves
    assert spared >= 40


def test_the_floors_leave_out_some_alternatives_solves() -> None:
    """On these catalogs, the floors do spare solves: fewer than one per chosen capability."""
    spared = 0
    for seed in range(10):
        task = replace(provider_task(seed), alternatives=2)
        planner = CountingPlanner(threads=1)
        result = planner.plan(task)
        assert result.plan is not None
        spared += len(set(result.plan.capabilities)) - planner.solves
    assert spared > 0


def _shares_by_definition(costs: list[float], marks: Any) -> list[float]:
    """Per landmark, the least share of an achiever's cost, each action's cost split
    equally among the landmarks it achieves: the partitioning, written plainly."""
    count: dict[int, int] = {}
    for achievers in marks:
        for a in achievers:
            count[a] = count.get(a, 0) + 1
    return [min(costs[a] / count[a] for a in achievers) for achievers in marks]


def _lower_bounds_by_definition(
    costs: list[float], marks: Any, actions: frozenset[int]
) -> dict[int, float]:
    """`lower_bounds` as its docstring defines it, one action at a time."""
    cheapest = _shares_by_definition(costs, marks)
    total = sum(cheapest)
    achieves = {a: [m for m, ach in enumerate(marks) if a in ach] for a in actions}
    return {a: costs[a] + total - sum(cheapest[m] for m in achieves[a]) for a in actions}


def _bounds_by_definition(
    n: int, allowed: frozenset[int], marks: Any, objective: Any, limits: Any
) -> dict[int, float]:
    """`objective_bounds` as its docstring defines it, action by action (`n` actions)."""
    base = [objective(a) if a in allowed else 0.0 for a in range(n)]
    best = _lower_bounds_by_definition(base, marks, allowed)
    floor = sum(min(base[a] for a in achievers) for achievers in marks)
    for cost_of, limit in limits:
        extra = [cost_of(a) if a in allowed else 0.0 for a in range(n)]
        spread = sum(min(extra[a] for a in achievers) for achievers in marks)
        scale = floor / max(spread, limit, 1e-9)
        for factor in LAMBDAS:
            weight = factor * scale
            mixed = [b + weight * e for b, e in zip(base, extra)]
            for a, bound in _lower_bounds_by_definition(mixed, marks, allowed).items():
                best[a] = max(best[a], bound - weight * limit)
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_partition_gives_the_bounds_of_its_definition(seed: int) -> None:
    """`lower_bounds` and `plan_floor` share sums among actions that achieve the same
    landmarks: the floats are those of the plain definition, also for a part of the actions
    and with actions outside it priced out."""
    task = provider_task(seed)
    g = ground(task)
    everything = frozenset(range(len(g.actions)))
    marks = landmarks(g, everything)
    assert marks is not None
    rng = random.Random(seed)
    some = frozenset(a for a in everything if rng.random() < 0.7)
    for costs in (
        [task.weights.score(a) for a in g.actions],
        [a.cost for a in g.actions],
        [a.risk if i in some else math.inf for i, a in enumerate(g.actions)],
    ):
        for actions in (everything, some):
            # As text, float for float: inf - inf is nan on both sides, and nan != nan.
            want = _lower_bounds_by_definition(costs, marks, actions)
            got = lower_bounds(costs, marks, actions)
            assert {a: repr(v) for a, v in got.items()} == {a: repr(v) for a, v in want.items()}
        assert plan_floor(costs, marks) == sum(_shares_by_definition(costs, marks))


@pytest.mark.parametrize("seed", range(40))
def test_the_bounds_on_the_objective_are_those_of_their_definition(seed: int) -> None:
    """`objective_bounds` works its bounds out as lists, sharing sums: they are the floats
    the action-by-action definition gives, with no limit, one or two, also when some
    achievers are not allowed."""
    task = provider_task(seed)
    g = ground(task)
    everything = frozenset(range(len(g.actions)))
    rng = random.Random(seed)
    smaller = frozenset(a for a in everything if rng.random() < 0.8)
    scores = [task.weights.score(a) for a in g.actions]
    cost_of = [a.cost for a in g.actions]
    risk_of = [a.risk for a in g.actions]
    marks = landmarks(g, everything)
    assert marks is not None
    # Tight limits, a tenth over the least any plan needs: they sharpen the bounds.
    limited = [
        (lambda a: cost_of[a], plan_floor(cost_of, marks) * 1.1),
        (lambda a: risk_of[a], plan_floor(risk_of, marks) * 1.1),
    ]
    sharpened = False  # whether a limit raised some bound: the limits' part was compared
    for allowed in (everything, smaller):
        found = []
        for limits in ([], limited[:1], limited):
            args = (allowed, marks, lambda a: scores[a], limits)
            bounds = objective_bounds(*args)
            assert bounds == _bounds_by_definition(len(g.actions), *args)
            found.append(bounds)
        sharpened = sharpened or found[0] != found[1] or found[0] != found[2]
    assert sharpened


def test_beyond_leaves_out_the_actions_whose_bound_is_over_the_plan_found() -> None:
    """`beyond` is `objective_bounds` compared with the score of a plan found."""
    task = provider_task(3)
    g = ground(task)
    everything = frozenset(range(len(g.actions)))
    marks = landmarks(g, everything)
    assert marks is not None
    scores = [task.weights.score(a) for a in g.actions]
    bounds = objective_bounds(everything, marks, lambda a: scores[a])
    assert bounds is not None
    upper = sorted(bounds.values())[len(bounds) // 2]
    out = beyond(everything, marks, lambda a: scores[a], upper)
    assert out == over(bounds, upper) and 0 < len(out) < len(everything)
    assert not beyond(everything, marks, lambda a: -1.0, upper)  # negative: no bound


@pytest.mark.parametrize("seed", range(30))
def test_a_plan_at_the_landmark_floor_is_settled_without_its_solve(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slack limits on a provider catalog: the cheapest achiever of each landmark make a
    plan at the landmark floor, so no solve is run for it (fewer than with the check turned
    off), and the plan, its optimality and every alternative are the same as the unpruned
    planner's."""
    task = replace(provider_task(seed), limits=Limits())
    plain = CpSatPlanner(prune_from=10**9, small=0, threads=1).plan(task)  # CP-SAT alone
    assert _alternatives(task, 1) == _alternatives(task, 10**9)
    deepened = _no_deepening(monkeypatch)
    settled = CpSatPlanner(prune_from=1, threads=1, search_first=0).plan(task)
    with_check = len(deepened)
    deepened.clear()
    monkeypatch.setattr(CpSatPlanner, "_settles", lambda *args: False)
    unsettled = CpSatPlanner(prune_from=1, threads=1, search_first=0).plan(task)
    assert with_check < len(deepened)
    assert settled.plan is not None and plain.plan is not None and settled.proven_optimal
    assert settled.plan.score == pytest.approx(plain.plan.score, abs=1e-6)
    assert not check_plan(task, settled.plan)
    assert settled.to_json() == unsettled.to_json()


def test_a_plan_at_the_floor_with_more_steps_than_needed_is_not_settled() -> None:
    """Two steps totalling the floor, where one step that does both costs as much: the
    model prefers the shorter plan on a tie, so only the one step is settled at once."""
    both = Action("both", "c", 2.0, 0.0, 1.0, effects=(("a", True), ("b", True)))
    first = Action("first", "p", 1.0, 0.0, 1.0, effects=(("a", True),))
    second = Action("second", "q", 1.0, 0.0, 1.0, effects=(("b", True),))
    task = Task(
        state={"a": False, "b": False},
        goal=("state.a", "state.b"),
        actions=(both, first, second),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
    )
    g = ground(task)
    kept = frozenset(range(len(g.actions)))
    marks = landmarks(g, kept)
    assert marks is not None
    planner = CpSatPlanner(small=0, search_first=0, prune_from=1, threads=1)
    pair = CpSatPlanner(small=0, search_first=0, prune_from=10**9).solve(
        replace(task, actions=(first, second))
    )
    one = planner.solve(task)
    assert pair is not None and one is not None
    assert one.plan.capabilities == ("both",)
    assert planner._settles(task, g, 5, "score", kept, marks, one.plan)
    assert not planner._settles(task, g, 5, "score", kept, marks, pair.plan)
    dearer = replace(task, actions=(replace(both, cost=2.5), first, second))
    h = ground(dearer)
    dear_marks = landmarks(h, kept)
    assert dear_marks is not None
    assert not planner._settles(dearer, h, 5, "score", kept, dear_marks, one.plan)  # 2.5 > 2


def _no_deepening(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every `_deepen` (each is one or more CP-SAT solves)."""
    deepened: list[int] = []
    deepen = CpSatPlanner._deepen

    def counted(self: CpSatPlanner, *args: Any, **kwargs: Any) -> Any:
        deepened.append(1)
        return deepen(self, *args, **kwargs)

    monkeypatch.setattr(CpSatPlanner, "_deepen", counted)
    return deepened


def test_the_cheapest_achievers_are_put_in_an_order_that_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per landmark its cheapest achiever, run in an order in which each applies (here not
    the order of the catalog): a plan at the landmark floor, so no solve is needed."""
    ship = Action(
        "a-ship", "p", 1.0, 0.0, 1.0, requires=("state.packed",), effects=(("sent", True),)
    )
    pack = Action("b-pack", "p", 1.0, 0.0, 1.0, effects=(("packed", True),))
    # Dearer but more reliable: not dominated, so four capabilities are usable (the exact
    # search takes up to three).
    dear_pack = Action("c-pack", "q", 3.0, 0.0, 1.0, effects=(("packed", True),))
    dear_ship = Action(
        "d-ship", "q", 3.0, 0.0, 1.0, requires=("state.packed",), effects=(("sent", True),)
    )
    ship, pack = (replace(a, reliability=0.99) for a in (ship, pack))
    task = Task(
        state={"packed": False, "sent": False},
        goal=("state.sent",),
        actions=(ship, pack, dear_pack, dear_ship),
        weights=Weights(cost=1.0, latency=0.0, risk=1.0),
    )
    assert len(usable(ground(task), frozenset())) > cpsat.SMALL
    deepened = _no_deepening(monkeypatch)
    found = CpSatPlanner(small=0, search_first=0, prune_from=1, threads=1).solve(task)
    assert found is not None and found.optimal
    assert found.plan.capabilities == ("b-pack", "a-ship")
    assert not deepened and not check_plan(task, found.plan)
    # Too few capabilities to narrow (under prune_from), more than the exact search takes:
    # settled the same way, unless small=0 asks for CP-SAT on every solve.
    assert CpSatPlanner(threads=1).solve(task) == found
    assert not deepened
    assert CpSatPlanner(small=0, search_first=0, threads=1).solve(task) == found
    assert deepened


def test_an_alternative_the_limits_leave_no_achiever_for_has_no_plan_without_a_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the one affordable packer, every packer left breaks `max_cost` on its own:
    the landmark has no achiever within the limits, so there is no plan, and no solve is
    run to say so (the planner without the bounds agrees)."""
    pack = Action("pack", "p", 1.0, 0.0, 1.0, effects=(("packed", True),))
    dear = [Action(f"pack-{i}", "q", 5.0, 0.0, 1.0, effects=(("packed", True),)) for i in range(3)]
    task = Task(
        state={"packed": False},
        goal=("state.packed",),
        actions=(pack, *dear),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        limits=Limits(max_cost=2.0),
    )
    g = ground(task)
    deepened = _no_deepening(monkeypatch)
    planner = CpSatPlanner(small=0, search_first=0, prune_from=1, threads=1)
    assert planner.solve(task, g, without=frozenset({"pack"})) is None
    assert not deepened
    plain = CpSatPlanner(small=0, search_first=0, prune_from=10**9, threads=1)
    assert plain.solve(task, g, without=frozenset({"pack"})) is None
    assert deepened  # the plain planner did solve


PLANNERS = {
    "default": lambda: CpSatPlanner(threads=1),
    "narrowing": lambda: CpSatPlanner(prune_from=1, threads=1),
}


@pytest.mark.parametrize("name", PLANNERS)
def test_a_settled_plan_is_never_longer_than_max_steps(name: str) -> None:
    """Five goals each one step away and max_steps 3: the cheapest achievers make a plan at
    the landmark floor, but of five steps, so there is no plan (as CP-SAT alone and the
    search say), not that one."""
    cheap = [Action(f"a{i}", "p", 1.0, 0.0, 1.0, effects=((f"f{i}", True),)) for i in range(5)]
    dear = [Action(f"b{i}", "q", 2.0, 0.0, 1.0, effects=((f"f{i}", True),)) for i in range(5)]
    task = Task(
        state={f"f{i}": False for i in range(5)},
        goal=tuple(f"state.f{i}" for i in range(5)),
        actions=(*cheap, *dear),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        max_steps=3,
    )
    assert CpSatPlanner(prune_from=10**9, small=0, threads=1).solve(task) is None
    assert SearchPlanner().solve(task) is None
    assert PLANNERS[name]().solve(task) is None
    assert PLANNERS[name]().plan(task).status == "infeasible"
    assert PLANNERS[name]().solve(replace(task, max_steps=5)) is not None


@pytest.mark.parametrize("name", PLANNERS)
def test_limits_are_judged_in_floats_however_the_model_rounds_them(name: str) -> None:
    """Limits met in floats by less than the model's rounding: two steps of 0.4000006 under
    `max_cost` 0.8000012 sum to one unit over it in millionths rounded to the nearest. The
    plan keeps to the limit, as the search judges it, and every way of solving agrees
    (CP-SAT's model said no plan, and the tests asserted that, until its limits counted
    each step rounded down, `_floors`). A reliability a hair under
    `min_success_probability` breaks it alone: the dearer, reliable capability."""
    steps = []
    for stage in range(2):
        needs = () if stage == 0 else ("state.s0",)
        # The dearer one is more reliable: not dominated, so four capabilities are usable
        # (the exact search, with its own float checks, takes up to three).
        for name_, cost, reliability in (("c", 0.4000006, 0.99), ("d", 0.5, 0.999)):
            steps.append(
                Action(
                    f"{name_}{stage}",
                    name_,
                    cost,
                    0.0,
                    reliability,
                    requires=needs,
                    effects=((f"s{stage}", True),),
                )
            )
    costly = Task(
        state={"s0": False, "s1": False},
        goal=("state.s1",),
        actions=tuple(steps),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        limits=Limits(max_cost=0.8000012),
    )
    assert len(usable(ground(costly), frozenset())) > cpsat.SMALL
    alone = CpSatPlanner(prune_from=10**9, small=0, threads=1)
    for planner in (alone, PLANNERS[name](), SearchPlanner()):
        found = planner.solve(costly)
        assert found is not None and found.plan.capabilities == ("c0", "c1"), planner
    shaky = Task(
        state={"done": False},
        goal=("state.done",),
        actions=(
            Action("cheap", "p", 1.0, 0.0, 0.9 - 5e-10, effects=(("done", True),)),
            Action("dear", "q", 2.0, 0.0, 0.95, effects=(("done", True),)),
            Action("x1", "q", 3.0, 0.0, 0.99, effects=(("done", True),)),
            Action("x2", "q", 4.0, 0.0, 0.999, effects=(("done", True),)),
        ),
        weights=Weights(cost=1.0, latency=0.0, risk=0.0),
        limits=Limits(min_success_probability=0.9),
    )
    reference = alone.solve(shaky)
    found = PLANNERS[name]().solve(shaky)
    assert reference is not None and found is not None
    assert found.plan.capabilities == reference.plan.capabilities == ("dear",)


def test_a_solve_past_where_one_thread_stops_leaves_no_trace() -> None:
    """Two threads solve a batch at a time; the tie found without a0 settles the list, so
    one thread never solves without b. The second thread did, and gave up (CP-SAT has next
    to no time, the search three expansions): that must not show as an unsettled
    alternative, or the decision would depend on the threads."""

    def act(name: str, cost: float, requires: tuple[str, ...], sets: dict[str, bool]) -> Action:
        return Action(name, "p", cost, 0.0, 1.0, requires, tuple(sets.items()))

    task = Task(
        state=close_world({"env": {"ready": True}}, ["x.mid", "x.done", "x.k", "x.j"]),
        goal=("state.x.done",),
        actions=(
            act("a0", 1.0, ("state.env.ready",), {"x.mid": True}),
            act("a1", 1.0, ("state.env.ready",), {"x.mid": True}),
            act("b", 1.0, ("state.x.mid",), {"x.done": True}),
            act("k", 0.5, ("state.x.mid",), {"x.k": True, "x.j": True}),
            act("u", 0.5, ("state.x.k",), {"x.j": False}),
            act("d", 3.0, ("state.x.k && !state.x.j",), {"x.done": True}),
        ),
        weights=Weights(cost=1.0),
        max_steps=10,
        alternatives=1,
        time_limit=1e-6,
    )
    decisions = [
        CpSatPlanner(threads=threads, search_first=0, small=1, fallback_states=3).plan(task)
        for threads in (1, 2)
    ]
    assert [a.plan.capabilities for a in decisions[0].alternatives] == [("a1", "b")]
    assert "alternatives_unsettled" not in decisions[0].solver
    assert decisions[1].to_json() == decisions[0].to_json()


class _Unbounded:
    """A backend with every solve asked for its best plan, whatever the ceiling."""

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        return super().solve(*args, **{**kwargs, "under": math.inf})  # type: ignore[misc]


class UnboundedCpSat(_Unbounded, CpSatPlanner):
    """CP-SAT with every solve asked for its best plan, whatever the ceiling."""


class UnboundedSearch(_Unbounded, SearchPlanner):
    """The search with every solve asked for its best plan, whatever the ceiling."""


@pytest.mark.parametrize("backend", ["cpsat", "search"])
def test_the_list_is_the_one_solving_every_candidate_gives(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every bound at -inf and no ceiling, nothing is skipped or cut short: each chosen
    capability is solved without, to its best plan. On tasks full of ties, and on the
    provider catalogs, where every solve settles within its budget, the decision is the
    same with the cuts as without them, to the last field."""
    tasks = [replace(tied_task(seed), alternatives=seed % 3 + 1) for seed in range(20)]
    tasks += [replace(provider_task(seed), alternatives=2) for seed in range(10)]

    def decide(task: Task, ceiling: bool = True) -> Any:
        planner: Any
        if backend == "cpsat":
            planner = CpSatPlanner(threads=1) if ceiling else UnboundedCpSat(threads=1)
        else:
            planner = SearchPlanner() if ceiling else UnboundedSearch()
        return planner.plan(task).to_json()

    cut = [decide(task) for task in tasks]
    monkeypatch.setattr(solving, "_at_least", lambda floor, least: -math.inf)
    assert [decide(task, ceiling=False) for task in tasks] == cut


def _expansions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each search's expansions, as it returns or gives up."""
    counted: list[int] = []
    run = astar.AStarSearch.run

    def counting(self: astar.AStarSearch, *args: Any) -> Any:
        try:
            return run(self, *args)
        finally:
            counted.append(self.expanded)

    monkeypatch.setattr(astar.AStarSearch, "run", counting)
    return counted


def test_the_ceiling_cuts_the_alternatives_searches_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the list is full, a search without a capability stops where its frontier
    reaches the last plan kept: the same decisions, in fewer expansions in all, and never
    more on any task (the seeded layered tasks with limits and tokens, one alternative)."""
    tasks = [replace(random_task(seed, small=False), alternatives=1) for seed in range(60)]
    tasks += [replace(token_task(seed), alternatives=1) for seed in range(30)]
    counted = _expansions(monkeypatch)
    spent = []
    for planner in (SearchPlanner(), UnboundedSearch()):
        decisions = []
        for task in tasks:
            counted.clear()
            decisions.append(planner.plan(task).to_json())
            spent.append(sum(counted))
        if planner.__class__ is SearchPlanner:
            cut = decisions
        else:
            assert decisions == cut
    ceiling, whole = spent[: len(tasks)], spent[len(tasks) :]
    assert all(c <= w for c, w in zip(ceiling, whole))
    assert sum(ceiling) < sum(whole)


def test_the_ceiling_is_the_same_on_any_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four of CP-SAT's alternatives' solves share a ceiling whatever the threads, so what
    a solve is asked for (and whether its search settles within its budget) does not
    depend on them: each solve one thread makes gets the same ceiling on two to four
    (which may also make solves past where one thread stops, dropped), and some of those
    ceilings are below infinity."""
    asked: list[tuple[str, float]] = []
    solve = CpSatPlanner.solve

    def logged(self: CpSatPlanner, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("without"):
            asked.append((min(kwargs["without"]), kwargs["under"]))
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(CpSatPlanner, "solve", logged)
    tasks = [replace(provider_task(seed), alternatives=1 + seed % 3) for seed in range(30)]
    finite = 0
    for task in tasks:
        ceilings = []
        for threads in (1, 2, 3, 4):
            asked.clear()
            CpSatPlanner(threads=threads).plan(task)
            ceilings.append(dict(asked))
        one = ceilings[0]
        assert all({n: c[n] for n in one} == one for c in ceilings)
        finite += sum(math.isfinite(under) for under in one.values())
    assert finite >= 10


def test_with_budgets_that_run_out_the_ceiling_only_settles_more() -> None:
    """A search that gives up without a ceiling may settle under one ("nothing below"), so
    fewer alternatives are reported unsettled; the list is the same, and every unsettled
    line with the ceiling is one without it too. Budgets of a few expansions, so some do
    run out, on the seeded layered tasks and the provider catalogs, one alternative."""
    tasks = [random_task(seed, small=False) for seed in range(40)]
    tasks += [token_task(seed) for seed in range(40)] + [provider_task(seed) for seed in range(40)]
    settled_more = 0
    for task, budget in itertools.product(tasks, (5, 10, 20, 40, 80)):
        task = replace(task, alternatives=1)
        outcomes = []
        for planner in (SearchPlanner(max_states=budget), UnboundedSearch(max_states=budget)):
            try:
                result = planner.plan(task)
            except PlanningError:
                outcomes.append(None)  # the plan's own solve gave up: no ceiling involved
                continue
            unsettled = result.solver.get("alternatives_unsettled") or []
            outcomes.append(([a.plan for a in result.alternatives], set(unsettled)))
        cut, whole = outcomes
        if cut is None or whole is None:
            assert cut == whole
            continue
        assert cut[0] == whole[0] and cut[1] <= whole[1]
        settled_more += cut[1] < whole[1]
    assert settled_more >= 3


def test_fewer_than_one_thread_is_one() -> None:
    """A thread count below one solves the alternatives one at a time, as one thread does."""
    for seed in range(6):
        task = replace(provider_task(seed), alternatives=2)
        one = CpSatPlanner(threads=1).plan(task).to_json()
        assert CpSatPlanner(threads=-1).plan(task).to_json() == one
        planner = CpSatPlanner(threads=1)
        planner.threads = 0
        assert planner.plan(task).to_json() == one
