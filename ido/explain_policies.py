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
    old = last["policy_digests"]
    changed = {
        "since": last["number"],
        "edited": sorted(n for n in old if n in digests and digests[n] != old[n]),
        "added": sorted(n for n in enforced if n not in old),
        "removed": sorted(n for n in old if n not in digests),
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
