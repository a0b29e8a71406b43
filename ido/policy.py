"""The policy engine: evaluate rules against a capability and state. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ido.conditions import compile_condition
from ido.model import Capability, Policy

FAIL_CLOSED = ("deny", "require_approval")


@dataclass(frozen=True)
class RuleHit:
    """A rule whose `when` held for a capability."""

    policy: str
    rule: str
    effect: str
    message: str
    weight: float

    @property
    def ref(self) -> str:
        return f"{self.policy}/{self.rule}"


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


def evaluate(
    policies: Iterable[Policy],
    variables: Mapping[str, Any],
) -> tuple[list[RuleHit], list[str]]:
    """Rules that fire for these variables, and the evaluation errors met.

    A `deny` or `require_approval` rule whose condition cannot be evaluated fires (fail
    closed: a guard that cannot be checked must not let things through); a `prefer` or
    `avoid` rule that cannot be evaluated does not.
    """
    hits: list[RuleHit] = []
    errors: list[str] = []
    for policy in policies:
        for rule in policy.spec.rules:
            verdict = compile_condition(rule.when).evaluate(variables)
            message = rule.message
            if verdict.error:
                errors.append(f"{policy.name}/{rule.id}: {verdict.error}")
                if rule.effect in FAIL_CLOSED:
                    message = f"{rule.message} (rule could not be evaluated: {verdict.error})"
            if verdict.holds or (verdict.error and rule.effect in FAIL_CLOSED):
                hits.append(RuleHit(policy.name, rule.id, rule.effect, message, rule.weight))
    return hits, errors
