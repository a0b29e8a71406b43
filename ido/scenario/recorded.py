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

The world is here (`RecordedWorld`); what the journal tells it is `ido.scenario.recording`,
the observers' moves `ido.scenario.moves`, and the comparison the replay reports
`ido.scenario.counterfactual`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ido.health import believe
from ido.journal.records import Event, epoch, model_calls
from ido.loading.catalog import Catalog
from ido.model import Capability, Scenario
from ido.runtime.bindings import Outcome
from ido.scenario.moves import WAIT, Moved, _reported, moved_after_calls, reported_paths
from ido.scenario.recording import (
    Moment,
    Recorded,
    call_ends,
    decision_moments,
    learnt_evidence,
    recorded_calls,
    started_at,
)
from ido.scenario.world import SimulatedWorld, timed_out_call

_EMPTY_SCENARIO = {
    "apiVersion": "ido/v1",
    "kind": "Scenario",
    "metadata": {"name": "recorded"},
    "spec": {"intent": "recorded"},
}


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
        self._reports = reported_paths(events, ends) if scenario is None else None
        self._reported: set[str] | None = None
        """The fact paths the world reports now: those the recording's observers had
        reported by the same point (the same calls and waits made); None: all."""
        if self._reports is not None:
            self._reported = set(self._reports.at_start)
        self._reporting: dict[int, tuple[str, int]] = {}  # id of a call's outcome → the call
        self._cut_in_flight: set[int] = set()
        """Ids of the outcomes of calls in flight that the recording's process was killed
        in (`Recorded.killed_in`), until they end."""

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
            if history[n].killed_in:
                self._cut_in_flight.add(id(answer[0]))
            self._reporting[id(answer[0])] = (name, n)
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

    def starts_now(self, capability: Capability) -> bool:
        """While a call the recording's process was killed in is in flight, only a step
        whose call was in flight at that kill too starts (however its resume settled it:
        found not done, made again, done by its effects): the recording never started the
        others before it (parallel steps, one started and the next not yet), and its resume
        decided afresh. Started here, they were done before that decision, which then
        planned without them: "decision 2 changes" where nothing had."""
        if not self._cut_in_flight:
            return True
        n = self._replayed.get(capability.name, 0)
        history = self.recorded.get(capability.name, [])
        return n < len(history) and history[n].killed_in

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
        if r.interrupted and not r.cut:  # found not done on resume: no news of its provider
            return Outcome(False, error=r.error, cut_short=True), 0.0, False
        if r.interrupted:
            # Cut short by an interruption, a person asked: its outcome unknown here too,
            # where the recording met it (the time up to the request, the crash's downtime
            # in it, as the run's clock counted it). Not held to this call's time: that
            # downtime is no call's, and past a deadline the resume asked all the same.
            # An approved repeat cut short again is settled as the run settled it.
            return (
                Outcome(
                    False, error=r.error, timed_out=True, duration=r.duration, cut_short=r.again
                ),
                r.duration,
                False,
            )
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
        self._report((WAIT, n))
        moved = self.moved.pop((WAIT, n), None)
        if moved is not None:
            self.truth = moved.applied_to(self.truth)

    def _report(self, after: tuple[str, int]) -> None:
        """From now on, the world reports too what the recording's observers first
        reported after the same call or wait (`after`)."""
        if self._reported is not None and self._reports is not None:
            self._reported |= self._reports.after.get(after, frozenset())

    def _settle(self, capability: Capability, outcome: Outcome, applies: bool) -> None:
        """As the world does, and then as the recording's observers saw it move after the
        same call (`moved`)."""
        super()._settle(capability, outcome, applies)
        self._cut_in_flight.discard(id(outcome))
        call = self._reporting.pop(id(outcome), None)
        if call is not None:
            self._report(call)
        entry = self._moving.pop(id(outcome), None)
        if entry is not None:  # (held with its outcome: the id is no other's meanwhile)
            self.truth = entry[1].applied_to(self.truth)
