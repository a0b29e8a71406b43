"""What a decision says about its limits, checked by brute force on random tasks: each way
out an infeasible task names, taken literally, admits a plan, and a limit is called binding
exactly when lifting it alone admits a better plan."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ido.model import parse_duration
from ido.plan_rules import best_admissible, checked_ways
from ido.planner.cpsat import CpSatPlanner
from ido.planner.search import SearchPlanner
from ido.planner.types import Action, Denied, Limits, PlanResult, Task, Weights
from tests.planner.test_parallel import wide_task
from tests.planner.test_plan_rules import check_for, sequences
from tests.planner.test_property import (
    COSTS,
    LIMIT_NAMES,
    SMALL_SEEDS,
    brute_force,
    describe,
    random_task,
    within,
)

MORE_STEPS = re.compile(r"raise limits\.max_steps to (\d+)")
WAYS_OUT = {
    "max_cost": re.compile(r"raise max_cost to ([\d.]+)"),
    "deadline": re.compile(r"raise deadline to ([\d.]+(?:ms|s|m|h|d))\b"),
    "min_success_probability": re.compile(r"lower min_success_probability to ([\d.]+)"),
}

TOGETHER = re.compile(r"together: ((?:\w+ [\d.]+(?:ms|s|m|h|d)?(?: and )?)+) admit it")


def taken(value: str) -> float:
    """A way out's value as a limit: a number, or a duration (`300ms`, `2.2s`)."""
    return parse_duration(value) if value[-1].isalpha() else float(value)


def odd(task: Task, seed: int) -> Task:
    """`task` with costs of three decimals and reliabilities of five or more: what a way out
    rounded to cents or to the limit's own decimals would miss."""
    rng = random.Random(f"odd{seed}")
    actions = tuple(
        replace(
            a,
            cost=round(a.cost + rng.choice([0.0, 0.001, 0.004, 0.005, 0.006, 0.009]), 3),
            reliability=a.reliability * (1 - rng.choice([0.0, 1e-5, 3e-5])),
        )
        for a in task.actions
    )
    return replace(task, actions=actions)


def planned(task: Task) -> PlanResult:
    return CpSatPlanner(small=0, search_first=0).plan(task)


CASES = [(seed, False) for seed in SMALL_SEEDS] + [(seed, True) for seed in SMALL_SEEDS]


@pytest.mark.parametrize(("seed", "made_odd"), CASES)
def test_each_way_out_taken_as_written_admits_a_plan(seed: int, made_odd: bool) -> None:
    """ "raise max_cost to 2.854", "raise deadline to 6s", "lower min_success_probability to
    0.99499": each alone, with every other limit and rule kept, leaves a plan. "raise
    limits.max_steps to 5" alone does too, or with each way out after its "and then:"."""
    task = random_task(seed, small=True)
    task = odd(task, seed) if made_odd else task
    result = planned(task)
    if result.status != "infeasible":
        return
    reason = str(result.reason)
    steps = re.search(r"raise limits\.max_steps to (\d+)(, and then: )?", reason)
    if steps:
        task = replace(task, max_steps=int(steps.group(1)))
        if not steps.group(2):
            assert planned(task).status == "planned", describe(task, result)
    for name, way in WAYS_OUT.items():
        for value in way.findall(reason):
            eased = replace(task, limits=replace(task.limits, **{name: taken(value)}))
            assert brute_force(eased) is not None, f"{name} {value}\n{describe(task, result)}"
    for values in TOGETHER.findall(reason):  # "max_cost 1.45 and deadline 4s admit it"
        pairs = dict(pair.split(" ") for pair in values.split(" and "))
        eased_limits = replace(task.limits, **{n: taken(v) for n, v in pairs.items()})
        assert brute_force(replace(task, limits=eased_limits)) is not None, values


def test_the_ways_out_are_exercised() -> None:
    """The tasks above reach every kind of way out, and costs the cents would round down."""
    said = " ".join(
        str(planned(odd(random_task(s, small=True), s)).reason) for s in SMALL_SEEDS[:120]
    )
    for way in WAYS_OUT.values():
        assert way.search(said), way.pattern
    assert re.search(r"raise max_cost to \d+\.\d{3}", said)
    assert "raise limits.max_steps to" in said


@pytest.mark.parametrize(("seed", "made_odd"), CASES)
def test_a_limit_is_binding_exactly_when_lifting_it_alone_admits_a_better_plan(
    seed: int, made_odd: bool
) -> None:
    task = random_task(seed, small=True)
    task = odd(task, seed) if made_odd else task
    result = planned(task)
    if result.status != "planned" or not result.proven_optimal:
        return
    assert result.plan is not None
    for report in result.constraints:
        lifted = brute_force(task, replace(task.limits, **{report.name: None}))
        assert lifted is not None
        better = lifted.score < result.plan.score - 1e-9
        assert report.binding == better, f"{report.name}\n{describe(task, result)}"


def two_limits(seed: int) -> Task:
    """`wide_task` (branches side by side, a deadline between the fastest critical path and
    the fastest sum) with the deadline often tighter and, often, a least success
    probability: two limits, each of which may bind."""
    rng = random.Random(seed)
    task = wide_task(seed)
    deadline = task.limits.deadline
    assert deadline is not None
    limits = replace(
        task.limits,
        deadline=round(deadline * rng.choice([0.3, 0.5, 0.8, 1.0]), 2),
        min_success_probability=rng.choice([None, 0.95, 0.97]),
    )
    return replace(task, limits=limits, alternatives=0)


