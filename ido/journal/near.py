"""The run id a mistyped one likely meant (`SqliteJournal.resolve`): difflib's closest, with
the ids that cannot be close enough set aside first, by a bound worked out much faster.

Pure: the journal reads the ids, this picks among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

DAY = 9
"""How much of an id names its day (`r20261207`): the journal offers the ids of that day."""
CUTOFF = 0.9
"""How alike the ids must be (difflib's ratio): a digit wrong, one left out."""


def closest(reference: str, ids: Iterable[str]) -> str | None:
    """The id of `ids` (each beginning with `reference`'s day) `difflib.get_close_matches`
    picks for `reference`, or None. Its ratio counts the characters of matching blocks,
    which never outnumber the longest common subsequence: an id whose subsequence with
    the reference is too short for the cutoff is left out unread by difflib (0.16 s over
    the 50,000 runs of one day; 0.09 s so)."""
    if len(reference) < DAY:
        return _closest(reference, ids)
    rest = reference[DAY:]
    masks: dict[str, int] = {}
    for i, char in enumerate(rest):
        masks[char] = masks.get(char, 0) | 1 << i
    full = (1 << len(rest)) - 1
    size = len(reference)
    near = [
        found
        for found in ids
        # (a hair under the cutoff: difflib's own sums round too)
        if 2 * (DAY + _common(found[DAY:], masks, full, len(rest)))
        >= CUTOFF * (size + len(found)) - 1e-9
    ]
    return _closest(reference, near)


def _closest(reference: str, ids: Iterable[str]) -> str | None:
    close = get_close_matches(reference, list(ids), n=1, cutoff=CUTOFF)
    return close[0] if close else None


def _common(other: str, masks: dict[str, int], full: int, length: int) -> int:
    """The length of the longest common subsequence of `other` and the text `masks` maps
    (each character to the bits of its places; `length` characters, `full` all their
    bits), counted a character of `other` at a time on all places at once (Allison and
    Dix's bit-parallel LCS): of the parts after the day, which the ids share."""
    row = full
    for char in other:
        matched = row & masks.get(char, 0)
        row = (row + matched) | (row - matched)
    return length - (row & full).bit_count()
