"""Counterfactual replay: the world a recorded run met, replayed under changed inputs.

The run is done again with another catalog, other policies or another intent. Each call
the new run makes gets the outcome the recorded run had for the same capability's same
call (its n-th call gets the n-th recorded outcome: success or the error, the duration,
the output, whether its effects showed). A call the recorded run never made has no
recorded outcome: it comes from the scenario's world model when the run was a scenario's,
otherwise it succeeds as declared, taking the latency learnt of its capability (or the
declared one, with nothing learnt), and is listed as *unknown*, and the comparison says so.
The world starts from the state first observed in the recording. What its observers
reported beyond the calls' declared effects (a file a call wrote that an observer reads, a
fact that moved on its own) is part of the call it was first seen after: when the replay
makes that same call, the world moves so too; what it reported on resuming after a wait
for approval moves the world when the replay resumes after that wait. What followed calls
(or waits) the replay does not make is listed (`Counterfactual.unreplayed`), not guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ido.approvals import UNKNOWN_RULE
from ido.health import Evidence, believe, with_lessons
from ido.journal.records import Event, epoch, model_calls
from ido.loading.catalog import Catalog
from ido.model import Capability, Scenario
from ido.runtime.bindings import Outcome
from ido.runtime.recovery import lesson_of
from ido.scenario.world import SimulatedWorld, timed_out_call
from ido.state import State, apply_effects, delete_path, flatten

_EMPTY_SCENARIO = {
    "apiVersion": "ido/v1",
    "kind": "Scenario",
    "metadata": {"name": "recorded"},
    "spec": {"intent": "recorded"},
}


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
    of a capability that is not idempotent that timed out, whose effects nothing observed,
    ended in the request to a person (`resume/outcome-unknown` with its `cause`): its step
    has no end of its own, and what settled it on resume (a rejection, its effects seen) is
    no call, as the approved repeat is. A call an interruption cut short is no news of its
    provider, and is left out."""
    ends: list[int] = []
    asked: set[int] = set()  # steps whose timed-out call waited for a person
    for n, event in enumerate(events):
        data = event.data
        if event.kind == "approval_required" and _timed_out_asked(data):
            asked.add(data["step"])
            ends.append(n)
        elif event.kind != "action_finished" or data.get("interrupted"):
            continue
        elif data["step"] not in asked or data.get("resumed") == "approved":
            ends.append(n)
    return ends


def _timed_out_asked(request: Mapping[str, Any]) -> bool:
    """Whether a request asks a person about a plan's step whose call timed out."""
    return (
        request.get("rule") == UNKNOWN_RULE
        and request.get("cause") is not None
        and "undoes_step" not in request
    )


def recorded_calls(
    events: Sequence[Event], ends: Sequence[int] | None = None
) -> dict[str, list[Recorded]]:
    """Per capability, the outcomes of its calls in the recording, in order. `ends`: the
    recording's `call_ends`, when the caller has them."""
    missing = {e.data["step"] for e in events if e.kind == "effects_missing"}
    started = {e.data["step"]: epoch(e.at) for e in events if e.kind == "action_started"}
    calls: dict[str, list[Recorded]] = {}
    for n in call_ends(events) if ends is None else ends:
        event = events[n]
        data = event.data
        if event.kind == "approval_required":  # timed out: about its timeout, to the ms
            took = max(0.0, epoch(event.at) - started.get(data["step"], epoch(event.at)))
            timed_out = Recorded(False, data["cause"], True, took, None, False, cut=True)
            calls.setdefault(data["capability"], []).append(timed_out)
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


@dataclass(frozen=True)
class Moved:
    """What an observation showed beyond the declared effects of the calls before it."""

    facts: dict[str, Any]
    """Fact paths set, with their new values."""
    gone: tuple[str, ...]
    """Fact paths no longer there."""

    def then(self, later: Moved) -> Moved:
        """This, then `later`: the last word on each path stands."""
        facts = {p: v for p, v in self.facts.items() if p not in later.gone} | later.facts
        gone = tuple(p for p in self.gone if p not in later.facts and p not in later.gone)
        return Moved(facts, gone + later.gone)

    def applied_to(self, state: State) -> State:
        out = apply_effects(state, self.facts)
        for path in self.gone:
            delete_path(out, path)
        return out


