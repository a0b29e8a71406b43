"""State documents: fact paths, merging, effects, digests. Pure functions on JSON-like data."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

State = dict[str, Any]
_MISSING = object()
_ATOMS = (str, int, float, bool, type(None))
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
_SORTED = json.JSONEncoder(sort_keys=True, default=str)

MAX_DEPTH = 100
"""The deepest a document ido reads from outside (an observer's output, a binding's) may
nest mappings and lists. ido's code on states recurses (copy, merge, masking, JSON), and a
document some 500 levels deep crashed a run that way; Python's JSON reader gives up near
1,000 (its recursion limit), and Rust's serde_json at 128. Real APIs' documents nest a few
tens of levels at most."""


class TooDeep(ValueError):
    """A document nested deeper than `MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels (the most ido reads)")


def copied(value: Any) -> Any:
    """A deep copy of JSON-like data; much faster than `copy.deepcopy`, which it uses for
    anything but plain dicts, lists and scalars."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {k: copied(v) for k, v in value.items()}
    if kind is list:
        return [copied(v) for v in value]
    return copy.deepcopy(value)


def overlaps(a: str, b: str) -> bool:
    """Whether two fact paths may name the same fact: the same path, or one inside the
    other (`order` and `order.paid`)."""
    return a == b or a.startswith(f"{b}.") or b.startswith(f"{a}.")


def get_path(state: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """The value at a dotted path, or `default` when any part is missing."""
    node: Any = state
    for part in path.split("."):
        # `type() is dict` first: most states are plain dicts, and an ABC check is slow.
        if (type(node) is not dict and not isinstance(node, Mapping)) or part not in node:
            return default
        node = node[part]
    return node


def has_path(state: Mapping[str, Any], path: str) -> bool:
    return get_path(state, path, _MISSING) is not _MISSING


def set_path(state: State, path: str, value: Any) -> None:
    """Set a dotted path in place, creating (or replacing non-mapping) parents."""
    parts = path.split(".")
    node = state
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = copied(value)


def delete_path(state: State, path: str) -> None:
    parts = path.split(".")
    node: Any = state
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> State:
    """Deep-merge `overlay` onto a copy of `base`; mappings merge, other values replace."""
    out: State = copied(dict(base))
    _merge_into(out, overlay)
    return out


def _merge_into(out: State, overlay: Mapping[str, Any]) -> None:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            _merge_into(out[key], value)
        else:
            out[key] = copied(value)


def apply_effects(state: Mapping[str, Any], effects: Mapping[str, Any]) -> State:
    """A copy of `state` with each `path: value` effect set."""
    out: State = copied(dict(state))
    for path, value in effects.items():
        set_path(out, path, value)
    return out


def close_world(state: Mapping[str, Any], boolean_facts: Iterable[str]) -> State:
    """Facts that capabilities set to booleans and that the state lacks start as `false`.

    This is the closed-world assumption of classical planning: `!state.order.paid` holds
    until something pays the order, without the user having to write `paid: false`.
    """
    out: State = copied(dict(state))
    for path in boolean_facts:
        if not has_path(out, path):
            set_path(out, path, False)
    return out


def sorted_json(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, default=str)`, without building an encoder per
    call: the text journal rows are written in and condition tables are keyed on."""
    return _SORTED.encode(value)


def _none(_: str) -> None:
    return None


def from_json(text: str) -> Any:
    """JSON text as data, with `NaN` and `Infinity` (which Python's JSON writes and reads,
    but JSON has not) as null, as a browser's `JSON.stringify` writes them: the journal's
    rows must stay JSON that SQLite reads. Raises ValueError for text that is not JSON,
    `TooDeep` for a document nested deeper than `MAX_DEPTH`."""
    try:
        value = json.loads(text, parse_constant=_none)
    except RecursionError:
        raise TooDeep from None
    if deeper_than(value, MAX_DEPTH):
        raise TooDeep
    return value


def json_safe(value: Any) -> Any:
    """`value` as JSON would carry it: what is not JSON as its text, and numbers that are
    not finite as null (`from_json`). Raises TypeError or ValueError for what JSON cannot
    carry (keys that are no text nor number, a value holding itself), `TooDeep` as
    `from_json` does."""
    try:
        text = json.dumps(value, default=str)
    except RecursionError:
        raise TooDeep from None
    return from_json(text)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON data nests mappings and lists more than `limit` levels deep; found
    level by level, not by recursing (which a deep document is the danger of)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return False


def digest(state: Mapping[str, Any]) -> str:
    """A stable short digest of a state document (sha256 of canonical JSON)."""
    canonical = _CANONICAL.encode(state)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def flatten(state: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`; lists and scalars are leaves."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def excerpt(paths: tuple[str, ...], reaches: Sequence[list[Any]]) -> State:
    """The part of the state a condition reading `paths` can see, from how far each path
    reaches into it (`reach_into`): the subtrees at `paths`.

    Evaluating a condition on this excerpt gives the same verdict as on the whole state:
    the planner's tables copy it per row, where copying a large state is not cheap, and a
    condition is given no more (`ido.conditions`).
    """
    part: State = {}
    longest_first = sorted(zip(paths, reaches), key=lambda seen: len(seen[0]), reverse=True)
    for _, reach in longest_first:
        if not reach:
            continue
        prefix, *value = reach
        if value:
            set_path(part, prefix, value[0])
        elif not has_path(part, prefix):
            # `state.gate.g5` where gate has no g5: an empty `gate` answers the same,
            # without copying every other gate per row.
            set_path(part, prefix, {})
    return part


def reach_into(state: Mapping[str, Any], path: str) -> list[Any]:
    """How far `path` reaches into `state`: `[prefix, value]` for the deepest part of it
    that exists when that is the whole path or not a mapping, `[prefix]` for a mapping
    that lacks the rest, `[]` when not even the first part exists."""
    parts = path.split(".")
    node: Any = state
    depth = 0
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            break
        node = node[part]
        depth += 1
    if depth == 0:
        return []
    prefix = ".".join(parts[:depth])
    if depth == len(parts) or not isinstance(node, Mapping):
        return [prefix, node]
    return [prefix]
