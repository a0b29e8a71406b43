"""The `Catalog` of loaded resources, where each was declared, and problems placed at a
field of a resource as its file holds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ido.errors import Problem
from ido.model import Capability, Intent, Observer, Policy, PolicyTest, Resource, Scenario
from ido.model.intent_spec import IntentSpec
from ido.yamlsrc import Document, FieldPath, format_path


@dataclass(frozen=True)
class Origin:
    """Where a resource was declared."""

    file: Path
    document: Document
    index: int

    def line_of(self, path: FieldPath) -> int:
        return self.document.line_of(path)


@dataclass
class Catalog:
    """Every resource found under a set of paths, by kind and name."""

    intents: dict[str, Intent] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)
    observers: dict[str, Observer] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    policy_tests: dict[str, PolicyTest] = field(default_factory=dict)
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    broken: set[tuple[str, str]] = field(default_factory=set)
    """Resources (kind, name) declared in a document that did not load: their own problems
    are told, and a reference to one is not told again as "not found"."""

    def table(self, kind: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = {
            "Intent": self.intents,
            "Capability": self.capabilities,
            "Policy": self.policies,
            "Observer": self.observers,
            "Scenario": self.scenarios,
            "PolicyTest": self.policy_tests,
        }
        return tables[kind]

    def origin(self, resource: Resource) -> Origin | None:
        return self.origins.get((resource.kind, resource.name))

    def __len__(self) -> int:
        tables = (
            self.intents,
            self.capabilities,
            self.policies,
            self.observers,
            self.scenarios,
            self.policy_tests,
        )
        return sum(len(t) for t in tables)


def problem_at(
    catalog: Catalog,
    resource: Resource,
    where: FieldPath,
    said: str,
    base: Path,
    at: int | None = None,
) -> Problem:
    """A problem placed at `where` in `resource` as its file holds it (shown relative to
    `base`): what the checks of a loaded catalog tell. `at`: where in the field's text
    the problem is (0-based, in characters), told at the line of the file it is written
    on (`Document.line_at`: a block, quoted or folded text over several lines)."""
    origin = catalog.origins[(resource.kind, resource.name)]
    document = origin.document
    line = origin.line_of(where) if at is None else document.line_at(where, at)
    return Problem(display(origin.file, base), line, format_path(where), said)


def intent_specs(catalog: Catalog) -> list[tuple[Resource, IntentSpec, FieldPath]]:
    """Every intent's spec with where it stands: in intents/, or inline in a scenario."""
    specs: list[tuple[Resource, IntentSpec, FieldPath]] = [
        (intent, intent.spec, ("spec",)) for intent in catalog.intents.values()
    ]
    specs += [
        (scenario, scenario.spec.intent, ("spec", "intent"))
        for scenario in catalog.scenarios.values()
        if isinstance(scenario.spec.intent, IntentSpec)  # (a name is checked in intents/)
    ]
    return specs


def scenario_intent(catalog: Catalog, scenario: Scenario) -> IntentSpec | None:
    """The intent a scenario rehearses: its own, or the catalog's it names (None when the
    catalog has none of that name: told where it is named)."""
    named = scenario.spec.intent
    if isinstance(named, str):
        return catalog.intents[named].spec if named in catalog.intents else None
    return named


def display(file: Path, base: Path) -> str:
    """`file` as problems name it: relative to `base` when inside it."""
    try:
        return str(file.relative_to(base.resolve()))
    except ValueError:
        return str(file)
