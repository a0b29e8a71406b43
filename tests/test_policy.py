"""The policy engine: which rules fire for a capability, and what happens when a rule errs."""

from __future__ import annotations

from ido.model import Policy
from ido.policy import evaluate, policy_rules


def policy(effect: str, when: str) -> Policy:
    return Policy.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Policy",
            "metadata": {"name": "p"},
            "spec": {"rules": [{"id": "r", "effect": effect, "when": when, "message": "m"}]},
        }
    )


def test_rule_fires_when_its_condition_holds() -> None:
    """A deny rule whose condition holds is a hit citing policy/rule."""
    hits, errors = evaluate(
        policy_rules([policy("deny", "capability.region != 'eu'")]).rules,
        {"capability": {"region": "us"}},
    )
    assert [h.ref for h in hits] == ["p/r"] and errors == []


def test_guard_rules_fail_closed_on_evaluation_errors() -> None:
    """A deny or require_approval rule that cannot be evaluated fires, with the error in its message."""
    for effect in ("deny", "require_approval"):
        hits, errors = evaluate(
            policy_rules([policy(effect, "state.order.region == 'eu'")]).rules, {"state": {}}
        )
        assert [h.effect for h in hits] == [effect]
        assert "could not be evaluated" in hits[0].message
        assert errors and errors[0].startswith("p/r:")


def test_preference_rules_fail_open_on_evaluation_errors() -> None:
    """An avoid or prefer rule that cannot be evaluated does not fire, but the error is reported."""
    hits, errors = evaluate(
        policy_rules([policy("avoid", "state.order.region == 'eu'")]).rules, {"state": {}}
    )
    assert hits == [] and len(errors) == 1