@pytest.mark.parametrize("seed", range(150))
def test_with_two_limits_a_limit_binds_exactly_when_lifting_it_alone_admits_a_better_plan(
    seed: int,
) -> None:
    """Judged against the best plan with no limits, a limit its order broke was called
    binding though another order of its steps kept within it, and a limit that kept a better
    plan out was not when the free plan broke only the other one."""
    task = two_limits(seed)
    result = planned(task)
    if result.status != "planned":
        return
    assert result.plan is not None and result.proven_optimal
    for report in result.constraints:
        lifted = brute_force(task, replace(task.limits, **{report.name: None}))
        assert lifted is not None
        better = lifted.score < result.plan.score - 1e-9
        assert report.binding == better, f"{report.name}\n{describe(task, result)}"


def one_step(
    *rivals: tuple[str, str, float, float, float], limits: Limits, weights: Weights | None = None
) -> Task:
    """A task one step reaches, by any of `rivals` (name, provider, cost, latency,
    reliability)."""
    done = (("job.done", True),)
    return Task(
        state={"job": {"done": False}},
        goal=("state.job.done",),
        actions=tuple(Action(*rival, (), done) for rival in rivals),
        weights=weights or Weights(),
        limits=limits,
    )


def test_a_limit_the_free_plan_keeps_can_still_bind() -> None:
    """The best plan with no limits breaks only the deadline, but lifting max_cost alone
    admits a better plan too: both bind."""
    task = one_step(
        ("slow-cheap", "p", 0.1, 10.0, 0.999),
        ("fast-pricey", "q", 1.0, 1.0, 0.99),
        ("fast-shaky", "r", 0.5, 1.0, 0.90),
        weights=Weights(cost=0.0, latency=0.0, risk=1.0),
        limits=Limits(max_cost=0.8, deadline=5.0),
    )
    for planner in (CpSatPlanner(), SearchPlanner()):
        result = planner.plan(task)
        assert result.plan is not None and result.plan.capabilities == ("fast-shaky",)
        assert {c.name: c.binding for c in result.constraints} == {
            "max_cost": True,
            "deadline": True,
        }


def allowed_within(task: Task, allowed: Callable[[list[Action]], bool]) -> bool:
    """Whether a valid sequence of at most max_steps actions keeps within the limits and is
    one `allowed` (a plan rule) lets through, by enumeration."""
    return any(within(task.limits, chosen) and allowed(chosen) for chosen in sequences(task))


def with_plan_rule(
    seed: int, weights: Weights | None = None
) -> tuple[Task, PlanResult, Callable[[list[Action]], bool]]:
    """A random task (with `weights`, if given) under a plan rule that denies plans using
    the provider of the first step of its best plan without limits, decided as
    `ido.decide` does."""
    task = random_task(seed, small=True)
    task = replace(task, weights=weights) if weights else task
    planner = CpSatPlanner(small=0, search_first=0)
    free = planner.plan(replace(task, limits=Limits(), denied=()))
    if free.plan is None or not free.plan.steps:
        return task, free, lambda chosen: True
    provider = free.plan.steps[0].provider
    check = check_for(f"'{provider}' in plan.providers")
    result = decided(task, planner, check)
    return task, result, lambda chosen: all(a.provider != provider for a in chosen)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_under_a_plan_rule_each_way_out_admits_a_plan_the_rule_allows(seed: int) -> None:
    """The solves behind a way out do not see plan rules: "raise max_cost to 2.55" named
    the cheapest plan, which the rule denied, and a plan the rule denied for what it holds
    was put down to the rule alone where max_cost kept out the plans it allows."""
    task, result, allowed = with_plan_rule(seed)
    if result.status != "infeasible":
        return
    reason = str(result.reason)
    task = replace(task, max_steps=max([task.max_steps, *map(int, MORE_STEPS.findall(reason))]))
    for name, way in WAYS_OUT.items():
        for value in way.findall(reason):
            eased = replace(task, limits=replace(task.limits, **{name: taken(value)}))
            assert allowed_within(eased, allowed), f"{name} {value}\n{describe(task, result)}"


LESS = {"max_cost": -2e-6, "deadline": -0.001, "min_success_probability": 1e-5}
"""Past what a way out's value is rounded by (up to a millionth, a deadline to the
millisecond, a probability as CP-SAT counts it): a value this much tighter admits no plan."""


BY_LATENCY = Weights(cost=0.0, latency=1.0, risk=0.5)
"""Weights under which the best plan is seldom the cheapest."""


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_each_way_out_asks_no_more_than_needed(seed: int) -> None:
    """The value a way out names is the least that admits a plan with the other limits and
    rules kept, with a plan rule or without: "raise max_cost to 8.00" named the
    best-scoring plan the rule allows where one costing 6.00 was allowed too."""
    tasks = [with_plan_rule(seed), with_plan_rule(seed, BY_LATENCY)]
    tasks.append((*unruled(seed), lambda chosen: True))
    for task, result, allowed in tasks:
        reason = str(result.reason)
        if result.status != "infeasible" or "max_steps" in reason:
            continue  # (after "and then:", ways out hold at the longer length)
        for name, way in WAYS_OUT.items():
            for value in way.findall(reason):
                tighter = replace(task.limits, **{name: taken(value) + LESS[name]})
                eased = replace(task, limits=tighter)
                assert not allowed_within(eased, allowed), (
                    f"{name} {value}\n{describe(task, result)}"
                )


def unruled(seed: int) -> tuple[Task, PlanResult]:
    task = random_task(seed, small=True)
    return task, planned(task)


def test_the_plan_rule_tasks_reach_ways_out_told_again() -> None:
    """Some tasks above have ways out the rule closes, told from the plans it allows."""
    said = [str(with_plan_rule(s)[1].reason) for s in SMALL_SEEDS]
    assert (
        sum(
            bool(re.search("the (cheapest|fastest|most reliable) plan they allow", r)) for r in said
        )
        >= 5
    )
    assert any("plan rules allow keeps within the limits" in r for r in said)


