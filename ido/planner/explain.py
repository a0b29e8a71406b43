"""Words for plans: why an alternative lost, which constraint binds, what blocks a goal."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Protocol

from ido.errors import PlanningError
from ido.model.durations import format_duration
from ido.planner.grounding import Grounded, ground
from ido.planner.limit_words import (
    BEST,
    METRICS,
    limits_together,
    needs,
    step_measure,
    way_out,
    within,
)
from ido.planner.pairs import Value, goal_conflict
from ido.planner.tables import required
from ido.planner.types import Action, ConstraintReport, Limits, Plan, Task, Way, Weights
from ido.state import sorted_json
from ido.text import some

TOGETHER = "\t"
"""Between the names of a way out that relaxes several limits and rules together."""


class _Solver(Protocol):
    def solve(self, task: Task, grounded: Grounded | None = ..., metric: Any = ...) -> Any: ...


def alternative_why(
    best: Plan,
    other: Plan,
    weights: Weights | None = None,
    actions: Sequence[Action] = (),
) -> str:
    """`+0.50 cost, +1.2s latency: charge-adyen-eu instead of charge-stripe-eu`.

    With the intent's `weights`, what the score difference holds beyond what cost, step
    latency and risk weigh (policy `prefer`/`avoid` weights) is named too, and, when the
    score weighs latency, the change in summed step latency where it differs from the
    change in elapsed time (`-1s latency (+1s summed step latency)`). With the task's
    `actions`, so are the approvals one plan needs and the other does not (`+0.01
    approval: ship needs finance/large`), which `weights.approval` weighs."""
    gone = [c for c in best.capabilities if c not in other.capabilities]
    new = [c for c in other.capabilities if c not in best.capabilities]
    if new and gone:
        swap = f"{', '.join(new)} instead of {', '.join(gone)}"
    elif new:
        swap = f"adds {', '.join(new)}"
    else:
        swap = f"drops {', '.join(gone)}"
    deltas = []
    if abs(other.cost - best.cost) > 1e-9:
        deltas.append(f"{other.cost - best.cost:+.2f} cost")
    elapsed, work = other.latency - best.latency, other.work - best.work
    if abs(elapsed) > 1e-9:
        deltas.append(f"{_seconds(elapsed)} latency")
        if weights is not None and weights.latency and abs(work - elapsed) > 1e-9:
            # The score weighs each step's own latency, not the critical path: say both.
            deltas[-1] += f" ({_seconds(work)} summed step latency)"
    elif abs(work) > 1e-9:
        # The same elapsed time, but a score weighs each step's own latency.
        deltas.append(f"{_seconds(work)} summed step latency")
    dp = other.success_probability - best.success_probability
    if abs(dp) > 1e-9:
        deltas.append(f"{dp:+.4f} success probability")
    tie = abs(other.score - best.score) <= 1e-9
    asked = approvals_why(best, other, weights, actions)
    deltas += [asked] if asked else []
    bias = _bias(best, other, weights, actions)
    if not deltas and tie:
        deltas.append("same score (a tie)")
    elif not deltas:  # cost, latency and reliability all equal: only policy bias is left
        deltas.append(f"{other.score - best.score:+.2f} score from policy prefer/avoid weights")
    elif abs(bias) >= 0.005:  # said where it shows at two decimals
        deltas.append(f"{bias:+.2f} score from policy prefer/avoid weights")
    elif len(deltas) == 1 and deltas[0].endswith("summed step latency") and not tie:
        # Only step latency differs, which the score may not weigh: say the score too.
        deltas.append(f"{other.score - best.score:+.2f} score")
    return f"{', '.join(deltas)}: {swap}"


def _seconds(delta: float) -> str:
    """`+0.412s`, `-1.5s`: a change in seconds to three significant digits; from 1,000 s on,
    to the second as a duration is written (`+11600s`, `+4h`), never with an exponent
    (`+1.16e+04s`)."""
    if abs(delta) < 999.5:
        return f"{delta:+.3g}s"
    return ("+" if delta > 0 else "-") + format_duration(round(abs(delta)))


def _asked(plan: Plan, actions: Sequence[Action]) -> Counter[tuple[str, str]]:
    """The approvals `plan`'s steps stop for, as (capability, rule), counted per step."""
    rules = {a.name: a.approvals for a in actions}
    return Counter((s.capability, rule) for s in plan.steps for rule in rules.get(s.capability, ()))