WAIT = ""
"""The capability name `moved_after_calls` files a wait for approval under: (WAIT, n) is
the run's n-th resume after an approval (0 the first)."""


def moved_after_calls(
    events: Sequence[Event], catalog: Catalog, ends: Sequence[int] | None = None
) -> dict[tuple[str, int], Moved]:
    """Per call (capability, its n-th call as `recorded_calls` counts), what the next
    observation showed that the calls finished since the one before do not account for
    (their recorded effects and outputs); per wait for approval ((`WAIT`, n)), what the
    observation on resuming after it showed moved while the run waited (a provider that got
    busy meanwhile). Changes seen before any call or wait are the start's: none here. Facts
    a step still in flight may set are left out: an observation can show
    them before the step's end is recorded (steps side by side; a step a resume settles by
    observing its effects), and they are that step's, not the call before it. `ends`: the
    recording's `call_ends`, when the caller has them."""
    missing = {e.data["step"] for e in events if e.kind == "effects_missing"}
    expected: State | None = None
    counted: dict[str, int] = {}
    last: tuple[str, int] | None = None
    flying: dict[int, set[str]] = {}  # step started, its end not recorded → paths it sets
    found: dict[tuple[str, int], Moved] = {}
    ended = set(call_ends(events) if ends is None else ends)
    for n, event in enumerate(events):
        data = event.data
        if event.kind == "run_resumed" and data.get("after") == "approval":
            last = (WAIT, counted.get(WAIT, 0))
            counted[WAIT] = last[1] + 1
        elif event.kind == "action_started":
            flying[data["step"]] = _sets(catalog.capabilities.get(data["capability"]))
        elif event.kind in ("action_finished", "approval_required"):
            if event.kind == "action_finished":
                flying.pop(data["step"], None)
            if n not in ended:
                continue
            name = data["capability"]
            last = (name, counted.get(name, 0))
            counted[name] = last[1] + 1
            if expected is not None and data.get("ok") and data["step"] not in missing:
                expected = _after(expected, data, catalog.capabilities.get(name))
        elif event.kind == "observed":
            seen: State = data["state"]
            if expected is not None and last is not None:
                moved = _moved(expected, seen, set().union(*flying.values()))
                if moved is not None:
                    found[last] = found[last].then(moved) if last in found else moved
            expected = seen
    return found


def _sets(capability: Capability | None) -> set[str]:
    """The fact paths a call of `capability` sets: its effects and its output's path."""
    if capability is None:
        return set()
    output = {capability.spec.output} if capability.spec.output else set()
    return set(capability.spec.effects) | output


def _after(expected: State, finished: dict[str, Any], capability: Capability | None) -> State:
    """`expected` once the call `finished` records succeeded: its effects as recorded (the
    catalog's, for a journal that did not record them) and its output at its path."""
    effects = finished.get("effects", capability.spec.effects if capability else {})
    out = apply_effects(expected, effects)
    if finished.get("output_path") and finished.get("output") is not None:
        out = apply_effects(out, {finished["output_path"]: finished["output"]})
    return out


def _moved(expected: State, seen: State, unsure: set[str]) -> Moved | None:
    """What `seen` holds otherwise than `expected`, but under the `unsure` paths."""

    def counts(path: str) -> bool:
        return not any(path == u or path.startswith(u + ".") for u in unsure)

    now, before = flatten(seen), flatten(expected)
    facts = {p: v for p, v in now.items() if (p not in before or before[p] != v) and counts(p)}
    gone = tuple(p for p in before if p not in now and counts(p))
    return Moved(facts, gone) if facts or gone else None


def reported_paths(events: Sequence[Event]) -> frozenset[str] | None:
    """The fact paths the recording's observers reported (none, for an intent with no
    observers): a real run knew only those and what its steps did, so a replay's world
    reports no more. Told every fact, a replay settled a timed-out call by its effects
    where the run could not, and went on where the run had asked a person. None when the
    journal does not say (written before observations kept their reports): the whole world
    is reported then, as it was."""
    pursued = (events[0].data.get("intent") or {}) if events else {}
    if not (pursued.get("spec") or {}).get("observers"):
        return frozenset()
    paths: set[str] = set()
    kept = False
    for event in events:
        data = event.data
        if event.kind == "observer_failed":
            kept = kept or "observer" in data  # (kept apart from its reason since reports)
        elif event.kind == "observed":
            kept = kept or "reports" in data or "unchanged" in data
            for report in (data.get("reports") or {}).values():
                paths.update(flatten(report))
    return frozenset(paths) if kept else None


