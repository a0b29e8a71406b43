"""Where a blocked run's approvals stand, and the verdicts people give (`ido.approvals`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ido.approvals import (
    THE_PLAN,
    UNDO_PLAN,
    UNKNOWN_PLAN,
    Given,
    Key,
    Request,
    T,
    answering,
    requests,
    subject,
    verdicts,
    waiting_of,
)
from ido.errors import IdoError

if TYPE_CHECKING:  # (annotations only)
    from ido.journal.records import Event


def answering_whole(
    given: Mapping[Key, T], asked: Sequence[Request], whole: Key, steady: str
) -> T | None:
    """The verdict on the request of a plan gone on with (`whole`: its key, as that plan
    asked it) that holds for its rest: its own, or one on a request of that rule, step and
    plan whose rule read what it reads now but the run's spend (`steady`), which the
    plan's own steps moved."""
    found = answering(given, whole)
    if found is not None or not steady:
        return found
    alike = (r.key for r in asked if r.key[:4] == whole[:4] and r.steady == steady)
    return next((given[key] for key in alike if key in given), None)


def rejected(asked: Sequence[Request], given: Given) -> str | None:
    """Why the run's latest blocked plan was rejected, or None when no request for it was
    (`asked`: the run's requests, `given`: its verdicts).

    A "no" stands on resume whatever the next decision makes of it: deciding again, under
    a rule relaxed since, gave the rejected plan no request to find its verdict by, and the
    plan went ahead. (A verdict on a step in flight, `UNKNOWN_PLAN`, is the settling's.)"""
    if not asked or asked[-1].plan in (UNKNOWN_PLAN, UNDO_PLAN):
        return None
    for request in asked:
        verdict = given.get(request.key)
        if request.plan == asked[-1].plan and verdict is not None and not verdict["approved"]:
            return rejection(request.rule, subject(request.step, request.capability), verdict)
    return None


def expired(asked: Sequence[Request], given: Given, now: float) -> str | None:
    """Why the run's latest blocked plan fails unanswered: a request of it left past its
    last wait, or None. As a "no", it stands on resume whatever the next decision makes of
    it (`ido approvals` had said the run fails; a rule relaxed since let it through)."""
    for request in waiting_of(asked, given):
        if request.expired(now) and request.plan != UNDO_PLAN:  # (an undo's: not done)
            return expiry(request)
    return None


def first_asked(
    earlier: Mapping[Key, Request], key: Key, now: float
) -> tuple[Request | None, str | None]:
    """The run's first request `key` (by key, in `earlier`), if it was asked, and why it
    fails unanswered when it was left past its last wait (else None): the one expiry rule
    for a plan's requests and a compensation's."""
    first = answering(earlier, key)
    if first is not None and first.expired(now):
        return first, expiry(first)
    return first, None


def undo_verdict(
    given: Given,
    earlier: Mapping[Key, Request],
    capability: str,
    step: int,
    asks: Key | None,
    now: float,
) -> tuple[str, str | None, str | None]:
    """Where compensating step `step` with `capability` stands, as (where, why not, the
    rule of a "no"): `rejected` by a "no" to it under whatever rule (it stands though the
    rule that asked no longer holds); else as the request `asks` of the rule that holds for
    it now (`UNDO_PLAN`) stands: `approved`, `expired` (its first request left past its
    last wait), `waiting` (asked, not answered yet) or `new` (never asked); `free` when no
    rule asks. Why not: for one rejected or expired."""
    for key, said in given.items():
        if key[1:4] == (capability, step, UNDO_PLAN) and not said["approved"]:
            return "rejected", rejection(str(said["rule"]), capability, said), str(said["rule"])
    if asks is None:
        return "free", None, None
    verdict = answering(given, asks)
    if verdict is not None:  # a "no" to it was found above
        return "approved", None, None
    first, lapsed = first_asked(earlier, asks, now)
    if lapsed is not None:
        return "expired", lapsed, None
    return ("new" if first is None else "waiting"), None, None


def expiry(request: Request) -> str:
    """The reason a run fails with when `request` was left past its last wait."""
    what, escalated = _expired_words(request)
    return f"the approval of {what} ({request.rule}) expired unanswered{escalated}"


def _expired_words(request: Request) -> tuple[str, str]:
    """How an expired `request` is said: the step it asked of, and whether it was
    escalated first (`expiry`, `check_not_expired`)."""
    escalated = " after its escalations" if request.escalate else ""
    return subject(request.step, request.capability), escalated