def admits(task: Task, kept: set[str], rule: str, allowed: Callable[[list[Action]], bool]) -> bool:
    """Whether some plan exists with only the limits, deny rules and plan rule in `kept`
    enforced, by enumeration."""
    limits = {n: getattr(task.limits, n) if n in kept else None for n in LIMIT_NAMES}
    lifted = tuple(d.action for d in task.denied if d.rule not in kept)
    eased = replace(task, limits=Limits(**limits), actions=task.actions + lifted, denied=())
    return allowed_within(eased, allowed if rule in kept else lambda chosen: True)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_under_a_plan_rule_the_conflict_is_minimal_and_what_blocks_admits_a_plan(
    seed: int,
) -> None:
    """With a plan rule denying plans: enforcing just the conflict leaves no plan, dropping
    any member leaves one, and lifting a blocking member alone admits a plan, or lifting
    them all when no one alone is enough (the merged
    conflict of one branch named max_cost where max_cost and deadline together were
    needed, and a deny rule whose lifting let an allowed plan through was dropped)."""
    task, result, allowed = with_plan_rule(seed)
    if result.status != "infeasible" or "plan rule" not in str(result.reason):
        return
    conflict = set(result.conflict)
    if not conflict or "limits.max_steps" in conflict or any(g in conflict for g in task.goal):
        return  # structural: not a conflict of limits and rules
    elements = {n for n in LIMIT_NAMES if getattr(task.limits, n) is not None}
    elements |= {d.rule for d in task.denied} | {"p/r"}
    assert conflict <= elements, describe(task, result)
    assert not admits(task, conflict, "p/r", allowed), describe(task, result)
    for member in conflict:
        assert admits(task, conflict - {member}, "p/r", allowed), (member, describe(task, result))
    if "alone is not enough" in str(result.reason):  # what blocks is relaxed together
        blocking = set(result.blocking)  # (none: the plan rule closes that way too)
        assert not blocking or admits(task, elements - blocking, "p/r", allowed), describe(
            task, result
        )
        return
    for member in result.blocking:
        assert admits(task, elements - {member}, "p/r", allowed), (member, describe(task, result))


def chain(reliabilities: list[float]) -> Task:
    """Steps in a chain, each with the given reliability, and cheaper, far less reliable
    rivals of the last; a least success probability none reaches."""
    n = len(reliabilities)
    actions = [
        Action(
            f"c{i}",
            f"p{i}",
            0.1,
            1.0,
            r,
            () if i == 0 else (f"state.s.d{i - 1}",),
            ((f"s.d{i}", True),),
        )
        for i, r in enumerate(reliabilities)
    ] + [
        Action(f"x{j}", f"q{j}", 0.05, 0.5, 0.5, (f"state.s.d{n - 2}",), ((f"s.d{n - 1}", True),))
        for j in range(3)
    ]
    return Task(
        state={"s": {f"d{i}": False for i in range(n)}},
        goal=(f"state.s.d{n - 1}",),
        actions=tuple(actions),
        limits=Limits(min_success_probability=0.9999, max_cost=5.0),
        max_steps=n,
    )


def test_a_least_success_probability_way_out_admits_the_plan_as_cp_sat_counts_it() -> None:
    """CP-SAT sums each step's risk in whole millionths, which can come to a unit more than
    the product's own: the value told is rounded down past that, as the model counts it."""
    rng = random.Random(1)
    told = 0
    for _ in range(150):
        task = chain([round(rng.uniform(0.95, 0.9999), 7) for _ in range(4)])
        result = planned(task)
        way = WAYS_OUT["min_success_probability"].search(str(result.reason))
        assert way, result.reason
        eased = replace(task, limits=replace(task.limits, min_success_probability=float(way[1])))
        assert planned(eased).status == "planned", (result.reason, task.actions)
        told += 1
    assert told == 150


def test_more_steps_alone_are_said_to_be_enough_when_they_are() -> None:
    """A plan of four steps keeps within every limit and rule; the best plan without them
    takes two. The way out is max_steps 4 alone, not max_steps 2 and a rule lifted."""
    task = random_task(314, small=True)
    rng = random.Random(314 * 7 + 3)
    if rng.random() < 0.7:
        task = replace(
            task,
            limits=Limits(
                max_cost=rng.choice([0.3, 0.5, 0.8, 1.0, None]),
                deadline=rng.choice([0.5, 1.0, 2.0, None]),
                min_success_probability=rng.choice([0.93, 0.975, 0.994, 0.9995, None]),
            ),
        )
    result = planned(task)
    assert result.reason == (
        "no plan of at most 1 steps reaches the goal: one of 4 does; raise limits.max_steps to 4"
    ), describe(task, result)
    assert result.conflict == ("limits.max_steps",)
    assert planned(replace(task, max_steps=4)).status == "planned"


def test_ways_out_under_a_plan_rule_ask_no_model() -> None:
    """With a model planner, the ways out a plan rule closes are searched with its solver,
    as `best_admissible` searches: a model call there would be paid and in no record."""
    from ido.model.intent_spec import LlmSettings
    from ido.planner.llm import LlmPlanner
    from ido.planner.llm_client import Reply

    asked: list[str] = []

    class Offline:
        def complete(self, settings: Any, model: str, messages: Any, tools: Any) -> Reply:
            asked.append(model)
            return Reply(error="offline", cost=0.01)

    task = one_step(
        ("c", "X", 5.0, 1.0, 0.99),
        ("d", "Y", 6.0, 1.0, 0.99),
        limits=Limits(max_cost=1.0),
    )
    model = LlmPlanner(settings=LlmSettings(model="probe-model"), client=Offline())
    result = model.plan(task)
    assert result.status == "infeasible" and len(asked) == 1
    told = checked_ways(task, result, model, check_for("'X' in plan.providers"))
    assert len(asked) == 1
    assert "the cheapest plan they allow with max_cost lifted, d, costs 6.00" in str(told.reason)


