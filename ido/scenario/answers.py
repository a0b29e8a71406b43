"""A scenario's scripted verdicts: the approvals a blocked run waits for, given as a person
would give them (`ido approve`, `ido reject`), on the virtual clock.

Without them, a scenario of an intent under a `require_approval` rule could only end
`blocked`: the rehearsal stopped where the interesting part began.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ido.approval_verdicts import verdict_data
from ido.approvals import Key, Request, pending, person
from ido.journal.records import Event, Pending, stamp
from ido.model.scenario import Answer

MOST_ROUNDS = 100
"""Most times one scenario run is answered and resumed: a plan that asks again after every
verdict (a rule on what moves each time) is cut off there, and ends `blocked`."""


def answers_for(request: Request, answers: Sequence[Answer]) -> list[Answer]:
    """The answers that give `request` its verdict: the first that matches it (its rule, and
    its capability if it names one: a request about the whole plan names the plan's rule,
    `mode/propose` too), or, for a request whose rule needs `approvers: N`, the first N
    matching ones by different people, up to the first rejection (which rejects it). Fewer
    than N: none, and the request stays unanswered, as it would with fewer people there."""
    matching = [
        a for a in answers if a.rule == request.rule and a.capability in (None, request.capability)
    ]
    found, answered = counted(matching, request.approvers)
    return found if answered else []


def counted(answers: Sequence[Answer], needed: int) -> tuple[list[Answer], bool]:
    """The first of `answers` (all about one request) by different people, up to the first
    rejection or the `needed`-th person, and whether they answer the request (a rejection
    does; fewer than `needed` approvals do not). `ido validate` says who a scenario short
    of people gives (`ido.approver_check`)."""
    found: list[Answer] = []
    for answer in answers:
        if any(person(a.by) == person(answer.by) for a in found):  # one person counts once
            continue
        found.append(answer)
        if answer.verdict == "reject" or len(found) == needed:
            return found, True
    return found, False


def verdicts(
    events: Sequence[Event], answers: Sequence[Answer], now: float
) -> tuple[float, list[Pending]] | None:
    """When the run goes on, and the verdicts to record, each stamped when its own answer
    comes (`after` its request was made; the clock never goes back). None when some
    request has no answer (or fewer approvals than its rule's `approvers`): the run stays
    blocked, as it would with nobody there.

    The run goes on when `ido runner` would carry it on: once every request is answered,
    or at the first rejection, or just past the last wait of a request whose answer comes
    too late, whichever is first (a run failed at 45 minutes for a request that had
    expired at 30). An answer that comes after that moment, or past its own request's last
    wait, is not recorded (`ido approve` refuses a late one too); one given within its
    wait holds however late the others come, as a person's `ido approve` would (checked
    at the last answer's moment, a verdict given in time was dropped)."""
    timed: list[tuple[float, Request, Answer]] = []
    for request in pending(events):
        found = answers_for(request, answers)
        if not found:
            return None
        timed += [(max(now, request.since + answer.after), request, answer) for answer in found]
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
    counted: Counter[Key] = Counter()  # approvals recorded so far, per request, in time
    for comes, request, answer in timed:
        if comes > moment or request.expired(comes):
            continue
        approving = answer.verdict == "approve"
        kind = "approval_given" if approving else "approval_rejected"
        counted[request.key] += approving
        number = counted[request.key] if approving else None
        data = verdict_data(request, answer.by, answer.comment, comes, number)
        given.append((kind, stamp(comes), data))
    return moment, given
