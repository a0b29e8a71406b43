"""Policy unit tests (`ido policy test`): given a capability, state and intent, the rules that
must fire, like `opa test`. Pure: the catalog in, verdicts out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ido.approvals import PLAN
from ido.loading.catalog import Catalog
from ido.model import Capability, PolicyTest
from ido.observe import boolean_facts
from ido.policy import (
    EFFECTS,
    capability_view,
    evaluate,
    in_force,
    plan_view,
    policy_rules,
)
from ido.state import close_world


@dataclass(frozen=True)
class CaseResult:
    test: str
    case: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_policy_test(test: PolicyTest, catalog: Catalog) -> list[CaseResult]:
    """Each case of `test`, evaluated against the policies it names and every enforced one,
    as a decision under them is (left out, `allow: true` passed for a capability every
    run denies).

    A case about a capability checks the capability rules; a case about a plan (a list of
    capabilities) checks the plan rules, on what those steps add up to.
    """
    names = in_force(test.spec.policies, catalog.policies)
    book = policy_rules(catalog.policies[name] for name in names)
    listed = frozenset(test.spec.policies)
    results = []
    declared = {
        name: {"reliability": c.spec.reliability, "latency": c.spec.latency, "failures": 0}
        for name, c in catalog.capabilities.items()
    }
    facts = boolean_facts(catalog)
    for case in test.spec.cases:
        said = {n: h.model_dump(exclude_none=True) for n, h in case.health.items()}
        health = {n: {**declared.get(n, {}), **said.get(n, {})} for n in declared}
        health.update({n: v for n, v in said.items() if n not in declared})
        # As a decision sees the state: a boolean fact some capability sets starts false.
        state = close_world(case.state, facts)
        variables = {"state": state, "intent": case.intent, "health": health}
        if case.plan is not None:
            steps = [catalog.capabilities[name] for name in case.plan]
            # As a decision sees the plan: with the case's beliefs (its `health`), if any
            believed = {c.name: health[c.name] for c in steps}
            probability = math.prod(float(believed[c.name]["reliability"]) for c in steps)
            variables["plan"] = plan_view(
                steps, latency=elapsed(steps, believed, state), success_probability=probability
            )
            hits, errors = evaluate(book.plan_rules, variables, PLAN)
        else:
            assert case.capability is not None
            variables["capability"] = capability_view(catalog.capabilities[case.capability])
            hits, errors = evaluate(book.capability_rules, variables, case.capability)
        fired = {effect: sorted(h.ref for h in hits if h.effect == effect) for effect in EFFECTS}
        problems = [f"evaluation error: {e}" for e in errors]
        expect = case.expect
        for effect in EFFECTS:
            given = getattr(expect, effect)
            wanted = None if given is None else sorted(given)
            if wanted is not None and wanted != fired[effect]:
                shown = f"{effect}: expected {wanted}, fired {fired[effect]}"
                problems.append(shown + enforced_note(fired[effect], listed))
        if expect.allow is True and fired["deny"]:
            shown = f"allow: expected no deny, fired {fired['deny']}"
            problems.append(shown + enforced_note(fired["deny"], listed))
        if expect.allow is False and not fired["deny"]:
            problems.append("allow: expected a deny, none fired")
        results.append(CaseResult(test.name, case.name, tuple(problems)))
    return results


def enforced_note(fired: list[str], listed: frozenset[str]) -> str:
    """Of rules that fired, those of an enforced policy the test does not name, in words:
    a reader of the test would not look for them."""
    names = sorted({ref.partition("/")[0] for ref in fired} - listed)
    if not names:
        return ""
    which = ", ".join(names)
    return f" ({which}: enforced, so it governs every decision, listed or not)"


def elapsed(
    steps: list[Capability], believed: Mapping[str, Mapping[str, Any]], state: Mapping[str, Any]
) -> float:
    """The plan's elapsed time as a decision measures it for plan rules: its critical path,
    steps that share no fact running side by side (summed, a test judged a rule on a
    latency the runtime never shows it), each step's latency as `believed`. A step whose
    condition looks into a map `state` lacks waits for the steps writing inside it, as in
    a decision (`ido.planner.made_maps`)."""
    from ido.planner.made_maps import made_reads
    from ido.planner.order import footprints, waits
    from ido.planner.types import Plan, Step
    from ido.planning_task import action_of

    actions = [action_of(c, believed[c.name]) for c in steps]
    line = tuple(Step(a.name, a.provider, a.cost, a.latency, a.reliability, 0.0) for a in actions)
    return Plan(line, after=waits(footprints(actions, made_reads(state, actions)))).latency
