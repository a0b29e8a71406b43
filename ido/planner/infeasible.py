"""Why no plan exists: a minimal conflict of limits and deny rules, and the ways out of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import Any

from ido.errors import PlanningError
from ido.model.durations import format_duration
from ido.planner.denials import (
    denying,
    element_words,
    failing_closed,
    lifting,
    rule_way,
    rule_words,
)
from ido.planner.explain import _Solver
from ido.planner.grounding import Grounded, ground
from ido.planner.limit_words import (
    BEST,
    METRICS,
    better_by,
    limits_together,
    needs,
    step_measure,
    way_out,
    within,
)
from ido.planner.structural import MORE_STEPS, Infeasibility, _longest, _more_steps, _structural
from ido.planner.types import MOST_CONFLICTS, Plan, Task, Way

TOGETHER = "\t"
"""Between the names of a way out that relaxes several limits and rules together."""


def infeasible(
    task: Task, grounded: Grounded, solver: _Solver, longer: bool = True
) -> Infeasibility:
    """Explain an infeasible task, relaxing limits and lifting deny rules to find out why.

    The minimal conflict comes from a deletion filter: start from every limit and rule,
    and drop each one whose absence still leaves no plan. What is left all matters.
    `longer`: whether to ask if a longer plan keeps to every limit and rule (`_or_more_steps`;
    not when the caller knows it does not).
    """
    relax = _Relaxer(task, grounded, solver)
    limits = [name for name in METRICS if getattr(task.limits, name) is not None]
    elements = [*limits, *relax.rules]
    if relax.solve(frozenset(elements)) is None:
        why, needed = _structural(task, relax.widened(frozenset(relax.rules)))
        if needed is None:
            return why
        # More steps let a plan through once limits and rules are lifted: do they with
        # those kept? The best plan up to the horizon says so, and how many steps it takes.
        try:
            kept = _longest(task, grounded)
        except PlanningError:  # a large catalog: the length that serves without them
            kept = solver.solve(replace(task, max_steps=needed), grounded)
        if kept is not None:
            return _more_steps(task, kept.plan)
        # They do not: the limits and rules stand in the way of the longer plans too (and
        # lifted, let one through), so what else is needed is said as well.
        then = infeasible(replace(task, max_steps=needed), grounded, solver, longer=False)
        return Infeasibility(
            f"{why.reason}, and then: {then.reason}",
            ("limits.max_steps", *then.blocking),
            ("limits.max_steps",),  # enforced alone (limits and rules lifted), no plan
            tuple(way._replace(max_steps=needed) for way in then.ways),
        )
    conflicts = _conflicts(relax, elements)
    conflict, others = list(conflicts[0]), tuple(conflicts[1:])
    # Relaxing one element alone helps only if it is in every conflict, so in this one.
    single = [e for e in conflict if relax.solve(frozenset({e})) is not None]
    if not single:
        # Conflicts that share nothing: find a minimal set to relax together, by the same
        # filter. Each conflict found is named: a way out relaxes a member of each, and
        # named one alone, the way out read as relaxing another pair than the one named.
        alone = "relaxing any one limit or rule alone is not enough"
        head = f"{_conflict_words(conflicts)}, and {alone}; "
        loose = _limits_way(task, relax, limits)
        if loose is not None:  # first the way out that keeps every rule
            blocking = tuple(loose.element.split(TOGETHER))
            why = Infeasibility(head + loose.words, blocking, tuple(conflict), (loose,), others)
            return _or_more_steps(task, grounded, why) if longer else why
        open_to = [e for e in elements if e not in task.fixed]
        if relax.solve(frozenset(open_to)) is None:  # only lifting a fixed rule lets one by
            fixed = [e for e in conflict if e in task.fixed] or sorted(task.fixed & set(elements))
            words = f"{head}every way out lifts {_words(fixed)}{NOT_NEGOTIABLE}"
            why = Infeasibility(words, tuple(conflict), tuple(conflict), (), others)
            return _or_more_steps(task, grounded, why) if longer else why
        together = _relaxing(relax, open_to)
        words = f"{head}relax {_words(together)} together"
        found = relax.solve(frozenset(together))
        way = Way(TOGETHER.join(together), found.plan, words, kind="together")
        why = Infeasibility(words, tuple(together), tuple(conflict), (way,), others)
        return _or_more_steps(task, grounded, why) if longer else why
    ways: list[Way] = []
    for element in single:
        if element in METRICS:
            words, plan = _over_limit(task, grounded, solver, element)
            ways.append(Way(element, plan, words))
    messages = [way.words for way in ways]
    lifts = [e for e in single if e not in METRICS]
    told = False  # whether the rules' denials are said, failing closed with them
    if lifts and not messages:
        loose = _limits_way(task, relax, limits)
        if loose is not None:  # the ways the rules leave break several limits, not one alone
            messages.append(loose.words)
            ways.append(loose)
        else:
            goals = ", ".join(f"'{g}'" for g in task.goal)
            denials = "; ".join(_denies(task, rule, relax.named[rule]) for rule in lifts)
            messages.append(f"no plan reaches {goals}: every way there is ruled out: {denials}")
            told = True
    for rule in lifts:
        if rule in task.fixed:  # named as what stands in the way, never offered to lift
            if not told:
                messages.append(_denies(task, rule, relax.named[rule]))
            continue
        found = relax.solve(frozenset({rule}))
        assert found is not None
        closed = failing_closed(task, rule, relax.named[rule], way_out=True, told=told)
        words = f"or {rule_way(rule, relax.named[rule], found.plan)}{closed}"
        messages.append(words)
        ways.append(Way(rule, found.plan, words))
    open_to = [e for e in elements if e not in task.fixed]
    if not ways and relax.solve(frozenset(open_to)) is not None:
        # Every way out alone lifts a rule that must hold: what may be relaxed together.
        together = _relaxing(relax, open_to)
        words = f"or relax {_words(together)} together"
        found = relax.solve(frozenset(together))
        messages.append(words)
        ways.append(Way(TOGETHER.join(together), found.plan, words, kind="together"))
    why = Infeasibility("; ".join(messages), tuple(single), tuple(conflict), tuple(ways), others)
    return _or_more_steps(task, grounded, why) if longer else why


_MOST_NODES = 64
"""How many sets of relaxed limits and rules `_conflicts` looks at, at most."""


def _conflicts(relax: _Relaxer, elements: list[str]) -> list[tuple[str, ...]]:
    """The minimal conflicts among `elements` (limits and rules that admit no plan
    together), `MOST_CONFLICTS` at most, the first found first. Each comes from the
    deletion filter; the next ones from keeping a member of each found relaxed (a hitting
    set tree: a conflict with one of its members relaxed is another conflict)."""
    found: list[tuple[str, ...]] = []
    queue: list[frozenset[str]] = [frozenset()]
    seen: set[frozenset[str]] = set()
    feasible: list[frozenset[str]] = []  # relaxing more than these admits a plan too
    while queue and len(found) < MOST_CONFLICTS and len(seen) < _MOST_NODES:
        relaxed = queue.pop(0)
        if relaxed in seen or any(relaxed >= f for f in feasible):
            continue
        seen.add(relaxed)
        # A conflict found that the relaxed elements leave whole is one here too.
        known = next((c for c in found if not relaxed & set(c)), None)
        if known is None:
            if relax.solve(relaxed) is not None:
                feasible.append(relaxed)
                continue
            conflict = [e for e in elements if e not in relaxed]
            for element in list(conflict):
                rest = [c for c in conflict if c != element]
                if relax.solve(frozenset(elements) - frozenset(rest)) is None:
                    conflict = rest
            known = tuple(conflict)
            found.append(known)
        queue += [relaxed | {e} for e in known]
    return found


def _conflict_words(conflicts: list[tuple[str, ...]]) -> str:
    """`no plan meets max_cost and deadline together, nor min_success_probability and rule
    p/r together`: every minimal conflict found; as many as ido names, said so (there may
    be more, and the way out told after relax a member of one not named, which read as
    the contradiction naming them all was to end)."""
    said = [f"{_words(list(c))}{' together' if len(c) > 1 else ''}" for c in conflicts]
    most = f" (ido names {MOST_CONFLICTS} conflicts at most)"
    return "no plan meets " + ", nor ".join(said) + (most if len(said) >= MOST_CONFLICTS else "")


NOT_NEGOTIABLE = ", which may not be lifted (negotiable: false)"
"""Said of the deny rules a way out may not lift (`Task.fixed`), where a reason names them."""


def _denies(task: Task, rule: str, names: list[str]) -> str:
    """What the deny rule `rule` (which denies the capabilities `names`) keeps out, as a
    reason names what stands in the way: `policy p/r denies a, b`, and whether it failed
    closed, and, for a rule that must hold, that it may not be lifted."""
    fixed = NOT_NEGOTIABLE if rule in task.fixed else ""
    return rule_words(rule, names).denies + fixed + failing_closed(task, rule, names)


def _limits_way(task: Task, relax: _Relaxer, limits: list[str]) -> Way | None:
    """The way out that relaxes several `limits` together and keeps every rule, in words
    with the values that admit it (`_limits_together`); None when there is none."""
    loose = _limits_together(relax, limits)
    if not loose:
        return None
    found = relax.solve(frozenset(loose))
    words = limits_together(task, loose, found.plan)
    return Way(TOGETHER.join(loose), found.plan, words, kind="limits together")


def _limits_together(relax: _Relaxer, limits: list[str]) -> list[str]:
    """A minimal set of `limits` that, relaxed together with every rule kept, admits a
    plan (`_relaxing`); `[]` when relaxing all of them does not. Where no limit alone is a
    way out, this is the way out that keeps the rules: told before lifting a rule alone,
    or before relaxing limits and rules together."""
    if len(limits) < 2 or relax.solve(frozenset(limits)) is None:
        return []
    return _relaxing(relax, limits)


def _relaxing(relax: _Relaxer, candidates: list[str]) -> list[str]:
    """A minimal set of `candidates` (no member can be kept, though a smaller set may
    exist) that, relaxed together with the rest kept, admits a plan, by the deletion
    filter: each is dropped whose relaxing the others still do without. Relaxed all
    together, `candidates` must admit one."""
    loose = list(candidates)
    for name in candidates:
        rest = [n for n in loose if n != name]
        if relax.solve(frozenset(rest)) is not None:
            loose = rest
    return loose


def _or_more_steps(task: Task, grounded: Grounded, why: Infeasibility) -> Infeasibility:
    """`why`, the limits and rules that stand in the way of plans of at most `max_steps`,
    and first, when a longer plan keeps to every limit and rule, that way out: raising
    max_steps alone admits a plan too, and is part of the conflict. (Said only of the
    limits and rules, "the cheapest plan costs 1.50" was false of a 2-step plan at 1.00.)"""
    if grounded.horizon <= task.max_steps:
        return why  # no longer plan can be better (the horizon bounds an optimal one)
    try:
        longer = _longest(task, grounded)
    except PlanningError:  # a large catalog: nothing more is known
        return why
    if longer is None:
        return why
    steps = len(longer.plan.steps)
    most = f"{task.max_steps} step{'s' * (task.max_steps != 1)}"
    words = (
        f"no plan of at most {most} keeps to the limits and rules: one of {steps} does; "
        + MORE_STEPS.format(steps=steps)
    )
    return Infeasibility(
        f"{words}; or, within {most}: {why.reason}",
        ("limits.max_steps", *why.blocking),
        (*why.conflict, "limits.max_steps"),
        (Way("limits.max_steps", longer.plan, words), *why.ways),
        tuple((*c, "limits.max_steps") for c in why.other_conflicts),
    )


class _Relaxer:
    """Solves `task` with some limits relaxed and some deny rules lifted, memoised."""

    def __init__(self, task: Task, grounded: Grounded, solver: _Solver) -> None:
        self.task, self.grounded, self.solver = task, grounded, solver
        self.rules = denying(task)
        """Per deny rule, every capability it denied: lifting the rule lets them all in."""
        self._groundings: dict[frozenset[str], tuple[Task, Grounded]] = {}
        self._found: dict[frozenset[str], Any] = {}

    def widened(self, lifted: frozenset[str]) -> tuple[Task, Grounded]:
        """The task with the capabilities denied by the `lifted` rules allowed, grounded."""
        if not lifted:
            return self.task, self.grounded
        if lifted not in self._groundings:
            task = lifting(self.task, lifted)
            self._groundings[lifted] = (task, ground(task))
        return self._groundings[lifted]

    @cached_property
    def named(self) -> dict[str, list[str]]:
        """Per deny rule, the capabilities a reason names it for: those it denied that could
        serve the goal (`denying`)."""
        return denying(self.task, self.widened(frozenset(self.rules))[1])

    def solve(self, relaxed: frozenset[str]) -> Any:
        if relaxed not in self._found:
            task, grounded = self.widened(relaxed - frozenset(METRICS))
            task = lifting(task, relaxed & frozenset(METRICS))
            self._found[relaxed] = self.solver.solve(task, grounded)
        return self._found[relaxed]


def _over_limit(task: Task, grounded: Grounded, solver: _Solver, name: str) -> tuple[str, Plan]:
    """What the best plan by the limit's own measure needs, with that limit alone relaxed,
    and the value of the intent's limit that admits it (`way_out`); and that plan."""
    metric = METRICS[name]
    found = solver.solve(
        replace(task, limits=replace(task.limits, **{name: None})), grounded, metric
    )
    plan: Plan = found.plan
    joint = " × " if metric == "risk" else " + "  # reliabilities multiply
    steps = joint.join(f"{s.capability} {step_measure(metric, s)}" for s in plan.steps)
    if name == "deadline":
        path = " → ".join(
            f"{plan.steps[i].capability} {format_duration(plan.steps[i].latency)}"
            for i in plan.critical_path
        )
        alongside = len(plan.steps) - len(plan.critical_path)
        beside = (
            f", with {alongside} more step{'s' * (alongside > 1)} alongside" if alongside else ""
        )
        steps = f"{path}{beside}"
    shaped = _shaped_by(task, grounded, solver, name, plan)
    kept = "".join(f" {within(task, other, plan)}" for other in shaped)
    return (
        f"no plan {within(task, name, plan)}: the {BEST[name]} plan{kept} "
        f"{needs(task, name, plan)} ({steps}); {way_out(task, name, plan)}",
        plan,
    )


