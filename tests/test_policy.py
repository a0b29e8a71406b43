"""The policy engine: which rules fire for a capability, and what happens when a rule errs."""

from __future__ import annotations

from ido.model import Policy
from ido.policy import evaluate, policy_digests, policy_rules


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


def test_what_an_approval_of_a_plan_holds_to_less_the_spend_its_own_steps_moved() -> None:
    """Of the same plan at the same cost, decided again once two steps were done side by
    side: the spend moved and the steps done come first, in the order they ended. What a
    verdict holds to (`held`) tells that apart; `steady` does not, so the rest of an
    approved plan goes on under its approval. Another cost is told apart by both."""
    rules = policy_rules([policy("require_approval", "plan.cost > 3.0")]).rules

    def hit(spent: float, cost: float, capabilities: list[str]) -> tuple[str, str]:
        plan = {"cost": cost, "spent": spent, "capabilities": capabilities, "steps": 3}
        (found,), _ = evaluate(rules, {"plan": plan})
        return found.held, found.steady

    approved = hit(0.0, 3.5, ["charge", "pack", "ship"])
    rest = hit(1.5, 3.5, ["pack", "charge", "ship"])
    dearer = hit(1.5, 4.0, ["pack", "charge", "ship"])
    assert approved[0] != rest[0] and approved[1] == rest[1]
    assert dearer[1] != approved[1]


def test_a_policy_written_before_negotiable_keeps_the_digest_its_runs_recorded() -> None:
    """Runs record each policy's digest; an exact replay names the policies whose digest
    moved. `negotiable` (true unless set) and `approvers` (1 unless set) added to every rule
    moved every policy's digest, and a replay of an older run named them all as edited."""
    written = policy("deny", "capability.cost > 1.0")
    assert policy_digests(["p"], {"p": written}) == {"p": "sha256:4f740e9dc2d59e38"}
    fixed = Policy.model_validate(
        {
            **written.model_dump(mode="json", by_alias=True),
            "spec": {"rules": [{**written.spec.rules[0].model_dump(), "negotiable": False}]},
        }
    )
    assert policy_digests(["p"], {"p": fixed})["p"] != "sha256:4f740e9dc2d59e38"
    asking = policy("require_approval", "capability.cost > 1.0")
    before = policy_digests(["p"], {"p": asking})["p"]
    two = Policy.model_validate(
        {
            **asking.model_dump(mode="json", by_alias=True),
            "spec": {"rules": [{**asking.spec.rules[0].model_dump(), "approvers": 2}]},
        }
    )
    assert policy_digests(["p"], {"p": two})["p"] != before