def rejection(rule: str, what: str, verdict: Mapping[str, Any]) -> str:
    """The reason a rejected run fails with: who said no to what, under which rule, why."""
    why = f": {verdict['comment']}" if verdict.get("comment") else ""
    return f"{what} was rejected by {verdict['by']} ({rule}){why}"


def ready(events: Sequence[Event], now: float) -> bool:
    """Whether a blocked run with these approval events may go on (or must fail) now: a
    request of its latest plan was rejected (for a compensation, the one it waits for:
    another's "no" left that one undone), or every one answered, or one left too long."""
    given = verdicts(events)
    return ready_of(waiting_of(requests(events), given), given, now)


def ready_of(waiting: Sequence[Request], given: Given, now: float) -> bool:
    """`ready`, of the run's requests that wait (`waiting_of`) and its verdicts (`given`)
    read already: a caller that needs both builds them once."""
    if not waiting:
        return True
    latest = waiting[0].plan
    keys = {r.key[:4] for r in waiting}
    for key, verdict in given.items():
        ours = key[:4] in keys if latest == UNDO_PLAN else verdict.get("plan") == latest
        if ours and not verdict["approved"]:
            return True
    return any(r.expired(now) for r in waiting)


def check_answered(run_id: str, asked: Sequence[Request], given: Given, now: float) -> None:
    """Refuse to go on with a blocked run nobody has answered yet (not `ready`): resuming
    it recorded a resumption after a wait and the same request again each time, though
    nothing had happened. The error says what it waits for."""
    waiting = waiting_of(asked, given)
    if ready_of(waiting, given, now):
        return
    what = "; ".join(f"{subject(r.step, r.capability)} ({r.rule})" for r in waiting)
    raise IdoError(
        f"run {run_id} still waits for approval of {what}; answer it first (ido approve "
        f"{run_id} --by NAME, or ido reject), then resume"
    )


def answered_by(events: Sequence[Event]) -> str | None:
    """Who answered the requests of the run's latest blocked plan, and when (None: none
    was): of two people paged, the second was told only that the run "is not waiting for
    an approval", as if it had gone on, and not who had answered first."""
    asked = requests(events)
    given = verdicts(events)
    latest = [r for r in asked if r.plan == asked[-1].plan and r.key in given] if asked else []
    told: dict[str, str] = {}  # (a request asked again after a crash is one answer)
    for r in latest:
        verdict = given[r.key]
        verb = "approved" if verdict["approved"] else "rejected"
        what = f"{subject(r.step, r.capability)} ({r.rule}) {verb} by {verdict['by']}"
        told[what] = f"{what} at {verdict['at']}"
    return "; ".join(told.values()) or None


def not_waiting(run_id: str, events: Sequence[Event], resume: str) -> str:
    """Why a verdict on a blocked run none of whose requests waits is refused (`resume`: the
    command that moves it on): who answered them, if anyone did, and to resume it. With no
    answer to name, it said only "is not waiting for an approval", as if the run had gone
    on."""
    said = f"run {run_id} is not waiting for an approval"
    answered = answered_by(events)
    if answered is None:
        return f"{said}: no request of it waits for a verdict; continue it with {resume}"
    return f"{said}: already answered, {answered}; continue it with {resume}"


def not_blocked(
    run_id: str,
    outcome: str | None,
    events: Sequence[Event],
    resume: str,
    typed: Callable[[str], str] = lambda command: command,
    cli: bool = True,
) -> str:
    """Why a verdict on a run that is not blocked is refused: what the run is now, and what
    moves it on. An interrupted run (its process killed mid-step) was said only "not
    waiting for an approval", with no word of `ido resume`. `typed`: a command as it is
    typed for this journal (its `--journal`, which the pull of a Temporal run lacked);
    `cli`: whether the caller is the CLI, else `ido.approve` (the Python API), which was
    sent to `ido approvals` for a running run's requests."""
    from ido.journal.records import scenario_of, temporal_flags, temporal_of
    from ido.runtime.owners import elsewhere, live_owner

    said = f"run {run_id} is not waiting for an approval"
    if outcome is not None:
        return f"{said}: it has ended, {outcome}; there is nothing to answer"
    scenario = scenario_of(events)
    if scenario is not None:  # `ido resume` refuses it: its world was simulated
        name = scenario.get("metadata", {}).get("name")
        return (
            f"{said}: it ran in the simulated world of scenario '{name}' and did not end; "
            "run the scenario again instead"
        )
    temporal = temporal_of(events)
    if temporal is not None:  # its workflow goes on on the server: a local resume refuses it
        return (
            f"{said}: it is pursued on the Temporal server at {temporal.get('address')}, and "
            "was not blocked when last imported; "
            f"{typed(f'ido temporal pull {run_id}{temporal_flags(temporal)}')} imports where "
            "it stands now"
        )
    if live_owner(list(events)) is not None:
        lists = typed("ido approvals") if cli else "ido.pending_approvals(journal)"
        return f"{said}: it is running; a request it makes is listed by {lists}"
    host = elsewhere(events)
    if host is not None:  # this machine cannot see whether that process still lives
        return (
            f"{said}: it has not ended, and its process ran on host {host}, where it may "
            f"still be running; if it stopped there, continue it with {resume}"
        )
    return (
        f"{said}: it is interrupted (its process stopped before it ended, not blocked); "
        f"continue it with {resume}"
    )


