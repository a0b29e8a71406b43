"""User-facing resource models; imports nothing else of ido."""

from ido.model.durations import Duration, format_duration, parse_duration
from ido.model.resources import (
    KINDS,
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
    Resource,
    Rule,
    RunBinding,
)

__all__ = [
    "KINDS",
    "Capability",
    "CapabilitySpec",
    "Constraints",
    "Duration",
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
    "format_duration",
    "parse_duration",
]
