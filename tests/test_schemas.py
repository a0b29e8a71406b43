"""The JSON Schemas committed under docs/schemas stay in sync with the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ido.model import KINDS
from ido.schemas import schema_text

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_committed_schema_matches_model(kind: str) -> None:
    """docs/schemas/<kind>.schema.json equals what `ido schema` prints (regenerate: ido schema --out docs/schemas)."""
    committed = (SCHEMAS / f"{kind.lower()}.schema.json").read_text()
    assert committed == schema_text(kind)


def test_schema_forbids_unknown_keys() -> None:
    """Editors learn from the schema that unknown keys are errors."""
    capability = json.loads(schema_text("Capability"))
    assert capability["additionalProperties"] is False
    assert capability["$defs"]["CapabilitySpec"]["additionalProperties"] is False


def _nodes(node: object) -> list[dict[str, object]]:
    """Every object in a schema, nested ones too."""
    if isinstance(node, dict):
        return [node, *(n for value in node.values() for n in _nodes(value))]
    if isinstance(node, list):
        return [n for value in node for n in _nodes(value)]
    return []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_defaults_read_as_the_field_is_written(kind: str) -> None:
    """A default an editor shows is one the field accepts: a duration's reads `10s`, not
    the seconds pydantic keeps (`10.0`, which the field's pattern rejects)."""
    import re

    patterned = [
        n for n in _nodes(json.loads(schema_text(kind))) if "pattern" in n and "default" in n
    ]
    for node in patterned:
        default = node["default"]
        assert isinstance(default, str) and re.fullmatch(str(node["pattern"]), default), node
    if kind == "Intent":
        assert {n["default"] for n in patterned} >= {"10s"}  # limits.solve_time
