"""The rules' gates before steps start: the approvals a plan waits for, what denies a step now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ido.approval_asking import approvals_asked, plan_digest, replanned_since, request_data, specced
from ido.approval_verdicts import answering_whole, first_asked, rejection
from ido.approvals import PLAN, PROPOSE, answering, requests, subject, verdicts
from ido.approvers import people_needed
from ido.capability_rules import denied_now, guards_now
from ido.decision import Decision
from ido.planner.types import Step
from ido.policy import owner_of, rulebook
from ido.runtime.core import RuntimeCore
from ido.runtime.folds import RunState
from ido.runtime.outcomes import blocking
from ido.runtime.recovery import as_asked_of, plan_gone_on
from ido.state import State, digest


class Gating(RuntimeCore):
    """Stops a plan at its approvals, and a step at a rule that bars it since its decision."""

    def _gate(self, run: RunState, decision: Decision) -> tuple[str, str] | None:
        """Stop at the approvals this plan needs (see `ido.approvals`); None: go on.

        Approved requests let the plan go; a rejection fails the run; an expired request
        fails it; anything still unanswered is recorded and the run ends `blocked`.
        """
        assert decision.result.plan is not None
        asking = [h for h in decision.policy if h.effect == "require_approval"]
        read = {(h.ref, h.about): h.held for h in asking}
        steady = {(h.ref, h.about): h.steady for h in asking}
        asked = approvals_asked(
            decision.result.plan.capabilities, decision.approvals, run.intent.spec.mode
        )
        if run.intent.spec.mode == "propose":
            # Held to the replan it was given at: a failed step retried by the same plan
            # ran on the first approval (three charges where one was approved); resuming
            # after the verdict is no replan, so it holds there.
            read[(PROPOSE, PLAN)] = digest({"replans": run.replans})
        if not asked:
            return None
        uncovered = (decision.approved or {}).get("asked")  # `ido.approved_plan` says why
        plan = decision.result.plan.to_json()
        events = self.journal.events(run.run_id)
        # (none: the approvals of a run begun before what steps perform was recorded)
        specs = self._spec_digests if specced(events) else None
        digest_ = plan_digest(plan, specs)
        given = verdicts(events)
        steps = decision.result.plan.capabilities
        total = run.spent + float(plan["cost"])
        gone_on = plan_gone_on(events, steps, decision.trigger, decision.number, total)
        gone_on_digest = plan_digest(gone_on, specs) if gone_on is not None else ""  # (once)
        asked_before = requests(events)
        earlier = {r.key: r for r in asked_before}
        now = self.clock()
        waiting = []
        for rule, name, step, message in asked:
            key = (rule, name, step, digest_, read.get((rule, name), ""))
            held_so = steady.get((rule, name), "")  # (none for `mode: propose`'s request)
            verdict: Mapping[str, Any] | None = answering(given, key)
            if verdict is None and gone_on is not None:  # the verdict on the plan gone on with
                whole = as_asked_of(gone_on, gone_on_digest, steps, key)
                verdict = answering_whole(given, asked_before, whole, held_so)
            if verdict is not None and not verdict["approved"]:
                return "failed", rejection(rule, subject(step, name), verdict)
            if verdict is not None:  # approved
                continue
            first, lapsed = first_asked(earlier, key, now)  # asked before: waiting since
            if lapsed is not None:
                return "failed", lapsed
            moved = any(k[:4] == key[:4] and k[4] and v["approved"] for k, v in given.items())
            if moved and rule == PROPOSE:
                message += "; asked again: the run replanned since it was approved"
            elif moved:  # approved for the same plan, with what the rule read otherwise
                message += "; asked again: what the rule reads moved since it was approved"
            elif uncovered:  # the approved plan, which the approval no longer covers
                message += f"; asked again: {uncovered}"
            elif rule != PROPOSE:
                message += replanned_since(asked_before, given, key, float(plan["cost"]))
            waiting.append((rule, name, step, message, first, key[4], held_so))
        if not waiting:
            return None
        book = rulebook(run.intent, self.catalog.policies)
        needs: dict[str, str] = {}  # who a rule needs, in words: ` by 2 different people`
        for rule, name, step, message, first, held, held_so in waiting:
            since = first.since if first is not None else now
            ruled = book.rule(rule)
            owner = owner_of(rule, self.catalog.policies)
            request = request_data(
                rule, name, step, message, digest_, plan["cost"], since, ruled, owner
            )
            needs[rule] = people_needed(ruled.approvers if ruled is not None else 1)
            request.update(read=held, **({"steady": held_so} if held_so else {}))
            # `step` is this plan's: `ido approvals` says whose
            self._record(run, "approval_required", {**request, "decision": run.decisions})
        return blocking(
            [
                (
                    "blocked",
                    f"{subject(step, name)} needs approval{needs[rule]} ({rule}: {message})",
                )
                for rule, name, step, message, _, _, _ in waiting
            ]
        )

    def _may_start(
        self,
        run: RunState,
        step: Step,
        state: State,
        expected: State,
        decision: Decision,
        observed_since: bool = True,
    ) -> str | None:
        """Why a step may not start now after all: its requirements no longer hold in
        `state`, or (`observed_since`: the world was observed, or the intent's policies
        moved, since its decision judged it) a rule bars it now (`_denied`). None: it
        starts."""
        missing = self._unmet(step, state)
        if missing is not None:
            return f"{step.capability} no longer applicable: requires {missing!r}"
        if not observed_since:
            return None
        return self._denied(run, step.capability, state, expected, decision)

    def _denied(
        self, run: RunState, name: str, state: State, expected: State, decision: Decision
    ) -> str | None:
        """Why capability `name` may not start now, if a deny rule fires for it, or a
        `require_approval` rule its decision did not ask (see `ido.capability_rules.guards_now`), or
        one it asked whose reading moved otherwise than the plan's own steps moved it
        (`expected`: the decision's snapshot with the effects of the steps done since): a
        payment approved for 15,000 must not go ahead for 950,000. The decision made then
        leaves it out, or asks. Beliefs are aged to the plan's decision, as it saw them
        (no clock is read: one reading per step)."""
        intent = self.env.intent(run.intent)
        history = self._history(run, run.started + run.waited + decision.elapsed)
        hits = guards_now(intent, self.catalog, name, state, history)
        asked = {(rule, about) for rule, about, _ in decision.approvals}
        if (denied := denied_now(name, hits)) is not None:
            return denied
        for hit in hits:
            if (hit.ref, name) not in asked:
                return f"{name} now needs approval by {hit.ref}: {hit.message}"
        if not any(hit.effect == "require_approval" for hit in hits):
            return None  # nothing asked to hold to what it read: the rules are not run again
        planned = {h.ref: h.held for h in guards_now(intent, self.catalog, name, expected, history)}
        for hit in hits:
            if hit.effect == "require_approval" and planned.get(hit.ref) != hit.held:
                return (
                    f"{name} needs approval again by {hit.ref}: what the rule reads moved "
                    f"since the plan was made: {hit.message}"
                )
        return None