def _reported(facts: State, paths: frozenset[str]) -> State:
    """The part of `facts` at `paths` (or under them)."""

    def kept(path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:n]) in paths for n in range(1, len(parts) + 1))

    return apply_effects({}, {p: v for p, v in flatten(facts).items() if kept(p)})


class AsRecorded:
    """The environment as a recorded run's first decision found it (`unresolved`, capability
    → (NAME, "not set" or "empty")): those variables are unset or empty, every other one is
    set (to a value never used: a replay calls nothing). An `Environ`, looked up by name:
    no Mapping, as it cannot list the variables it says are set (as one, it had none, and
    yet answered for every name)."""

    def __init__(self, unresolved: Mapping[str, Sequence[str]]) -> None:
        self._lacking = {name: lacking for name, lacking in unresolved.values()}

    def __contains__(self, name: object) -> bool:
        return self._lacking.get(name) != "not set" if isinstance(name, str) else False

    def __getitem__(self, name: str) -> str:
        if name not in self:
            raise KeyError(name)
        return "" if name in self._lacking else "set"


class RecordedWorld(SimulatedWorld):
    """A SimulatedWorld whose calls answer from a recording first."""

    def __init__(
        self,
        events: Sequence[Event],
        catalog: Catalog,
        scenario: Scenario | None = None,
    ) -> None:
        first: dict[str, Any] = next((e.data["state"] for e in events if e.kind == "observed"), {})
        start = started_at(events) if scenario is None else epoch(events[0].at)
        model = scenario or Scenario.model_validate(_EMPTY_SCENARIO)
        super().__init__(model, catalog, first, start=start)
        ends = call_ends(events)  # (read once: the calls' outcomes and the world's moves)
        self.recorded = recorded_calls(events, ends)
        """What the recording's calls returned, per capability, in call order."""
        # A real run's world runs bindings: what it could not perform, its replay does not
        # plan either (else the replay differs for that alone).
        self.runs_bindings = scenario is None
        # Nor what it could not call for want of a secret: its environment as it found it.
        decided = next((e.data for e in events if e.kind == "decided"), {})
        self.environ = AsRecorded(decided.get("unresolved", {})) if scenario is None else None
        # Beliefs come from the replay's own journal, which holds the recording's at its
        # start (a real run's; a scenario run started from none): planned from declared
        # reliabilities instead, a run that had learnt from failures replayed differently.
        self.shares_beliefs = True
        self._replayed: dict[str, int] = {}
        self.unknown: list[str] = []
        """Capabilities (one entry per call) whose outcome the recording did not have."""
        self._learnt = learnt_evidence(events)
        self.timed: dict[str, list[tuple[float, bool]]] = {}
        """Per capability in `unknown`, each such call's latency and whether it was learnt
        (else declared: nothing learnt of it)."""
        # A scenario's world moves by its own faults, on its clock: nothing to carry over.
        self.moved = moved_after_calls(events, catalog, ends) if scenario is None else {}
        """What the world did beyond declared effects, per recorded call; a call the
        replay makes takes its entry out (what is left: calls the replay did not make)."""
        self._moving: dict[int, tuple[Outcome, Moved]] = {}  # by id of the call's outcome
        self._moments = decision_moments(events)
        self._made: list[tuple[str, ...]] = []
        """The model requests of each decision the replay made."""
        self.counted_asking = False
        """Whether the clock counted time a decision took asking a model."""
        # A scenario's world is observed whole, as its run observed it.
        self._reported = reported_paths(events) if scenario is None else None

    def observations(self) -> list[Mapping[str, Any]]:
        """What the world reports: of a real run's world, only what its observers did."""
        facts = super().observations()
        if self._reported is None:
            return facts
        return [_reported(dict(f), self._reported) for f in facts]

    def _draw(
        self, capability: Capability, at: float, timeout: float | None = None
    ) -> tuple[Outcome, float, bool]:
        name = capability.name
        n = self._replayed.get(name, 0)
        self._replayed[name] = n + 1
        history = self.recorded.get(name, [])
        if n < len(history):
            # Drawn as the scenario would have, and then answered from the recording: the
            # draw counts the call and uses up the scripted failures it met, so the first
            # call past the recording is the world's next, not its first again.
            super()._draw(capability, at, timeout)
            answer = self._answer(history[n], timeout)
            moved = self.moved.pop((name, n), None)  # the same call: the world moves so too
            if moved is not None:
                self._moving[id(answer[0])] = (answer[0], moved)
            return answer
        if self.spec.world.capabilities or self.spec.faults:
            return super()._draw(capability, at, timeout)  # the scenario's own model
        self.unknown.append(name)
        latency, from_history = self._latency(capability, at)
        self.timed.setdefault(name, []).append((latency, from_history))
        if timeout is not None and latency > timeout:
            return timed_out_call(timeout), timeout, False
        return Outcome(True, duration=latency), latency, True

    def _latency(self, capability: Capability, at: float) -> tuple[float, bool]:
        """How long a call the recording did not make takes: the latency the planner
        estimates from what was learnt of the capability (its history and the recording's
        own calls of it), or its declared one when nothing was; and whether learnt."""
        evidence = self._learnt.get(capability.name)
        spec = capability.spec
        if evidence is None or evidence.latency is None:
            return spec.latency, False
        return believe(spec.reliability, spec.latency, evidence, at).latency, True

    def deciding(self) -> None:
        """Replaying a real run, a decision made where the recording made one (the same
        calls ended, the same model requests before it) starts when that one did: a model
        planner's request tells the time left, which the recording's clock counted from
        the time deciding took too, whatever the world's calls took."""
        moment = self._in_step()
        if moment is not None:
            self.clock.advance_to(moment.started)

    def decided(self, llm: Mapping[str, Any] | None) -> None:
        """A real run's clock moved while its model was asked: replaying one, the clock
        moves as the recording's did (it skipped that time, and the next request told
        another time left than the recording's, found no recorded answer, and the solver
        decided). A decision that made the recorded one's requests ends when that one
        did (the first model call of a process imports litellm, outside the call's own
        time); any other takes its calls' recorded time. A scenario's clock did not move:
        nor does its replay's."""
        requests = tuple(call["request"] for call in (llm or {}).get("calls", []))
        moment = self._in_step()
        self._made.append(requests)
        if not self.runs_bindings:
            return
        before = self.clock.now
        if moment is not None and moment.requests == requests:
            self.clock.advance_to(moment.ended)
        else:
            self.clock.sleep(model_calls(llm)[1])
        self.counted_asking = self.counted_asking or (bool(requests) and self.clock.now > before)

    def _in_step(self) -> Moment | None:
        """The recorded decision the next one is made where, if any (a real run's)."""
        k = len(self._made)
        if not self.runs_bindings or k >= len(self._moments):
            return None
        moment = self._moments[k]
        same = moment.calls == self._replayed and moment.before == tuple(self._made)
        return moment if same else None

    @staticmethod
    def _answer(r: Recorded, timeout: float | None) -> tuple[Outcome, float, bool]:
        """A recorded call's outcome, latency and whether its effects apply, given the
        time this call may take."""
        if r.cut:
            # It ran out of its time with its outcome unknown (the run's deadline stopped it,
            # or its own timeout did and a person was asked whether to make it again): how
            # it would have ended is not known, so it runs out of the time it is given here.
            limit = r.duration if timeout is None else timeout
            return timed_out_call(limit), limit, False
        if timeout is not None and r.duration > timeout:  # this run's deadline is nearer
            return timed_out_call(timeout), timeout, False
        outcome = Outcome(r.ok, r.output, r.error, r.timed_out, r.duration)
        return outcome, r.duration, r.ok and r.applies

    def resumed(self, n: int) -> None:
        """The replay resumes after its `n`-th wait for approval (0 the first), where the
        recording resumed: the world moves as the recording's observers saw it move during
        that wait."""
        moved = self.moved.pop((WAIT, n), None)
        if moved is not None:
            self.truth = moved.applied_to(self.truth)

    def _settle(self, capability: Capability, outcome: Outcome, applies: bool) -> None:
        """As the world does, and then as the recording's observers saw it move after the
        same call (`moved`)."""
        super()._settle(capability, outcome, applies)
        entry = self._moving.pop(id(outcome), None)
        if entry is not None:  # (held with its outcome: the id is no other's meanwhile)
            self.truth = entry[1].applied_to(self.truth)


