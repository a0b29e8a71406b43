"""Durable approvals: what a blocked run waits for, and the verdicts people give, in the journal.

A decision whose plan fires `require_approval` rules (or any plan, in `mode: propose`)
records one request per rule and step, tied to that plan's digest and to what the rule
read (`RuleHit.held`: approved for an order of 1,500, a plan does not go ahead for one of
9,999,999, nor a plan rule on spend after retries spent more). The run then ends
`blocked`: no process, thread or memory waits. `ido approve` / `ido reject` append a
verdict naming who, when and why; `ido resume` decides again and goes on only when every
request for the plan it makes has been approved. A verdict is for one plan and what its
rule read: after a replan, or when that moved, the new decision asks again. A request
whose rule says `expires` escalates once that time has passed without a verdict, to each
of the rule's `escalate` levels in turn (each with its own wait), and fails the run when
the last wait is over, whatever the rule makes of it by then. Escalation needs no
process to drive it: where a request stands is a pure function of the clock. A failed run
undoing its steps asks so for a compensation a rule holds for (`UNDO_PLAN`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ido.errors import IdoError
from ido.text import money

if TYPE_CHECKING:  # (annotations only: the rule engine imports this module, not the journal)
    from ido.decide import Decision
    from ido.journal.records import Event
    from ido.model import Capability, Rule

PROPOSE = "mode/propose"
UNKNOWN_RULE = "resume/outcome-unknown"
"""What a request for a person's decision on an interrupted step cites: one that is not
idempotent, whose effects nothing observes (`ido.runtime.settling.Settling._ask`)."""
PLAN = "(plan)"
"""The subject of a plan rule's evaluation, where a capability rule names a capability
(`ido.policy` reads it from here: `ido approve`, `ido approvals` and the runner import this
module, and need none of the rule engine's 100 ms of imports)."""
THE_PLAN = "the plan"
"""The plan as people read it named (`PLAN`, step 0), where a step is named by its
capability or number: one wording, wherever ido names it."""
UNKNOWN_PLAN = "interrupted"
"""The plan such requests name: the steps in flight when the run stopped."""
UNDO_PLAN = "undo"
"""The plan a compensation's request names (`on_failure: compensate`, a `require_approval`
rule holding for the compensating capability): undoing, which is no plan. Its verdict is
the compensation's (rejected: not done), not the run's, which has failed already."""

T = TypeVar("T")

Key = tuple[str, str, int, str, str]
"""What a request and its verdict share: rule, capability, step, plan digest, and the
digest of what the rule read (empty in journals from before it was recorded)."""


PROPOSED = "a person approves every plan before it runs"
"""The message of a `mode: propose` request."""


def approvals_asked(
    steps: Sequence[str], approvals: Sequence[tuple[str, str, str]], mode: str
) -> list[tuple[str, str, int, str]]:
    """What a plan of `steps` (capability names, in order) asks approval for, as (rule,
    capability, step, message): the plan as a whole in `mode: propose` (step 0), then the
    decision's `approvals` (rule, capability or `PLAN`, message), each at its step's
    1-based number in the plan (0 for a plan rule's). `ido run` records these and stops;
    `ido plan` says them, so that a plan shown does not hide the wait it leads to."""
    found = [
        (rule, name, 0 if name == PLAN else steps.index(name) + 1, message)
        for rule, name, message in approvals
    ]
    if mode == "propose":
        found.insert(0, (PROPOSE, PLAN, 0, PROPOSED))
    return found


def would_ask(decision: Decision, mode: str) -> list[dict[str, Any]]:
    """The approvals a run of `decision`'s plan in `mode` would stop for, as the events it
    would record (`approval needed for the plan (mode/propose: …)`); none without a plan.
    `ido plan` shows them (a `mode: propose` plan showed no sign that nothing of it runs
    before a person approves), and a `mode: shadow` run names them in its reason (one of a
    payment that needs the controller read as if it would go ahead unasked)."""
    plan = decision.result.plan
    if plan is None or not plan.steps:
        return []
    asked = approvals_asked(plan.capabilities, decision.approvals, mode)
    return [
        {"kind": "approval_required", "rule": rule, "capability": name, "step": step, "message": m}
        for rule, name, step, m in asked
    ]


def subject(step: int, capability: str) -> str:
    """What a request is about, in words: a step's capability, or the plan (step 0)."""
    return THE_PLAN if step == 0 else capability


def key_of(data: Mapping[str, Any]) -> Key:
    """The request a journal event (request or verdict) is about."""
    step = int(data.get("step", 0))
    return (data["rule"], data["capability"], step, data.get("plan", ""), data.get("read", ""))


@dataclass(frozen=True)
class Request:
    """One approval a plan needs: a rule fired on a step (or the plan as a whole)."""

    rule: str
    capability: str
    step: int
    """1-based step of the plan; 0 for the plan as a whole."""
    message: str
    plan: str
    """Digest of the plan it is for."""
    cost: float
    since: float
    expires: float | None
    """When the first wait ends (epoch seconds); None: never."""
    escalate: tuple[tuple[str, float], ...] = ()
    """Who is asked next once a wait ends, and for how long (seconds)."""
    read: str = ""
    """Digest of what the rule read (`ido.policy.RuleHit.held`)."""
    decision: int | None = None
    """The decision whose plan asked (None: recorded before requests said so)."""
    steady: str = ""
    """Digest of what the rule read, less the run's spend (`ido.policy.RuleHit.steady`);
    empty in journals from before it was recorded."""
    approvers: int = 1
    """How many different people must approve it (its rule's `approvers`); one rejects it."""

    @property
    def key(self) -> Key:
        return (self.rule, self.capability, self.step, self.plan, self.read)

    @property
    def deadline(self) -> float | None:
        """When the last wait ends and the run fails unanswered; None: never."""
        if self.expires is None:
            return None
        return self.expires + sum(seconds for _, seconds in self.escalate)

    def expired(self, now: float) -> bool:
        """Whether the last wait is over at `now`: the run fails unanswered."""
        return self.deadline is not None and now > self.deadline

    def stage(self, now: float) -> tuple[str | None, float | None]:
        """Who the request is escalated to at `now` (None: not escalated) and until when."""
        if self.expires is None or now <= self.expires:
            return None, self.expires
        until = self.expires
        to: str | None = None
        for to, seconds in self.escalate:
            until += seconds
            if now <= until:
                return to, until
        return to, until

    @property
    def step_of(self) -> str:
        """What `step` counts in: "run" for a step that started (ido's own request on a
        step whose outcome is unknown: numbered as explain and triggers number it), "plan"
        for a plan's step not started yet (its number in the run is given as it starts,
        in an order steps side by side make unknown until then). A compensation's request
        names the run's step it undoes ("run")."""
        return "run" if self.rule == UNKNOWN_RULE or self.plan == UNDO_PLAN else "plan"

    def to_json(self) -> dict[str, Any]:
        escalate = [list(level) for level in self.escalate]
        cost = round(self.cost, 6)  # a plan's summed cost, less float noise (1.4100000000000001)
        return {**self.__dict__, "cost": cost, "escalate": escalate, "step_of": self.step_of}


def step_words(request: Request) -> str:
    """The step a request is about, for `ido approvals`: `plan` (the plan as a whole),
    `step 5 charge` (a step of the run, as explain counts them), `plan step 2 charge
    (decision 4)` (a step of the plan decision 4 made, not started yet), or `undo step 1
    with refund` (a compensation of the run's step 1)."""
    if request.step == 0:
        return "plan"
    if request.plan == UNDO_PLAN:
        return f"undo step {request.step} with {request.capability}"
    if request.step_of == "run":
        return f"step {request.step} {request.capability}"
    made = f" (decision {request.decision})" if request.decision is not None else ""
    return f"plan step {request.step} {request.capability}{made}"


def plan_digest(
    plan: Mapping[str, Any], specs: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """What identifies a plan for approvals: its steps, what each waits for, and its cost
    (an approval of a plan at 3.00 is not one of the same steps at 2,700.00); and, when
    given, what its steps perform (`specs`, each capability's `spec_digests`: an approval of
    shipping through one endpoint is not one of shipping through another). A run's
    decisions recorded without them (before they were) keep their requests' digests."""
    steps = [s["capability"] for s in plan["steps"]]
    cost = round(float(plan.get("cost", 0.0)), 6)
    whole: dict[str, Any] = {"steps": steps, "after": plan.get("after"), "cost": cost}
    given = specs or {}
    named = {name: dict(given[name]) for name in sorted(set(steps)) if name in given}
    if named:  # (`specs` may be the whole catalog's: only the plan's own steps count)
        whole["specs"] = named
    text = json.dumps(whole, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def asks_approval(decision: Decision, mode: str) -> bool:
    """Whether a run in `mode` stops at `decision` for approvals (the verdicts given may
    answer them all): such a decision records what its plan's steps perform
    (`capability_digests`), which an approval is given for and a resume compares."""
    plan = decision.result.plan
    if plan is None or mode == "shadow":  # (a shadow run ends before any approval)
        return False
    return bool(approvals_asked(plan.capabilities, decision.approvals, mode))


def specced(events: Sequence[Event]) -> bool:
    """Whether a run's approvals cover what its steps perform (`plan_digest`'s `specs`): the
    first decision that asked for approval, or recorded what its steps perform, recorded
    them (`asks_approval`: only a decision that asks does, and an older ido's did on every
    decision with a plan). A run begun by an ido that did not keeps its requests' digests
    as they were, so that the verdicts given on them still answer."""
    asked = {  # (a plan's requests: those about a step's unknown outcome or an undoing name none)
        e.data["decision"] for e in events if e.kind == "approval_required" and "decision" in e.data
    }
    first = next(
        (
            e
            for e in events
            if e.kind == "decided"
            and ("capability_digests" in e.data or e.data.get("number") in asked)
        ),
        None,
    )
    return first is None or "capability_digests" in first.data


SPEC_PARTS = ("binding", "provider", "requires", "effects")
"""What a capability performs, as a plan's approval covers it (its cost is the plan's)."""


def spec_digests(capability: Capability) -> dict[str, str]:
    """What `capability` performs, part by part (`SPEC_PARTS`), each as a short digest: what
    an approval of a plan with it was given for, and what moved when it no longer is."""
    spec = capability.spec
    parts = {
        # (what the binding reads by itself is masked, not performed: `secrets` left out,
        # so a binding that declares them is the one approved before it did)
        "binding": spec.run.model_dump(mode="json", exclude={"secrets"})
        if spec.run is not None
        else None,
        "provider": spec.provider,
        "requires": list(spec.requires),
        "effects": spec.effects,
    }
    return {
        part: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[
            :12
        ]
        for part, value in parts.items()
    }


def answering(found: Mapping[Key, T], key: Key) -> T | None:
    """What `found` (verdicts, or requests, by key) holds for the request `key` names: its
    own; else one recorded before requests held to what their rule read (`read` empty), of
    the same rule, step and plan, which holds as it did then."""
    if key in found:
        return found[key]
    return next((v for k, v in found.items() if k[:4] == key[:4] and not k[4]), None)


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


def requests(events: Sequence[Event]) -> list[Request]:
    """Every approval request the run recorded, oldest first."""
    return [_request(e.data) for e in events if e.kind == "approval_required"]


def verdicts(events: Sequence[Event]) -> dict[Key, dict[str, Any]]:
    """The verdict given on each request, by request key."""
    return tally(events)[0]


def tally(
    events: Sequence[Event],
) -> tuple[dict[Key, dict[str, Any]], dict[Key, list[dict[str, Any]]]]:
    """The verdict given on each request (`verdicts`), and the approvals given so far on
    each request that has none yet.

    A request whose rule needs `approvers: N` is approved once N different people
    approved it (the verdict's `by` names them all, and `parts` holds each approval, as
    recorded); one rejection rejects it. Until then, its approvals are kept apart: the
    request still waits, for `ido runner` and `ido resume` too. A request recorded without
    `approvers` (every one before it was kept) needs one."""
    needed: dict[Key, int] = {}
    found: dict[Key, dict[str, Any]] = {}
    partial: dict[Key, list[dict[str, Any]]] = {}
    for event in events:
        if event.kind == "approval_required":
            needed[key_of(event.data)] = int(event.data.get("approvers", 1))
        if event.kind not in ("approval_given", "approval_rejected"):
            continue
        key = key_of(event.data)
        approved = event.kind == "approval_given"
        verdict = {**event.data, "approved": approved, "at": event.at}
        so_far = partial.pop(key, [])
        if not approved:
            found[key] = {**verdict, "parts": [*so_far, verdict]}
            continue
        if all(person(v["by"]) != person(verdict["by"]) for v in so_far):  # one counts once
            so_far.append(verdict)
        if len(so_far) < (answering(needed, key) or 1):
            partial[key] = so_far
            continue
        found[key] = {**verdict, "by": people(v["by"] for v in so_far), "parts": so_far}
    return found, partial


def person(name: str) -> str:
    """Who a `--by` name stands for, when people are counted (`approvers: N`): `alice`,
    `Alice` and `alice ` are one person (counted as two, one person met a rule that needs
    two)."""
    return " ".join(str(name).split()).casefold()


def people(names: Iterable[str]) -> str:
    """Who approved, in words: `alice`, `alice and bob`, `alice, bob and carol`."""
    said = list(names)
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


Given = Mapping[Key, Mapping[str, Any]]
"""The verdict given on each request of a run, by request key (`verdicts`)."""


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


def replanned_since(asked: Sequence[Request], given: Given, key: Key, cost: float) -> str:
    """What a request asked again for another plan adds to its message: a person who
    approved this rule for this capability, and is asked again after a replan or a change
    of the catalog, was told nothing of why. Empty when no plan of the run had it approved."""
    before = [
        r
        for r in asked
        if r.key[:2] == key[:2]
        and r.plan not in (key[3], UNKNOWN_PLAN, UNDO_PLAN)
        and (given.get(r.key) or {}).get("approved")
    ]
    if not before:
        return ""
    was = before[-1].cost
    costs = (
        f" (plan cost {money(was)} then, {money(cost)} now)" if money(was) != money(cost) else ""
    )
    return f"; asked again: the plan changed since it was approved{costs}"


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


def request_data(
    rule: str,
    capability: str,
    step: int,
    message: str,
    plan: str,
    cost: float,
    since: float,
    asking: Rule | None,
) -> dict[str, Any]:
    """What an `approval_required` event records of a request first asked at `since`: its
    waits are those of the rule that asks (`asking`: its `expires` and `escalate` levels;
    None, ido's own rule: it waits for good)."""
    ttl = asking.expires if asking is not None else None
    levels = [[e.to, e.expires] for e in asking.escalate] if asking is not None else []
    approvers = asking.approvers if asking is not None else 1
    # (recorded only when more than one: a request's event reads as it did before)
    more = {"approvers": approvers} if approvers > 1 else {}
    return {
        "rule": rule,
        "capability": capability,
        "step": step,
        "message": message,
        "plan": plan,
        "cost": cost,
        "since": since,
        "expires": None if ttl is None else since + ttl,
        "escalate": levels,
        **more,
    }


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


def pending(events: Sequence[Event]) -> list[Request]:
    """Requests of the run's latest blocked decision that have no verdict yet.

    Every compensation's request names the plan `UNDO_PLAN`, and undoing waits for one at
    a time: of those, only the latest step's waits (an older one rejected, or left past its
    wait, was not done, and undoing went on)."""
    return waiting_of(requests(events), verdicts(events))


def waiting_of(asked: Sequence[Request], given: Given) -> list[Request]:
    """`pending`, of the run's requests (`asked`) and verdicts (`given`) read already."""
    if not asked:
        return []
    last = asked[-1]
    seen: set[Key] = set()
    waiting = []
    for request in asked:
        if request.plan != last.plan or request.key in given or request.key in seen:
            continue
        if last.plan == UNDO_PLAN and request.step != last.step:
            continue
        seen.add(request.key)
        waiting.append(request)
    return waiting


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


def choose(
    waiting: list[Request], run_id: str, step: int | None, rules: Sequence[str] = ()
) -> list[Request]:
    """The requests a verdict on `run_id` answers: all waiting ones (at least one: else
    `not_waiting` says why), or those of one step, or of some rules (`rules`, each
    `policy/rule` as `ido approvals` shows it: two owners of two rules on one step each
    answer their own), or both. A rule or step nothing waits under is refused, naming
    what waits."""
    chosen = waiting
    if rules:
        unknown = [rule for rule in dict.fromkeys(rules) if all(r.rule != rule for r in waiting)]
        if unknown:
            names = ", ".join(dict.fromkeys(r.rule for r in waiting))
            raise IdoError(
                f"run {run_id} waits for approval under {names}, not {', '.join(unknown)} "
                "(--rule takes a rule `ido approvals` shows, as policy/rule)"
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
            "(--step takes a number `ido approvals` shows, or plan)"
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


def _request(data: Mapping[str, Any]) -> Request:
    return Request(
        data["rule"],
        data["capability"],
        int(data.get("step", 0)),
        data["message"],
        data.get("plan", ""),
        float(data.get("cost", 0.0)),
        float(data.get("since", 0.0)),
        data.get("expires"),
        tuple((str(to), float(seconds)) for to, seconds in data.get("escalate", ())),
        data.get("read", ""),
        None if data.get("decision") is None else int(data["decision"]),
        data.get("steady", ""),
        int(data.get("approvers", 1)),
    )