def approvals_why(
    best: Plan, other: Plan, weights: Weights | None, actions: Sequence[Action]
) -> str:
    """What `other` scores more (or less) than `best` for the approvals one needs and the
    other does not: `+0.01 approval: ship needs finance/large`; empty when they need the
    same, or approvals weigh nothing."""
    if weights is None or not weights.approval:
        return ""
    mine, theirs = _asked(best, actions), _asked(other, actions)
    if mine.total() == theirs.total():  # (one approval for another weighs the same)
        return ""
    moved = sorted(k for k in mine.keys() | theirs.keys() if mine[k] != theirs[k])
    delta = weights.approval * (theirs.total() - mine.total())
    said = ", ".join(f"{name} needs {rule}" for name, rule in moved)
    return f"{delta:+.2f} approval: {said}"


def _bias(
    best: Plan, other: Plan, weights: Weights | None, actions: Sequence[Action] = ()
) -> float:
    """What the score difference holds beyond the weighted cost, step latency, risk and
    approvals: the policy weights (0 without `weights`)."""
    if weights is None:
        return 0.0

    def weighed(plan: Plan) -> float:
        risk = sum(-math.log(s.reliability) for s in plan.steps if s.reliability > 0)
        asked = weights.approval * _asked(plan, actions).total()
        return weights.cost * plan.cost + weights.latency * plan.work + weights.risk * risk + asked

    return (other.score - best.score) - (weighed(other) - weighed(best))


def constraint_reports(
    task: Task, plan: Plan, binding: frozenset[str] = frozenset()
) -> tuple[ConstraintReport, ...]:
    """Limit, value and slack of each constraint; binding when named in `binding` (see
    `binding_limits`)."""
    return tuple(
        ConstraintReport(name, limit, value, slack, name in binding)
        for name, limit, value, slack in _measure(task.limits, plan)
    )