def test_a_plan_rule_that_never_fired_still_closes_a_way_out() -> None:
    """The best plan, a, is denied by r1; the only other, b, costs over max_cost and is
    denied by r2, which the search never reached: raising max_cost is no way out."""
    from ido.model import Rule
    from ido.plan_rules import PlanCheck
    from tests.planner.test_plan_rules import aggregate

    task = one_step(
        ("a", "pa", 1.0, 1.0, 0.99),
        ("b", "pb", 5.0, 1.0, 0.99),
        limits=Limits(max_cost=3.0),
    )
    rules = tuple(
        ("p", Rule(id=f"r{i}", effect="deny", when=f"'{p}' in plan.providers", message="no"))
        for i, p in ((1, "pa"), (2, "pb"))
    )
    planner = CpSatPlanner(small=0, search_first=0)
    result = best_admissible(
        task, planner.plan(task), planner, PlanCheck(rules, aggregate, "plan")
    )[1]
    assert result.status == "infeasible"
    assert "raise max_cost" not in str(result.reason)
    assert "max_cost" not in result.blocking


def a_and_b(limits: Limits) -> Task:
    """a then b: make-a (1.00, 2s) → b-after-a (0.25, 0.5s), or make-a ∥ make-b (2.00, 2s)."""
    state = {"s": {"a": False, "b": False}}

    def step(name: str, cost: float, latency: float, needs: tuple[str, ...], makes: str) -> Action:
        return Action(name, name, cost, latency, 1.0, needs, ((makes, True),))

    actions = (
        step("make-a", 1.0, 2.0, (), "s.a"),
        step("b-after-a", 0.25, 0.5, ("state.s.a",), "s.b"),
        step("make-b", 1.0, 1.0, (), "s.b"),
    )
    return Task(state, ("state.s.a", "state.s.b"), actions, limits=limits)


def test_a_plan_rule_that_never_fired_is_in_the_minimal_conflict() -> None:
    """fast denies make-a → b-after-a (2.5s); make-a ∥ make-b (2s) is over max_cost and
    over cost-cap, which never fired. fast alone is no conflict: it was named alone, as if
    lifting max_cost let make-a ∥ make-b through. Lifting fast is the way out, told."""
    from ido.model import Rule
    from ido.plan_rules import PlanCheck

    def variables(plan: Any) -> dict[str, Any]:
        return {"plan": {"cost": plan.cost, "latency": plan.latency}}

    rules = (
        ("p", Rule(id="cost-cap", effect="deny", when="plan.cost > 1.5", message="no")),
        ("p", Rule(id="fast", effect="deny", when="plan.latency > 2.0", message="no")),
    )
    task = a_and_b(Limits(max_cost=1.5))
    planner = CpSatPlanner(small=0, search_first=0)
    check = PlanCheck(rules, variables, "plan")
    result = best_admissible(task, planner.plan(task), planner, check)[1]
    assert result.status == "infeasible"
    assert set(result.conflict) in ({"p/fast", "p/cost-cap"}, {"p/fast", "max_cost"})
    assert "lift plan rule p/fast to allow make-a → b-after-a" in str(result.reason)
    assert result.blocking == ("p/fast",)


def test_a_conflict_member_whose_test_gave_up_is_not_called_minimal() -> None:
    """Whether a plan gets through with max_cost lifted is unknown (the search stopped at
    its 16 plans): max_cost is kept, and the conflict is said not proven minimal, naming
    it, where it was called minimal."""
    from ido.explain_decisions import decision_parts
    from ido.plan_ways import GaveUp, denied_why
    from ido.planner.types import Plan

    task = one_step(("a", "pa", 2.0, 1.0, 0.99), limits=Limits(max_cost=1.0))

    def allowed(eased: Task, lifted: frozenset[str]) -> Plan | None:
        if "p/r" in lifted:
            return Plan(())
        if eased.limits.max_cost is None:
            raise GaveUp
        return None

    why = denied_why(task, ("p/r",), allowed, lambda eased, limit: None)
    assert why.conflict == ("max_cost", "p/r") and why.untested == ("max_cost",)
    result = PlanResult("infeasible", conflict=why.conflict, conflict_untested=why.untested)
    decision = {"observed": {}, "result": result.to_json(), "actions": []}
    assert decision_parts(decision)["no plan"][1] == (
        "conflict, not proven minimal: max_cost, p/r (ido stopped looking before it knew "
        "whether a plan gets through without max_cost)"
    )


def two_or_three_steps(limits: Limits | None = None) -> Task:
    """x → y reaches the goal in two steps through px, u → v → w in three through pu; one
    step is allowed."""

    def step(name: str, provider: str, needs: str | None, makes: str) -> Action:
        return Action(name, provider, 1.0, 1.0, 0.99, (needs,) if needs else (), ((makes, True),))

    return Task(
        state={"s": {"x": False, "u": False, "v": False, "done": False}},
        goal=("state.s.done",),
        actions=(
            step("x", "px", None, "s.x"),
            step("y", "px", "state.s.x", "s.done"),
            step("u", "pu", None, "s.u"),
            step("v", "pu", "state.s.u", "s.v"),
            step("w", "pu", "state.s.v", "s.done"),
        ),
        limits=limits or Limits(),
        max_steps=1,
    )


def test_a_longer_plan_the_rule_allows_is_the_max_steps_way_out() -> None:
    """Two steps reach the goal through px, which the rule denies; three through pu."""

    task = two_or_three_steps()
    planner = CpSatPlanner(small=0, search_first=0)
    told = checked_ways(task, planner.plan(task), planner, check_for("'px' in plan.providers"))
    assert "raise limits.max_steps to 3" in str(told.reason)
    assert told.blocking == ("limits.max_steps",)


