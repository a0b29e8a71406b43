"""The rules that leave capabilities out (deny rules, no run binding, an unset environment
variable, a count used up), in words, and the task with them lifted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ido.planner.grounding import Grounded, ground
from ido.planner.limit_words import METRICS
from ido.planner.types import Plan, Task
from ido.text import some


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
