"""State documents: paths, merges, effects, closed world."""

from __future__ import annotations

from ido.state import apply_effects, close_world, flatten, get_path, merge


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