def test_a_way_out_under_a_plan_rule_names_the_least_the_rule_allows() -> None:
    """c (5.00) is denied; d (8.00) scores best of the rest by latency, e (6.00) is the
    cheapest the rule allows: raising max_cost to 6.00 is enough."""
    task = one_step(
        ("c", "X", 5.0, 1.0, 0.99),
        ("d", "Y", 8.0, 1.0, 0.99),
        ("e", "Z", 6.0, 9.0, 0.99),
        weights=Weights(cost=0.0, latency=1.0),
        limits=Limits(max_cost=1.0),
    )
    for planner in (CpSatPlanner(), SearchPlanner()):
        told = checked_ways(task, planner.plan(task), planner, check_for("'X' in plan.providers"))
        assert str(told.reason) == (
            "no plan within max_cost 1.00 that the plan rules allow: c is denied by plan rule "
            "p/r; the cheapest plan they allow with max_cost lifted, e, costs 6.00; raise "
            "max_cost to 6.00"
        )


def test_a_way_out_under_a_plan_rule_names_the_budget_that_keeps_a_faster_plan_out() -> None:
    """c (2s) is the fastest within max_cost and is denied; e (4s) is the fastest the rule
    allows within it, but d (1.5s), which the rule allows too, costs more than max_cost:
    "the fastest plan they allow with deadline lifted, e, takes 4s" read as if none were
    faster. The budget is named; where d is no faster, it is not."""

    def told(planner: CpSatPlanner | SearchPlanner, d_latency: float) -> str:
        task = one_step(
            ("c", "X", 0.5, 2.0, 0.99),
            ("d", "Y", 3.0, d_latency, 0.99),
            ("e", "Z", 0.2, 4.0, 0.99),
            limits=Limits(max_cost=1.0, deadline=1.0),
        )
        result = planner.plan(task)
        return str(checked_ways(task, result, planner, check_for("'X' in plan.providers")).reason)

    for planner in (CpSatPlanner(), SearchPlanner()):
        assert told(planner, 1.5) == (
            "no plan within deadline 1s that the plan rules allow: c is denied by plan rule p/r; "
            "the fastest plan they allow within max_cost 1.00 with deadline lifted, e, takes 4s "
            "on its critical path; raise deadline to 4s"
        )
        assert "the fastest plan they allow with deadline lifted, e, takes 4s" in told(planner, 5.0)


def test_a_way_out_after_and_then_is_checked_against_the_plan_rules() -> None:
    """One step is allowed; x → y (2.00) reaches the goal in two but the rule denies it;
    u → v → w (3.00) is allowed. "raise limits.max_steps to 2, and then: … raise max_cost
    to 2.00" named the denied plan: taken literally, every plan was denied. At two steps
    that way out is closed, and said so."""

    task = two_or_three_steps(Limits(max_cost=1.5))
    check = check_for("'px' in plan.providers")
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = decided(task, planner, check)
        assert str(result.reason).endswith(
            "and then: no plan within max_cost 1.50 that the plan rules allow, nor with "
            "max_cost lifted, at up to 2 steps (x → y is denied by plan rule p/r)"
        ), result.reason
        assert "max_cost" not in result.blocking
    lifted = replace(task, max_steps=2, limits=Limits())
    assert not allowed_within(lifted, lambda chosen: all(a.provider != "px" for a in chosen))


def rivals(seed: int) -> tuple[Task, PlanResult, Callable[[list[Action]], bool]]:
    """Rival routes of one or two steps to a goal, from four providers, under a limit or
    two that none meets and a plan rule against the provider of the best plan, decided
    as `ido.decide` does: the plan a way out names is seldom the best the rule allows."""
    rng = random.Random(f"rivals{seed}")
    actions = []
    for i in range(rng.randint(3, 6)):
        provider, done = f"p{rng.randrange(4)}", (("s.done", True),)
        two = rng.random() < 0.4  # a first step, then a second that needs it
        actions.append(
            Action(
                f"r{i}",
                provider,
                round(rng.uniform(0.5, 5.0), rng.choice([1, 2, 3])),
                rng.choice([0.5, 1.0, 2.0, 4.0]),
                rng.choice([0.9, 0.95, 0.99, 0.999]),
                (),
                ((f"s.h{i}", True),) if two else done,
            )
        )
        if two:
            second = Action(f"r{i}b", provider, rng.choice(COSTS), 1.0, 0.999, (f"state.s.h{i}",))
            actions.append(replace(second, effects=done))
    state = {"s": {"done": False, **{f"h{i}": False for i in range(6)}}}
    weights = rng.choice([Weights(), BY_LATENCY, Weights(cost=0.2, latency=0.1, risk=2.0)])
    task = Task(state, ("state.s.done",), tuple(actions), weights, max_steps=2)
    planner = CpSatPlanner(small=0, search_first=0)
    free = planner.plan(task).plan
    assert free is not None
    limits = {
        "max_cost": free.cost * rng.choice([0.3, 0.6, 0.9]),
        "deadline": free.latency * rng.choice([0.3, 0.6, 1.0]),
        "min_success_probability": min(0.9999, free.success_probability * 1.02),
    }
    kept = rng.sample(sorted(limits), rng.choice([1, 1, 2]))
    task = replace(task, limits=Limits(**{name: limits[name] for name in kept}))
    provider = free.steps[0].provider
    check = check_for(f"'{provider}' in plan.providers")
    result = decided(task, planner, check)
    return task, result, lambda chosen: all(a.provider != provider for a in chosen)


@pytest.mark.parametrize("seed", range(150))
def test_among_rival_routes_a_way_out_asks_what_the_rule_allows_and_no_more(seed: int) -> None:
    """Each way out's value admits a plan the rule allows, and a tighter one admits none."""
    task, result, allowed = rivals(seed)
    reason = str(result.reason)
    for name, way in WAYS_OUT.items():
        for value in way.findall(reason):
            eased = replace(task, limits=replace(task.limits, **{name: taken(value)}))
            assert allowed_within(eased, allowed), f"{name} {value}\n{describe(task, result)}"
            tighter = replace(task.limits, **{name: taken(value) + LESS[name]})
            eased = replace(task, limits=tighter)
            assert not allowed_within(eased, allowed), f"{name} {value}\n{describe(task, result)}"


