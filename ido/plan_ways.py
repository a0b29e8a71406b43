"""Why no plan the plan rules allow exists, and the ways out, with the plan rules in. Pure.

The planner explains an infeasible task without plan rules, which no solve sees
(`ido.planner.infeasible`). Here the plan rules join in: each way out the planner names is
checked against them (`checked_ways`), and when they deny every plan within the limits, the
minimal conflict comes from the planner's deletion filter again, each test a search for the
best plan the rules allow (`plan_rules.best_admissible`) with only some limits, deny rules
and plan rules enforced (`denied_why`). Every such test is a full decision without
alternatives, so this runs only for decisions that end infeasible under plan rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ido.planner.denials import element_words, lifting, rule_way, serving
from ido.planner.explain import present
from ido.planner.infeasible import TOGETHER, kept_out_by
from ido.planner.limit_words import (
    BEST,
    LIMITS,
    better_by,
    limits_together,
    needs,
    way_out,
    within,
)
from ido.planner.types import Plan, PlanResult, Task, Way

_STEPS_TIMES = 4
"""How many times `limits.max_steps` the plans a plan rule allows are sought up to, when
the plan of more steps that a way out names is denied."""


@dataclass(frozen=True)
class DeniedWhy:
    """A minimal conflict of limits, deny rules and plan rules, and per member whose
    lifting alone lets a plan through (`blocking`), the best plan the rules then allow."""

    conflict: tuple[str, ...]
    ways: tuple[tuple[str, Plan, str], ...]
    """Per member whose lifting alone lets a plan through: the plan, and for a limit,
    which plan of those the rules allow it is (`cheapest`, `fastest`, … or `best`)."""
    untested: tuple[str, ...] = ()
    """Members kept because the search without them gave up (`GaveUp`): with any, the
    conflict is not proven minimal."""

    @property
    def blocking(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.ways)


class GaveUp(Exception):
    """A search for a plan the plan rules allow stopped before it knew (`MAX_PLANS`)."""


Allowed = Callable[[Task, frozenset[str]], Plan | None]
"""The best plan for a task that the plan rules allow, all but those named (lifted); None
when they allow none; `GaveUp` when the search stopped before it knew."""
Least = Callable[[Task, str], Plan | None]
"""The plan for a task that the plan rules allow that needs least of the limit named (the
cheapest for max_cost); None when they allow none (or it cannot tell: then `Allowed`
answers); `GaveUp` when the search stopped before it knew."""


def denied_why(task: Task, rules: tuple[str, ...], allowed: Allowed, least: Least) -> DeniedWhy:
    """The deletion filter of `infeasible.infeasible` over the limits set, the deny rules and
    the plan rules that deny (`rules`, every one: a rule that never fired may still be all
    that keeps a plan out once a limit is lifted): start from all of them and drop each one
    whose absence still leaves no allowed plan; what is left all matters. Per limit whose
    lifting alone lets a plan through, the plan they allow that needs least of it."""
    elements = [
        *(n for n in LIMITS if n in present(task.limits)),
        *dict.fromkeys(rule for d in task.denied for rule in d.rules),
        *rules,
    ]
    found: dict[frozenset[str], Plan | None] = {}
    unknown: set[frozenset[str]] = set()  # searches that gave up: neither plan nor none
    every = frozenset(elements)

    def best(kept: frozenset[str]) -> Plan | None:
        if kept not in found:
            try:
                found[kept] = allowed(lifting(task, every - kept), frozenset(rules) - kept)
            except GaveUp:
                found[kept] = None
                unknown.add(kept)
        return found[kept]

    conflict, untested = list(elements), []
    for element in elements:
        rest = frozenset(c for c in conflict if c != element)
        if best(rest) is None and rest not in unknown:
            conflict = [c for c in conflict if c != element]
        elif rest in unknown:  # kept, and the conflict is not proven minimal
            untested.append(element)
    ways = []
    for element in conflict:
        plan, how = best(every - {element}), ""
        if plan is not None and element in LIMITS:
            least_of = _least(lifting(task, frozenset({element})), element, least)
            plan, how = (least_of, BEST[element]) if least_of else (plan, "best")
        if plan is not None:
            ways.append((element, plan, how))
    return DeniedWhy(tuple(conflict), tuple(ways), tuple(untested))


def told(task: Task, why: DeniedWhy) -> str:
    """The ways out of `why` in words: per limit, the value the plan the rules allow with
    it lifted that needs least of it needs; per rule, the plan lifting it lets through."""
    denied = serving(task)
    out: list[str] = []
    held: list[str] = []
    for name, plan, how in why.ways:
        steps = " → ".join(plan.capabilities)
        if name in task.fixed:  # named as what stands in the way, never offered to lift
            held.append(name)
            continue
        if name in LIMITS:
            out.append(
                f"with {name} lifted, the {how} plan they allow, {steps}, "
                f"{needs(task, name, plan)}: {way_out(task, name, plan)}"
            )
        elif name in denied:
            out.append(rule_way(name, denied[name], plan))
        else:
            out.append(f"lift plan rule {name} to allow {steps}")
    if held and not out:
        names = " or ".join(map(element_words, held))
        return (
            f"only lifting {names} lets one through, and no way out may lift it (negotiable: false)"
        )
    return "; or ".join(out)


def checked_ways(
    task: Task,
    result: PlanResult,
    allowed: Allowed,
    least: Least,
    fired: Callable[[Plan], str | None],
) -> PlanResult:
    """`result`, infeasible, with each way out its reason names checked against the plan
    rules (`fired`: the rule that denies a plan, if one does). Where a rule denies the plan
    a way out would admit, that way out is told again from the plan the rules allow with
    that limit or deny rule lifted (for a limit, the one that needs least of it), or as
    no way out when they allow none. A way out after "and then:" holds at more steps
    (`Way.max_steps`), and is checked at as many."""
    reason, blocking = str(result.reason), list(result.blocking)
    for way in result.ways:
        rule = fired(way.plan)
        if rule is None:
            continue
        element, names = way.element, frozenset(way.element.split(TOGETHER))
        denied = f"{' → '.join(way.plan.capabilities)} is denied by plan rule {rule}"
        at = replace(task, max_steps=way.max_steps or task.max_steps)
        how = "best"
        try:
            if element == "limits.max_steps":  # longer plans, up to `_STEPS_TIMES` as long
                longer = replace(task, max_steps=task.max_steps * _STEPS_TIMES)
                better = allowed(longer, frozenset())
            else:
                better, how = _allowed_out(lifting(at, names), element, allowed, least)
        except GaveUp:  # not known either way: said without a way out or a "closed"
            again = (
                f"{denied}; ido stopped looking for a plan the plan rules allow with "
                f"{_words(element)} lifted before it found one"
            )
            reason = reason.replace(way.words, again, 1)
            blocking = [b for b in blocking if b not in names]
            continue
        if better is None:  # no way out after all: said without one
            again = _closed(at, way, denied)
            blocking = [b for b in blocking if b not in names]
        elif element == "limits.max_steps":
            again = (
                f"no plan of at most {task.max_steps} steps reaches the goal that the plan rules "
                f"allow ({denied}); one of {len(better.steps)} they allow does; raise "
                f"limits.max_steps to {len(better.steps)}"
            )
        else:
            again = _told_again(at, way, better, how, denied, least)
        reason = reason.replace(way.words, again, 1)
    # (blocking may end empty: then no one limit or rule lifted alone lets a plan through)
    return replace(result, reason=reason, blocking=tuple(blocking))


def _allowed_out(
    task: Task, element: str, allowed: Allowed, least: Least
) -> tuple[Plan | None, str]:
    """The plan the rules allow for `task`, the way out's element lifted, and which it is:
    for a limit, the one that needs least of it (`cheapest`, …), else the `best`."""
    if element in LIMITS and (found := _least(task, element, least)) is not None:
        return found, BEST[element]
    return allowed(task, frozenset()), "best"


def _least(task: Task, limit: str, least: Least) -> Plan | None:
    """`least`'s plan, or None when it has none or gives up (among many plans that need
    as little; the best one is named then)."""
    try:
        return least(task, limit)
    except GaveUp:
        return None


def _words(element: str) -> str:
    """`max_cost`, `rule guard/no-d`, `max_cost and deadline`, `the need for environment
    variable TOKEN`: a way out's element, as in "with … lifted"."""
    return " and ".join(element_words(n) for n in element.split(TOGETHER))


