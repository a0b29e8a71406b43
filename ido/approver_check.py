"""`ido validate`'s warning of a scenario whose approvals give a `require_approval` rule
fewer different people than its `approvers: N`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ido.approvals import people
from ido.errors import Problem
from ido.loading.catalog import Catalog, problem_at, scenario_intent
from ido.model import Rule, Scenario
from ido.model.scenario import Answer
from ido.scenario.answers import counted


def check_approvers(catalog: Catalog, base: Path) -> list[Problem]:
    """A warning, at the first of them, for the approvals of a scenario that would answer a
    request of a rule needing `approvers: N` with fewer than N different people: the
    request stays unanswered and the run ends `blocked`, told only as an unmet `outcome`.
    One per rule and capability the answers name (no name: a request about any other).
    Only a warning: a scenario may mean to show a run left waiting for a second person."""
    warnings = []
    for scenario in catalog.scenarios.values():
        answers = scenario.spec.approvals
        for ref in dict.fromkeys(a.rule for a in answers):
            rule = _rule(catalog, scenario, ref)
            if rule is None or rule.approvers < 2:
                continue
            for capability in dict.fromkeys(a.capability for a in answers if a.rule == ref):
                matching = [
                    (i, a)
                    for i, a in enumerate(answers)
                    if a.rule == ref and a.capability in (None, capability)
                ]
                short = _short_of(rule.approvers, [a for _, a in matching])
                if short is None:
                    continue
                about = f"requests about {capability}" if capability else "its requests"
                said = (
                    f"rule '{ref}' needs approvers: {rule.approvers}, and the approvals here "
                    f"give {about} only {short}: the run would stay blocked (answers by the same "
                    "person, regardless of case and spaces, count once)"
                )
                where = ("spec", "approvals", matching[0][0], "rule")
                warnings.append(problem_at(catalog, scenario, where, said, base))
    return warnings


def _short_of(needed: int, answers: Sequence[Answer]) -> str | None:
    """What `answers` (in order) give a request needing `needed` people, when that is too
    few (counted as a scenario run counts them: `ido.scenario.answers.counted`); None when
    they answer it: a rejection answers it too."""
    found, answered = counted(answers, needed)
    return None if answered else f"{len(found)} ({people([a.by for a in found])})"


def _rule(catalog: Catalog, scenario: Scenario, ref: str) -> Rule | None:
    """The rule `ref` names (`policy/rule`, or `intent:NAME/rule` of the scenario's intent),
    if it is one (what is not is an error `ido validate` tells already)."""
    owner, _, rule_id = ref.partition("/")
    rules: Sequence[Rule] = ()
    if owner.startswith("intent:"):
        spec = scenario_intent(catalog, scenario)
        rules = spec.rules if spec is not None else ()
    elif owner in catalog.policies:
        rules = catalog.policies[owner].spec.rules
    return next((r for r in rules if r.id == rule_id and r.effect == "require_approval"), None)
