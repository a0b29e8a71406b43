"""Undoing a failed run's completed steps with their compensations, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ido.approvals import UNDO_PLAN, request_data, requests, undo_verdict, verdicts
from ido.decide import undo_stopped_by
from ido.planner.types import Step
from ido.policy import RuleHit, rulebook
from ido.runtime.recovery import RunState
from ido.runtime.stepping import Stepping


class Compensating(Stepping):
    """Undoes a failed run's steps; a compensation a rule holds waits for a person."""

    def _compensate(self, run: RunState, reason: str | None) -> str | None:
        """Undo the run's completed steps, newest first, with their `compensate` capabilities;
        None once done with, or what undoing waits for.

        Each compensation is recorded with the step it undoes. One that cannot run (its
        requirements do not hold, or a policy rule denies it) or fails is recorded, and the
        others still run. One a `require_approval` rule holds for waits for a person, as a
        step of a plan does (`_undo_approval`): the run is `blocked` there, and the older
        steps are undone after it, once the verdict is in and the run resumed.
        """
        if not run.completed:  # nothing to undo: no need to read the run's journal
            return None
        intent = self.env.intent(run.intent)
        events = self.journal.events(run.run_id)  # (no verdict comes in while undoing)
        given = verdicts(events)
        earlier = {r.key: r for r in requests(events)}
        for step, name in reversed(list(run.completed)):
            undo = self.catalog.capabilities[name].spec.compensate
            if undo is None or undo not in self.catalog.capabilities:
                continue
            state = self._observe(run)
            base = {"undoes": name, "undoes_step": step, "capability": undo, "reason": reason}
            missing = self._unmet(Step(undo, "", 0, 0, 1, 0), state)
            if missing is not None:
                self._record(run, "compensation_skipped", {**base, "requires": missing})
                continue
            hit = undo_stopped_by(
                intent, self.catalog, undo, state, self._history(run, self.clock())
            )
            asks = hit is not None and hit.effect == "require_approval"
            key = (hit.ref, undo, step, UNDO_PLAN, hit.held) if asks and hit else None
            where, why, rule = undo_verdict(given, earlier, undo, step, key, self.clock())
            if where != "free":
                waits, said = self._undo_approval(run, base, hit, where, why, rule)
                if waits:
                    return said
                if said is not None:
                    continue
            elif hit is not None:
                ruled = {"rule": hit.ref, "effect": hit.effect, "message": hit.message}
                self._record(run, "compensation_skipped", {**base, **ruled})
                continue
            ctx = self._start(
                run, Step(undo, "", 0, 0, 1, 0), state, {"undoes_step": step, "reason": reason}
            )
            self._record(run, "compensation_started", {**base, "step": ctx.step})
            outcome = self.env.call(self.catalog.capabilities[undo], ctx)
            self._finish(run, ctx, outcome)
            self._record(
                run,
                "compensation_finished",
                {
                    **base,
                    "step": ctx.step,
                    "ok": outcome.ok,
                    "error": outcome.error,
                    "settled": None,
                },
            )
        return None

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
            request = request_data(hit.ref, undo, step, message, UNDO_PLAN, cost, now, asking)
            self._record(run, "approval_required", {**base, **request, "read": hit.held})
        return True, f"undoing waits: {undo} needs approval ({hit.ref}: {message})"
