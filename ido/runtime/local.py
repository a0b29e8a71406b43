"""The local runtime: drives observe → decide → act → record in-process, journaling to SQLite."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ido.conditions import compile_condition
from ido.decide import Decision, History, decide
from ido.errors import ExecutionError, IdoError
from ido.journal import Journal
from ido.loading import Catalog
from ido.model import Intent
from ido.observe import boolean_facts, observe, snapshot
from ido.planner import Planner, get_planner
from ido.planner.types import Plan, Step
from ido.runtime.bindings import Outcome, perform
from ido.runtime.context import ActionContext
from ido.state import State, apply_effects, digest, set_path

Listener = Callable[[str, Mapping[str, Any]], None]


def new_run_id(now: float) -> str:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    return f"r{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunReport:
    run_id: str
    outcome: str
    reason: str | None
    cost: float
    duration: float


@dataclass
class _Run:
    run_id: str
    intent: Intent
    started: float
    effects: State = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    spent: float = 0.0
    decisions: int = 0
    steps_taken: int = 0


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
    ) -> None:
        self.catalog = catalog
        self.journal = journal
        self.base = base
        self.clock = clock
        self.new_id = new_id
        self.listener = listener
        self.planner = planner
        self._facts = boolean_facts(catalog)

    def run(self, intent: Intent) -> RunReport:
        """Pursue the intent until achieved, failed or blocked."""
        if intent.spec.mode != "auto":
            raise IdoError(
                f"mode '{intent.spec.mode}' is not supported yet; use mode: auto "
                "(or `ido plan` to plan without acting)"
            )
        planner = self.planner or get_planner(intent.spec.planner)
        now = self.clock()
        run = _Run(self.new_id(now), intent, now)
        self.journal.start_run(
            run.run_id,
            intent.name,
            self._iso(now),
            {"intent": intent.model_dump(mode="json", by_alias=True), "planner": planner.name},
        )
        self._emit("run_started", {"run_id": run.run_id, "intent": intent.name})
        try:
            outcome, reason = self._loop(run, planner)
        except IdoError as exc:
            outcome, reason = "failed", str(exc)
        end = self.clock()
        self.journal.finish_run(
            run.run_id, outcome, reason, run.spent, end - run.started, self._iso(end)
        )
        report = RunReport(run.run_id, outcome, reason, run.spent, end - run.started)
        self._emit("run_finished", report.__dict__)
        return report

    def _loop(self, run: _Run, planner: Planner) -> tuple[str, str | None]:
        limits = run.intent.spec.limits
        trigger = "run started"
        while True:
            state = self._observe(run)
            if run.decisions > limits.max_replans:
                return "failed", f"gave up after {limits.max_replans} replans; last: {trigger}"
            decision = self._decide(run, planner, state, trigger)
            result = decision.result
            if result.status == "satisfied":
                return "achieved", None
            if result.status == "infeasible" or result.plan is None:
                return "failed", result.reason
            if decision.approvals:
                rule, capability, message = decision.approvals[0]
                self._record(
                    run,
                    "approval_required",
                    {"rule": rule, "capability": capability, "message": message},
                )
                return "blocked", f"{capability} needs approval ({rule}: {message})"
            replan = self._execute(run, result.plan, state)
            if replan is not None:
                trigger = replan
                continue
            if self._goal_holds(run.intent, self._observe(run)):
                return "achieved", None
            trigger = "plan completed but the goal does not hold"

    def _execute(self, run: _Run, plan: Plan, state: State) -> str | None:
        """Perform the plan, each step once those it waits for succeed; None when all did.

        Steps whose waits are met start together and run side by side. The journal is
        written from this thread only: finishes are recorded as they come (in plan order
        when several end at once). After a failure, or a step whose requirements no longer
        hold, nothing new starts; the steps in flight finish, and the reason is returned.
        """
        steps, waits = plan.steps, plan.waits
        done: set[int] = set()
        started: set[int] = set()
        reason: str | None = None
        with ThreadPoolExecutor(max_workers=max(1, len(steps)), thread_name_prefix="ido") as pool:
            running: dict[Future[Outcome], tuple[int, ActionContext]] = {}
            while True:
                ready = [i for i in range(len(steps)) if i not in started and set(waits[i]) <= done]
                if ready and reason is None:
                    if started:
                        state = self._observe(run)
                    for i in ready:
                        missing = self._unmet(steps[i], state)
                        if missing is not None:
                            reason = (
                                f"{steps[i].capability} no longer applicable: requires {missing!r}"
                            )
                            break
                        started.add(i)
                        ctx = self._start(run, steps[i], state)
                        capability = self.catalog.capabilities[ctx.capability]
                        running[pool.submit(perform, capability, ctx, self.base)] = (i, ctx)
                if not running:
                    return reason
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: running[f][0]):
                    i, ctx = running.pop(future)
                    outcome = future.result()
                    self._finish(run, ctx, outcome)
                    if outcome.ok:
                        done.add(i)
                        continue
                    run.failures[ctx.capability] = run.failures.get(ctx.capability, 0) + 1
                    verb = "timed out" if outcome.timed_out else "failed"
                    reason = reason or f"step {ctx.step} {ctx.capability} {verb}: {outcome.error}"

    def _observe(self, run: _Run) -> State:
        observations = []
        for name in run.intent.spec.observers:
            observer = self.catalog.observers[name]
            origin = self.catalog.origin(observer)
            folder = origin.file.parent if origin else self.base
            try:
                observations.append(observe(observer, folder, self.base))
            except ExecutionError as exc:
                self._record(run, "observer_failed", {"observer": name, "error": str(exc)})
        state = snapshot(run.intent, observations, run.effects, self._facts)
        self._record(run, "observed", {"digest": digest(state), "state": state})
        return state

    def _decide(self, run: _Run, planner: Planner, state: State, trigger: str) -> Decision:
        run.decisions += 1
        decision = decide(
            run.intent,
            self.catalog,
            state,
            History(dict(run.failures)),
            planner,
            number=run.decisions,
            trigger=trigger,
        )
        self._record(run, "decided", decision.to_json())
        return decision

    def _start(self, run: _Run, step: Step, state: State) -> ActionContext:
        capability = self.catalog.capabilities[step.capability]
        run.steps_taken += 1
        attempt = run.attempts.get(step.capability, 0) + 1
        run.attempts[step.capability] = attempt
        ctx = ActionContext(
            run_id=run.run_id,
            intent=run.intent.name,
            capability=capability.name,
            provider=capability.spec.provider,
            step=run.steps_taken,
            attempt=attempt,
            idempotency_key=f"{run.run_id}/{run.steps_taken}/{attempt}",
            timeout=capability.spec.timeout,
            state=state,
        )
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
            },
        )
        return ctx

    def _finish(self, run: _Run, ctx: ActionContext, outcome: Outcome) -> None:
        capability = self.catalog.capabilities[ctx.capability]
        run.spent += capability.spec.cost
        if outcome.ok:
            run.effects = apply_effects(run.effects, capability.spec.effects)
            if capability.spec.output is not None and outcome.output is not None:
                set_path(run.effects, capability.spec.output, outcome.output)
        self._record(
            run,
            "action_finished",
            {
                "decision": run.decisions,
                "step": ctx.step,
                "capability": ctx.capability,
                "ok": outcome.ok,
                "error": outcome.error,
                "timed_out": outcome.timed_out,
                "duration": outcome.duration,
                "cost": capability.spec.cost,
                "output": outcome.output,
                "effects": dict(capability.spec.effects) if outcome.ok else {},
            },
        )

    def _unmet(self, step: Step, state: State) -> str | None:
        for source in self.catalog.capabilities[step.capability].spec.requires:
            if not compile_condition(source).evaluate({"state": state}).holds:
                return source
        return None

    @staticmethod
    def _goal_holds(intent: Intent, state: State) -> bool:
        return all(compile_condition(g).evaluate({"state": state}).holds for g in intent.spec.goal)

    def _record(self, run: _Run, kind: str, data: Mapping[str, Any]) -> None:
        self.journal.append(run.run_id, kind, self._iso(self.clock()), data)
        self._emit(kind, data)

    def _emit(self, kind: str, data: Mapping[str, Any]) -> None:
        if self.listener is not None:
            self.listener(kind, data)

    @staticmethod
    def _iso(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
