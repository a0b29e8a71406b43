"""The resource kinds users write in YAML: Intent, Capability, Policy, Observer (Scenario:
`ido.model.scenario`); their specs live in `ido.model.intent_spec`, `ido.model.capability_spec`
and `ido.model.rules`, the fields they share in `ido.model.fields`."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
)

from ido.model.capability_spec import CapabilitySpec, ObserverSpec
from ido.model.fields import Metadata, Strict
from ido.model.intent_spec import IntentSpec
from ido.model.rules import PolicySpec


class _Resource(Strict):
    api_version: Literal["ido/v1"] = Field(alias="apiVersion")
    metadata: Metadata

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )

    @property
    def name(self) -> str:
        return self.metadata.name


class Intent(_Resource):
    kind: Literal["Intent"]
    spec: IntentSpec


class Capability(_Resource):
    kind: Literal["Capability"]
    spec: CapabilitySpec


class Policy(_Resource):
    kind: Literal["Policy"]
    spec: PolicySpec


class Observer(_Resource):
    kind: Literal["Observer"]
    spec: ObserverSpec
