"""A scenario's scripted verdicts: the approvals a blocked run waits for, given as a person
would give them (`ido approve`, `ido reject`), on the virtual clock.

Without them, a scenario of an intent under a `require_approval` rule could only end
`blocked`: the rehearsal stopped where the interesting part began.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ido.approvals import Request, pending, verdict_data
from ido.journal import Event, Pending, stamp
from ido.model.scenario import Answer

MOST_ROUNDS = 100
"""Most times one scenario run is answered and resumed: a plan that asks again after every
verdict (a rule on what moves each time) is cut off there, and ends `blocked`."""


def answer_for(request: Request, answers: Sequence[Answer]) -> Answer | None:
    """The first of `answers` that matches `request`: its rule, and its capability if it
    names one (a request about the whole plan names the plan's rule, `mode/propose` too)."""
    return next(
        (
            a
            for a in answers
            if a.rule == request.rule and a.capability in (None, request.capability)
        ),
        None,
    )


def verdicts(
    events: Sequence[Event], answers: Sequence[Answer], now: float
) -> tuple[float, list[Pending]] | None:
    """When the run goes on, and the verdicts to record, each stamped when its own answer
    comes (`after` its request was made; the clock never goes back). None when some
    request has no answer: the run stays blocked, as it would with nobody there.

    The run goes on when `ido runner` would carry it on: once every request is answered,
    or at the first rejection, or just past the last wait of a request whose answer comes
    too late, whichever is first (a run failed at 45 minutes for a request that had
    expired at 30). An answer that comes after that moment, or past its own request's last
    wait, is not recorded (`ido approve` refuses a late one too); one given within its
    wait holds however late the others come, as a person's `ido approve` would (checked
    at the last answer's moment, a verdict given in time was dropped)."""
    timed: list[tuple[float, Request, Answer]] = []
    for request in pending(events):
        answer = answer_for(request, answers)
        if answer is None:
            return None
        timed.append((max(now, request.since + answer.after), request, answer))
    if not timed:
        return None
    timed.sort(key=lambda t: t[0])
    moment = timed[-1][0]
    for comes, request, answer in timed:
        last = request.deadline
        if last is not None and comes > last:
            moment = min(moment, max(now, math.nextafter(last, math.inf)))
        elif answer.verdict == "reject":
            moment = min(moment, comes)
    given: list[Pending] = []
    for comes, request, answer in timed:
        if comes > moment or request.expired(comes):
            continue
        kind = "approval_given" if answer.verdict == "approve" else "approval_rejected"
        data = verdict_data(request, answer.by, answer.comment, comes)
        given.append((kind, stamp(comes), data))
    return moment, given
