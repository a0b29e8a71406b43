"""Maps a plan may make: the facts that decide whether a map a condition looks into exists.

`!has(state.parcel.carrier)` fails while there is no `parcel`, and holds once a step writes
`parcel.weight`: the condition reads `parcel.carrier` alone, but its value depends on every
fact written inside a `parcel` not there yet. Such facts (the *makers*) only matter by
making maps, so a condition is evaluated once per set of maps they can make, not once per
combination of their values (`ido.planner.tables` uses these).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ido.conditions import compile_condition

if TYPE_CHECKING:
    from ido.planner.types import Action


def missing_maps(state: Mapping[str, Any], path: str) -> tuple[str, ...]:
    """The maps on the way to `path` (its proper prefixes) that `state` lacks, or holds
    something else than a map in, shallowest first: a step writing inside one makes it."""
    parts = path.split(".")
    node: Any = state
    for depth in range(len(parts) - 1):
        if not isinstance(node, Mapping):  # a value there: a write inside replaces it
            return tuple(".".join(parts[:cut]) for cut in range(depth, len(parts)))
        if parts[depth] not in node:
            return tuple(".".join(parts[:cut]) for cut in range(depth + 1, len(parts)))
        node = node[parts[depth]]
    if not isinstance(node, Mapping) and len(parts) > 1:
        return (".".join(parts[:-1]),)
    return ()


def makers(
    state: Mapping[str, Any],
    paths: Sequence[str],
    fluents: Sequence[str],
    reads: Sequence[int],
) -> list[tuple[int, frozenset[str]]]:
    """The fluents (indices into the sorted `fluents`), other than those `reads` holds,
    that make a map missing on the way to one of `paths`, each with the missing maps it
    makes (those its path lies inside)."""
    maps = sorted({m for p in paths for m in missing_maps(state, p) if m})
    if not maps:
        return []
    read = set(reads)
    found: dict[int, set[str]] = {}
    for m in maps:
        start = bisect.bisect_left(fluents, m + ".")
        for i in range(start, len(fluents)):
            if not fluents[i].startswith(m + "."):
                break
            if i not in read:
                found.setdefault(i, set()).add(m)
    return [(i, frozenset(made)) for i, made in sorted(found.items())]


def made_reads(state: Mapping[str, Any], actions: Sequence[Action]) -> dict[str, tuple[str, ...]]:
    """Per precondition of `actions`, the facts they write inside a map it looks into that
    `state` lacks: all of them, whether or not the map changes its value (the waits of a
    plan proposed whole, which no table was made for; a wait too many is safe)."""
    written = sorted({path for a in actions for path, _ in a.effects})
    found: dict[str, tuple[str, ...]] = {}
    for source in {source for a in actions for source in a.requires}:
        paths = compile_condition(source).state_paths
        made = [] if paths is None else makers(state, paths, written, ())
        if made:
            found[source] = tuple(written[i] for i, _ in made)
    return found