def _told_again(task: Task, way: Way, better: Plan, how: str, denied: str, least: Least) -> str:
    """The way out `way` told from `better`, the plan the rules allow with its element
    lifted; for a limit, with the other limits that keep out a plan they allow that needs
    less of it (`_kept_out`)."""
    if way.kind == "limits together":
        return f"{limits_together(task, way.element.split(TOGETHER), better)} ({denied})"
    if way.kind == "together":
        return way.words  # the words name no plan: they hold for the one the rules allow
    if way.element in LIMITS:
        kept = "".join(
            f" {within(task, n, better)}" for n in _kept_out(task, way.element, better, how, least)
        )
        return (
            f"no plan {within(task, way.element, better)} that the plan rules allow: {denied}; the "
            f"{how} plan they allow{kept} with {way.element} lifted, "
            f"{' → '.join(better.capabilities)}, {needs(task, way.element, better)}; "
            f"{way_out(task, way.element, better)}"
        )
    names = serving(task).get(way.element)
    if names is not None:  # as the reason says it (a run binding's words name the plan's)
        return f"or {rule_way(way.element, names, better)} ({denied})"
    head = way.words.partition(" to allow ")[0]
    return f"{head} to allow {' → '.join(better.capabilities)} ({denied})"


def _kept_out(task: Task, limit: str, plan: Plan, how: str, least: Least) -> list[str]:
    """The other limits that keep out a plan the rules allow that needs less of `limit`
    than `plan`, the one that needs least with `limit` alone lifted (`kept_out_by`): "the
    fastest plan they allow with deadline lifted takes 4s" was said where a 1.5s plan they
    allow costs more than max_cost. None when `plan` is the best, not the one that needs
    least; a search that gives up or cannot tell names them (`plan` is the least within them)."""
    if how != BEST[limit]:
        return []

    def lifting_helps(lifted: list[str]) -> bool:
        try:
            found = least(lifting(task, frozenset([limit, *lifted])), limit)
        except GaveUp:
            return True
        return found is None or better_by(limit, found, plan)

    return kept_out_by(task, limit, lifting_helps)


