"""What blocked runs wait for, across a journal: `ido approvals` lists it, and
`ido.pending_approvals` returns it, from the one reading here."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ido.approvals import Request, person, requests, step_words, tally, waiting_of
from ido.approvers import approved_so_far, so_far_words
from ido.errors import IdoError
from ido.journal.records import Journal


@dataclass(frozen=True)
class Waiting:
    """One request a blocked run waits for, with its run, and who approved it so far."""

    run: str
    intent: str
    request: Request
    approved_by: tuple[str, ...]
    so_far: str
    """`1 of 2 approvals (alice)` of a request that needs several people; else empty."""


def waiting(journal: Journal, intents: Iterable[str] = ()) -> list[Waiting]:
    """Every request the journal's blocked runs wait for (of runs of `intents`, when named),
    the longest waiting first: by the request, not its run's start, as a run started first
    may ask last (resumed, replanned)."""
    asked = set(intents)
    found: list[Waiting] = []
    for run_id, events in journal.blocked().items():
        intent = journal.run(run_id).intent
        if asked and intent not in asked:
            continue
        given, partial = tally(events)
        found += [
            Waiting(
                run_id,
                intent,
                r,
                tuple(approved_so_far(r, partial)),
                so_far_words(r, partial),
            )
            for r in waiting_of(requests(events), given)
        ]
    found.sort(key=lambda w: w.request.since)
    return found


@dataclass(frozen=True)
class PendingApproval:
    """One approval a blocked run waits for, as `ido approvals` lists it."""

    run: str
    """The run's id."""
    intent: str
    rule: str
    """`policy/rule` that asks (`mode/propose` for a plan, `resume/outcome-unknown`)."""
    capability: str
    """The step's capability; `(plan)` for the plan as a whole."""
    step: int
    """The step's number (0: the plan as a whole); `what` says what it counts in."""
    what: str
    """The step in words: `plan`, `plan step 2 charge (decision 4)`, `step 5 charge`."""
    message: str
    cost: float | None
    """The step's cost (the plan's, for the plan as a whole); None for a request an ido
    of journal schema 1 recorded, which names no plan and no cost."""
    since: float
    """When it was asked (epoch seconds)."""
    approvers: int
    """How many different people must approve it."""
    approved_by: tuple[str, ...]
    """Who approved it so far, of a rule that needs several people."""
    escalated_to: str | None
    """Who it is escalated to now (its rule's `escalate`); None: not escalated."""
    until: float | None
    """When its current wait ends (epoch seconds); None: never."""
    expired: bool
    """Its last wait is over: the run fails unanswered when next resumed."""
    owner: str | None
    """Who answers for the rule (its policy's `owner`), as when it was asked; None: no one
    named."""


def of_owners(found: list[Waiting], owners: Iterable[str] | str) -> list[Waiting]:
    """The requests of `found` of rules whose policy's owner is one of `owners` (one name,
    or several; names compared as `--by`'s are: `Finance` is finance); all when none."""
    names = {person(o) for o in ((owners,) if isinstance(owners, str) else owners)}
    if not names:
        return found
    return [w for w in found if w.request.owner is not None and person(w.request.owner) in names]


def pending_approvals(
    journal: Journal,
    *,
    intents: Iterable[str] | str = (),
    owners: Iterable[str] | str = (),
    limit: int | None = None,
    now: float | None = None,
) -> list[PendingApproval]:
    """What blocked runs wait for, as `ido approvals` lists it: longest waiting first, of
    runs of `intents` (one name, or several: of any) when given, of rules whose policy's
    owner is one of `owners` when given (as `--owner`: `Finance` is finance), the first
    `limit` when given, where escalation stands at `now` (epoch seconds; default: the
    clock's)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise IdoError(f"limit must be a whole number of 1 or more, not {limit!r}")
    if now is not None and (
        isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now)
    ):  # nan judged a request escalated and yet not expired; a datetime failed only later
        raise IdoError(f"now must be a time in epoch seconds, a finite number, not {now!r}")
    names = (intents,) if isinstance(intents, str) else tuple(intents)
    at = time.time() if now is None else now
    listed = []
    for w in of_owners(waiting(journal, names), owners)[:limit]:
        r = w.request
        to, until = r.stage(at)
        listed.append(
            PendingApproval(
                w.run,
                w.intent,
                r.rule,
                r.capability,
                r.step,
                step_words(r),
                r.message,
                r.recorded_cost,
                r.since,
                r.approvers,
                w.approved_by,
                to,
                until,
                r.expired(at),
                r.owner,
            )
        )
    return listed
