"""The local runtime's state and what all its parts share: the journal's writes, observing."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ido.catalog_record import start_digests
from ido.conditions import compile_condition
from ido.decision import History
from ido.errors import IdoError, ObserverError
from ido.health import Lesson
from ido.journal.records import STARTS, Journal, Pending, landed, stamp
from ido.loading.catalog import Catalog
from ido.observe import boolean_facts, observe, snapshot
from ido.planner import Planner
from ido.planner.types import Step
from ido.policy import policy_digests
from ido.runtime import stopping
from ido.runtime.bindings import missing_secret
from ido.runtime.environment import Environment, RealEnvironment
from ido.runtime.folds import RunState, fold_done, fold_undone, history_of
from ido.runtime.interruption import record_interruption
from ido.runtime.owners import host
from ido.runtime.step_words import StepWatch
from ido.secrets import catalog_secrets, credential_names
from ido.state import State, digest, merge, set_path
from ido.text import failure, printable

Listener = Callable[[str, Mapping[str, Any]], None]
"""What `LocalRuntime(listener=…)` is told each event with: its kind and its data."""


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


def _uncalled_cut(pending: list[Pending]) -> list[Pending]:
    """`pending` up to the first start of a step held in it after the last outcome: a call
    starts only once its start is on disk, so a start still held was never called."""
    kinds = [kind for kind, _, _ in pending]
    last = max((n for n, kind in enumerate(kinds) if kind == "action_finished"), default=-1)
    starts = [n for n, kind in enumerate(kinds) if kind in STARTS and n > last]
    return pending[: starts[0]] if starts else pending


class RuntimeCore:
    """What a run in this process holds, and how it records and observes (`LocalRuntime`)."""

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
        self.busy = threading.Lock()
        """Held while a run goes on (`LocalRuntime`): its state is one run's."""
        # Every secret the catalog names, masked in what every call and observer gives back:
        # a binding inherits ido's whole environment, and may print another's. And, for
        # real calls, every variable named as a credential is (`credential_names`): a
        # binding may read one it never declared. Listed once, here, not per call.
        self._secrets = catalog_secrets(catalog)
        if environment is None:
            self._secrets |= credential_names(os.environ)
        self.env = environment or RealEnvironment(base, sleep, self._secrets)
        if listener is not None and self.env.simulates is None:  # a real step may take minutes
            self.listener = StepWatch(listener, expected=self._latency)
        self._facts = boolean_facts(catalog)
        # Each policy's digest, for the decisions' records (the catalog is this runtime's
        # for its life: worked out once, not per decision).
        self._digests = policy_digests(catalog.policies, catalog.policies)
        # What each capability performs (`spec_digests`): what an approval of a plan with it
        # is given for. And what each declares, recorded when a run starts: a replay tells
        # from them which were added, removed or changed since (`ido.catalog_record`).
        # Worked out once, from one dump of each, not per decision and per rule asked.
        self._spec_digests, self._declared = start_digests(catalog.capabilities)
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

    def _stopped(self, run: RunState, exc: BaseException) -> None:
        """The run stops on `exc`: what it learnt is kept, and on an error (not Ctrl-C,
        which ends the process) this process gives the run up (`_release`)."""
        if isinstance(self.listener, StepWatch):  # its steps in flight are no longer told
            self.listener.clear()
        self._save_outcomes(run)
        if isinstance(exc, KeyboardInterrupt):  # for the command to say which, and what next
            capabilities = self.catalog.capabilities
            stopping.cut_short(
                exc,
                [
                    (step, name, name in capabilities and capabilities[name].spec.idempotent)
                    for step, name in sorted(run.in_flight.items())
                ],
            )
            self._interrupted(run, exc)
        if isinstance(exc, Exception):
            self._release(run, exc)

    def _interrupted(self, run: RunState, interrupt: KeyboardInterrupt) -> None:
        """Record that a signal stopped the run (`run_interrupted`: which, the process, the
        steps it cut short), for `ido explain` and `ido runs` to say when and why it stopped;
        a run stopped with no signal named (its Temporal worker leaving, which its workflow
        records) records none. Bounded in time (`record_interruption`)."""
        by = stopping.signal_of(interrupt)
        if by is None:
            return
        data = {"signal": by, "process": host(), "steps": sorted(run.in_flight)}
        record_interruption(self.journal, run.run_id, stamp(self.clock()), data)

    def _latency(self, name: str) -> float | None:
        """A capability's declared latency, in seconds (None: not in the catalog)."""
        capability = self.catalog.capabilities.get(name)
        return None if capability is None else capability.spec.latency

    def _release(self, run: RunState, error: Exception) -> None:
        """Record that this process gives the run up, interrupted by `error`: a process
        that lives on (`ido runner`) no longer holds it, and `ido resume` may take it."""
        with contextlib.suppress(Exception):  # (a journal that failed may fail this too)
            data = {"process": host(), "error": printable(str(error) or type(error).__name__)}
            self.journal.append(run.run_id, "run_released", stamp(self.clock()), data)

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

    def _learn(self, run: RunState, lesson: Lesson) -> None:
        """Fold an outcome into the run's health evidence (stored when the run ends)."""
        name = lesson.capability
        run.evidence[name] = lesson.applied(run.evidence.get(name))
        run.lessons.append(lesson)

    def _unmet(self, step: Step, state: State) -> str | None:
        for source in self.catalog.capabilities[step.capability].spec.requires:
            if not compile_condition(source).evaluate({"state": state}).holds:
                return source
        return None

    def _record(
        self,
        run: RunState,
        kind: str,
        data: Mapping[str, Any],
        durable: bool = True,
        took: float | None = None,
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Journal an event. A durable one is committed now, with any held back before it:
        observations and decisions wait for the next commit, as ido can redo them after a
        crash, while what precedes a side effect must be on disk first. `replies`: model
        answers to keep in the cache, in the same commit.

        A step's outcome waits too, but never long: the next step's start commits it
        before that step's side effect, and it is committed before anything that may take
        a while (waiting for steps in flight, observers, a decision after a replan), so a
        completed step is never repeated after a crash."""
        self._pending.append((kind, stamp(self.clock()), data))
        run.completed = fold_done(run.completed, run.undoing, kind, data)  # as resume folds
        run.left_undone = fold_undone(run.left_undone, kind, data)
        if kind == "action_finished":
            run.in_flight.pop(data["step"], None)
        if durable:
            self._flush(run, replies)
        if kind in ("action_started", "action_repeated"):  # (on disk: a call is made only now)
            run.in_flight[data["step"]] = data["capability"]
        self._emit(run, kind, data, took)

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

    def _emit(
        self,
        run: RunState,
        kind: str,
        data: Mapping[str, Any],
        took: float | None = None,
    ) -> None:
        if self.listener is not None:
            self.listener(kind, data)
        if self.telemetry is not None:
            try:
                at = self.clock()
                self.telemetry.record(run.run_id, run.intent.name, kind, data, at, took)
            except Exception as exc:  # telemetry must never break a run
                self.telemetry = None
                self._emit(run, "telemetry_failed", {"error": failure(exc)})
