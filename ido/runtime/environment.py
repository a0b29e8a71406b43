"""What a run acts on: the real world (bindings on threads, real observers) or a simulated one.

The runtime asks its environment to perform calls, to observe, and what the intent is at a
moment (a scenario can switch a policy on mid-run). `RealEnvironment` performs bindings on
worker threads; `ido.scenario.world.SimulatedWorld` answers from a seeded model on a
virtual clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

from ido.model import Capability, Intent
from ido.runtime import stopping
from ido.runtime.bindings import Outcome, perform
from ido.runtime.context import ActionContext
from ido.secrets import Environ


class Executor(Protocol):
    """Calls in flight: submit them, then take them as they end."""

    def submit(self, capability: Capability, ctx: ActionContext) -> None: ...
    def next(self, timeout: float | None = None) -> list[tuple[ActionContext, Outcome]]:
        """At least one call that ended (several when they end together, by step); none
        when `timeout` seconds pass first (a retry's backoff is over: it may start)."""
        ...

    def close(self) -> None: ...


class Environment(Protocol):
    shares_beliefs: bool
    """Whether runs here learn from and teach the journal's health beliefs (a simulated
    world must not teach the real one that a provider is down)."""
    runs_bindings: bool
    """Whether calls perform the capabilities' `run` bindings: then a capability without
    one cannot be run, and is not planned."""
    environ: Environ | None
    """Where the bindings' `${env:NAME}` resolve from (None: no binding is called here, and
    none is checked): a capability whose binding names a variable unset or empty there
    cannot be called, and is not planned."""
    simulates: str | None
    """The scenario whose world this is (None: the real one). A scenario's run resumes in
    its own world only (after its scripted verdicts), never in the real one."""

    def executor(self) -> Executor: ...
    def wait(self, seconds: float) -> None:
        """Let `seconds` pass (a retry's backoff, before its start is recorded)."""
        ...

    def call(self, capability: Capability, ctx: ActionContext) -> Outcome:
        """One call, start to end (compensations, resumed steps)."""
        ...

    def deciding(self) -> None:
        """A decision is about to be made."""
        ...

    def decided(self, llm: Mapping[str, Any] | None) -> None:
        """A decision was made (`llm`: its model planner's record, if it asked a model); a
        real clock has already moved by the time that took."""
        ...

    def observations(self) -> list[Mapping[str, Any]] | None:
        """What the world reports now, or None to read the intent's own observers."""
        ...

    def starts_now(self, capability: Capability) -> bool:
        """Whether a step of `capability` may start now beside the calls in flight: a
        replay's world says no where the recording's process was killed before starting
        it (`ido.scenario.recorded`)."""
        ...

    def intent(self, intent: Intent) -> Intent:
        """The intent as it stands now."""
        ...


class RealEnvironment:
    """Bindings performed for real, side by side on threads; the intent's own observers."""

    shares_beliefs = True
    runs_bindings = True
    simulates: str | None = None

    def __init__(self, base: Path, sleep: Any, named: frozenset[str] = frozenset()) -> None:
        self.base = base
        self.sleep = sleep
        self.environ: Environ | None = os.environ  # what the calls resolve from, and are checked by
        self.named = named  # the catalog's secrets: masked in every call's output and error

    def executor(self) -> Executor:
        return _ThreadExecutor(self)

    def wait(self, seconds: float) -> None:
        self.sleep(seconds)

    def call(self, capability: Capability, ctx: ActionContext) -> Outcome:
        return perform(capability, ctx, self.base, self.environ, self.named)

    def deciding(self) -> None:
        return

    def decided(self, llm: Mapping[str, Any] | None) -> None:
        return

    def observations(self) -> list[Mapping[str, Any]] | None:
        return None

    def starts_now(self, capability: Capability) -> bool:
        return True

    def intent(self, intent: Intent) -> Intent:
        return intent


class _ThreadExecutor:
    """Calls side by side on threads; a call alone runs on the caller's thread (no hand-off)."""

    def __init__(self, env: RealEnvironment) -> None:
        self._env = env
        self._pool: ThreadPoolExecutor | None = None
        self._waiting: list[tuple[Capability, ActionContext]] = []
        self._running: dict[Future[Outcome], ActionContext] = {}

    def submit(self, capability: Capability, ctx: ActionContext) -> None:
        self._waiting.append((capability, ctx))

    def next(self, timeout: float | None = None) -> list[tuple[ActionContext, Outcome]]:
        if len(self._waiting) == 1 and not self._running and timeout is None:
            capability, ctx = self._waiting.pop()
            return [(ctx, self._env.call(capability, ctx))]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="ido")
        for capability, ctx in self._waiting:
            self._running[self._pool.submit(self._env.call, capability, ctx)] = ctx
        self._waiting = []
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            poll = stopping.POLL_SECONDS
            if end is not None:
                poll = max(0.0, min(poll, end - time.monotonic()))
            finished, _ = wait(self._running, poll, FIRST_COMPLETED)
            ended = [f for f in finished if f.exception() is None]
            if ended:  # outcomes known are handed over first, even when stopping
                done = [(self._running.pop(f), f.result()) for f in ended]
                return sorted(done, key=lambda pair: pair[0].step)
            if finished:  # a call that raised (stopped): it goes on up, with its step
                error = next(iter(finished)).exception()
                assert error is not None
                raise error
            if end is not None and time.monotonic() >= end:
                return []
            stopping.check()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
