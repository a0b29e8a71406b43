"""Settling a step whose outcome is unknown: cut short by an interruption, or timed out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ido.approval_asking import request_data
from ido.approvals import UNKNOWN_PLAN, UNKNOWN_RULE, Given, subject
from ido.capability_rules import denied_now, guards_now
from ido.errors import ExecutionError, IdoError
from ido.journal.records import UNRECORDED
from ido.model import Capability
from ido.policy import FAIL_CLOSED, rulebook
from ido.runtime.bindings import Outcome
from ido.runtime.context import ActionContext
from ido.runtime.folds import UNKNOWN_SETTLED, RunState
from ido.runtime.outcomes import (
    CUT,
    as_recorded,
    effects_seen,
    rejecting,
    repeated,
    unknown_outcome,
)
from ido.runtime.process_tree import stop_left_running
from ido.runtime.recovery import Interrupted
from ido.runtime.stepping import Stepping
from ido.state import State

CUT_AGAIN = Outcome(False, error=UNRECORDED.replace("interrupted", "interrupted again", 1))
"""An approved repeat an interruption cut short again: its outcome, as `_settle` finds it
on resume and a replay meets it (`Outcome.cut_short`)."""
AGAIN = "was interrupted again"


class Settling(Stepping):
    """Resume's and a timeout's settling of a step: again, observed, or a person asked."""

    def _still_here(self, run: RunState, step: Interrupted) -> Capability:
        capability = self.catalog.capabilities.get(step.capability)
        if capability is None:
            raise IdoError(
                f"run {run.run_id} was interrupted in step {step.step} ({step.capability}), "
                "which is no longer in the catalog; restore it to resume"
            )
        return capability

    def _stop_left_running(self, run: RunState, step: Interrupted) -> None:
        """Before an interrupted step is settled, kill the process it left running
        (`stop_left_running`: its ido was killed outright) and record that: left alone, it
        could do the step's side effect after resume had seen it not done and planned the
        step again under a new key. One that cannot be stopped stops the resume. Looked
        for whatever the capability's binding is now: the step may have run a shell binding
        since changed (only a shell step's processes have its environment)."""
        self._still_here(run, step)
        try:
            pids = stop_left_running(run.run_id, step.idempotency_key)
        except OSError as exc:
            raise ExecutionError(
                f"step {step.step} ({step.capability}) of run {run.run_id} is still running "
                f"from before the interruption, and {exc}; stop it, then resume"
            ) from None
        if pids:
            data = {"step": step.step, "capability": step.capability, "pids": pids}
            self._record(run, "process_stopped", data)

    def _settle(
        self,
        run: RunState,
        step: Interrupted,
        observed: State,
        given: Given,
    ) -> tuple[str, str] | None:
        """Settle a step started before the interruption with no recorded end. A verdict a
        person gave on it (among the run's, `given`) stands (`_decided`), whatever the
        catalog says now; a repeat they approved that was cut short too is settled by the
        observation (`_unknown_again`).
        Otherwise it is performed again (same idempotency key) if idempotent; else done if
        its effects are observed, interrupted if observed not to hold (the next decision
        plans from there), and when nothing observes them, whether it ran is unknown: a
        person decides.
        What ends the run instead of a decision: ("blocked" or "failed", why), or None."""
        capability = self._still_here(run, step)
        ctx = self._context(run, capability.name, step.step, step.attempt, observed, resumed=True)
        # made again under the key it was started with: a compensation tried again keeps its
        # first attempt's, which RUN/STEP/ATTEMPT is not (a refund the provider made twice)
        ctx = replace(ctx, idempotency_key=step.idempotency_key)
        key = (UNKNOWN_RULE, capability.name, step.step, UNKNOWN_PLAN, "")
        verdict = given.get(key)
        if verdict is not None and verdict["approved"] and step.repeated:
            return self._unknown_again(run, capability, ctx, step, CUT_AGAIN, AGAIN, cut=True)
        if verdict is not None:
            return self._decided(run, capability, ctx, step, verdict, given)
        if capability.spec.idempotent:
            barred = self._barred(run, capability.name, given)
            if barred is None:
                return self._again(run, capability, ctx, step, "repeated")
            why = f"not performed again (the next decision plans from there): {barred}"
            self._cut_short(run, ctx, step, why)
            return None
        seen = effects_seen(capability.spec.effects, self._observe(run), run.seen)
        if seen is None:
            return self._ask(run, capability, step)
        if seen:
            self._settled(run, ctx, step, Outcome(True), "effects observed")
        else:
            why = "its effects are observed not to hold: not done, and the next decision plans"
            self._cut_short(run, ctx, step, why + " from there")
        return None

    def _timed_out(
        self, run: RunState, ctx: ActionContext, outcome: Outcome
    ) -> tuple[Outcome, str, tuple[str, str] | None]:
        """Settle a call of a capability that is not idempotent that timed out (its own
        timeout, or the run's deadline): whether it took effect is unknown, as for a step an
        interruption cut short (`_settle`). Tried again under a new key, it could load or
        charge twice. Done if the next observation shows its effects; failed if it shows
        they do not hold (the replan may try again); and when nothing observes them, left
        in flight for a person (`_ask`), who decides whether it is made again. A call the
        run's deadline stopped is not: no step may start past the deadline, so nothing can
        repeat it, and the run fails on its deadline, saying its outcome is unknown.
        Returns its outcome as recorded, what the observation made of it (`UNKNOWN_SETTLED`)
        and the stop that blocks the run, if so (the step's end then is `ido resume`'s)."""
        capability = self.catalog.capabilities[ctx.capability]
        recorded, deadline = as_recorded(outcome, ctx, capability)
        seen = effects_seen(capability.spec.effects, self._observe(run), run.seen)
        settled = UNKNOWN_SETTLED[seen]
        if seen is None and not deadline:
            step = Interrupted(
                ctx.step,
                ctx.capability,
                ctx.attempt,
                ctx.idempotency_key,
                run.decisions,
                cause=recorded.error,
            )
            ask = self._ask(run, capability, step)
            return recorded, "its outcome is unknown", ask
        outcome = replace(outcome, ok=bool(seen))  # done, late, when its effects hold
        return self._finish(run, ctx, outcome, settled=settled), settled, None

    def _again(
        self, run: RunState, capability: Capability, ctx: ActionContext, step: Interrupted, how: str
    ) -> tuple[str, str] | None:
        """Perform an interrupted step again, under its own idempotency key. Made again as
        a person approved, and timed out again, its outcome is unknown again: settled by the
        observation after it (`_unknown_again`), and when that cannot tell, the run fails (its
        verdict is given: asked again, it would stand; planned again, it could be done
        twice); a replay's repeat that the recording's interruption cut short again is settled
        as the run settled it (`_unknown_again`, cut). What ends the run: ("failed", why), or
        None."""
        self._flush_outcomes(run)  # an outcome settled before is on disk first
        run.in_flight[ctx.step] = ctx.capability  # (an idempotent one is made again unrecorded)
        if how == "approved":  # on disk before the call: a crash in it is told apart (`_settle`)
            self._record(run, "action_repeated", repeated(ctx))
        elif self.listener is not None:  # told, not journaled: it may take minutes, watched
            self.listener("action_again", repeated(ctx))
        outcome = self.env.call(capability, ctx)
        if outcome.cut_short and how == "approved":  # a replay's, where the run's was cut again
            return self._unknown_again(run, capability, ctx, step, CUT_AGAIN, AGAIN, cut=True)
        if not unknown_outcome(outcome, capability):
            self._settled(run, ctx, step, outcome, how)
            return None
        return self._unknown_again(run, capability, ctx, step, outcome, f"{outcome.error} again")

    def _unknown_again(
        self,
        run: RunState,
        capability: Capability,
        ctx: ActionContext,
        step: Interrupted,
        outcome: Outcome,
        again: str,
        cut: bool = False,
    ) -> tuple[str, str] | None:
        """Settle a step made again as a person approved whose outcome is unknown again
        (`again`: it timed out again, or an interruption cut it short again) by the
        observation after it; when that cannot tell, the run fails. The verdict was for one
        repeat: made once more, on the same approval, a charge was made three times.
        A repeat that timed out tells of its provider ("approved"); one an interruption
        cut short (`cut`) does not, as `_settle` says of any step cut short: done when its
        effects are observed, else interrupted (no failure counted, no lesson learnt). Its
        outcome still unknown, it is settled for good all the same (`settles`): a
        compensation tried again could refund twice."""
        seen = effects_seen(capability.spec.effects, self._observe(run), run.seen)
        settled = UNKNOWN_SETTLED[seen]
        how = ("effects observed" if seen else "interrupted") if cut else "approved"
        self._settled(run, ctx, step, replace(outcome, ok=bool(seen)), how, settled)
        if seen is not None:
            return None
        return "failed", (
            f"step {step.step} {capability.name} was performed again as approved, "
            f"and {again}: its outcome is still unknown"
        )

    def _cut_short(
        self,
        run: RunState,
        ctx: ActionContext,
        step: Interrupted,
        why: str,
        how: str = "interrupted",
    ) -> None:
        """Record an interrupted step as not done (not a failure of its provider); `how`:
        "rejected" when a person refused to have it done again. A step whose call timed out
        says so (`step.cause`)."""
        cut = UNRECORDED if step.cause is None else step.cause
        outcome = Outcome(False, error=f"{cut}; {why}", timed_out=step.cause is not None)
        self._settled(run, ctx, step, outcome, how)

    def _settled(
        self,
        run: RunState,
        ctx: ActionContext,
        step: Interrupted,
        outcome: Outcome,
        how: str,
        settled: str | None = None,
    ) -> None:
        """Record how an interrupted step was settled on resume (`how`, `settled`, as
        `_finish` says). A compensation settled for good is recorded as one too, as
        `_compensate` records it; one cut short ("interrupted") and observed not done is
        not: it is tried again (`settles`). One whose outcome is still unknown says so, as
        the run's end does (`fold_undone`: it may not be undone)."""
        recorded = self._finish(
            run, ctx, outcome, resumed=how, decision=step.decision, settled=settled
        )
        unknown = settled == UNKNOWN_SETTLED[None]
        if step.undoing is not None and (how != "interrupted" or unknown):
            error = f"{recorded.error}; {settled}" if unknown else recorded.error
            ended = {"ok": recorded.ok, "error": error, "settled": settled, "resumed": how}
            self._record(run, "compensation_finished", {**step.undoing, "step": ctx.step, **ended})

    def _barred(
        self, run: RunState, name: str, given: Given, state: State | None = None
    ) -> str | None:
        """Why a step cut short may not be performed again now, if the rules say so: a
        `deny` rule fires for its capability, or a `require_approval` rule whose reading no
        verdict of the run approved. Its decision was judged on the state before the
        interruption: a payment approved for 15,000 was made again for 950,000, and one to a
        vendor sanctioned since was made all the same. `state`: observed already; else it
        is observed here, only when some rule could bar the step."""
        intent = self.env.intent(run.intent)
        book = rulebook(intent, self.catalog.policies).capability_rules
        if not any(rule.effect in FAIL_CLOSED for _, rule in book):
            return None
        state = self._observe(run) if state is None else state
        hits = guards_now(intent, self.catalog, name, state, self._history(run, self.clock()))
        if (denied := denied_now(name, hits)) is not None:
            return denied
        approved = {(k[0], k[1], k[4]) for k, v in given.items() if v["approved"]}
        for hit in hits:
            if not approved & {(hit.ref, name, hit.held), (hit.ref, name, "")}:
                return f"{name} needs approval by {hit.ref} for what it reads now: {hit.message}"
        return None

    def _ask(self, run: RunState, capability: Capability, step: Interrupted) -> tuple[str, str]:
        """A step whose outcome no observation tells (interrupted, or its call timed out,
        `step.cause`), of a capability that is not idempotent: planned again under a new
        key, it could charge twice. A person decides (`_decided`); until then, the run is
        blocked with a request for it."""
        what = subject(step.step, capability.name)
        # (a replay's call cut short where the recording's was, `CUT`, asks as it did)
        unknown = "whether it ran" if step.cause in (None, CUT) else "its outcome"
        failed = "".join(f"; observer {name} failed" for name in run.unobserved)
        message = (
            f"step {step.step} ({capability.name}) {step.how}, and nothing observes "
            f"its effects ({', '.join(capability.spec.effects)}{failed}): {unknown} is "
            "unknown. Approve to perform it again under the same idempotency key, or "
            f"reject {rejecting(step.undoing)}"
        )
        # one "plan" for all such requests: `ido approvals` lists those of the latest plan
        request = request_data(
            UNKNOWN_RULE,
            capability.name,
            step.step,
            message,
            UNKNOWN_PLAN,
            capability.spec.cost,
            self.clock(),
            None,
        )
        cause = {"cause": step.cause} if step.cause is not None else {}
        self._record(run, "approval_required", {**request, **cause})
        return "blocked", f"{what} needs approval ({UNKNOWN_RULE}: {message})"

    def _decided(
        self,
        run: RunState,
        capability: Capability,
        ctx: ActionContext,
        step: Interrupted,
        verdict: Mapping[str, Any],
        given: Given,
    ) -> tuple[str, str] | None:
        """A person's verdict on a step whose outcome was unknown (interrupted, or its call
        timed out): approved, it is performed again under its own key, unless an observation
        shows its effects now (an observer down when the run asked is back: made again, a
        charge would be made twice), or the rules bar it now (`_barred`: the run fails, as
        planned again it could be done twice); rejected, the run fails."""
        if verdict["approved"]:
            state = self._observe(run)
            if effects_seen(capability.spec.effects, state, run.seen):
                self._settled(run, ctx, step, Outcome(True), "effects observed")
                return None
            barred = self._barred(run, capability.name, given, state)
            if barred is None:
                return self._again(run, capability, ctx, step, "approved")
            why_not = f"its outcome is unknown, and it is not performed again: {barred}"
            self._cut_short(run, ctx, step, why_not, how="rejected")
            return "failed", (
                f"step {step.step} {capability.name} {step.how} with its outcome unknown, "
                f"and is not performed again, though {verdict['by']} approved it: {barred}"
            )
        why = f": {verdict['comment']}" if verdict.get("comment") else ""
        why_not = f"its outcome is unknown, and repeating it was rejected{why}"
        self._cut_short(run, ctx, step, why_not, how="rejected")
        return "failed", (
            f"step {step.step} {capability.name} {step.how} with its outcome unknown, "
            f"and {verdict['by']} rejected performing it again ({UNKNOWN_RULE}){why}"
        )
