"""Why a rule judges otherwise in an exact replay under the very policy the run had: the
ido that recorded it said `has()` of a key that is null (`capability.region` of a
capability without one) was true, and a rule it guarded went on to read the null."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ido.conditions import ConditionError, compile_condition
from ido.loading.catalog import Catalog


def _verdicts(decision: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(p["rule"], p["subject"]): p["verdict"] for p in decision.get("policy") or []}


def has_of_null(
    recorded: Mapping[str, Any],
    replayed: Mapping[str, Any],
    catalog: Catalog,
    edited: Collection[str],
) -> list[str]:
    """A line for each rule of a policy not `edited` since the run that judges a subject
    otherwise than recorded and tests `has()` of a key that may be null."""
    was, now = _verdicts(recorded), _verdicts(replayed)
    lines = []
    for rule, subject in sorted({k for k in was.keys() | now.keys() if was.get(k) != now.get(k)}):
        name, _, rule_id = rule.partition("/")
        policy = catalog.policies.get(name)
        if policy is None or name in edited:
            continue
        whens = [r.when for r in policy.spec.rules if r.id == rule_id]
        try:
            tested = sorted(compile_condition(whens[0]).null_tests()) if whens else []
        except ConditionError:
            continue
        if tested:
            reads = ", ".join(f"has({key})" for key in tested)
            lines.append(
                f"rule {rule} judges {subject} otherwise under the policy the run had: it "
                f"reads {reads}, which this ido takes as false when the key is null (not "
                "set); the ido that recorded the run took it as true, and the rule went on "
                "to read the null"
            )
    return lines
