"""An independent plan checker: replays a plan on real state with CEL, step by step."""

from __future__ import annotations

import math

from ido.conditions import compile_condition
from ido.planner.types import Plan, Task
from ido.state import apply_effects


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
                problems.append(f"step {index}: {step.capability} requires {source!r}")
        state = apply_effects(state, dict(action.effects))
    for source in task.goal:
        if not compile_condition(source).evaluate({"state": state}).holds:
            problems.append(f"goal {source!r} does not hold after the plan")
    if len(plan.steps) > task.max_steps:
        problems.append(f"{len(plan.steps)} steps, over max_steps {task.max_steps}")
    limits = task.limits
    if limits.max_cost is not None and plan.cost > limits.max_cost + 1e-6:
        problems.append(f"cost {plan.cost} over max_cost {limits.max_cost}")
    if limits.deadline is not None and plan.latency > limits.deadline + 1e-6:
        problems.append(f"latency {plan.latency} over deadline {limits.deadline}")
    if (
        limits.min_success_probability is not None
        and math.log(plan.success_probability) < math.log(limits.min_success_probability) - 1e-6
    ):
        problems.append(
            f"success probability {plan.success_probability} under {limits.min_success_probability}"
        )
    return problems
