"""An independent plan checker: replays a plan on real state with CEL, step by step."""

from __future__ import annotations

import math

from ido.conditions import compile_condition
from ido.model.durations import durations_against
from ido.planner.limit_words import probability_against, written_amount, written_probability
from ido.planner.types import Action, Plan, Task
from ido.state import apply_effects, get_path, has_path, overlaps, sorted_json
from ido.text import echoed


def check_plan(task: Task, plan: Plan) -> list[str]:
    """Every way `plan` fails the task (empty when valid): preconditions, goal, limits, denials.

    It shares nothing with the planners' grounding: it evaluates the CEL conditions on the
    state as the effects of each step change it.
    """
    problems: list[str] = []
    actions = {a.name: a for a in task.actions}
    denied = {d.action.name for d in task.denied}
    state = dict(task.state)
    for index, step in enumerate(plan.steps, start=1):
        if step.capability in denied:
            problems.append(f"step {index}: {step.capability} is denied by policy")
        action = actions.get(step.capability)
        if action is None:
            problems.append(f"step {index}: {step.capability} is not an available capability")
            continue
        for source in action.requires:
            if not compile_condition(source).evaluate({"state": state}).holds:
                problems.append(f"step {index}: {step.capability} requires {echoed(source)}")
        state = apply_effects(state, dict(action.effects))
    for source in task.goal:
        if not compile_condition(source).evaluate({"state": state}).holds:
            problems.append(f"goal {echoed(source)} does not hold after the plan")
    problems += _unordered_conflicts(task, plan)
    if len(plan.steps) > task.max_steps:
        problems.append(f"{len(plan.steps)} steps, over max_steps {task.max_steps}")
    limits = task.limits
    if limits.max_cost is not None and plan.cost > limits.max_cost + 1e-6:
        cost, most = written_amount(plan.cost), written_amount(limits.max_cost)
        problems.append(f"cost {cost} over max_cost {most}")
    elapsed = _elapsed(plan)
    if limits.deadline is not None and elapsed > limits.deadline + 1e-6:
        taken, deadline = durations_against(elapsed, limits.deadline)
        problems.append(f"critical path {taken} over deadline {deadline}")
    if (
        limits.min_success_probability is not None
        and math.log(plan.success_probability) < math.log(limits.min_success_probability) - 1e-6
    ):
        least = limits.min_success_probability
        reached = probability_against(plan.success_probability, least)
        problems.append(f"success probability {reached} under {written_probability(least)}")
    return problems


def needless_steps(task: Task, plan: Plan) -> list[str]:
    """Every step of `plan` that does nothing toward its goal (empty when none): a step whose
    effects all hold already when it would run (a repeat) changes nothing, and a step whose
    effects neither the goal nor a later needed step's preconditions read is not needed.

    Planners never propose such steps; a model may, and each would be performed for real
    (a second shipment, a refund nobody asked for). Capabilities `check_plan` would not
    find are left to it.
    """
    actions = {a.name: a for a in task.actions}
    chosen: list[tuple[int, Action]] = [
        (k, actions[s.capability])
        for k, s in enumerate(plan.steps, start=1)
        if s.capability in actions
    ]
    problems: dict[int, str] = {}
    state = dict(task.state)
    for k, action in chosen:
        if all(_holds(state, path, value) for path, value in action.effects):
            problems[k] = f"step {k}: {action.name} changes nothing: its effects already hold"
        state = apply_effects(state, dict(action.effects))
    wanted = [path for source in task.goal for path in _reads(source)]
    for k, action in reversed(chosen):
        if k in problems:
            continue
        if any(_overlap(path, read) for path, _ in action.effects for read in wanted):
            wanted += [path for source in action.requires for path in _reads(source)]
        else:
            problems[k] = (
                f"step {k}: {action.name} does nothing toward the goal: neither the goal nor "
                "a later step needs its effects"
            )
    return [problems[k] for k in sorted(problems)]