@dataclass(frozen=True)
class Changed:
    """One decision compared: the recorded one, and the one made under the changed inputs."""

    number: int
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None

    @property
    def approvals(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Approvals (`rule for capability`) the recorded decision stopped for that the
        replayed one does not ask, and those it asks that the recorded one did not: the same
        plan that waited for a person, or now waits, is not the same choice."""
        if self.recorded is None or self.replayed is None:
            return (), ()
        before, after = _asked(self.recorded), _asked(self.replayed)
        return tuple(a for a in before if a not in after), tuple(
            a for a in after if a not in before
        )


@dataclass(frozen=True)
class Unreplayed:
    """Facts the recording's observers saw move that the replay did not make: after a call
    (`capability`'s `n`-th, from 1), or while the run waited for approval (its `n`-th wait,
    `capability` being `WAIT`). Its kind is data: the replay's summary told calls from
    waits by searching these words for "while it waited for approval"."""

    facts: tuple[str, ...]
    capability: str
    n: int

    @property
    def kind(self) -> str:
        """What the replay did not make that the move followed: `call` or `wait`."""
        return "wait" if self.capability == WAIT else "call"

    def __str__(self) -> str:
        """`x.hold, after prep's call 1`; `load.busy, while it waited for approval 1`."""
        if self.kind == "wait":
            return f"{', '.join(self.facts)}, while it waited for approval {self.n}"
        return f"{', '.join(self.facts)}, after {self.capability}'s call {self.n}"


@dataclass(frozen=True)
class Counterfactual:
    recorded_outcome: str | None
    outcome: str
    reason: str | None
    recorded_cost: float
    cost: float
    recorded_time: float | None
    time: float
    decisions: tuple[Changed, ...]
    unknown: tuple[str, ...]
    """The calls the replay made whose outcome the recording does not have, in words that
    follow "the recording" (`never called pay-us`, `never made do-a's call 2 (…)`)."""
    left_out: int = 0
    """Recorded decisions made on resuming that went on with the plan before them (the
    replay, not stopping there, has none: `ido.replay._compared`)."""
    unreplayed: tuple[Unreplayed, ...] = ()
    """Facts the recording's observers saw move after calls, or during waits for approval,
    the replay did not make (`str` of each: "x.hold, after prep's call 1", "load.busy,
    while it waited for approval 1"): the replay's world did not move so."""
    virtual: bool = False
    """Whether the recorded run's time is virtual too (it ran in a scenario's world)."""
    asked: bool = False
    """Whether the replay's clock counted time its decisions took asking a model."""
    waited: bool = False
    """Whether the replay's clock counted a wait for approval (it resumed where the
    recording resumed, when it did)."""

    @property
    def changed(self) -> tuple[Changed, ...]:
        return tuple(d for d in self.decisions if _choice(d.recorded) != _choice(d.replayed))


def _asked(decision: dict[str, Any]) -> list[str]:
    """The approvals the run stopped for after a decision (`asked`, `ido.replay._compared`),
    as `rule for capability`."""
    return list(decision.get("asked", ()))


def _choice(decision: dict[str, Any] | None) -> Any:
    if decision is None:
        return None
    result = decision["result"]
    plan = result.get("plan") or {}
    steps = tuple(s["capability"] for s in plan.get("steps", []))
    if result["status"] != "infeasible":
        return result["status"], steps, None
    # What stood in the way, not the words: they quote what is left of a deadline, wall
    # time when recorded and virtual time in the replay.
    return (
        result["status"],
        steps,
        (tuple(result.get("blocking", ())), tuple(result.get("conflict", ()))),
    )
