"""The local runtime: drives observe → decide → act → record in-process, journaling to SQLite."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ido.approvals import (
    PLAN,
    PROPOSE,
    UNDO_PLAN,
    UNKNOWN_PLAN,
    UNKNOWN_RULE,
    Given,
    answering,
    answering_whole,
    approvals_asked,
    check_answered,
    expired,
    first_asked,
    plan_digest,
    rejected,
    rejection,
    replanned_since,
    request_data,
    requests,
    spec_digests,
    specced,
    subject,
    undo_verdict,
    verdicts,
)
from ido.approved_plan import approved_plan, decide_approved
from ido.conditions import compile_condition
from ido.decide import Decision, History, backoff, decide, guards_now, undo_stopped_by
from ido.errors import ExecutionError, IdoError, JournalError, ObserverError
from ido.health import Evidence, Lesson, with_lessons
from ido.journal import STARTS, UNRECORDED, Journal, Pending, landed, stamp
from ido.loading import Catalog
from ido.model import Capability, Intent, format_duration
from ido.observe import boolean_facts, observe, snapshot
from ido.planner import Planner, get_planner
from ido.planner.types import Step
from ido.planning_words import Throttled, telling
from ido.policy import FAIL_CLOSED, RuleHit, policy_digests, rulebook
from ido.runtime import stopping
from ido.runtime.bindings import Outcome, missing_secret, stop_left_running
from ido.runtime.context import ActionContext
from ido.runtime.environment import Environment, RealEnvironment
from ido.runtime.owners import host
from ido.runtime.recovery import (
    AFTER_APPROVAL,
    AFTER_INTERRUPTION,
    NOT_REPLANS,
    STARTED,
    UNKNOWN_SETTLED,
    Interrupted,
    RunState,
    as_asked_of,
    fold_done,
    fold_finish,
    fold_missing,
    fold_model_calls,
    fold_undone,
    history_of,
    learnt,
    missing_lesson,
    plan_gone_on,
    recover,
    tells_of_provider,
    undone_step,
)
from ido.runtime.tracecontext import perform_place, traceparent
from ido.runtime.triggers import changed, judged, missing_effects, over_limits
from ido.secrets import catalog_secrets
from ido.state import State, apply_effects, digest, get_path, has_path, merge, set_path
from ido.text import failure, printable

Listener = Callable[[str, Mapping[str, Any]], None]


def _unspecced(names: Sequence[str]) -> dict[str, dict[str, str]]:
    """No spec digests: the approvals of a run begun before they were recorded (`specced`)."""
    return {}


class Telemetry(Protocol):
    """Where the runtime reports what it records, as it records it (see `ido.tracing`)."""

    def record(
        self,
        run_id: str,
        intent: str,
        kind: str,
        data: Mapping[str, Any],
        at: float,
        took: float | None = None,
    ) -> None:
        """`kind` and `data` as journaled, at clock time `at`; `took`: seconds it took."""


def _crash_after(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise IdoError(f"IDO_CRASH_AFTER_EVENTS must be a positive whole number, not {value!r}")
    return int(value)


def new_run_id(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    # 48 random bits: at a thousand runs a second, a clash is expected once in millennia.
    return f"r{stamp}-{secrets.token_hex(6)}"


def effects_seen(effects: Mapping[str, Any], state: State, seen: State) -> bool | None:
    """What an observation tells of a step's effects: True when they all hold in `state`;
    False when observers report each of them (`seen`, their outputs alone) and they do not
    all hold; None when it cannot tell (nothing observes one that does not hold)."""
    if all(get_path(state, path) == value for path, value in effects.items()):
        return True
    if all(has_path(seen, path) for path in effects):
        return False
    return None


def unknown_outcome(outcome: Outcome, capability: Capability) -> bool:
    """Whether a call's outcome is unknown: it timed out (its own timeout or the run's
    deadline; the provider may have gone on and done it) and repeating it is not safe."""
    return not outcome.ok and outcome.timed_out and not capability.spec.idempotent


def repeated(ctx: ActionContext) -> dict[str, Any]:
    """The `action_repeated` event of a step made again as a person approved: recorded
    before the call, so that a resume after a crash in it knows the repeat began."""
    return {
        "step": ctx.step,
        "capability": ctx.capability,
        "attempt": ctx.attempt,
        "idempotency_key": ctx.idempotency_key,
    }


def _uncalled_cut(pending: list[Pending]) -> list[Pending]:
    """`pending` up to the first start of a step held in it after the last outcome: a call
    starts only once its start is on disk, so a start still held was never called."""
    kinds = [kind for kind, _, _ in pending]
    last = max((n for n, kind in enumerate(kinds) if kind == "action_finished"), default=-1)
    starts = [n for n, kind in enumerate(kinds) if kind in STARTS and n > last]
    return pending[: starts[0]] if starts else pending


def as_recorded(
    outcome: Outcome, ctx: ActionContext, capability: Capability
) -> tuple[Outcome, bool]:
    """A call's outcome as its end is recorded, and whether the run's deadline stopped it:
    cut short by the deadline, not its own timeout, it says so (no news of the provider)."""
    if outcome.timed_out and ctx.timeout < capability.spec.timeout:
        said = f"stopped at the deadline after {format_duration(ctx.timeout)}"
        return replace(outcome, error=said), True
    return outcome, False


def rejecting(undoing: Mapping[str, Any] | None) -> str:
    """What rejecting a step whose outcome is unknown does, as its request says: a plan's
    step ends the run; a compensation is left undone, and the older steps are still undone
    (told "to end the run", a person rejected a refund to stop the saga, and it went on)."""
    if undoing is None:
        return "to end the run"
    return f"to leave {undone_step(undoing)} not undone and go on undoing the steps before it"


def would_ask(decision: Decision) -> str:
    """What a `mode: shadow` run adds to its reason: the approvals a real run of its plan
    would stop for, as `ido plan` says them. A shadow run of a payment that needs the
    controller read as if it would go ahead unasked."""
    assert decision.result.plan is not None
    asked = approvals_asked(decision.result.plan.capabilities, decision.approvals, "auto")
    if not asked:
        return ""
    said = "; ".join(f"{subject(step, name)} ({rule})" for rule, name, step, _ in asked)
    return f"; a run would stop for approval of {said}"


def blocking(asked: list[tuple[str, str]]) -> tuple[str, str] | None:
    """What blocks a run whose steps' outcomes a person must decide (each `_ask`'s stop),
    the first named and the others counted; None when there are none."""
    if not asked:
        return None
    outcome, reason = asked[0]
    more = f" (and {len(asked) - 1} more)" if len(asked) > 1 else ""
    return outcome, reason + more


@dataclass(frozen=True)
class RunReport:
    run_id: str
    outcome: str
    reason: str | None
    cost: float
    duration: float


class LocalRuntime:
    """Runs one intent to an outcome in this process; every event is journaled first."""

    def __init__(
        self,
        catalog: Catalog,
        journal: Journal,
        *,
        base: Path,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[float], str] = new_run_id,
        listener: Listener | None = None,
        planner: Planner | None = None,
        sleep: Callable[[float], None] = stopping.sleep,
        environment: Environment | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.catalog = catalog
        self.journal = journal
        self.base = base
        self.clock = clock
        self.new_id = new_id
        self.listener = listener
        self.telemetry = telemetry
        self.carrying: str | None = None
        """The id of the run this runtime started or resumed last: for its caller to name
        the run an interruption stopped (without a listener, which costs a decision its
        progress heartbeat)."""
        self.planner = planner
        # Every secret the catalog names, masked in what every call and observer gives back:
        # a binding inherits ido's whole environment, and may print another's.
        self._secrets = catalog_secrets(catalog)
        self.env = environment or RealEnvironment(base, sleep, self._secrets)
        self._facts = boolean_facts(catalog)
        # Each policy's digest, for the decisions' records (the catalog is this runtime's
        # for its life: worked out once, not per decision).
        self._digests = policy_digests(catalog.policies, catalog.policies)
        self._unbound = frozenset(
            name
            for name, capability in catalog.capabilities.items()
            if self.env.runs_bindings and capability.spec.run is None
        )
        # A call its binding's secret is missing for fails before anything is sent: it would
        # be charged, counted as its provider's failure and tried again, for nothing.
        environ = self.env.environ
        self._unresolved = {
            name: missing
            for name, capability in catalog.capabilities.items()
            if environ is not None and (missing := missing_secret(capability, environ))
        }
        self._committed = 0
        self._uncounted = 0  # a run's start, committed by the time its next write is
        self._pending: list[Pending] = []
        self._crash_after = _crash_after(os.environ.get("IDO_CRASH_AFTER_EVENTS"))

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
        on_disk = self.journal.start_run(
            run.run_id,
            intent.name,
            stamp(now),
            {
                "intent": intent.model_dump(mode="json", by_alias=True),
                "planner": planner.name,
                "process": host(),
                "health": {n: e.to_json() for n, e in sorted(run.evidence.items())},
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
        stored = self._stored_beliefs()
        run.evidence = with_lessons(stored, recovered.lessons)
        run.lessons = list(recovered.lessons)
        planner = self.planner or self._planner(recovered.planner, run.intent)
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

    def _stored_beliefs(self) -> dict[str, Evidence]:
        """The journal's health beliefs a run here starts from: none in a simulated world,
        which must not take up the real ones (`Environment.shares_beliefs`)."""
        return self.journal.health() if self.env.shares_beliefs else {}

    def _planner(self, name: str, intent: Intent) -> Planner:
        """The planner by name; the model planners get the intent's settings and keep
        their answers in the journal (a request made before is not made again)."""
        return get_planner(name, settings=intent.spec.llm, cache=self.journal)

    def _still_here(self, run: RunState, step: Interrupted) -> Capability:
        capability = self.catalog.capabilities.get(step.capability)
        if capability is None:
            raise IdoError(
                f"run {run.run_id} was interrupted in step {step.step} ({step.capability}), "
                "which is no longer in the catalog; restore it to resume"
            )
        return capability

    def _stop_left_running(self, run: RunState, step: Interrupted) -> None:
        """Before an interrupted shell step is settled, kill the process it left running
        (`stop_left_running`: its ido was killed outright) and record that: left alone, it
        could do the step's side effect after resume had seen it not done and planned the
        step again under a new key. One that cannot be stopped stops the resume."""
        spec = self._still_here(run, step).spec
        if spec.run is None or spec.run.kind != "shell":
            return
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
        key = (UNKNOWN_RULE, capability.name, step.step, UNKNOWN_PLAN, "")
        verdict = given.get(key)
        if verdict is not None and verdict["approved"] and step.repeated:
            cut = Outcome(False, error=UNRECORDED.replace("interrupted", "interrupted again", 1))
            again = "was interrupted again"
            return self._unknown_again(run, capability, ctx, step, cut, again, cut=True)
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
        twice). What ends the run: ("failed", why), or None."""
        self._flush_outcomes(run)  # an outcome settled before is on disk first
        if how == "approved":  # on disk before the call: a crash in it is told apart (`_settle`)
            self._record(run, "action_repeated", repeated(ctx))
        outcome = self.env.call(capability, ctx)
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
        for hit in hits:
            if hit.effect == "deny":
                return f"{name} now denied by {hit.ref}: {hit.message}"
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
        unknown = "whether it ran" if step.cause is None else "its outcome"
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
            return self._end(run, outcome, reason)
        except JournalError as exc:  # recording the end failed: left for ido resume
            self._stopped(run, exc)
            raise

    def _end(self, run: RunState, outcome: str, reason: str | None) -> RunReport:
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
        report = RunReport(run.run_id, outcome, reason, run.spent, end - run.started)
        self._emit(run, "run_finished", report.__dict__)
        return report

    def _stopped(self, run: RunState, exc: BaseException) -> None:
        """The run stops on `exc`: what it learnt is kept, and on an error (not Ctrl-C,
        which ends the process) this process gives the run up (`_release`)."""
        self._save_outcomes(run)
        if isinstance(exc, Exception):
            self._release(run, exc)

    def _release(self, run: RunState, error: Exception) -> None:
        """Record that this process gives the run up, interrupted by `error`: a process
        that lives on (`ido runner`) no longer holds it, and `ido resume` may take it."""
        with contextlib.suppress(Exception):  # (a journal that failed may fail this too)
            data = {"process": host(), "error": printable(str(error) or type(error).__name__)}
            self.journal.append(run.run_id, "run_released", stamp(self.clock()), data)

    def _loop(self, run: RunState, planner: Planner, trigger: str) -> tuple[str, str | None]:
        limits = run.intent.spec.limits
        while True:
            stopping.check()
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
                    would_ask(decision)
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
        specs = self._specs if specced(events) else _unspecced
        digest_ = plan_digest(plan, specs(decision.result.plan.capabilities))
        given = verdicts(events)
        steps = decision.result.plan.capabilities
        total = run.spent + float(plan["cost"])
        gone_on = plan_gone_on(events, steps, decision.trigger, decision.number, total)
        asked_before = requests(events)
        earlier = {r.key: r for r in asked_before}
        now = self.clock()
        waiting = []
        for rule, name, step, message in asked:
            key = (rule, name, step, digest_, read.get((rule, name), ""))
            held_so = steady.get((rule, name), "")  # (none for `mode: propose`'s request)
            verdict: Mapping[str, Any] | None = answering(given, key)
            if verdict is None and gone_on is not None:  # the verdict on the plan gone on with
                whole = as_asked_of(gone_on, steps, key, specs)
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
        for rule, name, step, message, first, held, held_so in waiting:
            since = first.since if first is not None else now
            request = request_data(
                rule, name, step, message, digest_, plan["cost"], since, book.rule(rule)
            )
            request.update(read=held, **({"steady": held_so} if held_so else {}))
            # `step` is this plan's: `ido approvals` says whose
            self._record(run, "approval_required", {**request, "decision": run.decisions})
        return blocking(
            [
                ("blocked", f"{subject(step, name)} needs approval ({rule}: {message})")
                for rule, name, step, message, _, _, _ in waiting
            ]
        )

    def _execute(
        self, run: RunState, decision: Decision, state: State
    ) -> tuple[str | None, State, tuple[str, str] | None]:
        """Perform the plan, each step once those it waits for succeed; None when all did.

        Returns why to replan (None when every step succeeded), the last state observed,
        and what blocks the run instead: a timed-out step whose outcome a person must
        decide (`_timed_out`), or None.

        Steps whose waits are met start together and run side by side. The journal is
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
        reason: str | None = None
        executor = self.env.executor()
        running: dict[int, int] = {}  # journal step → plan step
        asked: list[tuple[str, str]] = []  # steps whose outcome a person must decide
        try:
            while True:
                ready = [i for i in range(len(steps)) if i not in started and set(waits[i]) <= done]
                if ready and reason is None and started:
                    state = self._observe(run)
                    reason = self._check(run, decision, done, checked, expected, state)
                    checked |= done
                if ready and reason is None:
                    stopping.check()  # no new step once the process is being interrupted
                    # The first steps start on the snapshot their decision judged, under
                    # its policies: the rules are held to what moved since (observed, or
                    # a policy a scenario's world switched on).
                    policies = tuple(self.env.intent(run.intent).spec.policies)
                    observed_since = bool(started) or policies != run.judged_under
                    for i in ready:
                        missing = self._unmet(steps[i], state)
                        if missing is not None:
                            reason = (
                                f"{steps[i].capability} no longer applicable: requires {missing!r}"
                            )
                            break
                        if observed_since:
                            name = steps[i].capability
                            reason = self._denied(run, name, state, expected, decision)
                            if reason is not None:
                                break
                        wait = backoff(run.intent, run.failures.get(steps[i].capability, 0))
                        reason, left = self._too_late(run, steps[i].capability, wait)
                        if reason is not None:
                            break
                        alone = bool(wait) and not running and len(ready) == 1
                        if alone:
                            # Waited before its start is recorded: a crash meanwhile leaves
                            # no step in flight, where one would be "unknown" on resume.
                            self.env.wait(wait)
                            # The world moved on meanwhile: a vendor sanctioned during the
                            # backoff was paid on the decision's word from before it.
                            state = self._observe(run)
                            reason = self._waited_out(run, steps[i], state, expected, decision)
                            if reason is not None:
                                break
                        started.add(i)
                        ctx, delay = self._start(
                            run, steps[i], state, left=left, waited=alone, later=not alone
                        )
                        executor.submit(self.catalog.capabilities[ctx.capability], ctx, delay)
                        running[ctx.step] = i
                if not running:
                    if reason is None and done - checked:
                        state = self._observe(run)
                        reason = self._check(run, decision, done, checked, expected, state)
                    return reason, state, blocking(asked)
                self._flush_outcomes(run)
                for ctx, outcome in executor.next():
                    i = running.pop(ctx.step)
                    capability = self.catalog.capabilities[ctx.capability]
                    settled: str | None = None
                    if unknown_outcome(outcome, capability):
                        outcome, settled, ask = self._timed_out(run, ctx, outcome)
                        asked += [] if ask is None else [ask]
                    else:
                        outcome = self._finish(run, ctx, outcome)  # as recorded
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
                    reason = over_limits(
                        plan,
                        done,
                        spent=run.spent,
                        elapsed=run.elapsed(self.clock()),
                        max_cost=limits.max_cost,
                        deadline=limits.deadline,
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
        standing = judged(run.intent.spec.goal, self.catalog.capabilities, plan, done)
        return changed(expected, state, decision.observed, standing)

    def _observe(self, run: RunState) -> State:
        simulated = self.env.observations()
        observations = list(simulated or [])
        if simulated is None and run.intent.spec.observers:
            self._flush_outcomes(run)
        stale: list[tuple[int, State]] = []
        # Journaled, so that a resumed run keeps them standing: a report once, as it changes;
        # one read again unchanged by name only (where it was read: `RunState.reports`).
        fresh: dict[str, State] = {}
        unchanged: list[str] = []
        run.unobserved = ()
        for name in run.intent.spec.observers if simulated is None else ():
            observer = self.catalog.observers[name]
            origin = self.catalog.origin(observer)
            folder = origin.file.parent if origin else self.base
            try:
                report = observe(observer, folder, self.base, self.env.environ, self._secrets)
            except ObserverError as exc:
                # What it reported last still stands (its facts gone, a paid order read as
                # unpaid and was charged again), below what steps did since: it is no news.
                last = run.reports.get(name)
                data = {
                    "observer": name,
                    "reason": exc.reason,
                    "kept_last_report": last is not None,
                }
                if run.failing.get(name) == exc.reason:
                    data["again"] = True
                run.failing[name] = exc.reason
                self._record(run, "observer_failed", data)
                run.unobserved += (name,)
                stale += [] if last is None else [last]
                continue
            run.failing.pop(name, None)
            run.reports[name] = (len(run.effect_log), report)
            said = digest(report)
            if run.report_digests.get(name) == said:
                unchanged.append(name)
            else:
                run.report_digests[name] = said
                fresh[name] = report
            observations.append(report)
        effects = run.effects
        for since, report in sorted(stale, key=lambda last: last[0]):
            effects = merge(effects, report)  # above what was done before it reported (a copy)
            for path, value in run.effect_log[since:]:  # below what was done after
                set_path(effects, path, value)
        state = snapshot(run.intent, observations, effects, self._facts)
        seen: State = {}
        for observation in observations:
            seen = merge(seen, observation)
        run.seen = seen
        observed: dict[str, Any] = {"digest": digest(state), "state": state}
        if fresh:
            observed["reports"] = fresh
        if unchanged:
            observed["unchanged"] = unchanged
        self._record(run, "observed", observed, durable=False)
        return state

    def _history(self, run: RunState, now: float) -> History:
        """What the run has seen so far, as a decision (or a compensation's rules) reads it."""
        return history_of(
            run,
            now,
            spent=run.spent,
            elapsed=run.elapsed(now),
            unbound=self._unbound,
            unresolved=self._unresolved,
        )

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
            if approved is not None:
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
            else:
                decision = decide(
                    intent,
                    self.catalog,
                    state,
                    self._history(run, now),
                    planner,
                    number=run.decisions,
                    trigger=trigger,
                )
        # With the state just observed, these are every input of the decision: replay
        # re-decides from them (`ido.replay`).
        # Every policy in force (enforced ones too), so replay applies exactly these.
        sources = rulebook(intent, self.catalog.policies).sources
        named = [s for s in sources if not s.startswith("intent:")]
        inputs = {
            "now": now,
            "policies": named,
            "policy_digests": {n: self._digests[n] for n in named if n in self._digests},
            "unbound": sorted(self._unbound),
            **({"unresolved": self._unresolved} if self._unresolved else {}),
        }
        if decision.result.plan is not None:  # what an approval of it is given for
            inputs["capability_digests"] = self._specs(decision.result.plan.capabilities)
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

    def _specs(self, names: Sequence[str]) -> dict[str, dict[str, str]]:
        """What each of `names` performs (`spec_digests`), as the catalog has it now: what an
        approval of a plan with them is given for."""
        return {
            n: spec_digests(self.catalog.capabilities[n])
            for n in dict.fromkeys(names)
            if n in self.catalog.capabilities
        }

    def _waited_out(
        self, run: RunState, step: Step, state: State, expected: State, decision: Decision
    ) -> str | None:
        """Why a step that waited out its backoff alone may not start after all, observed
        again once the wait is over: its requirements no longer hold, or a rule bars it now
        (`_denied`). None: it starts."""
        missing = self._unmet(step, state)
        if missing is not None:
            return f"{step.capability} no longer applicable: requires {missing!r}"
        return self._denied(run, step.capability, state, expected, decision)

    def _denied(
        self, run: RunState, name: str, state: State, expected: State, decision: Decision
    ) -> str | None:
        """Why capability `name` may not start now, if a deny rule fires for it, or a
        `require_approval` rule its decision did not ask (see `ido.decide.guards_now`), or
        one it asked whose reading moved otherwise than the plan's own steps moved it
        (`expected`: the decision's snapshot with the effects of the steps done since): a
        payment approved for 15,000 must not go ahead for 950,000. The decision made then
        leaves it out, or asks. Beliefs are aged to the plan's decision, as it saw them
        (no clock is read: one reading per step)."""
        intent = self.env.intent(run.intent)
        history = self._history(run, run.started + run.waited + decision.elapsed)
        hits = guards_now(intent, self.catalog, name, state, history)
        asked = {(rule, about) for rule, about, _ in decision.approvals}
        for hit in hits:
            if hit.effect == "deny":
                return f"{name} now denied by {hit.ref}: {hit.message}"
        for hit in hits:
            if (hit.ref, name) not in asked:
                return f"{name} now needs approval by {hit.ref}: {hit.message}"
        planned = {h.ref: h.held for h in guards_now(intent, self.catalog, name, expected, history)}
        for hit in hits:
            if hit.effect == "require_approval" and planned.get(hit.ref) != hit.held:
                return (
                    f"{name} needs approval again by {hit.ref}: what the rule reads moved "
                    f"since the plan was made: {hit.message}"
                )
        return None

    def _count_model(self, run: RunState, decision: Decision) -> None:
        """A model's answers cost money, counted against the budget like any step, and
        its failures are health evidence about `llm:MODEL`, like a provider's."""
        record = decision.result.solver.get("llm")
        if not record:
            return
        run.spent += float(record.get("cost") or 0.0)
        fold_model_calls(run, record)
        now = self.clock()
        for call in record.get("calls", []):
            if call.get("cached"):
                continue
            reply = call["reply"]
            seconds = None if reply.get("error") else reply.get("seconds")
            ok = reply.get("error") is None
            self._learn(run, Lesson(f"llm:{record['model']}", ok, seconds, now))

    def _start(
        self,
        run: RunState,
        step: Step,
        state: State,
        undoing: Mapping[str, Any] | None = None,
        left: float | None = None,
        waited: bool = False,
        later: bool = False,
    ) -> tuple[ActionContext, float]:
        """Record that a step starts; also how long to back off first (after failures).
        `undoing`: a compensation's `undoes_step` and the run's failure `reason`; `left`:
        the seconds to the deadline after the backoff, which the call may not outlast;
        `waited`: the backoff has been waited already (the record still says how long);
        `later`: it is waited beside steps in flight, before the call on its own thread,
        and the start is recorded as of the moment the wait ends, when the call starts
        (it was stamped before the wait, which its start time then included)."""
        capability = self.catalog.capabilities[step.capability]
        run.steps_taken += 1
        attempt = run.attempts.get(step.capability, 0) + 1
        run.attempts[step.capability] = attempt
        ctx = self._context(run, capability.name, run.steps_taken, attempt, state)
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
                **({"waited": True} if (waited or later) and delay else {}),  # before it
                **(undoing or {}),
            },
            after=delay if later else 0.0,
        )
        return ctx, 0.0 if waited else delay

    def _too_late(self, run: RunState, name: str, wait: float) -> tuple[str | None, float | None]:
        """Why `name` may not start now (it would start, after its backoff `wait`, at or past
        the deadline), else None; and the seconds the call may take before the deadline
        (None: no deadline)."""
        deadline = run.intent.spec.constraints.deadline
        if deadline is None:
            return None, None
        elapsed = run.elapsed(self.clock())
        left = deadline - elapsed - wait
        if left > 0:
            return None, left
        # Past the deadline itself, no plan can help (one of steps believed to take no time
        # would be planned, and refused here, until max_replans): the run has failed.
        run.overdue = elapsed >= deadline
        after = f" after its {format_duration(wait)} backoff" if wait else ""
        why = (
            f"{format_duration(elapsed)} elapsed: {name} would start{after} past the "
            f"{format_duration(deadline)} deadline"
        )
        return why, left

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

    def _finish(
        self,
        run: RunState,
        ctx: ActionContext,
        outcome: Outcome,
        resumed: str | None = None,
        decision: int | None = None,
        settled: str | None = None,
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
        fold_finish(run, data, self.catalog)  # its effects and output, or a failure counted
        if tells_of_provider(data):
            # The exact moment, so that replay and resume learn exactly what the run did.
            data["learnt_at"] = now = self.clock()
            self._learn(run, Lesson(ctx.capability, outcome.ok, learnt(data), now))
            if outcome.ok:
                run.succeeded_at[ctx.step] = now
        self._record(run, "action_finished", data, durable=False)  # folds it into `completed`
        return outcome

    def _learn(self, run: RunState, lesson: Lesson) -> None:
        """Fold an outcome into the run's health evidence (stored when the run ends)."""
        name = lesson.capability
        run.evidence[name] = lesson.applied(run.evidence.get(name))
        run.lessons.append(lesson)

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
            ctx, _ = self._start(
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

    def _unmet(self, step: Step, state: State) -> str | None:
        for source in self.catalog.capabilities[step.capability].spec.requires:
            if not compile_condition(source).evaluate({"state": state}).holds:
                return source
        return None

    @staticmethod
    def _goal_holds(intent: Intent, state: State) -> bool:
        return all(compile_condition(g).evaluate({"state": state}).holds for g in intent.spec.goal)

    def _record(
        self,
        run: RunState,
        kind: str,
        data: Mapping[str, Any],
        durable: bool = True,
        took: float | None = None,
        replies: Mapping[str, Mapping[str, Any]] | None = None,
        after: float = 0.0,
    ) -> None:
        """Journal an event (`after`: as of that many seconds from now, when what it
        records happens: a step's start after a backoff waited beside other steps).
        A durable one is committed now, with any held back before it:
        observations and decisions wait for the next commit, as ido can redo them after a
        crash, while what precedes a side effect must be on disk first. `replies`: model
        answers to keep in the cache, in the same commit.

        A step's outcome waits too, but never long: the next step's start commits it
        before that step's side effect, and it is committed before anything that may take
        a while (waiting for steps in flight, observers, a decision after a replan), so a
        completed step is never repeated after a crash."""
        self._pending.append((kind, stamp(self.clock() + after), data))
        run.completed = fold_done(run.completed, run.undoing, kind, data)  # as resume folds
        run.left_undone = fold_undone(run.left_undone, kind, data)
        if durable:
            self._flush(run, replies)
        self._emit(run, kind, data, took, after)

    def _flush(self, run: RunState, replies: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Commit the events held back, if any."""
        if self._pending or replies:
            self.journal.append_many(run.run_id, self._pending, replies)
            self._after_commit(len(self._pending))
            self._pending = []

    def _save_outcomes(self, run: RunState) -> None:
        """On the way out of an interrupted run: commit the outcomes held back, so that
        resume does not take completed steps for interrupted ones (best effort: the
        exception that stops the run is the one to report). Those a commit cut short by
        Ctrl-C wrote after all are not written again; a step's start whose commit it cut
        short is not written at all (its call was never made: journaled, the step would
        read as cut short, and a person be asked whether it ran)."""
        if not any(kind == "action_finished" for kind, _, _ in self._pending):
            return  # (nothing `_flush_outcomes` would write: no need to read the run)
        with contextlib.suppress(Exception):
            held = self.journal.events(run.run_id)[-len(self._pending) - 1 :]
            if landed(held, self._pending):
                self._pending = []
            self._pending = _uncalled_cut(self._pending)
            self._flush_outcomes(run)

    def _flush_outcomes(self, run: RunState) -> None:
        """Commit held-back step outcomes before anything that may take a while."""
        if any(kind == "action_finished" for kind, _, _ in self._pending):
            self._flush(run)

    def _after_commit(self, events: int = 1) -> None:
        """The crash test hook: die (SIGKILL, no cleanup) right after the commit that holds
        this runtime's N-th journal event (a run's start queued behind another thread's
        commit counts once the run's next write is committed: only then is it known to be
        on disk)."""
        events, self._uncounted = events + self._uncounted, 0
        before, self._committed = self._committed, self._committed + events
        if self._crash_after is not None and before < self._crash_after <= self._committed:
            os.kill(os.getpid(), signal.SIGKILL)

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

    def _emit(
        self,
        run: RunState,
        kind: str,
        data: Mapping[str, Any],
        took: float | None = None,
        after: float = 0.0,
    ) -> None:
        if self.listener is not None:
            self.listener(kind, data)
        if self.telemetry is not None:
            try:
                at = self.clock() + after
                self.telemetry.record(run.run_id, run.intent.name, kind, data, at, took)
            except Exception as exc:  # telemetry must never break a run
                self.telemetry = None
                self._emit(run, "telemetry_failed", {"error": failure(exc)})