def undone_steps(task: Task, plan: Plan) -> list[str]:
    """Every stretch of `plan` that undoes and redoes (empty when none): steps that, taken
    together, leave every fact the goal and the later steps read as it was before them, as
    a refund and a second charge leave `order.paid` as the first charge left it.

    Such a stretch is never needed, and that is plain: an effect sets a fact to its value
    whatever the fact was, so what a later condition reads changes with what it read before
    and the effects alone. Without the stretch, every later step and the goal see the same
    as with it, and the plan costs no more, takes no longer and is no less likely to
    succeed. Yet each of its steps would be performed for real: the customer charged
    twice. Each step of such a stretch is needed by the next, so `needless_steps` does not
    find it.
    """
    actions = {a.name: a for a in task.actions}
    chosen = [actions.get(s.capability) for s in plan.steps]
    steps = [a for a in chosen if a is not None]
    if len(steps) < len(chosen):
        return []  # an unknown capability: `check_plan` says so
    states = [dict(task.state)]
    for action in steps:
        states.append(apply_effects(states[-1], dict(action.effects)))
    read_after = [[path for source in task.goal for path in _reads(source)]]
    for action in reversed(steps):  # read_after[j]: what the goal and steps j+1.. read
        read_after.insert(0, read_after[0] + [p for r in action.requires for p in _reads(r)])
    problems: list[str] = []
    start = 0
    while start < len(steps):
        end = next(
            (
                end
                for end in range(len(steps), start, -1)
                if _seen(states[end], read_after[end]) == _seen(states[start], read_after[end])
            ),
            None,
        )
        if end is None:
            start += 1
            continue
        names = ", ".join(a.name for a in steps[start:end])
        one = end == start + 1
        which = f"step {end}" if one else f"steps {start + 1} to {end}"
        problems.append(
            f"{which} ({names}) {'leaves' if one else 'leave'} every fact the goal and the "
            f"later steps read as it was before {'it' if one else 'them'} (an undo and a "
            f"redo): leave {'it' if one else 'them'} out, since each step is performed for real"
        )
        start = end
    return problems


def _seen(state: dict[str, object], reads: list[str | None]) -> str:
    """The part of `state` that conditions reading `reads` see, as text to compare."""
    if None in reads:
        return sorted_json(state)
    paths = sorted({p for p in reads if p is not None})
    return sorted_json([[has_path(state, p), get_path(state, p)] for p in paths])


def _holds(state: dict[str, object], path: str, value: object) -> bool:
    return has_path(state, path) and sorted_json(get_path(state, path)) == sorted_json(value)


def _reads(source: str) -> list[str | None]:
    """The state paths a condition reads; None when it reads the state as a whole."""
    paths = compile_condition(source).state_paths
    return [None] if paths is None else list(paths)


def _unordered_conflicts(task: Task, plan: Plan) -> list[str]:
    """Pairs of steps that may run side by side although one writes what the other uses."""
    actions = {a.name: a for a in task.actions}
    uses = []
    for step in plan.steps:
        action = actions.get(step.capability)
        reads: list[str | None] = []
        for source in action.requires if action else ():
            reads += _reads(source)
        writes = [path for path, _ in action.effects] if action else []
        uses.append((reads, writes))
    waits = plan.waits
    if len(waits) != len(plan.steps) or any(
        i >= j or i < 0 for j, w in enumerate(waits) for i in w
    ):
        return ["the steps' waits do not point to earlier steps, one list per step"]
    before: list[set[int]] = []
    for j in range(len(plan.steps)):
        before.append(set(waits[j]).union(*(before[i] for i in waits[j])))
    problems = []
    for j, (reads_j, writes_j) in enumerate(uses):
        for i in range(j):
            if i in before[j]:
                continue
            reads_i, writes_i = uses[i]
            if any(_overlap(w, p) for w in writes_i for p in [*reads_j, *writes_j]) or any(
                _overlap(w, p) for w in writes_j for p in [*reads_i, *writes_i]
            ):
                problems.append(
                    f"steps {i + 1} and {j + 1} may run side by side but one writes what the "
                    "other reads or writes"
                )
    return problems


def _overlap(path: str, other: str | None) -> bool:
    return other is None or overlaps(path, other)


def _elapsed(plan: Plan) -> float:
    """The plan's critical path, each step ending after the steps it waits for."""
    ends: list[float] = []
    for step, waits in zip(plan.steps, plan.waits):
        ready = (ends[i] for i in waits if 0 <= i < len(ends))  # malformed waits reported apart
        ends.append(max(ready, default=0.0) + step.latency)
    return max(ends, default=0.0)
