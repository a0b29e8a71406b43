"""Undoing a failed run's completed steps with their compensations, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ido.approval_asking import request_data
from ido.approval_verdicts import undo_verdict
from ido.approvals import UNDO_PLAN, Given, Key, Request, requests, verdicts
from ido.capability_rules import undo_stopped_by
from ido.model import Intent
from ido.planner.types import Step
from ido.planning_task import backoff
from ido.policy import RuleHit, owner_of, rulebook
from ido.runtime.folds import RunState
from ido.runtime.outcomes import undo_again
from ido.runtime.stepping import Stepping
from ido.runtime.undoing import undo_attempts
from ido.state import State


class Compensating(Stepping):
    """Undoes a failed run's steps; a compensation a rule holds waits for a person."""

    def _compensate(self, run: RunState, reason: str | None) -> str | None:
        """Undo the run's completed steps, newest first, with their `compensate` capabilities;
        None once done with, or what undoing waits for.

        Each compensation is recorded with the step it undoes. One that cannot run (its
        requirements do not hold, or a policy rule denies it) or fails is recorded, and the
        others still run; one that fails is tried again first, while it safely may
        (`_attempt`). One a `require_approval` rule holds for waits for a person, as a
        step of a plan does (`_undo_approval`): the run is `blocked` there, and the older
        steps are undone after it, once the verdict is in and the run resumed.
        """
        if not run.completed:  # nothing to undo: no need to read the run's journal
            return None
        intent = self.env.intent(run.intent)
        self._flush(run)  # (the ends of steps settled on resume: attempts counted below)
        events = self.journal.events(run.run_id)  # (no verdict comes in while undoing)
        given = verdicts(events)
        earlier = {r.key: r for r in requests(events)}
        for step, name in reversed(list(run.completed)):
            undo = self.catalog.capabilities[name].spec.compensate
            if undo is None or undo not in self.catalog.capabilities:
                continue
            base = {"undoes": name, "undoes_step": step, "capability": undo, "reason": reason}
            ended, key = undo_attempts(events, step)  # before a crash: counting goes on
            while True:
                wait = backoff(run.intent, run.failures.get(undo, 0)) if ended else 0.0
                if wait:  # a retry's backoff, before its start (and the world seen after it)
                    self.env.wait(wait)
                state = self._observe(run)
                go, said = self._may_undo(run, intent, base, state, given, earlier)
                if said is not None:
                    return said
                if not go:
                    break
                ended, key, again = self._attempt(run, base, state, ended, key)
                if not again:
                    break
        return None

    def _may_undo(
        self,
        run: RunState,
        intent: Intent,
        base: Mapping[str, Any],
        state: State,
        given: Given,
        earlier: Mapping[Key, Request],
    ) -> tuple[bool, str | None]:
        """Whether a compensation may be performed now (each attempt is held to its
        `requires` and the rules as they stand then), and what undoing waits for, if a
        person must decide first. One that may not is recorded, skipped."""
        undo, step = str(base["capability"]), int(base["undoes_step"])
        missing = self._unmet(Step(undo, "", 0, 0, 1, 0), state)
        if missing is not None:
            self._record(run, "compensation_skipped", {**base, "requires": missing})
            return False, None
        hit = undo_stopped_by(intent, self.catalog, undo, state, self._history(run, self.clock()))
        asks = hit is not None and hit.effect == "require_approval"
        key = (hit.ref, undo, step, UNDO_PLAN, hit.held) if asks and hit else None
        where, why, rule = undo_verdict(given, earlier, undo, step, key, self.clock())
        if where != "free":
            waits, said = self._undo_approval(run, base, hit, where, why, rule)
            if waits:
                return False, said
            return said is None, None
        if hit is not None:
            ruled = {"rule": hit.ref, "effect": hit.effect, "message": hit.message}
            self._record(run, "compensation_skipped", {**base, **ruled})
            return False, None
        return True, None

    def _attempt(
        self, run: RunState, base: Mapping[str, Any], state: State, ended: int, key: str | None
    ) -> tuple[int, str | None, bool]:
        """Perform one attempt of a compensation, after the `ended` attempts before it (`key`:
        the first one's idempotency key); then how many have ended, the first one's key,
        and whether it is tried again (after its backoff: `compensation_retried` says it).

        It is tried again while `limits.max_compensation_attempts` allows and repeating it
        is safe (`undo_again`); an `idempotent` one under its first attempt's idempotency
        key, so that a provider that honours keys refunds once."""
        undo, step = str(base["capability"]), int(base["undoes_step"])
        capability = self.catalog.capabilities[undo]
        same = key if capability.spec.idempotent else None
        undoing = {"undoes_step": step, "reason": base["reason"]}
        ctx = self._start(
            run, Step(undo, "", 0, 0, 1, 0), state, undoing, waited=ended > 0, key=same
        )
        self._record(run, "compensation_started", {**base, "step": ctx.step})
        outcome = self.env.call(capability, ctx)
        attempt = ended + 1
        most = run.intent.spec.limits.max_compensation_attempts
        again = undo_again(outcome, capability, attempt, most)
        outcome = self._finish(run, ctx, outcome, retrying=again)
        done = {"step": ctx.step, "ok": outcome.ok, "error": outcome.error, "attempt": attempt}
        key = ctx.idempotency_key if key is None else key
        if not again:
            self._record(run, "compensation_finished", {**base, **done, "settled": None})
            return attempt, key, False
        wait = backoff(run.intent, run.failures.get(undo, 0))
        self._record(run, "compensation_retried", {**base, **done, "backoff": wait})
        return attempt, key, True

    def _undo_approval(
        self,
        run: RunState,
        base: Mapping[str, Any],
        hit: RuleHit | None,
        where: str,
        why: str | None,
        rule: str | None,
    ) -> tuple[bool, str | None]:
        """A compensation a person decides on (`where` it stands, as `undo_verdict` says):
        whether undoing waits for them (with what it waits for), else why it is not done
        (recorded: rejected, or left unanswered past its last wait: `why`; `rule`, that of
        the "no"), or None to perform it (approved)."""
        undo, step = str(base["capability"]), int(base["undoes_step"])
        if where == "rejected":  # a "no" stands, though no rule asks
            ruled = {"rule": rule, "effect": "require_approval"}
            self._record(run, "compensation_skipped", {**base, **ruled, "refused": why})
            return False, why
        if where == "approved":
            return False, None
        assert hit is not None
        ruled = {"rule": hit.ref, "effect": hit.effect, "message": hit.message}
        if where == "expired":
            self._record(run, "compensation_skipped", {**base, **ruled, "refused": why})
            return False, why
        now = self.clock()
        message = f"undo {base['undoes']} (step {step}), as the run failed: {hit.message}"
        if where == "new":
            cost = self.catalog.capabilities[undo].spec.cost
            asking = rulebook(run.intent, self.catalog.policies).rule(hit.ref)
            owner = owner_of(hit.ref, self.catalog.policies)
            request = request_data(
                hit.ref, undo, step, message, UNDO_PLAN, cost, now, asking, owner
            )
            self._record(run, "approval_required", {**base, **request, "read": hit.held})
        return True, f"undoing waits: {undo} needs approval ({hit.ref}: {message})"
