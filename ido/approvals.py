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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ido.text import listed

if TYPE_CHECKING:  # (annotations only: the rule engine imports this module, not the journal)
    from ido.journal.records import Event


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


def subject(step: int, capability: str) -> str:
    """What a request is about, in words: a step's capability, or the plan (step 0). A
    request an ido of journal schema 1 recorded names its capability and no step (read as
    step 0): it is about that capability, not the plan."""
    return THE_PLAN if step == 0 and capability == PLAN else capability


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
    owner: str | None = None
    """Who answers for the rule (its policy's `owner`), as when it was asked; None: no one
    named."""

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

    @property
    def recorded_cost(self) -> float | None:
        """`cost`, less float noise (a plan's summed cost: 1.4100000000000001); None for a
        request an ido of journal schema 1 recorded, which names no plan and no cost (read
        as 0.0: not a plan of 0.00)."""
        return round(self.cost, 6) if self.plan else None

    def to_json(self) -> dict[str, Any]:
        escalate = [list(level) for level in self.escalate]
        cost = self.recorded_cost
        return {**self.__dict__, "cost": cost, "escalate": escalate, "step_of": self.step_of}


def step_words(request: Request) -> str:
    """The step a request is about, for `ido approvals`: `plan` (the plan as a whole),
    `step 5 charge` (a step of the run, as explain counts them), `plan step 2 charge
    (decision 4)` (a step of the plan decision 4 made, not started yet), or `undo step 1
    with refund` (a compensation of the run's step 1)."""
    if request.step == 0:  # (a capability: an ido of journal schema 1 recorded no step)
        return "plan" if request.capability == PLAN else request.capability
    if request.plan == UNDO_PLAN:
        return f"undo step {request.step} with {request.capability}"
    if request.step_of == "run":
        return f"step {request.step} {request.capability}"
    made = f" (decision {request.decision})" if request.decision is not None else ""
    return f"plan step {request.step} {request.capability}{made}"


def answering(found: Mapping[Key, T], key: Key) -> T | None:
    """What `found` (verdicts, or requests, by key) holds for the request `key` names: its
    own; else one recorded before requests held to what their rule read (`read` empty), of
    the same rule, step and plan, which holds as it did then."""
    if key in found:
        return found[key]
    return next((v for k, v in found.items() if k[:4] == key[:4] and not k[4]), None)


def requests(events: Sequence[Event]) -> list[Request]:
    """Every approval request the run recorded, oldest first."""
    return [_request(e.data, e.at) for e in events if e.kind == "approval_required"]


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
    return listed(names)


Given = Mapping[Key, Mapping[str, Any]]
"""The verdict given on each request of a run, by request key (`verdicts`)."""


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


def _request(data: Mapping[str, Any], at: str) -> Request:
    """The request an `approval_required` event recorded at `at` holds. One an ido of
    journal schema 1 recorded says no `since`: it was asked when it was recorded (read as
    1970, `ido approvals` said it had waited since then)."""
    since = data.get("since")
    return Request(
        data["rule"],
        data["capability"],
        int(data.get("step", 0)),
        data["message"],
        data.get("plan", ""),
        float(data.get("cost", 0.0)),
        datetime.fromisoformat(at).timestamp() if since is None else float(since),
        data.get("expires"),
        tuple((str(to), float(seconds)) for to, seconds in data.get("escalate", ())),
        data.get("read", ""),
        None if data.get("decision") is None else int(data["decision"]),
        data.get("steady", ""),
        int(data.get("approvers", 1)),
        None if data.get("owner") is None else str(data["owner"]),
    )
