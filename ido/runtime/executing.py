"""Performing a plan: its steps started as their waits are met, their ends recorded and checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ido.decision import Decision
from ido.model import format_duration
from ido.planner.types import Plan
from ido.planning_task import backoff
from ido.runtime import stopping
from ido.runtime.folds import RunState, fold_missing, missing_lesson
from ido.runtime.gating import Gating
from ido.runtime.outcomes import blocking, unknown_outcome
from ido.runtime.settling import Settling
from ido.runtime.triggers import changed, judged, missing_effects, over_limits, shown_early
from ido.state import State, apply_effects


def _over(deferred: dict[int, float], until: float) -> set[int]:
    """The deferred steps whose backoff is over by `until` (clock time)."""
    return {i for i, at in deferred.items() if at <= until}


class Executing(Settling, Gating):
    """Performs a decision's plan; a timed-out step is settled (`Settling`), a step a rule
    bars now is not started (`Gating`)."""

    def _execute(
        self, run: RunState, decision: Decision, state: State
    ) -> tuple[str | None, State, tuple[str, str] | None]:
        """Perform the plan, each step once those it waits for succeed; None when all did.

        Returns why to replan (None when every step succeeded), the last state observed,
        and what blocks the run instead: a timed-out step whose outcome a person must
        decide (`_timed_out`), or None.

        Steps whose waits are met start together and run side by side. A retry with a
        backoff is left unstarted until its wait is over (the steps in flight go on
        meanwhile), then held to its requirements and the rules as they stand then. The journal is
        written from this thread only: finishes are recorded as they come (in plan order
        when several end at once). Before more steps start, the state is observed again and
        checked (`ido.runtime.triggers`): declared effects that did not show, facts the plan
        relied on that moved, spend or time that leave the rest of the plan over a limit, a
        step whose requirements no longer hold. On any of these, or a failure, nothing new
        starts; the steps in flight finish, and the reason is returned.
        """
        assert decision.result.plan is not None
        plan = decision.result.plan
        steps, waits = plan.steps, plan.waits
        expected = dict(state)
        done: set[int] = set()
        checked: set[int] = set()
        started: set[int] = set()
        began: dict[int, float] = {}  # plan step → the run's elapsed seconds at its start
        reason: str | None = None
        executor = self.env.executor()
        running: dict[int, int] = {}  # journal step → plan step
        deferred: dict[int, float] = {}  # plan step → when its backoff is over (clock time)
        due: set[int] = set()  # deferred steps whose backoff is over
        asked: list[tuple[str, str]] = []  # steps whose outcome a person must decide
        try:
            while True:
                due |= {i for i, until in deferred.items() if until <= self.clock()}
                ready = [i for i in range(len(steps)) if i not in started and set(waits[i]) <= done]
                startable = [i for i in ready if i not in deferred or i in due]
                if startable and reason is None and started:
                    state = self._observe(run)
                    reason = self._check(run, decision, done, checked, expected, state, started)
                    checked |= done
                if startable and reason is None:
                    stopping.check()  # no new step once the process is being interrupted
                    # The first steps start on the snapshot their decision judged, under
                    # its policies: the rules are held to what moved since (observed, or
                    # a policy a scenario's world switched on).
                    policies = tuple(self.env.intent(run.intent).spec.policies)
                    observed_since = bool(started) or policies != run.judged_under
                    fresh = bool(started)  # observed just now
                    # Only steps in flight when the state was observed can have shown
                    # their work in it: not one started after, in this same batch.
                    flying = started - done
                    for i in startable:
                        name = steps[i].capability
                        if not self.env.starts_now(self.catalog.capabilities[name]):
                            # Not started here (a replay where the recording's process
                            # was killed): a step after it that the run did start, starts.
                            continue
                        wait = 0.0
                        if i in due and not fresh:
                            # The world moved on meanwhile: a vendor sanctioned during the
                            # backoff was paid on the decision's word from before it.
                            state, fresh, observed_since = self._observe(run), True, True
                            flying = started - done
                        # What steps in flight already did is the plan's own doing: a
                        # rule's reading that moved with it asks no approval again.
                        ahead = shown_early(expected, state, self._in_flight(plan, flying))
                        if i in due:
                            reason = self._may_start(run, steps[i], state, ahead, decision)
                        else:
                            reason = self._may_start(
                                run, steps[i], state, ahead, decision, observed_since
                            )
                            wait = backoff(run.intent, run.failures.get(name, 0))
                        if reason is None:
                            reason, left, at = self._too_late(run, name, wait)
                        if reason is not None:
                            break
                        if wait:
                            # Waited before its start is recorded (a crash meanwhile leaves
                            # no step in flight, where one would be "unknown" on resume),
                            # and held to the world as it is once the wait is over; steps
                            # in flight go on meanwhile.
                            deferred[i] = self.clock() + wait
                            continue
                        started.add(i)
                        if at is not None:  # read only under a deadline, the one it counts for
                            began[i] = at
                        ctx = self._start(run, steps[i], state, left=left, waited=i in due)
                        executor.submit(self.catalog.capabilities[ctx.capability], ctx)
                        running[ctx.step] = i
                waiting = [deferred[i] for i in ready if i in deferred and i not in due]
                until = min(waiting) if waiting and reason is None else None
                if not running and until is None:
                    if reason is None and done - checked:
                        state = self._observe(run)
                        reason = self._check(run, decision, done, checked, expected, state, started)
                    return reason, state, blocking(asked)
                self._flush_outcomes(run)
                if until is not None and not running:  # only a backoff to wait out
                    self.env.wait(max(0.0, until - self.clock()))
                    due |= _over(deferred, until)
                    continue
                ended = executor.next(None if until is None else max(0.0, until - self.clock()))
                if not ended:  # a backoff is over before any step in flight ended
                    assert until is not None
                    due |= _over(deferred, until)
                    continue
                for ctx, outcome in ended:
                    i = running.pop(ctx.step)
                    capability = self.catalog.capabilities[ctx.capability]
                    settled: str | None = None
                    if unknown_outcome(outcome, capability):
                        outcome, settled, ask = self._timed_out(run, ctx, outcome)
                        asked += [] if ask is None else [ask]
                    else:  # as recorded (a replayed call a crash cut short: so)
                        cut = "interrupted" if outcome.cut_short else None
                        outcome = self._finish(run, ctx, outcome, resumed=cut)
                    if outcome.ok:
                        done.add(i)
                        expected = apply_effects(expected, capability.spec.effects)
                        continue
                    # A timeout's error says it (`timed out after 30s`, `stopped at the
                    # deadline after 3s`): not "timed out: timed out after 30s".
                    said = outcome.error if outcome.timed_out else f"failed: {outcome.error}"
                    if settled is not None:
                        said = f"{said}; {settled}"
                    failed = f"step {ctx.step} {ctx.capability} {said}"
                    reason = failed if reason is None else f"{reason}; and {failed}"
                if reason is None:
                    limits = run.intent.spec.constraints
                    elapsed = run.elapsed(self.clock())
                    reason = over_limits(
                        plan,
                        done,
                        spent=run.spent,
                        elapsed=elapsed,
                        max_cost=limits.max_cost,
                        deadline=limits.deadline,
                        running_for={j: elapsed - began[j] for j in started - done if j in began},
                    )
        finally:
            executor.close()

    def _check(
        self,
        run: RunState,
        decision: Decision,
        done: set[int],
        checked: set[int],
        expected: State,
        state: State,
        started: set[int],
    ) -> str | None:
        """After an observation: did the steps done since the last check (`done` less
        `checked`) take effect, and does the plan hold?

        Every step whose effects did not show is recorded and learnt from, not only the
        first: two that ended together and both failed silently left the second unlearnt,
        and it was called again as if it had worked."""
        plan = decision.result.plan
        assert plan is not None
        fresh = done - checked
        silences: list[str] = []
        for i in sorted(fresh):
            name = plan.steps[i].capability
            effects = self.catalog.capabilities[name].spec.effects
            silent = missing_effects(name, effects, run.seen)
            if silent is not None:
                step = next((s for s, c in reversed(run.completed) if c == name), None)
                now = self.clock()
                success = run.succeeded_at.get(step) if step is not None else None
                data = {
                    "capability": name,
                    "step": step,
                    "reason": silent,
                    "learnt_at": now,
                    "overturns": success,
                }
                fold_missing(run, data)  # one more failure, as resume and replay count it
                self._learn(run, missing_lesson(data, now))  # as resume and replay learn it
                self._record(run, "effects_missing", data)
                silences.append(silent)
        if silences:
            return "; and ".join(silences)
        standing = judged(run.intent.spec.goal, self.catalog.capabilities, plan, done, started)
        expected = shown_early(expected, state, self._in_flight(plan, started - done))
        return changed(expected, state, decision.observed, standing)

    def _in_flight(self, plan: Plan, flying: set[int]) -> list[Mapping[str, Any]]:
        """The declared effects of the plan's steps `flying` (started, not ended)."""
        steps = plan.steps
        return [self.catalog.capabilities[steps[i].capability].spec.effects for i in flying]

    def _too_late(
        self, run: RunState, name: str, wait: float
    ) -> tuple[str | None, float | None, float | None]:
        """Why `name` may not start now (it would start, after its backoff `wait`, at or past
        the deadline), else None; the seconds the call may take before the deadline, and
        the run's elapsed seconds now (both None: no deadline)."""
        deadline = run.intent.spec.constraints.deadline
        if deadline is None:
            return None, None, None
        elapsed = run.elapsed(self.clock())
        left = deadline - elapsed - wait
        if left > 0:
            return None, left, elapsed
        # Past the deadline itself, no plan can help (one of steps believed to take no time
        # would be planned, and refused here, until max_replans): the run has failed.
        run.overdue = elapsed >= deadline
        after = f" after its {format_duration(wait)} backoff" if wait else ""
        why = (
            f"{format_duration(elapsed)} elapsed: {name} would start{after} past the "
            f"{format_duration(deadline)} deadline"
        )
        return why, left, elapsed
