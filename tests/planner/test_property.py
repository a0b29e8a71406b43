"""Planner properties on seeded random catalogs: valid plans, exact feasibility, optimal scores.

The oracle is written here in plain Python and shares nothing with the planner: it
enumerates every sequence of actions up to `max_steps`, evaluating the CEL conditions
on states built with `apply_effects`, exactly as `check_plan` replays a plan.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import pytest

from ido.conditions import compile_condition
from ido.planner.cpsat import CpSatPlanner
from ido.planner.simulate import check_plan
from ido.planner.types import Action, Denied, Limits, PlanResult, Task, Weights
from ido.state import apply_effects, close_world

COSTS = [round(0.05 * i, 2) for i in range(0, 61)]
LATENCIES = [round(0.1 * i, 1) for i in range(0, 61)]
RELIABILITIES = [0.9, 0.95, 0.99, 0.999, 1.0]
# No product of up to eight RELIABILITIES comes within 1e-5 (in log) of these, so the
# solver's rounding to millionths cannot decide a case the oracle decides otherwise.
MIN_SUCCESS = [0.8, 0.87, 0.93, 0.975, 0.994, 0.9985]
STATUSES = ["new", "packed", "shipped"]
LIMIT_NAMES = ("max_cost", "deadline", "min_success_probability")
SMALL_SEEDS = range(200)
LARGE_SEEDS = range(1000, 1060)


def literal(rng: random.Random, fact: str, positive: float = 0.75) -> str:
    return f"state.{fact}" if rng.random() < positive else f"!state.{fact}"


def random_task(seed: int, *, small: bool) -> Task:
    """A random layered planning problem with delete effects, string facts and limits.

    Fact i is mostly achieved by an action that needs fact i-1, so plans chain through
    the layers; extra literals, delete effects and limits make some orders and some
    tasks impossible.
    """
    rng = random.Random(seed)
    n_facts = rng.randint(2, 4) if small else rng.randint(3, 6)
    facts = [f"{rng.choice(['order', 'ship', 'x'])}.f{i}" for i in range(n_facts)]
    status = "order.status"
    # A consumable token: actions that use it delete it, so plans must mint it again.
    token = "tool.key" if rng.random() < 0.3 else None
    most = 6 if token is None else 5  # small tasks have at most six actions, minting included
    n_actions = rng.randint(n_facts, most) if small else rng.randint(n_facts + 2, 10)
    actions: list[Action] = []
    for k in range(n_actions):
        layer = k if k < n_facts else rng.randrange(n_facts)
        requires: list[str] = []
        if layer > 0 and rng.random() < 0.85:
            requires.append(f"state.{facts[layer - 1]}")
        others = [f for f in facts if f != facts[layer]]
        unused = [f for f in others if f"state.{f}" not in requires]
        if unused and rng.random() < 0.2:
            requires.append(literal(rng, rng.choice(unused), positive=0.3))
        if rng.random() < 0.15:
            requires.append(f"state.{status} == '{rng.choice(STATUSES[:2])}'")
        effects: dict[str, Any] = {facts[layer]: True}
        if rng.random() < 0.35:
            effects[rng.choice(others)] = False
        if rng.random() < 0.3:
            effects[status] = rng.choice(STATUSES)
        if rng.random() < 0.2:
            effects[rng.choice(others)] = True
        if token is not None and rng.random() < 0.6:
            requires.append(f"state.{token}")
            effects[token] = False
        if len(requires) > 1 and rng.random() < 0.5:
            requires = [" && ".join(requires)]
        actions.append(
            Action(
                name=f"a{k}",
                provider=rng.choice(["p", "q", "r"]),
                cost=rng.choice(COSTS),
                latency=rng.choice(LATENCIES),
                reliability=rng.choice(RELIABILITIES),
                requires=tuple(requires),
                effects=tuple(effects.items()),
            )
        )
    if token is not None:
        mint = Action("mint", "p", rng.choice(COSTS[:10]), rng.choice(LATENCIES[:10]), 1.0)
        actions.append(replace(mint, effects=((token, True),)))
    goal = [f"state.{facts[-1]}"]
    if rng.random() < 0.3:
        goal.append(literal(rng, rng.choice(facts[:-1]), positive=0.7))
    if rng.random() < 0.2:
        goal.append(f"state.{status} == 'shipped'")
    given: dict[str, Any] = {}
    for fact in facts:
        if rng.random() < 0.15:
            given = apply_effects(given, {fact: True})
    if rng.random() < 0.6:
        given = apply_effects(given, {status: "new"})
    state = close_world(given, [*facts, token] if token else facts)
    weights = Weights(
        cost=rng.choice([0.0, 1.0, 2.0]),
        latency=rng.choice([0.0, 0.5, 1.0]),
        risk=rng.choice([0.0, 1.0, 3.0]),
    )
    limits = Limits()
    if rng.random() < 0.5:
        limits = Limits(
            max_cost=rng.choice(COSTS[5:50]) if rng.random() < 0.6 else None,
            deadline=rng.choice(LATENCIES[5:60]) if rng.random() < 0.5 else None,
            min_success_probability=rng.choice(MIN_SUCCESS) if rng.random() < 0.4 else None,
        )
    denied: list[Denied] = []
    if rng.random() < 0.3:
        for action in rng.sample(actions, rng.randint(1, min(2, len(actions) - 1))):
            actions.remove(action)
            denied.append(Denied(action, "guard/no-" + action.name, f"{action.name} is off"))
    return Task(
        state=state,
        goal=tuple(goal),
        actions=tuple(actions),
        weights=weights,
        limits=limits,
        max_steps=min(4, n_facts + rng.choice([-1, 0, 0, 1, 2])) if small else rng.randint(4, 8),
        denied=tuple(denied),
        alternatives=rng.choice([0, 2, 3]),
    )


def token_task(seed: int) -> Task:
    """A chain of steps that each consume a token, which a cheap action mints again.

    Optimal plans repeat the minting action, so they are longer than the number of
    capabilities; pricier shortcuts reach a layer without a token in fewer steps.
    """
    rng = random.Random(seed)
    n = rng.randint(2, 4)
    facts = [f"job.s{i}" for i in range(n)]
    token = "tool.key"
    actions = []
    for i, fact in enumerate(facts):
        requires = [f"state.{token}"] + ([f"state.{facts[i - 1]}"] if i else [])
        actions.append(
            Action(
                f"step{i}",
                "p",
                rng.choice(COSTS[1:20]),
                rng.choice(LATENCIES[:20]),
                rng.choice(RELIABILITIES),
                requires=tuple(requires),
                effects=((fact, True), (token, False)),
            )
        )
    mint = Action("mint", "p", rng.choice(COSTS[:6]), rng.choice(LATENCIES[:6]), 1.0)
    actions.append(replace(mint, effects=((token, True),)))
    for j in range(rng.randint(0, n)):
        i = rng.randrange(n)
        actions.append(
            Action(
                f"shortcut{j}",
                "q",
                rng.choice(COSTS[20:60]),
                rng.choice(LATENCIES),
                rng.choice(RELIABILITIES),
                requires=(f"state.{facts[i - 1]}",) if i else (),
                effects=((facts[i], True),),
            )
        )
    return Task(
        state=close_world({}, [*facts, token]),
        goal=(f"state.{facts[-1]}",),
        actions=tuple(actions),
        weights=Weights(cost=rng.choice([1.0, 2.0]), latency=rng.choice([0.0, 0.5])),
        max_steps=2 * n + rng.randint(0, 1),
        alternatives=0,
    )


# --- the oracle -------------------------------------------------------------------------


@dataclass(frozen=True)
class Best:
    score: float
    names: tuple[str, ...]


def holds(source: str, state: dict[str, Any]) -> bool:
    return compile_condition(source).evaluate({"state": state}).holds


def within(limits: Limits, chosen: list[Action]) -> bool:
    if limits.max_cost is not None and sum(a.cost for a in chosen) > limits.max_cost + 1e-9:
        return False
    if limits.deadline is not None and elapsed(chosen) > limits.deadline + 1e-9:
        return False
    p = math.prod(a.reliability for a in chosen)
    return limits.min_success_probability is None or p >= limits.min_success_probability - 1e-12


def elapsed(chosen: list[Action]) -> float:
    """The critical path of a sequence when steps that use no common fact run side by side."""

    def uses(action: Action) -> tuple[list[str | None], list[str]]:
        reads: list[str | None] = []
        for source in action.requires:
            paths = compile_condition(source).state_paths
            reads += [None] if paths is None else list(paths)
        return reads, [path for path, _ in action.effects]

    def clash(a: Action, b: Action) -> bool:
        (reads_a, writes_a), (reads_b, writes_b) = uses(a), uses(b)
        pairs = [(w, p) for w in writes_a for p in [*reads_b, *writes_b]]
        pairs += [(w, p) for w in writes_b for p in [*reads_a, *writes_a]]
        return any(
            p is None or w == p or w.startswith(p + ".") or p.startswith(w + ".") for w, p in pairs
        )

    ends: list[float] = []
    for j, action in enumerate(chosen):
        ready = max((ends[i] for i in range(j) if clash(chosen[i], action)), default=0.0)
        ends.append(ready + action.latency)
    return max(ends, default=0.0)


def brute_force(task: Task, limits: Limits | None = None) -> Best | None:
    """The cheapest valid sequence of at most max_steps actions, by depth-first enumeration."""
    limits = task.limits if limits is None else limits
    best: Best | None = None

    def walk(state: dict[str, Any], chosen: list[Action]) -> Iterator[list[Action]]:
        if all(holds(g, state) for g in task.goal) and within(limits, chosen):
            yield chosen
        if len(chosen) == task.max_steps:
            return
        for action in task.actions:
            if all(holds(r, state) for r in action.requires):
                after = apply_effects(state, dict(action.effects))
                yield from walk(after, [*chosen, action])

    for chosen in walk(dict(task.state), []):
        score = sum(task.weights.score(a) for a in chosen)
        if best is None or score < best.score - 1e-12:
            best = Best(score, tuple(a.name for a in chosen))
    return best


def layered_optimum(task: Task) -> float | None:
    """The least score of any plan within max_steps, ignoring limits, by dynamic programming.

    Layer t maps each state reachable in exactly t steps to the least score reaching it;
    states are few because only a handful of facts change.
    """
    start = dict(task.state)
    layer = {json.dumps(start, sort_keys=True): (0.0, start)}
    best: float | None = None
    for t in range(task.max_steps + 1):
        for score, state in layer.values():
            if all(holds(g, state) for g in task.goal) and (best is None or score < best):
                best = score
        if t == task.max_steps:
            break
        following: dict[str, tuple[float, dict[str, Any]]] = {}
        for score, state in layer.values():
            for action in task.actions:
                if all(holds(r, state) for r in action.requires):
                    after = apply_effects(state, dict(action.effects))
                    key = json.dumps(after, sort_keys=True)
                    total = score + task.weights.score(action)
                    if key not in following or total < following[key][0]:
                        following[key] = (total, after)
        layer = following
    return best


@cache
def solved(seed: int, small: bool) -> tuple[Task, PlanResult]:
    task = random_task(seed, small=small)
    return task, CpSatPlanner(small=0, search_first=0).plan(task)


@cache
def oracle(seed: int) -> Best | None:
    task, _ = solved(seed, True)
    return brute_force(task)


def describe(task: Task, result: PlanResult) -> str:
    lines = [f"state={json.dumps(task.state, sort_keys=True)}", f"goal={task.goal}"]
    lines += [
        f"  {a.name}: requires={a.requires} effects={a.effects} "
        f"cost={a.cost} latency={a.latency} reliability={a.reliability}"
        for a in task.actions
    ]
    lines.append(f"denied={[d.action.name for d in task.denied]}")
    lines.append(f"weights={task.weights} limits={task.limits} max_steps={task.max_steps}")
    plan = result.plan.capabilities if result.plan else None
    lines.append(f"-> {result.status} {plan} reason={result.reason} blocking={result.blocking}")
    return "\n".join(lines)


ALL_SEEDS = [(s, True) for s in SMALL_SEEDS] + [(s, False) for s in LARGE_SEEDS]


# --- properties -------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "small"), ALL_SEEDS)
def test_every_returned_plan_is_valid(seed: int, small: bool) -> None:
    """Chosen plans and alternatives pass the independent checker: preconditions, goal, limits."""
    task, result = solved(seed, small)
    if result.status == "infeasible":
        assert result.plan is None
        return
    assert result.plan is not None
    assert check_plan(task, result.plan) == [], describe(task, result)
    for alternative in result.alternatives:
        assert check_plan(task, alternative.plan) == [], describe(task, result)


@pytest.mark.parametrize(("seed", "small"), ALL_SEEDS)
def test_no_plan_uses_a_denied_capability(seed: int, small: bool) -> None:
    """Capabilities denied by policy never appear in the plan or its alternatives."""
    task, result = solved(seed, small)
    denied = {d.action.name for d in task.denied}
    plans = [result.plan] if result.plan else []
    plans += [a.plan for a in result.alternatives]
    for plan in plans:
        assert not denied & set(plan.capabilities), describe(task, result)


@pytest.mark.parametrize(("seed", "small"), ALL_SEEDS)
def test_satisfied_exactly_when_the_goal_already_holds(seed: int, small: bool) -> None:
    """Status is 'satisfied', with an empty plan, exactly when every goal holds in the state."""
    task, result = solved(seed, small)
    already = all(holds(g, dict(task.state)) for g in task.goal)
    assert (result.status == "satisfied") == already, describe(task, result)
    if already:
        assert result.plan is not None
        assert result.plan.steps == ()


@pytest.mark.parametrize(("seed", "small"), ALL_SEEDS)
def test_planning_the_same_task_twice_gives_the_same_result(seed: int, small: bool) -> None:
    """Determinism: a fresh planner on the same task returns an identical result."""
    task, result = solved(seed, small)
    again = CpSatPlanner(small=0, search_first=0).plan(task)
    assert again.to_json() == result.to_json()


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_a_plan_is_found_exactly_when_one_exists(seed: int) -> None:
    """Brute force over every action sequence finds a plan iff the planner does."""
    task, result = solved(seed, True)
    best = oracle(seed)
    found = result.status in ("planned", "satisfied")
    assert found == (best is not None), describe(task, result) + f"\noracle: {best}"


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_a_proven_optimal_plan_scores_the_brute_force_optimum(seed: int) -> None:
    """When the planner claims optimality, its score equals the exhaustive optimum."""
    task, result = solved(seed, True)
    best = oracle(seed)
    if result.status != "planned" or not result.proven_optimal:
        return
    assert result.plan is not None
    assert best is not None
    assert result.plan.score == pytest.approx(best.score, abs=1e-6), (
        describe(task, result) + f"\noracle: {best}"
    )


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_alternatives_are_no_better_than_an_optimal_plan(seed: int) -> None:
    """Alternatives are sorted by score and never beat a proven-optimal choice."""
    task, result = solved(seed, True)
    if result.status != "planned" or not result.proven_optimal:
        return
    deltas = [a.score_delta for a in result.alternatives]
    assert deltas == sorted(deltas)
    assert all(d >= -1e-9 for d in deltas), describe(task, result)
    assert len(deltas) <= task.alternatives


def enforcing(task: Task, kept: set[str]) -> Task:
    """`task` with only the limits and deny rules in `kept`; the others relaxed or lifted."""
    limits = replace(task.limits, **{n: None for n in LIMIT_NAMES if n not in kept})
    lifted = tuple(d.action for d in task.denied if d.rule not in kept)
    denied = tuple(d for d in task.denied if d.rule in kept)
    return replace(task, limits=limits, actions=task.actions + lifted, denied=denied)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_the_conflict_is_minimal_and_relaxing_what_blocks_admits_a_plan(seed: int) -> None:
    """When limits or deny rules stand in the way, brute force confirms the explanation.

    Enforcing just the conflict leaves no plan, and dropping any member of it leaves one;
    relaxing a blocking element alone (or all of them together, when the reason says so)
    admits a plan.
    """
    task, result = solved(seed, True)
    elements = {n for n in LIMIT_NAMES if getattr(task.limits, n) is not None}
    elements |= {d.rule for d in task.denied}
    if result.status != "infeasible" or brute_force(enforcing(task, set())) is None:
        return
    assert result.reason is not None
    conflict = set(result.conflict)
    assert conflict and conflict <= elements, describe(task, result)
    assert brute_force(enforcing(task, conflict)) is None, describe(task, result)
    for member in conflict:
        assert brute_force(enforcing(task, conflict - {member})) is not None, describe(task, result)
    blocking = set(result.blocking)
    if "alone is not enough" in result.reason:
        assert brute_force(enforcing(task, elements - blocking)) is not None
    else:
        for member in blocking:
            assert brute_force(enforcing(task, elements - {member})) is not None


def test_the_random_problems_cover_every_outcome() -> None:
    """The generator yields satisfied, planned and infeasible tasks, some blocked by limits."""
    statuses = [solved(s, True)[1].status for s in SMALL_SEEDS]
    assert {"satisfied", "planned", "infeasible"} <= set(statuses)
    by_limit = [
        s
        for s in SMALL_SEEDS
        if solved(s, True)[1].status == "infeasible" and brute_force(solved(s, True)[0], Limits())
    ]
    assert len(by_limit) >= 3
    assert sum(1 for s in SMALL_SEEDS if solved(s, True)[0].denied) >= 10
    conflicts = [solved(s, True)[1].conflict for s in SMALL_SEEDS]
    assert sum(1 for c in conflicts if set(c) - set(LIMIT_NAMES)) >= 5  # deny rules in conflict
    assert sum(1 for c in conflicts if len(c) >= 2) >= 5


@pytest.mark.parametrize("seed", LARGE_SEEDS)
def test_on_larger_tasks_without_limits_the_optimum_matches_dynamic_programming(seed: int) -> None:
    """Without limits, larger tasks are solved iff a plan exists, at the least possible score."""
    task = replace(random_task(seed, small=False), limits=Limits(), alternatives=0)
    result = CpSatPlanner(small=0, search_first=0).plan(task)
    best = layered_optimum(task)
    assert (result.status != "infeasible") == (best is not None), describe(task, result)
    if result.status == "planned" and result.proven_optimal:
        assert result.plan is not None
        assert best is not None
        assert result.plan.score == pytest.approx(best, abs=1e-6), (
            describe(task, result) + f"\noptimum: {best}"
        )


@pytest.mark.parametrize("seed", range(40))
def test_plans_that_must_repeat_a_capability_are_still_optimal(seed: int) -> None:
    """When the best plan mints a consumed token again and again, the planner still finds it."""
    task = token_task(seed)
    result = CpSatPlanner(small=0, search_first=0).plan(task)
    best = layered_optimum(task)
    assert result.status == "planned"
    assert result.plan is not None
    assert check_plan(task, result.plan) == []
    assert best is not None
    if result.proven_optimal:
        assert result.plan.score == pytest.approx(best, abs=1e-6), (
            describe(task, result) + f"\noptimum: {best}"
        )


def providers_task(seed: int) -> Task:
    """A small random task where some capabilities have rival providers: the same
    conditions and effects, other costs, latencies and reliabilities (the planner models
    such a group once, and picks the provider apart). Every other seed keeps only effects
    that set facts true, from a state where they are false: a monotone task."""
    rng = random.Random(f"providers:{seed}")
    task = random_task(seed, small=True)
    monotone = seed % 2 == 0
    actions: list[Action] = []
    for action in task.actions:
        if monotone:
            sets = tuple((p, v) for p, v in action.effects if v is True)
            action = replace(action, effects=sets or ((action.effects[0][0], True),))
        actions.append(action)
        for n in range(rng.choice([0, 0, 1, 2])):
            rival = replace(
                action,
                name=f"{action.name}-{n}",
                cost=rng.choice(COSTS),
                latency=rng.choice(LATENCIES),
                reliability=rng.choice(RELIABILITIES),
            )
            actions.append(rival)
    actions = actions[:8]  # the brute force enumerates up to 8^4 sequences
    state = task.state
    if monotone:
        written = {p for a in actions for p, _ in a.effects}
        state = close_world({}, sorted(written))
    return replace(task, actions=tuple(actions), state=state, denied=())


PROVIDER_SEEDS = range(120)


@pytest.mark.parametrize("seed", PROVIDER_SEEDS)
def test_with_rival_providers_the_plan_is_the_brute_force_optimum(seed: int) -> None:
    """Rival providers of one capability are told apart by cost, latency and reliability
    under every limit, the deadline's critical path included: found iff brute force finds
    a plan, valid, and at the exhaustive optimum when proven optimal."""
    task = providers_task(seed)
    result = CpSatPlanner(small=0, search_first=0).plan(task)
    best = brute_force(task)
    found = result.status in ("planned", "satisfied")
    assert found == (best is not None), describe(task, result) + f"\noracle: {best}"
    if result.status != "planned":
        return
    assert result.plan is not None
    assert check_plan(task, result.plan) == [], describe(task, result)
    if result.proven_optimal:
        assert best is not None
        assert result.plan.score == pytest.approx(best.score, abs=1e-6), (
            describe(task, result) + f"\noracle: {best}"
        )


def pipeline_task(seed: int) -> Task:
    """A pipeline under a deadline: stage k needs stage k-1 done, each stage has rival
    providers. Half of the seeds add a side branch that needs only the first stage, so
    its step may run beside the rest: then the plan is no longer a sequence."""
    rng = random.Random(f"pipeline:{seed}")
    stages = [f"job.s{k}" for k in range(rng.randint(2, 3))]
    actions: list[Action] = []
    for k, fact in enumerate(stages):
        for n in range(rng.randint(1, 3)):
            actions.append(
                Action(
                    name=f"s{k}-{n}",
                    provider=f"p{n}",
                    cost=rng.choice(COSTS[1:30]),
                    latency=rng.choice(LATENCIES[1:40]),
                    reliability=rng.choice(RELIABILITIES),
                    requires=(f"state.{stages[k - 1]}",) if k else (),
                    effects=((fact, True),),
                )
            )
    goal = [f"state.{stages[-1]}"]
    if seed % 2:
        goal.append("state.side.done")
        for n in range(rng.randint(1, 2)):
            actions.append(
                Action(
                    name=f"side-{n}",
                    provider=f"q{n}",
                    cost=rng.choice(COSTS[1:30]),
                    latency=rng.choice(LATENCIES[1:40]),
                    reliability=1.0,
                    requires=(f"state.{stages[0]}",),
                    effects=(("side.done", True),),
                )
            )
    actions = actions[:8]  # the brute force enumerates up to 8^4 sequences
    written = sorted({p for a in actions for p, _ in a.effects})
    fastest = sum(min(a.latency for a in actions if a.effects[0][0] == f) for f in stages)
    return Task(
        state=close_world({}, written),
        goal=tuple(goal),
        actions=tuple(actions),
        weights=Weights(cost=1.0, latency=rng.choice([0.0, 0.5])),
        limits=Limits(deadline=round(fastest * rng.uniform(1.0, 1.6) + 0.05, 2)),
        max_steps=4,
        alternatives=rng.choice([0, 2]),
    )


PIPELINE_SEEDS = range(80)


@pytest.mark.parametrize("seed", PIPELINE_SEEDS)
def test_under_a_deadline_a_pipeline_is_planned_at_the_brute_force_optimum(seed: int) -> None:
    """A plan that can only be a sequence is timed as the sum of its latencies (no timed
    model): found iff brute force finds a plan within the deadline, valid, and at the
    exhaustive optimum; with a side branch that runs beside it, timed as a critical path."""
    task = pipeline_task(seed)
    result = CpSatPlanner(small=0, search_first=0).plan(task)
    best = brute_force(task)
    found = result.status == "planned"
    assert found == (best is not None), describe(task, result) + f"\noracle: {best}"
    if found:
        assert result.plan is not None and best is not None
        assert check_plan(task, result.plan) == [], describe(task, result)
        assert result.proven_optimal
        assert result.plan.score == pytest.approx(best.score, abs=1e-6), (
            describe(task, result) + f"\noracle: {best}"
        )


def test_a_pipeline_of_a_thousand_stages_is_told_a_sequence_without_recursion() -> None:
    """Whether a plan can only be a sequence is worked out in a loop: 1,000 stages whose
    names sort against their order (a recursion a stage deep overflowed at about 500)."""
    from ido.planner.cpsat._shortcuts import _serial
    from ido.planner.grounding import ground

    n = 1000
    stages = [f"job.s{n - k:05d}" for k in range(n)]
    actions = tuple(
        Action(f"s{k}", "p", 1.0, 1.0, 1.0, (f"state.{stages[k - 1]}",) if k else (),
               ((stages[k], True),))
        for k in range(n)
    )  # fmt: skip
    task = Task(close_world({}, stages), (f"state.{stages[-1]}",), actions, max_steps=n + 5)
    g = ground(task)
    assert _serial(g, list(range(len(g.actions))))
    side = Action("side", "q", 1.0, 1.0, 1.0, (f"state.{stages[0]}",), (("side.done", True),))
    branched = replace(
        task,
        state=close_world({}, [*stages, "side.done"]),
        goal=(*task.goal, "state.side.done"),
        actions=(*actions, side),
    )
    g = ground(branched)
    assert not _serial(g, list(range(len(g.actions))))  # the side step may run beside


def test_the_pipeline_tasks_are_sequences_or_not_and_bind_their_deadline() -> None:
    """The test above is not vacuous: half its tasks are sequences (`_serial`), half are
    not, and in many the deadline rules out the plan that would be best without it."""
    from ido.planner.cpsat._shortcuts import _serial
    from ido.planner.grounding import ground

    tasks = [pipeline_task(s) for s in PIPELINE_SEEDS]
    serial = [_serial(g, list(range(len(g.actions)))) for g in map(ground, tasks)]
    assert sum(serial) >= 30 and len(serial) - sum(serial) >= 30
    binding = [t for t in tasks if brute_force(t) != brute_force(t, Limits()) and brute_force(t)]
    assert len(binding) >= 15


def test_the_rival_provider_tasks_cover_groups_monotone_or_not_and_deadlines() -> None:
    """The test above is not vacuous: its tasks have groups of rival providers, monotone
    and not, some under a deadline."""
    from ido.planner.grounding import ground

    grounded = [(providers_task(s), ground(providers_task(s))) for s in PROVIDER_SEEDS]
    grouped = [
        (t, g)
        for t, g in grounded
        if len({(g.pre[a], g.eff[a]) for a in range(len(g.actions))}) < len(g.actions)
    ]
    assert sum(g.monotone for _, g in grouped) >= 15
    assert sum(not g.monotone for _, g in grouped) >= 15
    assert sum(t.limits.deadline is not None for t, _ in grouped) >= 10
