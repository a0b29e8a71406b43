"""JSON Schemas of the resource kinds, for editors and for `ido schema`."""

from __future__ import annotations

import json
from typing import Any

from ido.model import KINDS
from ido.model.durations import DURATION_PATTERN, dump_duration


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind (`Intent`, `Capability`, `Policy`, `Observer`)."""
    model = KINDS[kind]
    document = model.model_json_schema(by_alias=True)
    _durations_as_written(document)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = kind
    return document


def _durations_as_written(node: object) -> None:
    """Defaults of duration fields as a user writes them (`10s`): pydantic writes a
    default by its Python type (the seconds, `10.0`), which the field's own pattern
    rejects; nothing as `0s`."""
    if isinstance(node, dict):
        default = node.get("default")
        if node.get("pattern") == DURATION_PATTERN and isinstance(default, (int, float)):
            # (nothing as an intent writes it, `0s`: `dump_duration` keeps the `0ms` of
            # recorded runs, whose digests it makes)
            node["default"] = "0s" if default == 0 else dump_duration(float(default))
        for value in node.values():
            _durations_as_written(value)
    elif isinstance(node, list):
        for value in node:
            _durations_as_written(value)


def schema_text(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=True) + "\n"


def kind_named(name: str) -> str | None:
    """Match a kind case-insensitively (`intent` -> `Intent`)."""
    return next((k for k in KINDS if k.lower() == name.lower()), None)
