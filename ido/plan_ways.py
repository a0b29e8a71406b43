"""Why no plan the plan rules allow exists, and the ways out, with the plan rules in. Pure.

The planner explains an infeasible task without plan rules, which no solve sees
(`ido.planner.explain`). Here the plan rules join in: each way out the planner names is
checked against them (`checked_ways`), and when they deny every plan within the limits, the
minimal conflict comes from the planner's deletion filter again, each test a search for the
best plan the rules allow (`plan_rules.best_admissible`) with only some limits, deny rules
and plan rules enforced (`denied_why`). Every such test is a full decision without
alternatives, so this runs only for decisions that end infeasible under plan rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ido.planner.explain import LIMITS, TOGETHER, denying, lifting, needs, present, way_out, within
from ido.planner.types import Plan, PlanResult, Task

_LONGER = 4
"""How many times `limits.max_steps` the plans a plan rule allows are sought up to, when
the plan of more steps that a way out names is denied."""


@dataclass(frozen=True)
class DeniedWhy:
    """A minimal conflict of limits, deny rules and plan rules, and per member whose
    lifting alone lets a plan through (`blocking`), the best plan the rules then allow."""

    conflict: tuple[str, ...]
    ways: tuple[tuple[str, Plan], ...]

    @property
    def blocking(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.ways)


Allowed = Callable[[Task, frozenset[str]], Plan | None]
"""The best plan for a task that the plan rules allow, all but those named (lifted); None
when they allow none."""


def denied_why(task: Task, fired: tuple[str, ...], allowed: Allowed) -> DeniedWhy:
    """The deletion filter of `explain.infeasible` over the limits set, the deny rules and
    the plan rules that `fired`: start from all of them and drop each one whose absence
    still leaves no allowed plan; what is left all matters."""
    elements = [
        *(n for n in LIMITS if n in present(task.limits)),
        *dict.fromkeys(d.rule for d in task.denied),
        *fired,
    ]
    found: dict[frozenset[str], Plan | None] = {}
    every = frozenset(elements)

    def best(kept: frozenset[str]) -> Plan | None:
        if kept not in found:
            # (a plan rule that never fired is no element, and stays enforced)
            found[kept] = allowed(lifting(task, every - kept), frozenset(fired) - kept)
        return found[kept]

    conflict = list(elements)
    for element in elements:
        rest = [c for c in conflict if c != element]
        if best(frozenset(rest)) is None:
            conflict = rest
    ways = [(e, best(every - {e})) for e in conflict]
    return DeniedWhy(tuple(conflict), tuple((e, p) for e, p in ways if p is not None))


def told(task: Task, why: DeniedWhy) -> str:
    """The ways out of `why` in words: per limit, the value the best plan the rules allow
    with it lifted needs; per rule, the plan lifting it lets through."""
    denied = denying(task)
    out = []
    for name, plan in why.ways:
        steps = " → ".join(plan.capabilities)
        if name in LIMITS:
            out.append(
                f"with {name} lifted, the best plan they allow, {steps}, "
                f"{needs(task, name, plan)}: {way_out(task, name, plan)}"
            )
        elif name in denied:
            out.append(f"lift rule {name} (it denies {', '.join(denied[name])}) to allow {steps}")
        else:
            out.append(f"lift plan rule {name} to allow {steps}")
    return "; or ".join(out)


def checked_ways(
    task: Task, result: PlanResult, allowed: Allowed, fired: Callable[[Plan], str | None]
) -> PlanResult:
    """`result`, infeasible, with each way out its reason names checked against the plan
    rules (`fired`: the rule that denies a plan, if one does). Where a rule denies the plan
    a way out would admit, that way out is told again from the best plan the rules allow
    with that limit or deny rule lifted, or as no way out when they allow none."""
    reason, blocking = str(result.reason), list(result.blocking)
    for element, plan, words in result.ways:
        rule = fired(plan)
        if rule is None:
            continue
        denied = f"{' → '.join(plan.capabilities)} is denied by plan rule {rule}"
        if element == "limits.max_steps":  # longer plans, up to the length `_LONGER` allows
            better = allowed(replace(task, max_steps=task.max_steps * _LONGER), frozenset())
        else:
            better = allowed(lifting(task, frozenset(element.split(TOGETHER))), frozenset())
        if better is None:  # no way out after all: said without one
            again = _closed(task, element, plan, denied)
            blocking = [b for b in blocking if b not in element.split(TOGETHER)]
        elif element == "limits.max_steps":
            again = (
                f"no plan of at most {task.max_steps} steps reaches the goal that the plan rules "
                f"allow ({denied}); one of {len(better.steps)} they allow does; raise "
                f"limits.max_steps to {len(better.steps)}"
            )
        elif TOGETHER in element:
            continue  # the words name no plan: they hold for the one the rules allow
        elif element in LIMITS:
            again = (
                f"no plan {within(task, element)} that the plan rules allow: {denied}; the "
                f"best plan they allow with {element} lifted, "
                f"{' → '.join(better.capabilities)}, {needs(task, element, better)}; "
                f"{way_out(task, element, better)}"
            )
        else:
            head = words.partition(" to allow ")[0]
            again = f"{head} to allow {' + '.join(better.capabilities)} ({denied})"
        reason = reason.replace(words, again, 1)
    # (blocking may end empty: then no one limit or rule lifted alone lets a plan through)
    return replace(result, reason=reason, blocking=tuple(blocking))


def _closed(task: Task, element: str, plan: Plan, denied: str) -> str:
    """A way out the plan rules close: what stands in the way, without a value to take."""
    if element in LIMITS:
        return (
            f"no plan {within(task, element)} that the plan rules allow, nor with {element} "
            f"lifted ({denied})"
        )
    if element == "limits.max_steps":
        return (
            f"no plan of at most {task.max_steps} steps reaches the goal, and the plan of "
            f"{len(plan.steps)} that does is denied too ({denied}), as is every plan of up "
            f"to {task.max_steps * _LONGER} steps"
        )
    if TOGETHER in element:
        names = ", ".join(element.split(TOGETHER))
        return f"relaxing {names} together lets through only plans the plan rules deny ({denied})"
    return f"lifting rule {element} lets through only plans the plan rules deny ({denied})"