def test_the_rival_routes_reach_ways_out_told_again() -> None:
    said = [str(rivals(seed)[1].reason) for seed in range(150)]
    assert sum("plan they allow with" in r for r in said) >= 30


def decided(task: Task, planner: Any, check: Any) -> PlanResult:
    """As `ido.decide` decides under plan rules."""
    result = planner.plan(task)
    if result.plan is not None and result.plan.steps:
        return best_admissible(task, result, planner, check)[1]
    return checked_ways(task, result, planner, check) if result.ways else result


def test_ways_out_after_and_then_that_need_more_steps_are_closed_at_that_length() -> None:
    """Raising max_cost or lifting guard/no-d: under the rule both need three steps where
    "and then:" is at two, so both are said closed at two and neither blocks."""

    def step(name: str, provider: str, cost: float, needs: str | None, makes: str) -> Action:
        requires = (f"state.s.{needs}",) if needs else ()
        return Action(name, provider, cost, 1.0, 0.99, requires, ((f"s.{makes}", True),))

    acts = (
        *(step("x", "px", 1.0, None, "x"), step("y", "px", 1.0, "x", "done")),
        step("d1", "px", 0.25, None, "d1"),
        *(step("c1", "pu", 0.3, None, "c1"), step("c2", "pu", 0.3, "c1", "c2")),
        *(step("u", "pu", 1.0, None, "u"), step("v", "pu", 1.0, "u", "v")),
        step("w", "pu", 1.0, "v", "done"),
    )
    denied = tuple(
        Denied(step(n, p, 0.25, needs, "done"), "guard/no-d", "off")
        for n, p, needs in (("d2", "px", "d1"), ("c3", "pu", "c2"))
    )
    facts = dict.fromkeys(["x", "d1", "c1", "c2", "u", "v", "done"], False)
    task = Task(
        {"s": facts},
        ("state.s.done",),
        acts,
        limits=Limits(max_cost=1.0),
        max_steps=1,
        denied=denied,
    )
    check = check_for("'px' in plan.providers")
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = decided(task, planner, check)
        reason = str(result.reason)
        assert "nor with max_cost lifted, at up to 2 steps" in reason
        assert (
            "lifting rule guard/no-d lets through only plans the plan rules deny, at up to 2"
            in (reason)
        )
        assert result.blocking == ("limits.max_steps",)


def test_a_search_that_gives_up_is_not_told_as_closed() -> None:
    """Eight plans take 4s and the rule (cost over 4.44) denies the first sixteen the
    fastest-plan search meets: it stops before it knows, which was told as "nor with
    deadline lifted" though b0r0s0 → b1r0s0 → b1r0s1 (4.089, 4s) is allowed."""
    done0, done1 = (("b0.done", True),), (("b1.done", True),)
    acts = (
        Action("b0r0s0", "p0", 0.2, 3.0, 0.95, (), done0),
        Action("b0r1s0", "p0", 2.1, 3.0, 1.0, (), done0),
        Action("b0r2s0", "p1", 2.3, 1.0, 1.0, (), done0),
        Action("b0r3s0", "p1", 2.02, 1.0, 0.95, (), done0),
        Action("b1r0s0", "p0", 1.1, 2.0, 0.9, (), (("b1.r0.f0", True),)),
        Action("b1r0s1", "p0", 2.789, 2.0, 0.95, ("state.b1.r0.f0",), done1),
        Action("b1r1s0", "p1", 2.83, 2.0, 0.99, (), (("b1.r1.f0", True),)),
        Action("b1r1s1", "p1", 1.22, 2.0, 0.95, ("state.b1.r1.f0",), done1),
    )
    state = {"b0": {"done": False}, "b1": {"r0": {"f0": False}, "r1": {"f0": False}}}
    state["b1"]["done"] = False  # type: ignore[index]
    task = Task(
        state,
        ("state.b0.done", "state.b1.done"),
        acts,
        Weights(cost=0.0, latency=1.0, risk=0.5),
        Limits(deadline=2.4),
        max_steps=1,
        alternatives=0,
    )
    check = check_for("plan.cost > 4.44")
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = decided(task, planner, check)
        reason = str(result.reason)
        assert "nor with deadline lifted" not in reason, reason
        if "stopped looking" in reason:
            assert "deadline" not in result.blocking
        else:
            assert "raise deadline to 4s" in reason


LIFT = re.compile(r"lift rule (\S+) \(it denies")


def test_a_capability_two_rules_deny_comes_back_only_when_both_are_lifted() -> None:
    """pay-us is denied by residency and by the freeze, pay-eu by the freeze: "or lift rule
    residency/eu-only … to allow pay-us" was offered, and the conflict named both rules,
    as if one deny were all there was (the decision kept only the first)."""
    pay_eu = Action("pay-eu", "stripe", 1.0, 1.0, 0.99, (), (("s.done", True),))
    pay_us = replace(pay_eu, name="pay-us")
    task = Task(
        state={"s": {"done": False}},
        goal=("state.s.done",),
        actions=(),
        denied=(
            Denied(pay_eu, "freeze/no-charges", "Charges frozen."),
            Denied(pay_us, "residency/eu-only", "EU only.", ("freeze/no-charges",)),
        ),
    )
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = planner.plan(task)
        assert result.status == "infeasible"
        assert LIFT.findall(str(result.reason)) == ["freeze/no-charges"], result.reason
        assert result.conflict == ("freeze/no-charges",)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_each_rule_to_lift_alone_admits_a_plan_when_rules_overlap(seed: int) -> None:
    """Random tasks whose denied capabilities are each denied by a second rule too, one
    rule shared by all: every "lift rule R" a decision offers, taken alone, admits a plan."""
    task = random_task(seed, small=True)
    if not task.denied:
        return
    task = replace(task, denied=tuple(replace(d, also=("guard/shared",)) for d in task.denied))
    result = planned(task)
    if result.status != "infeasible":
        return
    lifts = LIFT.findall(str(result.reason))
    for rule in lifts:  # what lifting it alone brings back: what no other rule denies
        back = tuple(d.action for d in task.denied if {d.rule, *d.also} <= {rule})
        assert brute_force(replace(task, actions=task.actions + back)) is not None, rule


