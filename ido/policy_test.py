"""Policy unit tests (`ido policy test`): given a capability, state and intent, the rules that
must fire, like `opa test`. Pure: the catalog in, verdicts out."""

from __future__ import annotations

from dataclasses import dataclass

from ido.loading import Catalog
from ido.model import PolicyTest
from ido.policy import capability_view, evaluate

EFFECTS = ("deny", "require_approval", "prefer", "avoid")


@dataclass(frozen=True)
class CaseResult:
    test: str
    case: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_policy_test(test: PolicyTest, catalog: Catalog) -> list[CaseResult]:
    """Each case of `test`, evaluated against the policies it names."""
    policies = [catalog.policies[name] for name in test.spec.policies]
    results = []
    for case in test.spec.cases:
        capability = catalog.capabilities[case.capability]
        variables = {
            "state": case.state,
            "intent": case.intent,
            "capability": capability_view(capability),
        }
        hits, errors = evaluate(policies, variables)
        fired = {effect: sorted(h.ref for h in hits if h.effect == effect) for effect in EFFECTS}
        problems = [f"evaluation error: {e}" for e in errors]
        expect = case.expect
        for effect in EFFECTS:
            wanted = sorted(getattr(expect, effect))
            if wanted and wanted != fired[effect]:
                problems.append(f"{effect}: expected {wanted}, fired {fired[effect]}")
        if expect.allow is True and fired["deny"]:
            problems.append(f"allow: expected no deny, fired {fired['deny']}")
        if expect.allow is False and not fired["deny"]:
            problems.append("allow: expected a deny, none fired")
        results.append(CaseResult(test.name, case.name, tuple(problems)))
    return results
