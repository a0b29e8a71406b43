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
