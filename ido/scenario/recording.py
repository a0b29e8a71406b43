"""What a recorded run's journal tells a counterfactual replay: each call's outcome
(`Recorded`) and where the calls ended, what the run had learnt of its capabilities, and
where each of its decisions stood (`Moment`) and when the run started.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ido.approvals import UNKNOWN_RULE
from ido.health import Evidence, with_lessons
from ido.journal.records import Event, epoch
from ido.runtime.folds import lesson_of
from ido.runtime.outcomes import CUT


@dataclass(frozen=True)
class Recorded:
    ok: bool
    error: str | None
    timed_out: bool
    duration: float
    output: Any
    applies: bool
    cut: bool = False
    """It ran out of its time with its outcome unknown: the run's deadline stopped it, or
    its own timeout did and a person was asked whether to make it again. It ran
    `duration`, and how it would have ended is not known (a replay takes it to run out of
    its time again)."""
    interrupted: bool = False
    """An interruption (a crash, `kill -9`) cut it short, not a timeout. With `cut`, a
    person was asked: `duration` is up to the request, and a replay's call is cut short
    there too, its outcome unknown (its provider may have done it: not taken as never
    called, nor as done). Without, its resume found it not done: so is a replay's call,
    which tells nothing of its provider."""
    again: bool = False
    """With `interrupted`: the repeat a person approved, cut short again. The run settled
    it as cut short (by the observation after it, no failure of its provider), and so does
    a replay's repeat."""
    settled_on_resume: bool = False
    """In flight when the recording's process was killed, and settled by its resume without
    being found cut short: made again as `idempotent` under its key, or done by its effects
    observed. Answered as its outcome then; started beside no step the recording had not
    started before the kill (`killed_in`)."""

    @property
    def killed_in(self) -> bool:
        """Whether the recording's process was killed while this call was in flight."""
        return self.interrupted or self.settled_on_resume


RESUME_SETTLED = ("repeated", "effects observed")
"""How a resume settled a step it found in flight (`action_finished`'s `resumed`) that it
did not find cut short: the step's call was in flight when the process was killed."""


def learnt_evidence(events: Sequence[Event]) -> dict[str, Evidence]:
    """What the recorded run believed of each capability by its end: the health recorded
    at its start, with what each of its calls taught (`lesson_of`: as resuming folds them,
    a silent failure too). A replay makes a call the recording did not only after the
    recorded ones of that capability, so this is what its planner had learnt of it too."""
    if not events or events[0].kind != "run_started":
        return {}
    start = events[0].data.get("health") or {}
    evidence = {name: Evidence.from_json(e) for name, e in start.items()}
    return with_lessons(evidence, [lesson for e in events if (lesson := lesson_of(e))])


def call_ends(events: Sequence[Event]) -> list[int]:
    """Where each call of the recording ended, in order: the indexes of its events. A call
    of a capability that is not idempotent whose outcome was unknown, nothing observing its
    effects, ended in the request to a person (`resume/outcome-unknown`): it timed out (the
    request has its `cause`), or an interruption cut it short and the resume asked. Its
    step has no end of its own, and what settled it on resume (a rejection, its effects
    seen) is no call, as the approved repeat is, however it ended (cut short again too).
    A call an interruption cut short that no one was asked about ended where the resume
    settled it: made again as `idempotent` under its key, done by its effects observed, or
    found not done (it may have been made all the same: its cost was counted)."""
    ends: list[int] = []
    asked: set[int] = set()  # steps whose call's unknown outcome waited for a person
    repeating: set[int] = set()  # of those, the steps made again as approved
    for n, event in enumerate(events):
        data = event.data
        if event.kind == "approval_required" and _unknown_asked(data):
            asked.add(data["step"])
            ends.append(n)
        elif event.kind == "action_repeated":
            repeating.add(data["step"])
        elif event.kind != "action_finished":
            continue
        elif data["step"] in asked:  # its repeat; not how a resume settled it otherwise
            if data["step"] in repeating or data.get("resumed") == "approved":
                ends.append(n)
        elif not data.get("interrupted") or data.get("resumed") == "interrupted":
            ends.append(n)  # (cut short, and found not done on resume: it may have been made)
    return ends


