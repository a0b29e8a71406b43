"""Whether a condition's evaluation error is only a fact not set yet: CEL's `Key not found`
at the first name of a path it reads that the state lacks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_MISSING_KEY = re.compile(r'Key not found in map : "(?P<key>[^"]*)"')


def unset_fact(
    error: str, paths: Iterable[str] | None, state: Mapping[str, Any], source: str = ""
) -> str | None:
    """The path (of `paths`, those a condition reads) whose lack in `state` raised `error`,
    or None when `error` is anything else: CEL found no key where the state stops short of
    the path (`order.shipped` of a state without `order`, or without `order.shipped`).
    A missing key the state has not stopped short at (a map read by a computed key), a
    type error, or a value that is no map is a real error, and stays one; so is the map of
    a `has()` test in `source` not being there (`has(state.order.coupon)` without `order`:
    the guard written wrong, and `!has(...)` would never hold, with nothing said)."""
    for path, missing in _short_of(error, paths, state):
        if not _tested_within(missing, source):
            return path
    return None


def missing_tested_map(
    error: str, paths: Iterable[str] | None, state: Mapping[str, Any], source: str
) -> str | None:
    """The map whose lack in `state` raised `error` in a `has()` test of one of its fields
    (`parcel` of `has(state.parcel.carrier)`), or None for any other error: when a step
    makes that map, the test does not hold yet, which is no error."""
    for _, missing in _short_of(error, paths, state):
        if _tested_within(missing, source):
            return missing
    return None


def _short_of(
    error: str, paths: Iterable[str] | None, state: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Each path of `paths` (in order) whose walk through `state` stops short at the key
    CEL's `error` names, with the map it stops short of (`order` of `order.shipped`); none
    when `error` is no missing key. A walk stops at its first missing key, or at a value
    that is no map (CEL says otherwise there, and it is an error)."""
    found = _MISSING_KEY.fullmatch(error)
    if found is None or paths is None:
        return []
    short = []
    for path in paths:
        node: Any = state
        parts = path.split(".")
        for cut, part in enumerate(parts, 1):
            if not isinstance(node, Mapping):
                break
            if part not in node:
                if part == found["key"]:
                    short.append((path, ".".join(parts[:cut])))
                break
            node = node[part]
    return short


def _tested_within(missing: str, source: str) -> bool:
    """Whether `source` tests with `has()` a field of the map `missing` (`has(state.a.b)`
    of `a`), which CEL fails on when `missing` is not there."""
    return re.search(rf"\bhas\(\s*state\.{re.escape(missing)}\s*\.", source) is not None
