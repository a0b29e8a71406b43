"""Which policies changed between a run's decisions: edited, or added or removed (an
enforced one, or one a scenario switched on), as each decision's recorded digests tell.

A run resumed after a policy was edited decides under the policy as it is then; the
decision records each policy's digest, and an explanation says so where it changed
(a platform's reviewer asks which version of a rule governed which decision)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CHANGED = "policies_changed"
"""The key of a decision in a run's view that holds what changed since the one before."""


def mark_policy_changes(decisions: Sequence[dict[str, Any]]) -> None:
    """Add to each decision whose policies differ from the decision before it what
    changed (`CHANGED`). Decisions recorded without digests (older runs) say nothing."""
    before: tuple[int, Mapping[str, Any]] | None = None
    for d in decisions:
        digests = d.get("policy_digests")
        if not isinstance(digests, Mapping):
            before = None
            continue
        if before is not None and (changed := _changed(*before, digests, digests)):
            d[CHANGED] = changed
        before = (d["number"], digests)


def changed_lines(changed: Mapping[str, Any]) -> list[str]:
    """What changed in the policies since the decision before, a line a policy."""
    since = f"since decision {changed['since']}"
    return (
        [
            f"{n}: edited {since}; this decision applied the edited version"
            for n in changed["edited"]
        ]
        + [f"{n}: added {since}; it governs this decision" for n in changed["added"]]
        + [f"{n}: removed {since}; it no longer governs" for n in changed["removed"]]
    )


def changed_since(
    decisions: Sequence[Mapping[str, Any]], digests: Mapping[str, str], enforced: Sequence[str]
) -> dict[str, Any] | None:
    """What changed in the policies since the last of a run's `decisions` (their recorded
    data), against the catalog's now (`digests`: each policy's, `enforced`: the names of
    its enforced ones), as `mark_policy_changes` says it; None when nothing did, or the
    decision recorded no digests."""
    last = next((d for d in reversed(decisions) if "policy_digests" in d), None)
    if last is None or not isinstance(last["policy_digests"], Mapping):
        return None
    return _changed(last["number"], last["policy_digests"], digests, enforced)


def _changed(
    since: int, old: Mapping[str, Any], new: Mapping[str, Any], may_add: Iterable[str]
) -> dict[str, Any] | None:
    """What changed from the digests `old` (decision `since`'s) to `new`: the policies
    edited and removed, and those of `may_add` added; None when nothing did."""
    changed = {
        "since": since,
        "edited": sorted(n for n in old if n in new and new[n] != old[n]),
        "added": sorted(n for n in may_add if n not in old),
        "removed": sorted(n for n in old if n not in new),
    }
    return changed if changed["edited"] or changed["added"] or changed["removed"] else None


def changed_warning(changed: Mapping[str, Any]) -> str:
    """`changed_since` in one line, for the person resuming the run."""
    said = []
    for key, why in (
        (
            "removed",
            "the run goes on without {it}: give the --catalog folders that hold {it}, "
            "as it started with",
        ),
        ("edited", "{its} version as it stands governs from here on"),
        ("added", "{it} governs from here on"),
    ):
        names = changed[key]
        if names:
            one = len(names) == 1
            words = why.format(it="it" if one else "them", its="its" if one else "their")
            said.append(f"{', '.join(names)} {key} ({words})")
    return f"the policies changed since decision {changed['since']} of this run: " + "; ".join(said)
