"""Why no plan exists with every limit and deny rule lifted: the goal, the order of the
capabilities, or `limits.max_steps` (and `Infeasibility`, what any such reason says)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ido.errors import PlanningError
from ido.planner.grounding import Grounded
from ido.planner.pairs import Value, goal_conflict
from ido.planner.tables import required
from ido.planner.types import Limits, Plan, Task, Way
from ido.state import sorted_json


@dataclass(frozen=True)
class Infeasibility:
    """Why no plan exists: in words, what stands in the way, and a minimal conflicting set.

    `blocking` names the limits and rules whose relaxation alone admits a plan (or, when
    none does, those that relaxed together admit one: limits alone when they can).
    `conflict` is a minimal set of limits and policy rules that admit no plan together:
    enforcing any smaller part of it alone would leave a plan.
    """

    reason: str
    blocking: tuple[str, ...]
    conflict: tuple[str, ...] = ()
    ways: tuple[Way, ...] = ()
    """Per way out the reason names: the limit or rule relaxed alone (or several, joined by
    `TOGETHER`), the plan that admits, and the words (for plan rules, which no solve sees,
    to check)."""
    other_conflicts: tuple[tuple[str, ...], ...] = ()
    """The minimal conflicts found beside `conflict` (`infeasible.MOST_CONFLICTS` in all
    at most): a way out relaxes a member of each."""


_LONGER = 20_000
"""Expansions of the exact search that tells whether more steps than `limits.max_steps`
would help an infeasible task (fewer when the intent's `limits.search_states` is lower)."""


def _longest(task: Task, grounded: Grounded) -> Any:
    """The best plan of `task` up to the grounded horizon, which bounds an optimal plan's
    length, by the exact search; `SearchGaveUp` past `_LONGER` expansions, or the task's
    own budget when that is lower."""
    from ido.planner.search import SearchPlanner  # (they import this module)
    from ido.planner.solving import Question

    budget = min(_LONGER, task.search_states)
    return SearchPlanner(max_states=budget).settle(Question(task, grounded, grounded.horizon))


MORE_STEPS = "raise limits.max_steps to {steps}"
"""`_more_steps`'s advice, which `ido plan --pddl` (no intent file to edit) says in its own
flag's words."""


def _more_steps(task: Task, plan: Plan) -> Infeasibility:
    """No plan within max_steps, and `plan`, longer, would do: raise max_steps to its length."""
    steps = len(plan.steps)
    words = (
        f"no plan of at most {task.max_steps} steps reaches the goal: one of {steps} does; "
        + MORE_STEPS.format(steps=steps)
    )
    blocking = ("limits.max_steps",)
    return Infeasibility(words, blocking, blocking, (Way("limits.max_steps", plan, words),))


def _structural(task: Task, widened: tuple[Task, Grounded]) -> tuple[Infeasibility, int | None]:
    """No plan even without limits and deny rules: the goal, max_steps or the order is at
    fault; and when it is max_steps, how many steps a plan without them takes."""
    task, grounded = widened
    if grounded.unreachable_goal:
        goals = ", ".join(f"'{g}'" for g in grounded.unreachable_goal)
        out = [r for r in grounded.rejections if r.reason == "unreachable"]
        hint = ""
        if out:
            hint = "; capabilities that never become usable: " + "; ".join(
                f"{r.capability} ({r.detail})" for r in out[:5]
            )
        return Infeasibility(
            f"no capability can make {goals} true{hint}", tuple(grounded.unreachable_goal)
        ), None
    goals = ", ".join(f"'{g}'" for g in task.goal)
    conflict = goal_conflict(grounded, range(len(grounded.actions)))
    if conflict is not None:  # at any length: more steps would not help
        return _never_together(grounded, goals, *conflict), None
    if grounded.horizon > task.max_steps:
        # The horizon bounds an optimal plan's length, should there be one: an exact search
        # up to it says whether more steps help, and how many; it stops at `_LONGER`
        # expansions (a large catalog), and then nothing more is known.
        try:
            found = _longest(replace(task, limits=Limits()), grounded)
        except PlanningError:
            return Infeasibility(
                f"no plan of at most {task.max_steps} steps reaches {goals}; a longer one "
                "might: raise limits.max_steps",
                ("limits.max_steps",),
            ), None
        if found is not None:
            return _more_steps(task, found.plan), len(found.plan.steps)
    return Infeasibility(
        f"no order of the usable capabilities reaches {goals}: each way there undoes "
        "or rules out a step it needs",
        task.goal,
    ), None


def _never_together(g: Grounded, goals: str, first: Value, second: Value) -> Infeasibility:
    """No plan because two values the goal needs never hold at once (`pairs.goal_conflict`),
    blamed on the goal conditions that need either of them."""
    if first == second:
        why = f"'{_held(g, first)}' never holds (each way to it undoes a step it needs)"
    else:
        why = (
            f"'{_held(g, first)}' and '{_held(g, second)}' never hold at once "
            "(each way to one undoes or rules out the other)"
        )
    blocking = tuple(t.source for t in g.goal if {first, second} & set(required(t).items()))
    return Infeasibility(f"no order of the usable capabilities reaches {goals}: {why}", blocking)


def _held(g: Grounded, value: Value) -> str:
    """A fluent value as a condition: `state.order.paid`, `!state.order.paid`, or
    `state.order.status == "shipped"`."""
    fluent = g.fluents[value[0]]
    held = fluent.values[value[1]]
    if held is True or held is False:
        return f"{'' if held else '!'}state.{fluent.path}"
    return f"state.{fluent.path} == {sorted_json(held)}"
