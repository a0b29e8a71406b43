"""A scenario's scripted verdicts: the approvals a blocked run waits for, given as a person
would give them (`ido approve`, `ido reject`), on the virtual clock.

Without them, a scenario of an intent under a `require_approval` rule could only end
`blocked`: the rehearsal stopped where the interesting part began.
"""

from __future__ import annotations

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
    """When the run goes on, and the verdicts to record: the last answer's moment (each
    comes `after` its request was made, and the clock never goes back), with a verdict for
    each request, stamped when its own answer comes, in order. None when some request has
    no answer: the run stays blocked, as it would with nobody there.

    A request whose answer comes past its last wait gets no verdict (`ido approve` refuses
    one too): resuming then fails the run as unanswered. One answered within its wait
    holds however late the others come, as a person's `ido approve` then would (checked
    at the last answer's moment, a verdict given in time was dropped, and the run failed
    as unanswered)."""
    matched: list[tuple[Request, Answer]] = []
    for request in pending(events):
        answer = answer_for(request, answers)
        if answer is None:
            return None
        matched.append((request, answer))
    if not matched:
        return None
    timed = sorted(
        ((max(now, request.since + answer.after), i) for i, (_, answer) in enumerate(matched))
    )
    given: list[Pending] = []
    for at, i in timed:
        request, answer = matched[i]
        if request.expired(at):
            continue
        kind = "approval_given" if answer.verdict == "approve" else "approval_rejected"
        data = verdict_data(request, answer.by, answer.comment, at)
        given.append((kind, stamp(at), data))
    return timed[-1][0], given
