"""`ido replay … --fail-on`: whether a what-if replay fails a CI gate, as a run's outcome
or one of its decisions would change under the new inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FAIL_ON = ("outcome", "decision")  # what `--fail-on` makes exit 1 when a what-if changes it


def fails(c: Any, fail_on: str | None, events: Sequence[Any]) -> bool:
    """Whether counterfactual `c` of the run of `events` fails a `--fail-on` gate: its
    outcome moved from one the run ended with, or, for `decision`, any decision chose
    otherwise or asks for other approvals. A run interrupted, still running, or blocked
    on a person's word about a step a crash cut short (`resume/outcome-unknown`) has no
    outcome a replay can meet: it does not stop there, so only its decisions count (and
    that request, the crash's, not at all)."""
    if fail_on is None:
        return False
    ended = c.recorded_outcome is not None
    if ended and c.recorded_outcome != c.outcome and not _cut_short(c, events):
        return True
    return fail_on == "decision" and (
        bool(c.changed) or any(_rule_asked_otherwise(d) for d in c.decisions)
    )


def _cut_short(c: Any, events: Sequence[Any]) -> bool:
    """Whether the run ended blocked, its last request for approval about a step cut
    short."""
    from ido.approvals import UNKNOWN_RULE

    if c.recorded_outcome != "blocked":
        return False
    asked = [e for e in events if e.kind == "approval_required"]
    return bool(asked) and asked[-1].data.get("rule") == UNKNOWN_RULE


def _rule_asked_otherwise(d: Any) -> bool:
    """Whether decision `d` asks a rule's approvals otherwise: a request about a step a
    crash cut short (`resume/outcome-unknown for …`) is the crash's, not a rule's."""
    from ido.approvals import UNKNOWN_RULE

    gone, new = d.approvals
    return any(not str(a).startswith(f"{UNKNOWN_RULE} ") for a in (*gone, *new))
