"""User-facing resource models; imports nothing else of ido."""

from collections.abc import Mapping
from typing import Any

from ido.model.capability_spec import CapabilitySpec, ObserverSpec, RunBinding
from ido.model.durations import (
    Duration,
    as_recorded,
    format_duration,
    format_wait,
    parse_duration,
)
from ido.model.intent_spec import Constraints, IntentSpec, Limits, LlmSettings, Objective
from ido.model.resources import Capability, Intent, Observer, Policy
from ido.model.rules import PolicySpec, Rule
from ido.model.scenario import (
    Behaviour,
    Expect,
    Fault,
    PolicyTest,
    Scenario,
    ScenarioSpec,
    Spread,
)

Resource = Intent | Capability | Policy | Observer | Scenario | PolicyTest
KINDS: dict[
    str,
    type[Intent]
    | type[Capability]
    | type[Policy]
    | type[Observer]
    | type[Scenario]
    | type[PolicyTest],
] = {
    "Intent": Intent,
    "Capability": Capability,
    "Policy": Policy,
    "Observer": Observer,
    "Scenario": Scenario,
    "PolicyTest": PolicyTest,
}


def recorded_intent(data: Mapping[str, Any]) -> Intent:
    """The intent a run recorded when it started, read as it was written then (a duration
    past today's bound too: `as_recorded`); one recorded before approvals weighed in the
    score (no `objective.approval`) weighs them at nothing, so that resuming or replaying
    it decides as it did then."""
    with as_recorded():
        intent = Intent.model_validate(data)
    if "approval" in (data.get("spec", {}).get("objective") or {}):
        return intent
    spec = intent.spec
    weighed = spec.objective.model_copy(update={"approval": 0.0})
    return intent.model_copy(update={"spec": spec.model_copy(update={"objective": weighed})})


__all__ = [
    "KINDS",
    "Behaviour",
    "Capability",
    "CapabilitySpec",
    "Constraints",
    "Duration",
    "Expect",
    "Fault",
    "Intent",
    "IntentSpec",
    "Limits",
    "LlmSettings",
    "Objective",
    "Observer",
    "ObserverSpec",
    "Policy",
    "PolicySpec",
    "PolicyTest",
    "Resource",
    "Rule",
    "RunBinding",
    "Scenario",
    "ScenarioSpec",
    "Spread",
    "format_duration",
    "format_wait",
    "parse_duration",
    "recorded_intent",
]
