"""A step's call as the local runtime makes it: its identity, its start and its end, recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ido.health import Lesson
from ido.planner.types import Step
from ido.planning_task import backoff
from ido.runtime.bindings import Outcome
from ido.runtime.context import ActionContext
from ido.runtime.core import RuntimeCore
from ido.runtime.folds import RunState, fold_finish, learnt, tells_of_provider
from ido.runtime.outcomes import as_recorded
from ido.runtime.tracecontext import perform_place, traceparent
from ido.state import State


class Stepping(RuntimeCore):
    """A step's context, and the records of its start and end (a plan's, a compensation's)."""

    def _context(
        self,
        run: RunState,
        name: str,
        step: int,
        attempt: int,
        state: State,
        resumed: bool = False,
    ) -> ActionContext:
        """The call's identity: the idempotency key is the same whenever step and attempt are.
        `resumed`: a step settled on resume, whose span is its own (the first process may
        have exported the span it started, cut short)."""
        capability = self.catalog.capabilities[name]
        return ActionContext(
            run_id=run.run_id,
            intent=run.intent.name,
            capability=name,
            provider=capability.spec.provider,
            step=step,
            attempt=attempt,
            idempotency_key=f"{run.run_id}/{step}/{attempt}",
            timeout=capability.spec.timeout,
            state=state,
            traceparent=None
            if self.telemetry is None
            else traceparent(run.run_id, perform_place(step, attempt, resumed)),
        )

    def _start(
        self,
        run: RunState,
        step: Step,
        state: State,
        undoing: Mapping[str, Any] | None = None,
        left: float | None = None,
        waited: bool = False,
        key: str | None = None,
    ) -> ActionContext:
        """Record that a step starts. `undoing`: a compensation's `undoes_step` and the run's
        failure `reason`; `left`: the seconds to the deadline, which the call may not
        outlast; `waited`: its backoff (after failures) has been waited already, before
        its start is recorded (the record still says how long); `key`: the idempotency key
        of an attempt before it, to make it under (a compensation tried again)."""
        capability = self.catalog.capabilities[step.capability]
        run.steps_taken += 1
        attempt = run.attempts.get(step.capability, 0) + 1
        run.attempts[step.capability] = attempt
        ctx = self._context(run, capability.name, run.steps_taken, attempt, state)
        if key is not None:
            ctx = replace(ctx, idempotency_key=key)
        delay = backoff(run.intent, run.failures.get(step.capability, 0))
        if left is not None and left < ctx.timeout:  # the deadline cuts the call short
            ctx = replace(ctx, timeout=left)
        self._record(
            run,
            "action_started",
            {
                "decision": run.decisions,
                "step": ctx.step,
                "capability": ctx.capability,
                "provider": ctx.provider,
                "attempt": attempt,
                "idempotency_key": ctx.idempotency_key,
                "binding": capability.spec.run.kind if capability.spec.run else None,
                "backoff": delay,
                **({"waited": True} if waited and delay else {}),  # before it
                **(undoing or {}),
            },
        )
        return ctx

    def _finish(
        self,
        run: RunState,
        ctx: ActionContext,
        outcome: Outcome,
        resumed: str | None = None,
        decision: int | None = None,
        settled: str | None = None,
        retrying: bool = False,
    ) -> Outcome:
        """Record how a step ended and fold its effects (and output) into the run's state;
        the outcome as recorded (a call the deadline stopped says so).

        `resumed` says how an interrupted step was settled on resume: "repeated" (idempotent,
        performed again), "approved" (performed again as a person approved: its outcome was
        unknown), "effects observed" or "interrupted" (not a failure of the provider).
        `settled`: what the observation after a timed-out call of a capability that is not
        idempotent showed (`_timed_out`, `UNKNOWN_SETTLED`).
        """
        capability = self.catalog.capabilities[ctx.capability]
        run.spent += capability.spec.cost  # an interrupted call may have been made: count it
        outcome, deadline = as_recorded(outcome, ctx, capability)
        data: dict[str, Any] = {
            "decision": run.decisions if decision is None else decision,
            "step": ctx.step,
            "capability": ctx.capability,
            "provider": ctx.provider,
            "attempt": ctx.attempt,
            "ok": outcome.ok,
            "error": outcome.error,
            "timed_out": outcome.timed_out,
            "duration": outcome.duration,
            "cost": capability.spec.cost,
            "output": outcome.output,
            "output_path": capability.spec.output,
            "effects": dict(capability.spec.effects) if outcome.ok else {},
        }
        if outcome.note is not None and capability.spec.output is not None:
            data["note"] = outcome.note  # its `output` path is left unset: say why
        if resumed is not None:
            data["resumed"] = resumed
            data["interrupted"] = resumed in ("interrupted", "rejected")
        if deadline:
            data["deadline"] = True
        if settled is not None:
            data["settled"] = settled
        if retrying:
            data["retrying"] = True
        fold_finish(run, data, self.catalog)  # its effects and output, or a failure counted
        if tells_of_provider(data):
            # The exact moment, so that replay and resume learn exactly what the run did.
            data["learnt_at"] = now = self.clock()
            self._learn(run, Lesson(ctx.capability, outcome.ok, learnt(data), now))
            if outcome.ok:
                run.succeeded_at[ctx.step] = now
        self._record(run, "action_finished", data, durable=False)  # folds it into `completed`
        return outcome
