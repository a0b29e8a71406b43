"""Whether a scenario's scripted verdicts can answer anything: each names a rule that asks.

An answer that matches no request is not an error when the scenario runs; the run just
ends `blocked`, as it would with nobody there. So a typo (`pricey-flight` for
`travel-rules/pricey-flight`, a misspelt policy, a `deny` rule) passed `ido validate` and
made the rehearsal stop where it was meant to go on, without a word on why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ido.model import Policy, Rule

PROPOSE = "mode/propose"


def answer_problem(
    ref: str,
    intent: str | None,
    own: Sequence[Rule] | None,
    policies: Mapping[str, Policy],
) -> str | None:
    """Why no request can name the rule `ref`, if none can. `intent` is the name of the
    scenario's intent and `own` its rules (None for both when the intent is not found:
    that is told where it is named); a policy not found is told here."""
    if ref == PROPOSE:
        return None
    source, _, rule_id = ref.partition("/")
    if not rule_id:
        return _not_an_id(ref, intent, own, policies)
    if source.startswith("intent:"):
        if own is None or intent is None:
            return None
        if source != f"intent:{intent}":
            return (
                f"'{ref}' names another intent than this scenario's: its own rules are "
                f"intent:{intent}/ID"
            )
        rules = {rule.id: rule for rule in own}
    else:
        policy = policies.get(source)
        if policy is None:
            known = ", ".join(sorted(policies))
            hint = f"; known: {known}" if known else "; no Policy is loaded"
            return f"Policy '{source}' not found{hint}"
        rules = {rule.id: rule for rule in policy.spec.rules}
    rule = rules.get(rule_id)
    if rule is None:
        listed = ", ".join(f"{source}/{r}" for r in sorted(rules)) or "no rules"
        return f"rule '{ref}' not found; {source} has {listed}"
    if rule.effect != "require_approval":
        return f"rule '{ref}' is a {rule.effect} rule: it never asks for approval"
    return None


def _not_an_id(
    ref: str, intent: str | None, own: Sequence[Rule] | None, policies: Mapping[str, Policy]
) -> str:
    """A bare rule id: requests name their rule with where it stands; say which, if any."""
    named = [f"{p.name}/{r.id}" for p in policies.values() for r in p.spec.rules if r.id == ref]
    named += [f"intent:{intent}/{r.id}" for r in own or () if r.id == ref]
    like = f", like {named[0]}" if named else ""
    return f"'{ref}' is not a rule id: write policy/rule (or intent:NAME/rule){like}"
