"""Which policies changed between a run's decisions: edited, or added or removed (an
enforced one, or one a scenario switched on), as each decision's recorded digests tell.

A run resumed after a policy was edited decides under the policy as it is then; the
decision records each policy's digest, and an explanation says so where it changed
(a platform's reviewer asks which version of a rule governed which decision)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        if before is not None:
            number, old = before
            changed = {
                "since": number,
                "edited": sorted(n for n in digests if n in old and old[n] != digests[n]),
                "added": sorted(n for n in digests if n not in old),
                "removed": sorted(n for n in old if n not in digests),
            }
            if changed["edited"] or changed["added"] or changed["removed"]:
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
