"""State documents: paths, merges, effects, closed world."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ido.state import (
    MAX_DEPTH,
    TooDeep,
    apply_effects,
    close_world,
    deeper_than,
    flatten,
    from_json,
    get_path,
    json_safe,
    merge,
)


def test_effects_create_nested_paths_without_touching_the_input() -> None:
    """apply_effects sets dotted paths on a copy."""
    state = {"order": {"id": "1"}}
    after = apply_effects(state, {"order.paid": True, "customer.notified": True})
    assert after == {"order": {"id": "1", "paid": True}, "customer": {"notified": True}}
    assert state == {"order": {"id": "1"}}


def test_merge_is_deep_for_mappings_and_replaces_other_values() -> None:
    """Mappings merge key by key; lists and scalars replace."""
    assert merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}, "d": 3}) == {
        "a": {"b": 1, "c": [2]},
        "d": 3,
    }


def test_close_world_only_fills_absent_facts() -> None:
    """Absent boolean facts become false; present ones keep their value."""
    state = close_world({"order": {"paid": True}}, ["order.paid", "order.shipped"])
    assert state == {"order": {"paid": True, "shipped": False}}
    assert get_path(state, "order.shipped") is False
    assert flatten(state) == {"order.paid": True, "order.shipped": False}


def _nested(levels: int) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for _ in range(levels - 1):
        doc = {"a": doc}
    return doc


def test_json_from_outside_is_refused_past_max_depth_however_deep() -> None:
    """A document 600 levels deep was read, and crashed ido's code on states later; one of
    100,000 levels was a RecursionError. Both are `TooDeep`, as is a Python value of 5,000."""
    assert deeper_than(from_json(json.dumps(_nested(MAX_DEPTH))), MAX_DEPTH) is False
    assert json_safe(_nested(MAX_DEPTH)) == _nested(MAX_DEPTH)
    with pytest.raises(TooDeep, match=f"nested deeper than {MAX_DEPTH} levels"):
        from_json(json.dumps(_nested(MAX_DEPTH + 1)))
    with pytest.raises(TooDeep):
        from_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TooDeep):
        json_safe(_nested(5000))
    assert deeper_than([[1], {"a": [2]}], 2) is True
    assert deeper_than([[1], {"a": 2}], 2) is False
