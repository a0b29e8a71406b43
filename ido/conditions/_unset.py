"""Whether a condition's evaluation error is only a fact not set yet: CEL's `Key not found`
at the first name of a path it reads that the state lacks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_MISSING_KEY = re.compile(r'Key not found in map : "(?P<key>[^"]*)"')


def unset_fact(error: str, paths: Iterable[str] | None, state: Mapping[str, Any]) -> str | None:
    """The path (of `paths`, those a condition reads) whose lack in `state` raised `error`,
    or None when `error` is anything else: CEL found no key where the state stops short of
    the path (`order.shipped` of a state without `order`, or without `order.shipped`).
    A missing key the state has not stopped short at (a map read by a computed key), a
    type error, or a value that is no map is a real error, and stays one."""
    found = _MISSING_KEY.fullmatch(error)
    if found is None or paths is None:
        return None
    for path in paths:
        node: Any = state
        for part in path.split("."):
            if not isinstance(node, Mapping):
                break  # (a value that is no map: CEL says otherwise, and it is an error)
            if part not in node:
                if part == found["key"]:
                    return path
                break
            node = node[part]
    return None
