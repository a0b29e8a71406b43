"""User-facing resource models; imports nothing else of ido."""

from ido.model.durations import Duration, format_duration, parse_duration
from ido.model.resources import (
    Capability,
    CapabilitySpec,
    Constraints,
    Intent,
    IntentSpec,
    Limits,
    LlmSettings,
    Objective,
    Observer,
    ObserverSpec,
    Policy,
    PolicySpec,
    Rule,
    RunBinding,
)
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
    "parse_duration",
]