def test_more_steps_is_a_way_out_beside_a_limit_that_is_one_too() -> None:
    """max_cost 1.00 and max_steps 1: "the cheapest plan costs 1.50 (direct); raise max_cost
    to 1.50" was all it said, where prepare → finish, two steps, costs 1.00. Raising
    max_steps alone admits a plan too; it was said only when no limit or rule would do."""

    def step(name: str, cost: float, needs: tuple[str, ...], sets: str) -> Action:
        return Action(name, "p", cost, 1.0, 0.99, needs, ((sets, True),))

    task = Task(
        state={"s": {"ready": False, "done": False}},
        goal=("state.s.done",),
        actions=(
            step("direct", 1.5, (), "s.done"),
            step("prepare", 0.5, (), "s.ready"),
            step("finish", 0.5, ("state.s.ready",), "s.done"),
        ),
        limits=Limits(max_cost=1.0),
        max_steps=1,
    )
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = planner.plan(task)
        assert result.status == "infeasible"
        assert str(result.reason).startswith(
            "no plan of at most 1 step keeps to the limits and rules: one of 2 does; "
            "raise limits.max_steps to 2; or, within 1 step: no plan within max_cost 1.00"
        ), result.reason
        assert result.blocking == ("limits.max_steps", "max_cost")
        assert result.conflict == ("max_cost", "limits.max_steps")


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_more_steps_is_named_whenever_a_longer_plan_keeps_to_everything(seed: int) -> None:
    """(It is named in other cases too: when more steps are needed along with relaxing
    limits or rules, "…, and then: …".)"""
    task = random_task(seed, small=True)
    result = planned(task)
    if result.status != "infeasible":
        return
    if brute_force(replace(task, max_steps=task.max_steps + 3)) is not None:
        assert "limits.max_steps" in result.blocking, describe(task, result)


def test_limits_relaxed_together_under_a_plan_rule_are_told_from_the_plan_it_allows() -> None:
    """a is denied by a rule; b and c break both limits, and the plan rule denies b: the way
    out that relaxes both limits together names c's values, not b's."""
    task = one_step(
        ("b", "X", 5.0, 5.0, 1.0),
        ("c", "Y", 6.0, 6.0, 1.0),
        limits=Limits(max_cost=1.0, deadline=1.0),
    )
    a = Action("a", "Z", 0.5, 0.5, 1.0, (), (("job.done", True),))
    task = replace(task, denied=(Denied(a, "res/no-z", "not Z"),))
    for planner in (CpSatPlanner(), SearchPlanner()):
        told = checked_ways(task, planner.plan(task), planner, check_for("'X' in plan.providers"))
        assert str(told.reason).startswith(
            "no plan the rules allow is within max_cost 1.00 and within deadline 1s: c costs "
            "6.00 and takes 6s on its critical path; relax max_cost and deadline together: "
            "max_cost 6.00 and deadline 6s admit it (b is denied by plan rule p/r); or lift rule "
            "res/no-z"
        ), told.reason


def test_a_limit_way_out_the_plan_rules_close_names_the_limits_kept() -> None:
    """a keeps to the budget but not the deadline, and the plan rule denies it; b breaks
    both. "nor with deadline lifted" read as if the plan rules alone stood in the way of
    b: the budget kept, which b breaks, is named too."""
    task = one_step(
        ("a", "X", 1.0, 1.0, 1.0),
        ("b", "Y", 5.0, 5.0, 1.0),
        limits=Limits(max_cost=2.0, deadline=0.5),
    )
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = decided(task, planner, check_for("'X' in plan.providers"))
        assert str(result.reason).startswith(
            "no plan within deadline 500ms that the plan rules allow, nor with deadline lifted, "
            "keeping within max_cost 2.00 (a is denied by plan rule p/r)"
        ), result.reason


def test_plans_all_denied_past_the_search_say_the_rule_s_message_once_stopped() -> None:
    """A message that ends with a full stop read "… lapsed.. ido stopped looking there"."""
    from ido.model import Rule
    from ido.plan_rules import MAX_PLANS, PlanCheck
    from tests.planner.test_plan_rules import aggregate

    rivals = [(f"r{i}", "X", 1.0 + i / 100, 1.0, 1.0) for i in range(MAX_PLANS + 4)]
    task = one_step(*rivals, limits=Limits())
    rule = Rule(id="r", effect="deny", when="'X' in plan.providers", message="Contract lapsed.")
    check = PlanCheck((("p", rule),), aggregate, "plan")
    result = decided(task, CpSatPlanner(), check)
    assert "p/r: Contract lapsed. ido stopped looking there" in str(result.reason), result.reason


def test_a_rule_s_way_out_told_again_writes_its_plan_as_plans_are() -> None:
    """Lifting res/no-p lets a1 → a2 through, which the plan rule denies, and b1 → b2 it
    allows: that plan read "b1 + b2", beside every other plan's "→"."""

    def step(name: str, provider: str, cost: float, needs: str | None, makes: str) -> Action:
        requires = (f"state.s.{needs}",) if needs else ()
        return Action(name, provider, cost, 1.0, 0.99, requires, ((f"s.{makes}", True),))

    steps = (
        step("a1", "P", 1.0, None, "a"),
        step("a2", "P", 1.0, "a", "done"),
        step("b1", "Q", 2.0, None, "b"),
        step("b2", "Q", 2.0, "b", "done"),
    )
    task = Task(
        {"s": dict.fromkeys(["a", "b", "done"], False)},
        ("state.s.done",),
        (),
        denied=tuple(Denied(a, "res/no-p", "off") for a in steps),
    )
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        result = decided(task, planner, check_for("'P' in plan.providers"))
        assert "to allow b1 → b2 (a1 → a2 is denied by plan rule p/r)" in str(result.reason), (
            result.reason
        )