def _shaped_by(task: Task, grounded: Grounded, solver: _Solver, name: str, plan: Plan) -> list[str]:
    """The other limits that keep a plan better by `name`'s own measure than `plan` (the
    best with `name` alone relaxed) out: "the fastest plan takes 3.3s" was said where a
    2.8s plan costs more than max_cost allows, as if none were faster (`kept_out_by`)."""

    def lifting_helps(lifted: list[str]) -> bool:
        # (a solve that gives up names the limits: never wrong, `plan` is the best within them)
        free = replace(task.limits, **dict.fromkeys([name, *lifted]))
        try:
            found = solver.solve(replace(task, limits=free), grounded, METRICS[name])
        except PlanningError:
            return True
        return found is None or found.plan is None or better_by(name, found.plan, plan)

    return kept_out_by(task, name, lifting_helps)


def kept_out_by(task: Task, name: str, lifting_helps: Callable[[list[str]], bool]) -> list[str]:
    """The limits besides `name` that keep out a plan better by `name`'s own measure than
    the best with `name` alone lifted (`lifting_helps`: whether, with the limits given lifted
    too, a better plan is found). Each that does so alone; every other limit set when only
    together they do (the words then say what is sure: the plan is the best within them
    all). A limit of 0 is one too: a max_cost of 0 (or what is left of one, mid-run) keeps
    out every plan that costs."""
    others = [
        other for other in METRICS if other != name and getattr(task.limits, other) is not None
    ]
    if not others or not lifting_helps(others):
        return []
    if len(others) == 1:
        return others
    alone = [o for o in others if lifting_helps([o])]
    return alone or others


def _words(elements: list[str]) -> str:
    return _and([element_words(e) for e in elements])


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
