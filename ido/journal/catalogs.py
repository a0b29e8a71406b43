"""A run's catalog digests stored once per catalog: `run_started` names them by a digest
of their text, and a read of the event puts them back where they were.

A run records the digest of every capability's declaration when it starts
(`ido.catalog_record`): about 40 bytes a capability, 2 MB a run for a 41,229-capability
PDDL import, the same map again in every run of one catalog. The journal keeps each
distinct map once (its `catalogs` table, keyed by the SHA-256 of its text), and the
event names it (`STORED_AS`) inside its chained data: changing the map changes its
digest, which the event no longer names (`ido verify` checks it). Every reader gets the
event as it was recorded, map and all. A run recorded before (its map in the event, or
none) reads as it always did.

Pure: the journal does the reads and writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ido.state import sorted_json

RECORDED_AS = "capabilities"
"""The key of `run_started`'s data that holds the digests of the run's catalog."""
STORED_AS = "catalog_digest"
"""The key the journal stores instead: the digest of the map's text, its `catalogs` row."""


def stored(kind: str, data: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[str, str] | None]:
    """An event's data as the journal stores it, and the catalog row it names (digest,
    text), if any: a `run_started` event's catalog digests go to their own row."""
    found = data.get(RECORDED_AS) if kind == "run_started" else None
    if not isinstance(found, Mapping) or STORED_AS in data:
        return data, None
    last = _last[0]
    if last is not None and last[0] == found:  # the runs of one runtime: one catalog
        text, key = last[1], last[2]
    else:
        text = sorted_json(found)
        key = digest_of(text)
        if all(isinstance(v, str) for v in found.values()):  # (equal is then the same text)
            _last[0] = (dict(found), text, key)  # (a copy: the map given may change after)
    kept = {k: v for k, v in data.items() if k != RECORDED_AS}
    kept[STORED_AS] = key
    return kept, (key, text)


_last: list[tuple[dict[str, Any], str, str] | None] = [None]
"""The map stored last, its text and digest: comparing a map of 41,229 digests with it
takes a tenth of encoding it again. One tuple: threads see all of it or none."""


def key_of(digests: Mapping[str, Any]) -> str:
    """The key a map of catalog digests is stored under (`stored`): its text's digest."""
    return digest_of(sorted_json(digests))


def digest_of(text: str) -> str:
    """A catalog row's key: the SHA-256 of its text, which `ido verify` checks again."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def named(kind: str, data: Mapping[str, Any]) -> str | None:
    """The catalog row an event's data names (None: none)."""
    key = data.get(STORED_AS) if kind == "run_started" else None
    return key if isinstance(key, str) else None


def restored(data: Mapping[str, Any], digests: Mapping[str, Any] | None) -> dict[str, Any]:
    """An event's data as it was recorded, from what the journal stores and the digests
    of the catalog row it names, read off its text (None: not in the journal, and the
    data is left as stored, which `ido verify` reports): keys in order, as the stored JSON
    reads back."""
    if digests is None:
        return dict(data)
    whole = {k: v for k, v in data.items() if k != STORED_AS}
    whole[RECORDED_AS] = digests
    return dict(sorted(whole.items()))


def problem(key: str, text: str | None) -> str | None:
    """What is wrong with the catalog row a run's chained `run_started` names, in words;
    None when it is there and its text is what was digested."""
    if text is None:
        return f"it names catalog {key[:12]}, which the journal does not hold: its row was removed"
    if digest_of(text) != key:
        return (
            f"the catalog it names ({key[:12]}) does not match its digest: the stored "
            "catalog was changed after it was recorded"
        )
    return None
