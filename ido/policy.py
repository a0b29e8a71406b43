"""The policy engine: the rules governing an intent, evaluated against a capability or a plan.

Pure; no I/O. A rule is about one capability unless its condition reads `plan`: then it
is about the plan as a whole (see `is_plan_rule`). Every rule that fires gets a decision
id derived from the rule, what it was about, the inputs it read and its verdict, so the
same evaluation always has the same id and a journal can cite it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ido.approvals import PLAN
from ido.conditions import Condition, compile_condition
from ido.errors import IdoError
from ido.model import Capability, Intent, Policy, Rule
from ido.state import digest, get_path, has_path

EFFECTS = ("deny", "require_approval", "prefer", "avoid")
"""What a rule may do, as a policy test expects them."""
FAIL_CLOSED = ("deny", "require_approval")


@dataclass(frozen=True)
class Rulebook:
    """The rules governing an intent, each with the policy it comes from (`source`).

    Enforced policies first (they govern every intent), then the intent's policies, then
    its own rules, cited as `intent:NAME/ID`.
    """

    rules: tuple[tuple[str, Rule], ...]

    @property
    def capability_rules(self) -> tuple[tuple[str, Rule], ...]:
        return tuple((s, r) for s, r in self.rules if not is_plan_rule(r))

    @property
    def plan_rules(self) -> tuple[tuple[str, Rule], ...]:
        return tuple((s, r) for s, r in self.rules if is_plan_rule(r))

    @property
    def fixed(self) -> frozenset[str]:
        """The rules a way out may not lift (`negotiable: false`), as they are cited."""
        return frozenset(f"{s}/{r.id}" for s, r in self.rules if not r.negotiable)

    def rule(self, ref: str) -> Rule | None:
        """The rule cited as `ref` (`policy/rule-id`), if it governs the intent."""
        return next((r for s, r in self.rules if f"{s}/{r.id}" == ref), None)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for s, _ in self.rules))

    @property
    def policies(self) -> list[str]:
        """The policies in force, by name (enforced ones too): the sources but the intent's
        own rules. A decision records them, and the owners of those that name one."""
        return [s for s in self.sources if not s.startswith("intent:")]


def intent_source(intent: Intent) -> str:
    return f"intent:{intent.name}"


def rulebook(intent: Intent, policies: Mapping[str, Policy]) -> Rulebook:
    """The rules that govern `intent`: enforced policies, its policies, its own rules."""
    names = in_force(intent.spec.policies, policies)
    missing = [name for name in names if name not in policies]
    if missing:
        raise IdoError(
            f"intent {intent.name} is governed by policy '{missing[0]}', which is not in the "
            "catalog; restore it (or pass --catalog) to go on"
        )
    rules = [(name, rule) for name in names for rule in policies[name].spec.rules]
    rules += [(intent_source(intent), rule) for rule in intent.spec.rules]
    return Rulebook(tuple(rules))


def in_force(listed: Iterable[str], policies: Mapping[str, Policy]) -> list[str]:
    """The policies in force where `listed` are named: every enforced one first (it governs
    every decision, listed or not), then those listed, each once."""
    enforced = [name for name in sorted(policies) if policies[name].spec.enforced]
    return list(dict.fromkeys([*enforced, *listed]))


def policy_digests(names: Iterable[str], policies: Mapping[str, Policy]) -> dict[str, str]:
    """A digest of each named policy as it stands (its whole spec): an exact replay tells
    by them which policies were edited since the run (`ido.replay`)."""
    return {n: digest(_as_digested(policies[n])) for n in names if n in policies}


# Rule fields added after runs were recorded, with their defaults: a rule that leaves one
# at its default is digested as it was before the field was (else an exact replay named
# every policy edited).
_LATER_FIELDS: dict[str, Any] = {"negotiable": True, "approvers": 1}


def _as_digested(policy: Policy) -> dict[str, Any]:
    """`policy`'s spec as its digest reads it: a rule's later fields only where they are
    not their defaults (`_LATER_FIELDS`)."""
    spec = policy.spec.model_dump(mode="json")
    if spec["owner"] is None:  # (a later field too: a policy without one digests as before)
        del spec["owner"]
    for rule in spec["rules"]:
        for name, default in _LATER_FIELDS.items():
            if rule[name] == default:
                del rule[name]
    return spec


def owner_of(ref: str, policies: Mapping[str, Policy]) -> str | None:
    """Who answers for rule `ref` (`policy/rule-id`): its policy's `owner`; None for an
    intent's own rule, ido's, or a policy that names no one."""
    policy = policies.get(ref.partition("/")[0])
    return None if policy is None else policy.spec.owner


def owners_of(names: Iterable[str], policies: Mapping[str, Policy]) -> dict[str, str]:
    """The owner of each named policy that has one."""
    return {n: o for n in names if n in policies and (o := policies[n].spec.owner) is not None}


def policy_rules(policies: Iterable[Policy]) -> Rulebook:
    """The rules of these policies, as they stand (for policy tests)."""
    return Rulebook(tuple((p.name, r) for p in policies for r in p.spec.rules))


def is_plan_rule(rule: Rule) -> bool:
    """Whether the rule is about the plan as a whole: its condition reads `plan`."""
    return "plan" in compile_condition(rule.when).variables


@dataclass(frozen=True)
class RuleHit:
    """A rule whose `when` held (or could not be evaluated, for a guard) for a subject."""

    policy: str
    rule: str
    effect: str
    message: str
    weight: float
    subject: str = ""
    """The capability the rule was evaluated for, or `(plan)`."""
    inputs: str = ""
    """Digest of the inputs the rule read: the variables and state paths in its condition."""
    held: str = field(default="", compare=False)
    """Of a `require_approval` rule, digest of what a person's verdict on it holds to
    (`ido.approvals`): its inputs, less what beliefs move with time (`health`, a plan's
    latency and success probability) and `state` when read whole. Not recorded: the
    approval request carries it."""
    steady: str = field(default="", compare=False)
    """`held`, less what the run has spent (`plan.spent`; `plan.cost` stays) and the order
    of `plan.capabilities`: the steps of an approved plan move both (those done come first,
    in the order they ended), and the rest of that plan, decided again after a crash, is
    held to what the rule read but those (`ido.runtime.recovery.plan_gone_on`)."""
    error: str | None = None
    """Of a `deny` or `require_approval` rule that could not be evaluated, and fired failing
    closed, why (its message says so too, `UNEVALUATED`, but a rule's own message may hold
    those words); None for one whose condition held."""
    reads: tuple[str, ...] = field(default=(), compare=False)
    """The state paths its condition reads (none when it reads `state` whole): a decision
    records their values, what the rule judged (`ido.decision.recorded_decision`)."""

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"

    @property
    def about(self) -> str:
        """What the hit is about as approvals name it: its capability, or `PLAN` for a plan
        rule's (whose subject is the plan's steps, `plan a → b`)."""
        return PLAN if self.subject.startswith("plan ") else self.subject

    @property
    def id(self) -> str:
        """The decision id: the same rule, subject, inputs and verdict give the same id."""
        text = "\n".join((self.ref, self.subject, self.inputs, self.effect))
        return "pd-" + hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.ref,
            "subject": self.subject,
            "verdict": self.effect,
            "inputs": self.inputs,
            "message": self.message,
        }


CAPABILITY_KEYS = (
    "name",
    "provider",
    "region",
    "tags",
    "cost",
    "latency",
    "timeout",
    "reliability",
    "idempotent",
    "effects",
)
"""The keys of the `capability` variable (`capability_view`), which rules may read."""
PLAN_KEYS = (
    "steps",
    "capabilities",
    "providers",
    "regions",
    "tags",
    "cost",
    "spent",
    "latency",
    "success_probability",
)
"""The keys of the `plan` variable (`plan_view`), which plan rules may read."""


def capability_view(capability: Capability, reliability: float | None = None) -> dict[str, Any]:
    """The `capability` variable CEL rules see (latency and timeout in seconds)."""
    spec = capability.spec
    return {
        "name": capability.name,
        "provider": spec.provider,
        "region": spec.region,
        "tags": list(spec.tags),
        "cost": spec.cost,
        "latency": spec.latency,
        "timeout": spec.timeout,
        "reliability": spec.reliability if reliability is None else reliability,
        "idempotent": spec.idempotent,
        "effects": dict(spec.effects),
    }


def plan_view(
    capabilities: Iterable[Capability],
    *,
    latency: float | None = None,
    success_probability: float | None = None,
    spent: float = 0.0,
    cost: float | None = None,
) -> dict[str, Any]:
    """The `plan` variable plan rules see: what the steps add up to.

    In a decision, the steps are the run's completed ones and the plan's, `cost` is what
    the run has spent plus what the plan costs, and `latency` and `success_probability`
    are the plan's; they default to what the declared numbers give for the steps run one
    after another.
    """
    steps = list(capabilities)
    specs = [c.spec for c in steps]
    probability = 1.0
    for spec in specs:
        probability *= spec.reliability
    return {
        "steps": len(steps),
        "capabilities": [c.name for c in steps],
        "providers": sorted({s.provider for s in specs}),
        "regions": sorted({s.region for s in specs if s.region is not None}),
        "tags": sorted({t for s in specs for t in s.tags}),
        "cost": sum(s.cost for s in specs) if cost is None else cost,
        "spent": spent,
        "latency": sum(s.latency for s in specs) if latency is None else latency,
        "success_probability": probability if success_probability is None else success_probability,
    }


UNEVALUATED = "rule could not be evaluated"
"""What the message of a rule that fired failing closed says, before the error."""


def evaluate(
    rules: Iterable[tuple[str, Rule]],
    variables: Mapping[str, Any],
    subject: str = "",
) -> tuple[list[RuleHit], list[str]]:
    """Rules that fire for these variables, and the evaluation errors met.

    A `deny` or `require_approval` rule whose condition cannot be evaluated fires (fail
    closed: a guard that cannot be checked must not let things through); a `prefer` or
    `avoid` rule that cannot be evaluated does not.
    """
    hits: list[RuleHit] = []
    errors: list[str] = []
    for source, rule in rules:
        condition = compile_condition(rule.when)
        verdict = condition.evaluate(variables)
        message, closed = rule.message, None
        if verdict.error:
            errors.append(f"{source}/{rule.id}: {verdict.error}")
            if rule.effect in FAIL_CLOSED:
                message = f"{rule.message} ({UNEVALUATED}: {verdict.error})"
                closed = verdict.error
        if verdict.holds or (verdict.error and rule.effect in FAIL_CLOSED):
            inputs = _inputs(condition.variables, condition.state_paths, variables)
            held = steady = ""
            if rule.effect == "require_approval":
                held, steady = _approval_inputs(condition, variables)
            hits.append(
                RuleHit(
                    source,
                    rule.id,
                    rule.effect,
                    message,
                    rule.weight,
                    subject,
                    inputs,
                    held,
                    steady,
                    closed,
                    condition.state_paths or (),
                )
            )
    return hits, errors


def _approval_inputs(condition: Condition, variables: Mapping[str, Any]) -> tuple[str, str]:
    """A require_approval hit's `held` and `steady` digests (see RuleHit): the same when
    the rule does not read `plan`, which alone tells them apart."""
    # A rule that reads `state` whole (`state['order']`, `size(state)`) is held to the
    # rest: every observed fact (a heartbeat) would ask again at each resume.
    whole = {"state"} if condition.state_paths is None else set()
    names = condition.variables - {"health"} - whole
    if "plan" not in names:  # (no plan read: nothing of it to leave out)
        held = _inputs(names, condition.state_paths, variables)
        return held, held
    plan = _held_plan(variables.get("plan", {}))
    held = _inputs(names, condition.state_paths, {**variables, "plan": plan})
    plan = {k: v for k, v in plan.items() if k != "spent"}
    if "capabilities" in plan:  # done side by side, steps end in either order
        plan["capabilities"] = sorted(plan["capabilities"])
    return held, _inputs(names, condition.state_paths, {**variables, "plan": plan})


_MOVED_BY_BELIEFS = ("latency", "success_probability")
"""What a plan adds up to that beliefs move with time (a capability's believed latency and
reliability): an approval of the plan does not hold to them."""


def _held_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in plan.items() if k not in _MOVED_BY_BELIEFS}


def _inputs(
    names: frozenset[str], paths: tuple[str, ...] | None, variables: Mapping[str, Any]
) -> str:
    """Digest of what a condition read: its variables, and of `state` only its paths."""
    read: dict[str, Any] = {}
    for name in sorted(names):
        value = variables.get(name, {})
        if name == "state" and paths is not None:
            value = {p: get_path(value, p) for p in paths if has_path(value, p)}
        read[name] = value
    return digest(read)