def _closed(task: Task, way: Way, denied: str) -> str:
    """A way out the plan rules close: what stands in the way, without a value to take.
    After "and then:", closed at that many steps: longer plans are not sought (at four
    times the length, CP-SAT took seconds where the decision had taken a fifth of one)."""
    element, plan = way.element, way.plan
    upto = f", at up to {task.max_steps} steps" if way.max_steps else ""
    if element in LIMITS:
        kept = [
            within(task, n) for n in LIMITS if n != element and getattr(task.limits, n) is not None
        ]
        keeping = f", keeping {' and '.join(kept)}" if kept else ""  # they stand in the way too
        return (
            f"no plan {within(task, element)} that the plan rules allow, nor with {element} "
            f"lifted{upto}{keeping} ({denied})"
        )
    if element == "limits.max_steps":
        return (
            f"no plan of at most {task.max_steps} steps reaches the goal, and the plan of "
            f"{len(plan.steps)} that does is denied too ({denied}), as is every plan of up "
            f"to {task.max_steps * _STEPS_TIMES} steps"
        )
    if TOGETHER in element:
        names = ", ".join(element_words(n) for n in element.split(TOGETHER))
        return (
            f"relaxing {names} together lets through only plans the plan rules deny{upto} "
            f"({denied})"
        )
    return f"lifting {_words(element)} lets through only plans the plan rules deny{upto} ({denied})"
