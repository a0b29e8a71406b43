"""User-facing resource models; imports nothing else of ido."""

from ido.model.durations import Duration, format_duration, parse_duration
from ido.model.resources import (
    Capability,
    CapabilitySpec,
    Constraints,
    Intent,
    IntentSpec,
    Limits,
    Objective,
    Observer,
    ObserverSpec,
    Policy,
    PolicySpec,
    Rule,
    RunBinding,
)
from ido.model.scenario import Behaviour, Expect, Fault, Scenario, ScenarioSpec, Spread

Resource = Intent | Capability | Policy | Observer | Scenario
KINDS: dict[
    str, type[Intent] | type[Capability] | type[Policy] | type[Observer] | type[Scenario]
] = {
    "Intent": Intent,
    "Capability": Capability,
    "Policy": Policy,
    "Observer": Observer,
    "Scenario": Scenario,
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
    "Objective",
    "Observer",
    "ObserverSpec",
    "Policy",
    "PolicySpec",
    "Resource",
    "Rule",
    "RunBinding",
    "Scenario",
    "ScenarioSpec",
    "Spread",
    "format_duration",
    "parse_duration",
]
