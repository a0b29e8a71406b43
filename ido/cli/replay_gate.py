"""`ido replay … --fail-on`: whether a what-if replay fails a CI gate, as a run's outcome
or one of its decisions would change under the new inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FAIL_ON = ("outcome", "decision")  # what `--fail-on` makes exit 1 when a what-if changes it


def fails(c: Any, fail_on: str | None, events: Sequence[Any]) -> bool:
    """Whether counterfactual `c` of the run of `events` fails a `--fail-on` gate: its
    outcome moved from one the run ended with, or, for `decision`, any decision chose
    otherwise or asks for other approvals.

    A run interrupted or still running has no outcome a replay can meet, and one blocked
    on a person's word about a step a crash cut short (`resume/outcome-unknown`) is blocked
    by the crash, not by its inputs (its replay asks the same question). With the same
    decisions, the outcome the replay comes to is what the old inputs come to as well, so
    it is not counted; with a decision changed, an outcome other than achieved or the
    run's own is the new inputs' doing, and counts (the gate fails closed: a policy that
    stops every payment failed such runs and passed before). The request about a step cut
    short is the crash's, not a rule's: it counts for neither gate."""
    if fail_on is None:
        return False
    decided = bool(c.changed) or any(_rule_asked_otherwise(d) for d in c.decisions)
    if c.recorded_outcome is None or _cut_short(c, events):
        if decided and c.outcome not in ("achieved", c.recorded_outcome):
            return True
    elif c.recorded_outcome != c.outcome:
        return True
    return fail_on == "decision" and decided


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
