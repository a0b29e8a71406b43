"""JSON Schemas of the resource kinds, for editors and for `ido schema`."""

from __future__ import annotations

import json
from typing import Any

from ido.model import KINDS


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind (`Intent`, `Capability`, `Policy`, `Observer`)."""
    model = KINDS[kind]
    document = model.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = kind
    return document


def schema_text(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=True) + "\n"


def kind_named(name: str) -> str | None:
    """Match a kind case-insensitively (`intent` -> `Intent`)."""
    return next((k for k in KINDS if k.lower() == name.lower()), None)
