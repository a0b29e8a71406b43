"""A simulated world on a virtual clock: capabilities behave as a scenario says, never for real.

Calls do not run bindings. Each call's outcome is drawn from the capability's behaviour
(success probability, latency, output) with a random generator seeded by the scenario's
seed, the capability and its call number, so the same seed gives the same run whatever the
order of calls. Faults change that behaviour at virtual times. Calls end in virtual-time
order: the executor is an event queue, and the clock jumps to the next end, so a scenario
that covers two hours runs in milliseconds, never sleeping.

The world keeps its own truth: the facts the successful calls changed (unless they were
silent) on top of what it reports from the start and what faults set. It reports that
truth as the observation, so a step that claims success without effect is noticed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Mapping
from typing import Any

from ido.errors import ExecutionError
from ido.loading.catalog import Catalog
from ido.model import Capability, Intent, Scenario
from ido.model.scenario import Behaviour, Fault, Spread
from ido.runtime.bindings import Outcome
from ido.runtime.context import ActionContext
from ido.secrets import Environ
from ido.state import State, apply_effects, merge
from ido.text import printable

START = 1_800_000_000.0  # virtual epoch of every scenario: 2027-01-15T08:00:00Z


LATEST = 253_402_300_799.0  # 9999-12-31T23:59:59Z: the journal's timestamps end there


class VirtualClock:
    def __init__(self, start: float = START) -> None:
        self.now = start
        self.start = start

    def __call__(self) -> float:
        return self.now

    def advance_to(self, moment: float) -> None:
        self.now = max(self.now, _within_years(moment))

    def sleep(self, seconds: float) -> None:
        self.now = _within_years(self.now + max(0.0, seconds))

    @property
    def elapsed(self) -> float:
        return self.now - self.start


def _within_years(moment: float) -> float:
    """`moment`, unless it is past the year 9999, which no timestamp holds: then the run
    fails saying so (retries with a backoff of 100 years doubling took a scenario's clock
    there, and the journal's timestamps crashed). The clock stays where it was."""
    if moment > LATEST:
        raise ExecutionError(
            "the scenario's virtual clock would pass the year 9999 (waits and latencies "
            "of centuries): shorter ones let it run"
        )
    return moment


class SimulatedWorld:
    """The Environment a scenario's run acts on (see `ido.runtime.environment`)."""

    shares_beliefs = False
    runs_bindings = False
    environ: Environ | None = None  # no binding is called

    def __init__(
        self, scenario: Scenario, catalog: Catalog, truth: State, start: float = START
    ) -> None:
        self.spec = scenario.spec
        self.simulates: str | None = scenario.name
        self.catalog = catalog
        self.clock = VirtualClock(start)
        self.truth: State = merge(truth, self.spec.world.observe)
        self._calls: dict[str, int] = {}
        self._failures_left = {i: f.fail_next or 0 for i, f in enumerate(self.spec.faults)}

    # --- Environment -----------------------------------------------------------------------

    def wait(self, seconds: float) -> None:
        self.clock.sleep(seconds)

    def executor(self) -> _EventQueue:
        return _EventQueue(self)

    def call(self, capability: Capability, ctx: ActionContext) -> Outcome:
        outcome, latency, applies = self._draw(capability, self.clock.elapsed, ctx.timeout)
        self.clock.sleep(latency)
        self._settle(capability, outcome, applies)
        return outcome

    def deciding(self) -> None:
        return

    def decided(self, llm: Mapping[str, Any] | None) -> None:
        """A scenario's time is its world's: a model's latency is the machine's, not the
        scenario's (its runs would vary with the model's speed)."""
        return

    def observations(self) -> list[Mapping[str, Any]]:
        """The world's truth with what `observe` faults report laid over it, merged as an
        observer's report is: `{trip: {vip: true}}` adds a fact beside the others under
        `trip`. Set in their place, it hid them, and a silent call's effect there went
        unnoticed: the run was achieved with the car never rented."""
        facts = dict(self.truth)
        for fault in self.spec.faults:
            if fault.observe is not None and fault.start <= self.clock.elapsed:
                facts = merge(facts, apply_effects({}, fault.observe))
        return [facts]

    def starts_now(self, capability: Capability) -> bool:
        return True

    def intent(self, intent: Intent) -> Intent:
        extra = [
            f.policy
            for f in self.spec.faults
            if f.policy is not None
            and f.start <= self.clock.elapsed
            and f.policy not in intent.spec.policies
        ]
        if not extra:
            return intent
        spec = intent.spec.model_copy(update={"policies": [*intent.spec.policies, *extra]})
        return intent.model_copy(update={"spec": spec})

    # --- the model -------------------------------------------------------------------------

    def _draw(
        self, capability: Capability, at: float, timeout: float | None = None
    ) -> tuple[Outcome, float, bool]:
        """The outcome and latency of a call starting `at` seconds into the scenario, and
        whether its effects apply to the world (not when it is silent); `timeout`: what
        the call may take (the run's deadline may cut it below the capability's own)."""
        name = capability.name
        n = self._calls.get(name, 0)
        self._calls[name] = n + 1
        rng = random.Random(f"{self.spec.seed}:{name}:{n}")  # noqa: S311 - a seeded simulation
        behaviour = self.spec.world.capabilities.get(name, Behaviour())
        latency = _latency(behaviour, capability, rng)
        ok = rng.random() < behaviour.success
        error = f"{name} failed (simulated, success {behaviour.success:g})"
        silent = not behaviour.applies
        for index, fault in enumerate(self.spec.faults):
            if not _hits(fault, capability):
                continue
            if fault.fail_next is not None:
                if fault.start <= at and self._failures_left[index] > 0:
                    self._failures_left[index] -= 1
                    ok, error = False, _said(fault.error) or f"{name} failed (scripted: fail_next)"
                continue
            if not _within(fault, at):
                continue
            if fault.outage:
                ok, error = (
                    False,
                    _said(fault.error) or f"{capability.spec.provider} is down (outage)",
                )
            elif fault.latency is not None:
                latency = fault.latency
            elif fault.silent:
                silent = True
        limit = capability.spec.timeout if timeout is None else timeout
        if latency > limit:
            return timed_out_call(limit), limit, False
        if not ok:
            return Outcome(False, error=error, duration=latency), latency, False
        return Outcome(True, output=behaviour.output, duration=latency), latency, not silent

    def _settle(self, capability: Capability, outcome: Outcome, applies: bool) -> None:
        """A call ended: when it succeeded for real, the world changes as declared."""
        if outcome.ok and applies:
            self.truth = apply_effects(self.truth, capability.spec.effects)


class _EventQueue:
    """Calls in flight ordered by virtual end time; taking one moves the clock there."""

    def __init__(self, world: SimulatedWorld) -> None:
        self._world = world
        self._queue: list[tuple[float, int, ActionContext, Capability, Outcome, bool]] = []

    def submit(self, capability: Capability, ctx: ActionContext) -> None:
        at = self._world.clock.elapsed
        outcome, latency, applies = self._world._draw(capability, at, ctx.timeout)
        end = self._world.clock.now + latency
        heapq.heappush(self._queue, (end, ctx.step, ctx, capability, outcome, applies))

    def next(self, timeout: float | None = None) -> list[tuple[ActionContext, Outcome]]:
        if timeout is not None and not (
            self._queue and self._queue[0][0] <= self._world.clock.now + timeout
        ):
            self._world.clock.sleep(timeout)  # nothing ends before then
            return []
        first = heapq.heappop(self._queue)
        done = [first]
        while self._queue and self._queue[0][0] == first[0]:
            done.append(heapq.heappop(self._queue))
        self._world.clock.advance_to(first[0])
        for _, _, _, capability, outcome, applies in done:
            self._world._settle(capability, outcome, applies)
        return [(ctx, outcome) for _, _, ctx, _, outcome, _ in done]

    def close(self) -> None:
        self._queue.clear()


def timed_out_call(seconds: float) -> Outcome:
    """A simulated call that ran out of its `seconds`."""
    return Outcome(False, error=f"timed out after {seconds:g}s", timed_out=True, duration=seconds)


def _hits(fault: Fault, capability: Capability) -> bool:
    if fault.capability is not None:
        return fault.capability == capability.name
    return fault.provider is not None and fault.provider == capability.spec.provider


def _within(fault: Fault, at: float) -> bool:
    start = fault.from_ or 0.0
    return start <= at and (fault.until is None or at < fault.until)


def _latency(behaviour: Behaviour, capability: Capability, rng: random.Random) -> float:
    if isinstance(behaviour.latency, Spread):
        return rng.uniform(behaviour.latency.min, behaviour.latency.max)
    if behaviour.latency is not None:
        return behaviour.latency
    return capability.spec.latency


def _said(error: str | None) -> str | None:
    """A fault's `error` as a failed call's is recorded: control characters escaped (a
    terminal would act on them when the run is shown)."""
    return None if error is None else printable(error)
