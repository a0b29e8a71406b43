"""The local runtime: drives observe → decide → act → record in-process, journaling to SQLite."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, get_args

from ido.approval_asking import asks_approval
from ido.approval_verdicts import check_answered, expired, rejected
from ido.approvals import requests, verdicts
from ido.approved_plan import approved_plan, decide_approved
from ido.conditions import all_hold
from ido.decision import Decision
from ido.errors import IdoError, JournalError
from ido.health import Evidence, Lesson, with_lessons
from ido.journal.catalogs import RECORDED_AS
from ido.journal.records import made_calls, stamp
from ido.model import Intent
from ido.planner import Planner, get_planner
from ido.planning_words import Throttled, telling
from ido.policy import owners_of, rulebook
from ido.run_ends import no_plan_of
from ido.runtime import stopping
from ido.runtime.compensating import Compensating
from ido.runtime.core import Listener, Telemetry, new_run_id
from ido.runtime.executing import Executing
from ido.runtime.folds import RunState, fold_done, fold_model_calls, fold_undone
from ido.runtime.handover import HandedOver
from ido.runtime.outcomes import blocking, shadow_note
from ido.runtime.owners import carried, host
from ido.runtime.recovery import (
    AFTER_APPROVAL,
    AFTER_INTERRUPTION,
    NOT_REPLANS,
    STARTED,
    Recovered,
    recover,
)
from ido.runtime.undoing import to_undo_again
from ido.state import State

__all__ = ["Listener", "LocalRuntime", "RunOutcome", "RunReport", "Telemetry", "new_run_id"]


RunOutcome = Literal["achieved", "failed", "blocked", "shadow"]
"""How a run ended: `shadow` for an intent in shadow mode (planned, nothing performed)."""


def _outcome(word: str) -> RunOutcome:
    """`word` as a run's outcome: the runtime's parts end a run in words, checked here once
    (a report of another word would slip past a user's `match` on `RunOutcome`)."""
    for known in get_args(RunOutcome):
        if word == known:
            return known  # type: ignore[no-any-return]
    raise AssertionError(f"a run cannot end {word!r}")


@dataclass(frozen=True)
class RunReport:
    """How `LocalRuntime.run` and `resume` ended a run."""

    run_id: str
    outcome: RunOutcome
    reason: str | None
    cost: float
    duration: float
    found_no_plan: bool = False
    """A failed run that found no plan before any step started: the intent's constraints
    and policies admit none, and nothing was performed (`ido run` exits 4 for it, 1 for
    any other failure; `ido runs` says `no-plan`)."""


P = ParamSpec("P")
R = TypeVar("R")


def _alone(
    method: Callable[Concatenate[LocalRuntime, P], R],
) -> Callable[Concatenate[LocalRuntime, P], R]:
    """One run at a time on a runtime: a second one begun while the first goes on (on
    another thread, or from a listener) wrote its events into the first run's."""

    def alone(self: LocalRuntime, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not self.busy.acquire(blocking=False):
            which = f"run {self.carrying}" if self.carrying else "a run"
            raise IdoError(
                f"this LocalRuntime is carrying {which} already: it carries one run at a "
                "time; give each thread its own LocalRuntime (they may share one journal)"
            )
        self.carrying = None  # until the method names its run: a refusal named the last
        try:
            return method(self, *args, **kwargs)
        finally:
            self.busy.release()

    functools.update_wrapper(alone, method)  # its name and docstring, for help()
    return alone


class LocalRuntime(Executing, Compensating):
    """Runs one intent to an outcome in this process; every event is journaled first."""

    handover: Callable[[], bool] | None = None
    """Asked before each decision: True stops the run there (`HandedOver`), for its
    carrier to take it up elsewhere (`carry_on`). None: the run is never handed over."""

    @_alone
    def run(
        self,
        intent: Intent,
        context: Mapping[str, Any] | None = None,
        recorded_at: str | None = None,
    ) -> RunReport:
        """Pursue the intent until achieved, failed or blocked (or, in shadow mode, planned).

        `context` is recorded with the run's start (a scenario records itself there).
        `recorded_at`: this world's time, when the runtime's clock is another (a scenario's
        virtual one), for the journal to order and prune the run by.
        """
        planner = self.planner or self._planner(intent.spec.planner, intent)
        now = self.clock()
        run = RunState(self.new_id(now), intent, now, evidence=self._stored_beliefs())
        self.carrying = run.run_id
        with carried(run.run_id):  # from its start: no other runtime here takes it
            on_disk = self.journal.start_run(
                run.run_id,
                intent.name,
                stamp(now),
                {
                    "intent": intent.model_dump(mode="json", by_alias=True),
                    "planner": planner.name,
                    "process": host(),
                    "health": {n: e.to_json() for n, e in sorted(run.evidence.items())},
                    RECORDED_AS: self._declared,
                    **(context or {}),
                },
                recorded_at,
            )
            if on_disk:
                self._after_commit()
            else:  # on disk once the run's next write is
                self._uncounted = 1
            self._emit(run, "run_started", {"run_id": run.run_id, "intent": intent.name})
            return self._finish_run(run, planner, STARTED)

    @_alone
    def resume(self, run_id: str) -> RunReport:
        """Continue an interrupted run from its journal; completed steps are never redone.

        A step started without a recorded end is settled first (`_settle`): performed
        again under the same idempotency key when its capability is `idempotent`; else done
        when an observation shows its effects, interrupted when one shows they do not (the
        next decision plans from there), and when nothing observes them, left to a person:
        the run blocks until one approves repeating it or rejects it.
        """
        self.carrying = run_id
        row = self.journal.run(run_id)
        events = self.journal.events(run_id)
        now = self.clock()
        # A scenario's run is refused first (its world is not here): the refusal of an
        # unanswered one said to answer it with `ido approve`, which refuses it too.
        recovered = recover(row, events, self.catalog, self.env)
        asked, given = requests(events), verdicts(events)  # read once, for all below
        if row.outcome == "blocked":  # refused with nothing written, while nobody answered
            check_answered(run_id, asked, given, now)
        run = recovered.run
        rulebook(run.intent, self.catalog.policies)  # its policies must all be here, or stop
        for step in recovered.interrupted:  # and its steps in flight: before it is taken over
            self._still_here(run, step)
        # Read once: what the decision uses is what is recorded.
        planner, stored = self._taken_up(recovered)
        data: dict[str, Any] = {
            "after": "approval" if row.outcome == "blocked" else "interruption",
            "interrupted_steps": [i.step for i in recovered.interrupted],
            "process": host(),
            "health": {n: e.to_json() for n, e in sorted(stored.items())},
            "now": now,  # as read: `at` is stamped to the millisecond, and a replay resumes here
        }
        if recovered.blocked_at is not None:  # the wait for approval: not the deadline's
            waited = max(0.0, now - recovered.blocked_at)
            run.waited += waited
            data["waited"] = round(waited, 3)
        blocked = row.outcome == "blocked"
        said_no = (rejected(asked, given) or expired(asked, given, now)) if blocked else None
        if said_no is not None:  # not resumed: the "no" ends it, as the record says
            data["fails"] = said_no
        else:  # what runs is what was approved, while it still holds
            run.approved = approved_plan(events)
        # Only if nobody else took the run over since we read it (another `ido resume`, or
        # the runner): two processes must never carry on the same run.
        self.journal.take_over(run_id, events[-1].seq if events else 0, stamp(now), data)
        with carried(run_id):
            self._after_commit()
            stops = []
            try:  # taken over: from here, an error gives the run up (`_release`)
                self._emit(run, "run_resumed", data)
                for step in recovered.interrupted:
                    self._stop_left_running(run, step)
                    stop = self._settle(run, step, recovered.observed, given)
                    stops += [stop] if stop is not None else []
            except BaseException as exc:
                self._stopped(run, exc)
                raise
            trigger = AFTER_APPROVAL if row.outcome == "blocked" else AFTER_INTERRUPTION
            stops += [("failed", said_no)] if said_no is not None else []
            # A failure ends the run; else the steps a person must decide about block it (the
            # first named, the others counted, as a run words them); else a run that was
            # undoing its steps, having failed, goes on undoing them.
            failed = [s for s in stops if s[0] == "failed"]
            stop = failed[0] if failed else blocking(stops)
            said = recovered.compensating
            if said is not None and (stop is None or stop[0] == "failed"):  # failed already
                stop = ("failed", said if stop is None else f"{said}; then {stop[1]}")
            return self._finish_run(run, planner, trigger, stop)

    @_alone
    def carry_on(self, run_id: str, trigger: str) -> RunReport:
        """Take up a run handed over before a decision (`HandedOver`) as if it had never
        stopped: rebuilt from its journal, nothing recorded of the hand-over (no take-over,
        no `run_resumed`: its carrier fences its writes), its next decision made on
        `trigger`. A run that did not stop so (a step in flight) is a `JournalError`."""
        self.carrying = run_id
        row = self.journal.run(run_id)
        events = self.journal.events(run_id)
        recovered = recover(row, events, self.catalog, self.env, handed=True)
        if row.outcome is not None or recovered.interrupted:
            raise JournalError(f"run {run_id} was not handed over between decisions")
        run = recovered.run
        if trigger in (AFTER_APPROVAL, AFTER_INTERRUPTION):  # before resume's first decision:
            run.approved = approved_plan(events)  # it checks the plan approved, as resume set
        rulebook(run.intent, self.catalog.policies)  # its policies must all be here, or stop
        planner, _ = self._taken_up(recovered)
        with carried(run_id):
            return self._finish_run(run, planner, trigger)

    @_alone
    def compensate(self, run_id: str) -> RunReport:
        """Try again the compensations failed run `run_id` left undone (`to_undo_again`),
        newest step first, as the run undid its steps: held to the rules as they stand now,
        tried again while it safely may (`limits.max_compensation_attempts` afresh),
        journaled as the run's events. The run fails again with the reason it had, naming
        what is still left undone."""
        self.carrying = run_id
        row = self.journal.run(run_id)
        events = self.journal.events(run_id)
        left = to_undo_again(row, events)
        recovered = recover(row, events, self.catalog, self.env, again=True)
        run = recovered.run
        rulebook(run.intent, self.catalog.policies)  # its policies must all be here, or stop
        planner, stored = self._taken_up(recovered)
        now = self.clock()
        data: dict[str, Any] = {
            "after": "compensate",
            "compensate": [[d["undoes_step"], d["undoes"]] for d in left],
            "interrupted_steps": [],
            "process": host(),
            "health": {n: e.to_json() for n, e in sorted(stored.items())},
            "now": now,
        }
        self.journal.take_over(run_id, events[-1].seq, stamp(now), data)
        with carried(run_id):
            self._after_commit()
            run.completed = fold_done(run.completed, run.undoing, "run_resumed", data)
            run.left_undone = fold_undone(run.left_undone, "run_resumed", data)
            try:
                self._emit(run, "run_resumed", data)
            except BaseException as exc:
                self._stopped(run, exc)
                raise
            failed = str(left[0].get("reason") or row.reason)  # as the run failed, before undoing
            return self._finish_run(run, planner, AFTER_INTERRUPTION, ("failed", failed))

    def _taken_up(self, recovered: Recovered) -> tuple[Planner, dict[str, Evidence]]:
        """The planner a run rebuilt from its journal goes on with, its beliefs set (those
        stored now, with its own lessons on top); and the stored ones, read once."""
        run = recovered.run
        stored = self._stored_beliefs()
        run.evidence = with_lessons(stored, recovered.lessons)
        run.lessons = list(recovered.lessons)
        return self.planner or self._planner(recovered.planner, run.intent), stored

    def _stored_beliefs(self) -> dict[str, Evidence]:
        """The journal's health beliefs a run here starts from: none in a simulated world,
        which must not take up the real ones (`Environment.shares_beliefs`)."""
        return self.journal.health() if self.env.shares_beliefs else {}

    def _planner(self, name: str, intent: Intent) -> Planner:
        """The planner by name; the model planners get the intent's settings and keep
        their answers in the journal (a request made before is not made again)."""
        return get_planner(name, settings=intent.spec.llm, cache=self.journal)

    def _finish_run(
        self,
        run: RunState,
        planner: Planner,
        trigger: str,
        stop: tuple[str, str] | None = None,
    ) -> RunReport:
        """Run the loop from `trigger` to an outcome; or end the run at once with `stop`
        (an outcome and its reason)."""
        try:
            outcome, reason = stop if stop is not None else self._loop(run, planner, trigger)
        except JournalError as exc:  # the record failed, not the run: nothing is undone
            self._stopped(run, exc)
            raise
        except IdoError as exc:
            outcome, reason = "failed", str(exc)
        except BaseException as exc:  # Ctrl-C, a listener's broken pipe, a bug: the run stops
            self._stopped(run, exc)
            raise
        try:
            return self._end(run, _outcome(outcome), reason)
        except JournalError as exc:  # recording the end failed: left for ido resume
            self._stopped(run, exc)
            raise

    def _end(self, run: RunState, outcome: RunOutcome, reason: str | None) -> RunReport:
        """Undo the run's steps if it failed and should, and record how it ended."""
        if outcome == "failed":  # a call the deadline cut off may have been done: say so
            told = [note for note in run.unknown if note not in str(reason)]
            reason = "; ".join([str(reason), *told]) if told else reason
        if outcome == "failed" and run.intent.spec.on_failure == "compensate":
            try:
                waiting = self._compensate(run, reason)
            except JournalError:  # (`_finish_run` gives the run up on it)
                raise
            except BaseException as exc:  # as the loop's: Ctrl-C, a listener's broken pipe
                self._stopped(run, exc)
                raise
            budget = run.intent.spec.constraints.max_cost
            if waiting is not None:  # failed, and blocked until a person lets it undo
                outcome, reason = "blocked", f"{reason}; {waiting}"
            elif budget is not None and run.spent > budget and run.undo_cost > 0:
                # Undoing is not held to the budget (a refund must not wait on it): say so,
                # counting every compensation, those done before an interruption too.
                reason = (
                    f"{reason}; undoing its steps cost {run.undo_cost:.2f} more, "
                    f"{run.spent:.2f} in all, over max_cost {budget:.2f}"
                )
            if waiting is None and run.left_undone:  # a booking left standing is no footnote
                reason = "; ".join([str(reason), *run.left_undone])
        # Beliefs are kept for later runs once per run, not per step: after a crash, resume
        # learns the lost outcomes again from the journal's action_finished events.
        end = self.clock()
        self.journal.finish_run(
            run.run_id,
            outcome,
            reason,
            run.spent,
            end - run.started,
            stamp(end),
            events=self._pending,
            lessons=run.lessons if self.env.shares_beliefs else (),
        )
        run.lessons = []
        self._after_commit(len(self._pending) + 1)
        self._pending = []
        no_plan = no_plan_of(outcome, functools.partial(self.journal.ending, run.run_id))
        report = RunReport(run.run_id, outcome, reason, run.spent, end - run.started, no_plan)
        self._emit(run, "run_finished", report.__dict__)
        return report

    def _loop(self, run: RunState, planner: Planner, trigger: str) -> tuple[str, str | None]:
        limits = run.intent.spec.limits
        while True:
            stopping.check()
            if self.handover is not None and self.handover():
                self._flush(run)  # all of it held where the run is taken up
                raise HandedOver(trigger)
            state = self._observe(run)
            if trigger not in NOT_REPLANS:
                if run.replans >= limits.max_replans:
                    return "failed", f"gave up after {limits.max_replans} replans; last: {trigger}"
                run.replans += 1
            decision = self._decide(run, planner, state, trigger)
            result = decision.result
            if result.status == "satisfied":
                return "achieved", None
            if result.status == "infeasible" or result.plan is None:
                return "failed", result.reason
            if run.intent.spec.mode == "shadow":
                return "shadow", "mode shadow: planned and recorded, nothing performed" + (
                    shadow_note(decision)
                )
            stop = self._gate(run, decision)
            if stop is not None:
                return stop
            replan, state, blocked = self._execute(run, decision, state)
            if blocked is not None:  # a step's outcome is unknown: a person decides first
                return blocked
            if replan is not None and run.overdue:  # no step may start any more
                return "failed", replan
            if replan is not None:
                trigger = replan
                continue
            if self._goal_holds(run.intent, state):
                return "achieved", None
            trigger = "plan completed but the goal does not hold"

    def _decide(self, run: RunState, planner: Planner, state: State, trigger: str) -> Decision:
        self._flush_outcomes(run)
        run.decisions += 1
        self.env.deciding()
        now = self.clock()
        started = time.perf_counter()
        intent = self.env.intent(run.intent)
        run.judged_under = tuple(intent.spec.policies)
        listener = self._planning(run)
        approved, run.approved = run.approved, None  # checked by the first decision alone
        with telling(listener):
            decision = decide_approved(
                intent,
                self.catalog,
                state,
                self._history(run, now),
                planner,
                approved,
                number=run.decisions,
                trigger=trigger,
            )
        # With the state just observed, these are every input of the decision: replay
        # re-decides from them (`ido.replay`).
        # Every policy in force (enforced ones too), so replay applies exactly these.
        named = rulebook(intent, self.catalog.policies).policies
        inputs = {
            "now": now,
            "policies": named,
            "policy_digests": {n: self._digests[n] for n in named if n in self._digests},
            **(
                {"policy_owners": owners}
                if (owners := owners_of(named, self.catalog.policies))
                else {}
            ),
            "unbound": sorted(self._unbound),
            **({"unresolved": self._unresolved} if self._unresolved else {}),
        }
        if asks_approval(decision, intent.spec.mode):  # what an approval of it is given for
            assert decision.result.plan is not None
            inputs["capability_digests"] = {
                n: self._spec_digests[n]
                for n in dict.fromkeys(decision.result.plan.capabilities)
                if n in self._spec_digests
            }
        took = time.perf_counter() - started
        # Replies a model was paid for are committed now, with the decision and into the
        # answer cache at once: a crash must not lose what was spent, nor leave a cached
        # answer whose cost no decision records.
        paid = {
            call["request"]: call["reply"]
            for call in (decision.result.solver.get("llm") or {}).get("calls", [])
            if not call["cached"] and call["reply"].get("error") is None
        }
        data = {**decision.to_json(), **inputs}
        self._record(run, "decided", data, durable=bool(paid), took=took, replies=paid)
        self._count_model(run, decision)
        self.env.decided(decision.result.solver.get("llm"))
        return decision

    def _planning(self, run: RunState) -> Throttled | None:
        """For the listener, word from a decision that plans for more than a second
        (`ido.planner.progress`): not journaled, as it says nothing the decision does not."""
        listener = self.listener
        if listener is None:
            return None
        decision = run.decisions
        return Throttled(
            lambda data: listener("planning", {**data, "run_id": run.run_id, "decision": decision})
        )

    def _count_model(self, run: RunState, decision: Decision) -> None:
        """A model's answers cost money, counted against the budget like any step, and
        its failures are health evidence about `llm:MODEL`, like a provider's."""
        record = decision.result.solver.get("llm")
        if not record:
            return
        run.spent += float(record.get("cost") or 0.0)
        fold_model_calls(run, record)
        now = self.clock()
        for call in made_calls(record):  # (one not made says nothing of the model)
            if call.get("cached"):
                continue
            reply = call["reply"]
            seconds = None if reply.get("error") else reply.get("seconds")
            ok = reply.get("error") is None
            self._learn(run, Lesson(f"llm:{record['model']}", ok, seconds, now))

    @staticmethod
    def _goal_holds(intent: Intent, state: State) -> bool:
        return all_hold(intent.spec.goal, state)