def choose(
    waiting: list[Request],
    run_id: str,
    step: int | None,
    rules: Sequence[str] = (),
    cli: bool = True,
) -> list[Request]:
    """The requests a verdict on `run_id` answers: all waiting ones (at least one: else
    `not_waiting` says why), or those of one step, or of some rules (`rules`, each
    `policy/rule` as `ido approvals` shows it: two owners of two rules on one step each
    answer their own), or both. A rule or step nothing waits under is refused, naming
    what waits (and, `cli` or not, the command's options or `ido.approve`'s arguments)."""
    chosen = waiting
    if rules:
        unknown = [rule for rule in dict.fromkeys(rules) if all(r.rule != rule for r in waiting)]
        if unknown:
            names = ", ".join(dict.fromkeys(r.rule for r in waiting))
            raise IdoError(
                f"run {run_id} waits for approval under {names}, not {', '.join(unknown)} "
                + (
                    "(--rule takes a rule `ido approvals` shows, as policy/rule)"
                    if cli
                    else "(rules takes rules `ido approvals` shows, as policy/rule)"
                )
            )
        chosen = [r for r in chosen if r.rule in rules]
    if step is None:
        return chosen
    of_step = [r for r in chosen if r.step == step]
    if not of_step:
        under = f" under {', '.join(dict.fromkeys(rules))}" if rules else ""
        steps = ", ".join(dict.fromkeys(_step_named(r.step) for r in chosen))
        raise IdoError(
            f"run {run_id} waits for approval{under} of {steps}, not {_step_named(step)} "
            + (
                "(--step takes a number `ido approvals` shows, or plan)"
                if cli
                else "(step takes a number `ido approvals` shows, or 0: the plan)"
            )
        )
    return of_step


def _step_named(step: int) -> str:
    """A `--step` as `ido approvals` says it: it read "step(s) 2, 2, not step 0" of
    `--step plan`, each step once per rule that asked for it."""
    return THE_PLAN if step == 0 else f"step {step}"


def left_unanswered(request: Request) -> str:
    """What resuming does with `request` left past its last wait: the run fails; for a
    compensation's (the run failed already), that undo is not done and undoing goes on."""
    if request.plan == UNDO_PLAN:
        return f"{request.capability} is not done when resumed, and undoing goes on"
    return "the run fails when resumed"


def check_not_expired(request: Request, now: float, run_id: str) -> None:
    deadline = request.deadline
    if deadline is not None and request.expired(now):
        when = datetime.fromtimestamp(deadline, UTC).isoformat(timespec="seconds")
        what, escalated = _expired_words(request)
        raise IdoError(
            f"run {run_id}: the request for {what} ({request.rule}) expired"
            f"{escalated} at {when}; {left_unanswered(request)}"
        )


def verdict_data(
    request: Request, by: str, comment: str | None, now: float, approval: int | None = None
) -> dict[str, Any]:
    """What a verdict on `request` records (`ido approve`, `ido reject`, a scenario's
    `approvals`): the request's key, who answered and why, and who it was escalated to;
    of a request that needs several people, which of its approvals this one is
    (`approval`, counted from 1) and of how many."""
    counted = (
        {"approval": approval, "approvers": request.approvers}
        if approval is not None and request.approvers > 1
        else {}
    )
    return {
        "rule": request.rule,
        "capability": request.capability,
        "step": request.step,
        "plan": request.plan,
        "read": request.read,
        "by": by,
        "comment": comment,
        "escalated_to": request.stage(now)[0],
        **counted,
    }