def _unknown_asked(request: Mapping[str, Any]) -> bool:
    """Whether a request asks a person about a plan's step whose call's outcome is unknown
    (it timed out, or an interruption cut it short)."""
    return request.get("rule") == UNKNOWN_RULE and "undoes_step" not in request


def recorded_calls(
    events: Sequence[Event], ends: Sequence[int] | None = None
) -> dict[str, list[Recorded]]:
    """Per capability, the outcomes of its calls in the recording, in order. `ends`: the
    recording's `call_ends`, when the caller has them."""
    missing = {e.data["step"] for e in events if e.kind == "effects_missing"}
    started = {e.data["step"]: epoch(e.at) for e in events if e.kind == "action_started"}
    again = {e.data["step"]: epoch(e.at) for e in events if e.kind == "action_repeated"}
    asked = {
        e.data["step"] for e in events if e.kind == "approval_required" and _unknown_asked(e.data)
    }
    calls: dict[str, list[Recorded]] = {}
    for n in call_ends(events) if ends is None else ends:
        event = events[n]
        data = event.data
        if event.kind == "approval_required":  # timed out: about its timeout, to the ms
            took = max(0.0, epoch(event.at) - started.get(data["step"], epoch(event.at)))
            cause = data.get("cause")  # none: an interruption cut it short
            error = CUT if cause is None else cause
            unknown = Recorded(False, error, True, took, None, False, True, cause is None)
            calls.setdefault(data["capability"], []).append(unknown)
            continue
        if data.get("interrupted") and data["step"] not in asked:  # found not done
            found = Recorded(False, data.get("error"), False, 0.0, None, False, interrupted=True)
            calls.setdefault(data["capability"], []).append(found)
            continue
        if data.get("interrupted"):  # an approved repeat cut short again
            took = max(0.0, epoch(event.at) - again.get(data["step"], epoch(event.at)))
            unknown = Recorded(False, CUT, True, took, None, False, True, True, again=True)
            calls.setdefault(data["capability"], []).append(unknown)
            continue
        calls.setdefault(data["capability"], []).append(
            Recorded(
                bool(data["ok"]),
                data.get("error"),
                bool(data.get("timed_out")),
                float(data.get("duration") or 0.0),
                data.get("output"),
                data["step"] not in missing,
                bool(data.get("deadline")),
                settled_on_resume=data["step"] not in asked
                and data.get("resumed") in RESUME_SETTLED,
            )
        )
    return calls


@dataclass(frozen=True)
class Moment:
    """Where a recorded decision stood: what the run had called and asked before it."""

    calls: Mapping[str, int]
    """How many calls of each capability had ended."""
    before: tuple[tuple[str, ...], ...]
    """The model requests of each decision before it (none: an empty tuple)."""
    requests: tuple[str, ...]
    """Its own model requests."""
    started: float
    ended: float
    """When it began and when it was recorded (the clock then, not the run's elapsed)."""


def started_at(events: Sequence[Event]) -> float:
    """When the recorded run started, to the clock's precision: its first decision's
    moment less the time the run had taken then (the event's stamp is to the millisecond,
    and a model planner's request tells the time left to a tenth of a second: a stamp a
    millisecond off may round the other way)."""
    for event in events:
        data = event.data
        if event.kind in STOPS:
            break
        if event.kind == "decided" and "now" in data and "elapsed" in data:
            return float(data["now"]) - float(data["elapsed"])
    return epoch(events[0].at)


STOPS = ("approval_required", "process_stopped", "run_finished", "run_resumed")
"""Events after which a replay that does not stop there keeps another time."""


def decision_moments(events: Sequence[Event]) -> list[Moment]:
    """Each recorded decision's moment, up to the first stop (`STOPS`)."""
    calls: dict[str, int] = {}
    before: list[tuple[str, ...]] = []
    moments: list[Moment] = []
    for event in events:
        data = event.data
        if event.kind in STOPS:
            break
        if event.kind == "action_finished" and not data.get("interrupted"):
            calls[data["capability"]] = calls.get(data["capability"], 0) + 1
        elif event.kind == "decided":
            llm = data.get("result", {}).get("solver", {}).get("llm") or {}
            requests = tuple(call["request"] for call in llm.get("calls", []))
            ended = epoch(event.at)
            started = float(data.get("now", ended))
            moments.append(Moment(dict(calls), tuple(before), requests, started, ended))
            before.append(requests)
    return moments
