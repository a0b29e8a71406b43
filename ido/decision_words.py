"""What a recorded decision chose, told apart from how it worded it, for exact replay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WORDS = "(words)"
"""What every piece of prose in a decision reads as once its words are set aside."""

NAMED = frozenset(
    {
        "observed",
        "blocking",
        "conflict",
        "conflict_untested",
        "other_conflicts",
        "trigger",
        "provider",
        "region",
    }
)
"""Keys whose strings are compared as they are, spaces and all: the world's facts, the
limits and rules that stood in the way (a goal named by its condition holds spaces; limits
relaxed together are joined by a tab), the trigger (an input, replayed as recorded), and a
step's provider and region, labels a catalog may write in two words ("DHL Express")."""

PROSE = frozenset({"condition_errors"})
"""Keys whose lists are prose as a whole, however long: a condition's evaluation errors
say why it does not hold, which the plan, rejections and status choose by already. A run
recorded before a fact not set yet stopped being an error (2026-12-07) recorded one at
every decision; replayed today it has none, and chose the same."""


def chosen(decision: Any) -> Any:
    """`decision` (as the journal stores it) with every piece of prose set to `WORDS`: what
    it chose, to compare, and not how it said so.

    Exact replay is the determinism check for a new ido version, and ido words its
    reasons, beliefs, advice and rejections better from one version to the next: compared
    word for word, every older run diverged with the same plan on both sides. Prose is
    told by its shape, not by a list of keys (new fields of words come with each version):
    a string of two words or more. Names, rule ids, statuses and numbers are one word
    each, and choices; so are a list's length and whether a field holds words at all (a
    reason where there was none, one more policy evaluation error; a condition's are
    `PROSE`). A policy hit's subject for a
    plan rule (`plan a → b`) is set aside too: the hit's id digests it, and is compared."""
    if isinstance(decision, dict):
        return {
            k: v if k in NAMED else WORDS if k in PROSE else chosen(v) for k, v in decision.items()
        }
    if isinstance(decision, list):
        return [chosen(v) for v in decision]
    if isinstance(decision, str) and len(decision.split()) > 1:
        return WORDS
    return decision


def reworded(recorded: Any, replayed: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Where two decisions that chose the same are worded otherwise: the dotted path of
    each piece of prose that differs (`beliefs.pay-eu.why`, `result.rejections.1.detail`),
    with its recorded and its replayed words, in the order of the keys."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in sorted(recorded.keys() & replayed.keys()):
            yield from reworded(recorded[key], replayed[key], f"{path}{key}.")
    elif isinstance(recorded, list) and isinstance(replayed, list):
        for n, (was, now) in enumerate(zip(recorded, replayed, strict=False)):
            yield from reworded(was, now, f"{path}{n}.")
        if len(recorded) != len(replayed):  # (prose as a whole: `PROSE`)
            n = min(len(recorded), len(replayed))
            was, now = recorded[n : n + 1], replayed[n : n + 1]
            if all(isinstance(v, str) for v in was + now):
                yield f"{path}{n}", was[0] if was else "(none)", now[0] if now else "(none)"
    elif isinstance(recorded, str) and isinstance(replayed, str) and recorded != replayed:
        yield path.removesuffix("."), recorded, replayed
