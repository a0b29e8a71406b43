"""What the CP-SAT planner works out without a model: first plans, plan checks, step floors."""

from __future__ import annotations

import math

from ido.planner.bounds import Landmarks, achieved, landmarks, plan_floor
from ido.planner.explain import fits
from ido.planner.grounding import Grounded
from ido.planner.solving import measure, ordered, plan_total, step_of
from ido.planner.tables import Table
from ido.planner.types import SCALE, Limits, Metric, Plan, Task

SHORTLIST = 3  # achievers per landmark (by the objective) in the first, narrow solve


def _swapped(
    task: Task,
    g: Grounded,
    near: Plan,
    without: frozenset[str],
    kept: frozenset[int],
    metric: Metric,
) -> Plan | None:
    """`near` with its steps of the left-out capabilities replaced by a kept action with the
    same effects ("adyen instead of stripe"): the first stand-in, cheapest by `metric`
    first, with which the plan is valid and within the limits (checked step by step on the
    grounded facts). None when no stand-in makes one."""
    try:
        planned = [g.position[step.capability] for step in near.steps]
    except KeyError:
        return None
    left_out = {a for a in planned if g.actions[a].name in without}
    if not left_out or any(a not in kept for a in planned if a not in left_out):
        return None
    effects = {frozenset(g.eff[a]) for a in left_out}
    if len(effects) != 1:
        return None  # stand-ins for different steps: left to the solver
    same = effects.pop()
    stand_ins = sorted(
        (b for b in kept if frozenset(g.eff[b]) == same),
        key=lambda b: (measure(task, g.actions[b], metric), g.actions[b].name),
    )
    for b in stand_ins:
        actions = [b if a in left_out else a for a in planned]
        if _valid(g, actions):
            plan = ordered(g, Plan(tuple(step_of(task, g.actions[a]) for a in actions)))
            if fits(task.limits, plan):
                return plan
    return None


def _valid(g: Grounded, actions: list[int]) -> bool:
    """Whether the actions, in this order, apply one after another and reach the goal."""
    values = [0] * len(g.fluents)  # value 0 of each fact is its value now
    for a in actions:
        if not _holds(values, g.pre[a]):
            return False
        for f, v in g.eff[a]:
            values[f] = v
    return _holds(values, g.goal)


def _clear_of_limits(limits: Limits, plan: Plan) -> bool:
    """Whether `plan` keeps within each limit by more than rounding to the model's units
    could make up: each step's value rounds by at most half a unit, and so does the limit,
    so a sum that far inside it in floats is inside it in the model too."""
    margin = (len(plan.steps) + 1) / (2 * SCALE)
    checks = [
        (limits.max_cost, plan.cost),
        (limits.deadline, plan.latency),
        (_risk_limit(limits), plan_total(plan, "risk")),
    ]
    return all(limit is None or total <= limit - margin for limit, total in checks)


def _risk_limit(limits: Limits) -> float | None:
    """`min_success_probability` as the most risk (sum of -log reliability) a plan may take."""
    p = limits.min_success_probability
    return None if p is None else -math.log(max(p, 1e-300))


def _holds(values: list[int], tables: tuple[Table, ...]) -> bool:
    return all(tuple(values[f] for f in t.fluents) in t.true_rows for t in tables)


def _cheapest(task: Task, g: Grounded, marks: Landmarks, metric: Metric) -> Plan | None:
    """Per landmark (of `kept` actions) the achiever whose share of `metric` is least (see
    `ido.planner.bounds`), each once, ordered greedily: at each turn the first by index that
    applies. If that order reaches the goal, the plan; its total is often the landmark floor
    itself, and `_settles` checks it against the limits as the model does. None otherwise
    (another order of the same steps might have worked: it is a quick try, not a search)."""
    share = {a: len(ms) for a, ms in achieved(marks).items()}
    todo = sorted(
        {min(m, key=lambda a: (measure(task, g.actions[a], metric) / share[a], a)) for m in marks}
    )
    values = [0] * len(g.fluents)
    order: list[int] = []
    while todo:
        a = next((a for a in todo if _holds(values, g.pre[a])), None)
        if a is None:
            return None
        todo.remove(a)
        order.append(a)
        for f, v in g.eff[a]:
            values[f] = v
    if not _holds(values, g.goal):
        return None
    return ordered(g, Plan(tuple(step_of(task, g.actions[a]) for a in order)))


def _shortlist(
    task: Task, g: Grounded, marks: Landmarks, kept: frozenset[int], metric: Metric
) -> frozenset[int]:
    """A few achievers per landmark: the best by the objective and by each limited metric,
    and every action that achieves no landmark (it may be needed all the same)."""
    limited: list[Metric] = [metric]
    limits = task.limits
    limited += ["cost"] if limits.max_cost is not None else []
    limited += ["risk"] if limits.min_success_probability is not None else []
    limited += ["latency"] if limits.deadline is not None else []
    chosen = set(kept) - set().union(*marks)
    for achievers in marks:
        for name in dict.fromkeys(limited):
            ranked = sorted(achievers & kept, key=lambda a: (measure(task, g.actions[a], name), a))
            chosen.update(ranked[: SHORTLIST if name == metric else 2])
    return frozenset(chosen)


def _serial(g: Grounded, actions: list[int]) -> bool:
    """Whether every plan made of `actions` is a sequence, each step waiting for the one
    before. Then a plan's elapsed time is the sum of its latencies, a linear sum the
    untimed model takes as it is.

    It is when the problem is monotone, every action writes one value (that the solver
    sees), and those values form one chain in which every writer of a value requires the
    one before it. In a monotone problem no value written is the fact's value now and a
    step must change something, so at most one step writes each value, and a step whose
    preconditions require a value starts after the step that wrote it ends (it reads what
    that one wrote): the steps of a plan form a path of waits. (Sufficient conditions,
    not necessary ones.)
    """
    if not actions or not g.monotone or any(len(g.eff[a]) != 1 for a in actions):
        return False
    writers: dict[tuple[int, int], list[int]] = {}
    for a in actions:
        writers.setdefault(g.eff[a][0], []).append(a)

    before = {
        v: frozenset.intersection(*(g.needs[a] for a in members)) & writers.keys()
        for v, members in writers.items()
    }
    # One chain through every value: exactly one value needs none of the others, and each
    # next one is the only value left that needs the last one taken and nothing not yet
    # taken. (A loop, not a recursion: a pipeline may have thousands of stages.)
    first = [v for v, needs in before.items() if not needs]
    if len(first) != 1:
        return False
    chain, done = first, {first[0]}
    while len(chain) < len(writers):
        following = [
            v
            for v, needs in before.items()
            if v not in done and chain[-1] in needs and needs <= done
        ]
        if len(following) != 1:
            return False
        chain.append(following[0])
        done.add(following[0])
    return True


def _limited(limits: Limits) -> bool:
    """Whether a limit other than `max_steps` bounds the plan."""
    return any(
        bound is not None
        for bound in (limits.max_cost, limits.deadline, limits.min_success_probability)
    )


def _fewest_steps(g: Grounded, allowed: frozenset[int]) -> int:
    """A lower bound on the steps of any plan among `allowed` that reaches a goal not
    holding yet (at least 1): every such plan holds an achiever of each landmark, and one
    step achieves only so many of them."""
    marks = landmarks(g, allowed)
    if not marks:
        return 1
    return max(1, math.ceil(_step_floor(marks, len(g.actions)) - 1e-9))


def _step_floor(marks: Landmarks, count: int) -> float:
    """The landmark floor of `count` actions each costing one step: no plan has fewer."""
    return plan_floor([1.0] * count, marks)