def binding_limits(
    task: Task,
    grounded: Grounded,
    solver: _Solver,
    plan: Plan,
    free: Plan | None,
    slack: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """The limits that each keep a better plan out: with that limit alone lifted and the
    others kept, the best plan scores better than `plan` (the best plan within them all).

    `free`, the best plan with no limits, settles most of them without a solve: when it
    scores no better than `plan`, no limit binds; when it keeps within every limit but
    one, it is the best plan with that one lifted. `slack` names limits known not to
    bind (the caller found `plan` best within the other limits alone). A solve that gives
    up claims nothing."""
    if free is None or free.score >= plan.score - 1e-9:
        return frozenset()
    out = []
    for name in sorted(present(task.limits) - slack):
        rest = replace(task.limits, **{name: None})
        relaxed: Plan | None = free
        if not fits(rest, free):
            try:
                found = solver.solve(replace(task, limits=rest), grounded)
            except PlanningError:
                continue
            relaxed = None if found is None else found.plan
        if relaxed is not None and relaxed.score < plan.score - 1e-9:
            out.append(name)
    return frozenset(out)


def present(limits: Limits) -> frozenset[str]:
    """The limits set, by name."""
    return frozenset(name for name in METRICS if getattr(limits, name) is not None)


def broken(limits: Limits, plan: Plan) -> frozenset[str]:
    """The limits `plan` breaks (to the tolerance `fits` uses), by name."""
    return frozenset(
        name for name, limit, _, slack in _measure(limits, plan) if _over(name, limit, slack)
    )


def keeping(limits: Limits, names: frozenset[str]) -> Limits:
    """`limits` with only those `names` set."""
    return replace(limits, **dict.fromkeys(present(limits) - names))


def fits(limits: Limits, plan: Plan) -> bool:
    """True when `plan` keeps within every limit (to the same tolerance reports use)."""
    return not any(_over(name, limit, slack) for name, limit, _, slack in _measure(limits, plan))


def _over(name: str, limit: float, slack: float) -> bool:
    """Whether `slack` breaks the limit: by more than 1e-9, for a probability 1e-9 of it
    (an absolute tolerance would let a limit of 1e-9 or less admit any plan)."""
    return slack < -1e-9 * (limit if name == "min_success_probability" else 1.0)


def _measure(limits: Limits, plan: Plan) -> list[tuple[str, float, float, float]]:
    out = []
    if limits.max_cost is not None:
        out.append(("max_cost", limits.max_cost, plan.cost, limits.max_cost - plan.cost))
    if limits.deadline is not None:
        out.append(("deadline", limits.deadline, plan.latency, limits.deadline - plan.latency))
    if limits.min_success_probability is not None:
        p = plan.success_probability
        out.append(
            (
                "min_success_probability",
                limits.min_success_probability,
                p,
                p - limits.min_success_probability,
            )
        )
    return out


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
    conflict = list(elements)
    for element in elements:
        rest = [c for c in conflict if c != element]
        if relax.solve(frozenset(elements) - frozenset(rest)) is None:
            conflict = rest
    # Relaxing one element alone helps only if it is in every conflict, so in this one.
    single = [e for e in conflict if relax.solve(frozenset({e})) is not None]
    if not single:
        # Conflicts that share nothing: find a minimal set to relax together, by the same filter.
        head = (
            f"no plan meets {_words(conflict)}{' together' if len(conflict) > 1 else ''}, and "
            "relaxing any one limit or rule alone is not enough; "
        )
        loose = _limits_way(task, relax, limits)
        if loose is not None:  # first the way out that keeps every rule
            blocking = tuple(loose.element.split(TOGETHER))
            why = Infeasibility(head + loose.words, blocking, tuple(conflict), (loose,))
            return _or_more_steps(task, grounded, why) if longer else why
        open_to = [e for e in elements if e not in task.fixed]
        if relax.solve(frozenset(open_to)) is None:  # only lifting a fixed rule lets one by
            fixed = [e for e in conflict if e in task.fixed] or sorted(task.fixed & set(elements))
            words = f"{head}every way out lifts {_words(fixed)}{NOT_NEGOTIABLE}"
            why = Infeasibility(words, tuple(conflict), tuple(conflict))
            return _or_more_steps(task, grounded, why) if longer else why
        together = _relaxing(relax, open_to)
        words = f"{head}relax {_words(together)} together"
        found = relax.solve(frozenset(together))
        way = Way(TOGETHER.join(together), found.plan, words, kind="together")
        why = Infeasibility(words, tuple(together), tuple(conflict), (way,))
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
    why = Infeasibility("; ".join(messages), tuple(single), tuple(conflict), tuple(ways))
    return _or_more_steps(task, grounded, why) if longer else why


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


def denying(task: Task, lifted: Grounded | None = None) -> dict[str, list[str]]:
    """Per deny rule, the capabilities it denied, in the order denied. With `lifted`, the
    task grounded with every deny rule lifted, only those of them that could serve the goal
    (grounding keeps them: neither unreachable nor irrelevant), where a rule denied some:
    a sanctions rule over every payment capability is said to deny the payout the goal
    needs, not the refunds beside it (`… and 4 more`, which named no capability of use)."""
    rules: dict[str, list[str]] = {}
    for d in task.denied:
        for rule in d.rules:
            rules.setdefault(rule, []).append(d.action.name)
    if lifted is None:
        return rules
    useless = {r.capability for r in lifted.rejections if r.reason in _USELESS}
    return {rule: [n for n in names if n not in useless] or names for rule, names in rules.items()}


_USELESS = ("unreachable", "irrelevant")
"""Rejections of a capability that could not serve the goal even were it allowed."""


def serving(task: Task) -> dict[str, list[str]]:
    """Per deny rule, the capabilities it denied that could serve the goal (`denying`)."""
    rules = denying(task)
    return denying(task, ground(lifting(task, frozenset(rules)))) if rules else rules


def failing_closed(
    task: Task, rule: str, denied: list[str], *, way_out: bool = False, told: bool = False
) -> str:
    """What to add where a reason names the deny rule `rule`, when it could not be evaluated
    for some capability it denied (`denied`, as `denying` lists them): "policy
    guard/healthy denies extract" read as if the source were unhealthy, where the observer
    that reports it was down and the rule failed closed. Its way out ("lift rule …",
    `way_out`) says what to do instead, when it denied only failing closed (lifting a
    sanctions rule is seldom the way when a fact is missing), and why only where the
    denial was not `told` in the same reason."""
    named = set(denied)  # a reason names only those that could serve the goal (`denying`)
    closed = [d for d in task.denied if rule in d.unevaluated and d.action.name in named]
    if not closed:
        return ""
    errors = [d.error for d in closed if d.rule == rule and d.error is not None]
    error = f": {errors[0]}" if errors else ""
    every = len(closed) == len(denied)
    if way_out and not every:
        return ""
    if way_out:
        why = "" if told else f"it could not be evaluated, and denies failing closed{error}; "
        return f" ({why}give the state the facts it reads)"
    if every:
        return f" (it could not be evaluated, and fails closed{error})"
    names = some([d.action.name for d in closed], NAMES_SHOWN, counted=True)
    return f" (failing closed for {names}: it could not be evaluated{error})"


def lifting(task: Task, lifted: frozenset[str]) -> Task:
    """`task` with the limits named in `lifted` unset and the deny rules named there lifted
    (the capabilities they denied back in, those no rule left in force denies); other
    names are ignored."""
    limits = replace(task.limits, **dict.fromkeys(lifted & frozenset(METRICS)))
    if not any(set(d.rules) <= lifted for d in task.denied):
        return replace(task, limits=limits)
    allowed = tuple(d.action for d in task.denied if set(d.rules) <= lifted)
    still = tuple(d for d in task.denied if not set(d.rules) <= lifted)
    return replace(task, limits=limits, actions=task.actions + allowed, denied=still)


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
    return (
        f"no plan {within(task, name, plan)}: the {BEST[name]} plan "
        f"{needs(task, name, plan)} ({steps}); {way_out(task, name, plan)}",
        plan,
    )


UNBOUND = "spec.run"
"""What leaves out a capability with no `run` binding where a run must perform its steps
(the way out is to give it one)."""


SECRET_RULE = "${env:"  # noqa: S105 (a rule id's prefix, no password)
"""What leaves out, as the rule `${env:NAME}`, a capability whose binding names an
environment variable that is unset or empty where a run must call it (the way out is to
set it)."""


def secret_rule(name: str) -> str:
    """The rule id that leaves out the capabilities needing environment variable `name`."""
    return f"{SECRET_RULE}{name}}}"


def secret_name(rule: str) -> str:
    """The environment variable a `secret_rule` names."""
    return rule.removeprefix(SECRET_RULE).removesuffix("}")


@dataclass(frozen=True)
class RuleWords:
    """A rule that leaves capabilities out, in the words its kind takes (a policy rule, a
    `limits.` count used up, no run binding, an unset environment variable)."""

    way: str
    """What to do to let them back in: `set environment variable TOKEN`."""
    named: str
    """What is lifted, as in "with … lifted": `the need for environment variable TOKEN`."""
    denies: str
    """Why they are out: `charge cannot be called without environment variable TOKEN`."""


NAMES_SHOWN = 5
"""Capabilities a reason names of those a rule leaves out; the rest are counted (the
decision's rejections list each): an imported PDDL catalog has hundreds without a run
binding, and the reason named them all, twice."""


def rule_way(rule: str, names: list[str], plan: Plan) -> str:
    """The way out that lifting `rule` (which leaves out the capabilities `names`) opens,
    in words with the plan it lets through: "lift rule … to allow A → B"."""
    steps = " → ".join(plan.capabilities)  # a plan, written as plans are
    return f"{rule_words(rule, names, plan.capabilities).way} to allow {steps}"


def rule_words(rule: str, names: list[str], plan: Sequence[str] = ()) -> RuleWords:
    """`rule`, which leaves out the capabilities `names`, in words (`RuleWords`). `plan`,
    the steps of the plan lifting it lets through: a run binding is needed for its own."""
    out = some(names, NAMES_SHOWN, counted=True)
    if rule == UNBOUND:
        has = "has" if len(names) == 1 else "have"
        needed = [n for n in dict.fromkeys(plan) if n in names] or names
        return RuleWords(
            f"give {some(needed, NAMES_SHOWN, counted=True)} a run binding (spec.run)",
            "the need for a run binding (spec.run)",
            f"{out} {has} no run binding",
        )
    if rule.startswith(SECRET_RULE):
        env = f"environment variable {secret_name(rule)}"
        return RuleWords(
            f"set {env}", f"the need for {env}", f"{out} cannot be called without {env}"
        )
    if rule.startswith("limits."):
        return RuleWords(f"raise {rule} (used up by {out})", rule, f"{out} used up {rule}")
    return RuleWords(
        f"lift rule {rule} (it denies {out})", f"rule {rule}", f"policy {rule} denies {out}"
    )


def element_words(element: str) -> str:
    """A limit or a rule of a way out, as relaxing it is said: `max_cost`, `rule
    guard/no-d`, `the need for environment variable TOKEN` (`rule_words`)."""
    return element if element in METRICS else rule_words(element, []).named


def _words(elements: list[str]) -> str:
    return _and([element_words(e) for e in elements])


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