def test_a_run_binding_way_out_told_again_names_the_capabilities_of_the_plan_it_allows() -> None:
    """No step has a run binding; giving one lets a1 → a2 through, which the plan rule
    denies, and b1 → b2 it allows. The way out kept the words of the first plan: "give a1,
    a2 a run binding (spec.run) to allow b1 → b2"; it now names b1 and b2."""
    from ido.planner.denials import UNBOUND

    def step(name: str, provider: str, cost: float, needs: str | None, makes: str) -> Action:
        requires = (f"state.s.{needs}",) if needs else ()
        return Action(name, provider, cost, 1.0, 0.99, requires, ((f"s.{makes}", True),))

    steps = (
        step("a1", "P", 1.0, None, "a"),
        step("a2", "P", 1.0, "a", "done"),
        step("b1", "Q", 2.0, None, "b"),
        step("b2", "Q", 2.0, "b", "done"),
    )
    task = Task(
        {"s": dict.fromkeys(["a", "b", "done"], False)},
        ("state.s.done",),
        (),
        denied=tuple(Denied(a, UNBOUND, "no run binding") for a in steps),
    )
    for planner in (CpSatPlanner(small=0, search_first=0), SearchPlanner()):
        reason = str(decided(task, planner, check_for("'P' in plan.providers")).reason)
        assert "give b1, b2 a run binding (spec.run) to allow b1 → b2 (a1 → a2 is denied" in (
            reason
        ), reason


def test_a_plan_a_hair_over_the_deadline_reads_apart_from_it() -> None:
    """ "within deadline 4s | takes 4s on its critical path" of a 4.0004s plan: the plan's
    time keeps the digits that set it apart from the deadline."""
    from ido.planner.limit_words import needs, within
    from ido.planner.solving import step_of
    from ido.planner.types import Plan
    from tests.planner.test_cpsat import action as cp_action
    from tests.planner.test_cpsat import task as cp_task

    slow = cp_action("slow", (), {"order.paid": True}, latency=4.0004)
    t = cp_task([slow], ("state.order.paid",), limits=Limits(deadline=4.0))
    plan = Plan((step_of(t, slow),))
    assert within(t, "deadline", plan) == "within deadline 4s"
    assert needs(t, "deadline", plan) == "takes 4.0004s on its critical path"
    left = replace(t, limits=Limits(deadline=4.0003))  # mid-run, the time left
    assert within(left, "deadline", plan) == "within deadline 4.0003s"
    assert needs(left, "deadline", plan) == "takes 4.0004s on its critical path"


def test_a_way_out_past_an_unset_variable_says_to_set_it() -> None:
    """With plan rules in, the way out past `${env:TOKEN}` read "lift rule ${env:TOKEN} (it
    denies charge)": it says to set the variable, as the planner's own way out does."""
    from ido.plan_ways import DeniedWhy, _closed, _words, told
    from ido.planner.denials import UNBOUND, secret_rule
    from ido.planner.infeasible import TOGETHER
    from ido.planner.solving import step_of
    from ido.planner.types import Plan, Way
    from tests.planner.test_cpsat import action as cp_action
    from tests.planner.test_cpsat import task as cp_task

    charge = cp_action("charge", (), {"order.paid": True})
    rule = secret_rule("TOKEN")
    t = cp_task([], ("state.order.paid",), denied=(Denied(charge, rule, "unset"),))
    plan = Plan((step_of(t, charge),))
    said = told(t, DeniedWhy((rule,), ((rule, plan, "best"),)))
    assert said == "set environment variable TOKEN to allow charge"
    assert _words(rule) == "the need for environment variable TOKEN"
    closed = _closed(t, Way(rule, plan, ""), "charge is denied by plan rule p/r")
    assert closed.startswith("lifting the need for environment variable TOKEN lets through")
    assert _words(UNBOUND) == "the need for a run binding (spec.run)"
    # Found in review: relaxed together, the two read "relaxing max_cost, ${env:TOKEN}".
    both = _closed(t, Way(f"max_cost{TOGETHER}{rule}", plan, ""), "denied by plan rule p/r")
    assert both.startswith("relaxing max_cost, the need for environment variable TOKEN together")
    from ido.planner.infeasible import _words as explained

    assert explained([rule, UNBOUND]) == (
        "the need for environment variable TOKEN and the need for a run binding (spec.run)"
    )


def test_a_reason_names_five_of_the_capabilities_a_rule_leaves_out_and_counts_the_rest() -> None:
    """An imported PDDL catalog's 32 capabilities without a run binding were each named
    twice in one reason; the way out now names those of the plan it lets through (binding
    the others lets nothing more through), five of them, as the rejections list each."""
    from ido.planner.denials import UNBOUND, rule_words

    names = [f"move-{i:02}" for i in range(32)]
    unbound = rule_words(UNBOUND, names, ["move-07", "move-03", "move-07"])
    assert unbound.denies == (
        "move-00, move-01, move-02, move-03, move-04 and 27 more have no run binding"
    )
    assert unbound.way == "give move-07, move-03 a run binding (spec.run)"
    lift = rule_words("p/r", names[:6])
    assert (
        lift.way
        == "lift rule p/r (it denies move-00, move-01, move-02, move-03, move-04 and 1 more)"
    )
    assert rule_words("p/r", names[:5]).way == (
        "lift rule p/r (it denies move-00, move-01, move-02, move-03, move-04)"
    )
