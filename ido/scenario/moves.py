"""What a recording's observers saw the world do beyond the declared effects of its calls
(`Moved`, per call and per wait for approval), and which facts they reported at all: what
a counterfactual replay's world repeats when it makes the same call or wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from typing import Any

from ido.journal.records import Event
from ido.loading.catalog import Catalog
from ido.model import Capability
from ido.scenario.recording import call_ends
from ido.state import State, apply_effects, delete_path, flatten


@dataclass(frozen=True)
class Moved:
    """What an observation showed beyond the declared effects of the calls before it."""

    facts: dict[str, Any]
    """Fact paths set, with their new values."""
    gone: tuple[str, ...]
    """Fact paths no longer there."""

    def then(self, later: Moved) -> Moved:
        """This, then `later`: the last word on each path stands."""
        facts = {p: v for p, v in self.facts.items() if p not in later.gone} | later.facts
        gone = tuple(p for p in self.gone if p not in later.facts and p not in later.gone)
        return Moved(facts, gone + later.gone)

    def applied_to(self, state: State) -> State:
        out = apply_effects(state, self.facts)
        for path in self.gone:
            delete_path(out, path)
        return out


WAIT = ""
"""The capability name `moved_after_calls` files a wait for approval under: (WAIT, n) is
the run's n-th resume after an approval (0 the first)."""


def moved_after_calls(
    events: Sequence[Event], catalog: Catalog, ends: Sequence[int] | None = None
) -> dict[tuple[str, int], Moved]:
    """Per call (capability, its n-th call as `recorded_calls` counts), what the next
    observation showed that the calls finished since the one before do not account for
    (their recorded effects and outputs); per wait for approval ((`WAIT`, n)), what the
    observation on resuming after it showed moved while the run waited (a provider that got
    busy meanwhile). Changes seen before any call or wait are the start's: none here. Facts
    a step still in flight may set are left out: an observation can show
    them before the step's end is recorded (steps side by side; a step a resume settles by
    observing its effects), and they are that step's, not the call before it; but not once
    its call's outcome was left to a person (it timed out, or a crash cut it short): the
    replay's call applies none of its effects, so their showing later (a payment that went
    through after all, seen on resuming after the wait) is the world's move. `ends`: the
    recording's `call_ends`, when the caller has them."""
    missing = {e.data["step"] for e in events if e.kind == "effects_missing"}
    expected: State | None = None
    flying: dict[int, set[str]] = {}  # step started, its end not recorded → paths it sets
    found: dict[tuple[str, int], Moved] = {}
    for event, last, ends_call in _after_calls(events, ends):
        data = event.data
        if event.kind in ("action_started", "action_repeated"):  # (an approved repeat too)
            flying[data["step"]] = _sets(catalog.capabilities.get(data["capability"]))
        elif event.kind in ("action_finished", "approval_required"):
            if event.kind == "action_finished" or ends_call:  # (or left to a person)
                flying.pop(data["step"], None)
            done = ends_call and data.get("ok") and data["step"] not in missing
            if done and expected is not None:
                capability = catalog.capabilities.get(data["capability"])
                expected = _after(expected, data, capability)
        elif event.kind == "observed":
            seen: State = data["state"]
            if expected is not None and last is not None:
                moved = _moved(expected, seen, set().union(*flying.values()))
                if moved is not None:
                    found[last] = found[last].then(moved) if last in found else moved
            expected = seen
    return found


def _after_calls(
    events: Sequence[Event], ends: Sequence[int] | None
) -> Iterator[tuple[Event, tuple[str, int] | None, bool]]:
    """Each event with the call or wait for approval last ended at it (capability and its
    n-th call as `recorded_calls` counts them, or (`WAIT`, n); None before any), and
    whether it ends a call. `ends`: the recording's `call_ends`, when the caller has them."""
    counted: dict[str, int] = {}
    last: tuple[str, int] | None = None
    ended = set(call_ends(events) if ends is None else ends)
    for n, event in enumerate(events):
        data = event.data
        ends_call = n in ended and event.kind in ("action_finished", "approval_required")
        if event.kind == "run_resumed" and data.get("after") == "approval":
            last = (WAIT, counted.get(WAIT, 0))
            counted[WAIT] = last[1] + 1
        elif ends_call:
            name = data["capability"]
            last = (name, counted.get(name, 0))
            counted[name] = last[1] + 1
        yield event, last, ends_call


def _sets(capability: Capability | None) -> set[str]:
    """The fact paths a call of `capability` sets: its effects and its output's path."""
    if capability is None:
        return set()
    output = {capability.spec.output} if capability.spec.output else set()
    return set(capability.spec.effects) | output


def _after(expected: State, finished: dict[str, Any], capability: Capability | None) -> State:
    """`expected` once the call `finished` records succeeded: its effects as recorded (the
    catalog's, for a journal that did not record them) and its output at its path."""
    effects = finished.get("effects", capability.spec.effects if capability else {})
    out = apply_effects(expected, effects)
    if finished.get("output_path") and finished.get("output") is not None:
        out = apply_effects(out, {finished["output_path"]: finished["output"]})
    return out


def _moved(expected: State, seen: State, unsure: set[str]) -> Moved | None:
    """What `seen` holds otherwise than `expected`, but under the `unsure` paths."""

    def counts(path: str) -> bool:
        return not any(path == u or path.startswith(u + ".") for u in unsure)

    now, before = flatten(seen), flatten(expected)
    facts = {p: v for p, v in now.items() if (p not in before or before[p] != v) and counts(p)}
    gone = tuple(p for p in before if p not in now and counts(p))
    return Moved(facts, gone) if facts or gone else None


@dataclass(frozen=True)
class Reports:
    """The fact paths the recording's observers reported, by when they first did: a real
    run knew only those, and only from then on, so a replay's world reports no more."""

    at_start: frozenset[str]
    """Reported before any call or wait for approval ended."""
    after: dict[tuple[str, int], frozenset[str]]
    """First reported after a call (capability, its n-th call) or a wait (`WAIT`, n)."""


def reported_paths(events: Sequence[Event], ends: Sequence[int] | None = None) -> Reports | None:
    """The fact paths the recording's observers reported (none, for an intent with no
    observers), by when they first did. Told every fact, a replay settled a timed-out call
    by its effects where the run could not, and went on where the run had asked a person;
    told a fact from the start that an observer reported only later in the run, it did so
    too. None when the journal does not say (written before observations kept their
    reports): the whole world is reported then, as it was. `ends`: the recording's
    `call_ends`, when the caller has them."""
    pursued = (events[0].data.get("intent") or {}) if events else {}
    if not (pursued.get("spec") or {}).get("observers"):
        return Reports(frozenset(), {})
    seen: set[str] = set()
    at_start: set[str] = set()
    after: dict[tuple[str, int], set[str]] = {}
    kept = False
    for event, last, _ in _after_calls(events, ends):
        data = event.data
        if event.kind == "observer_failed":
            kept = kept or "observer" in data  # (kept apart from its reason since reports)
        elif event.kind == "observed":
            kept = kept or "reports" in data or "unchanged" in data
            for report in (data.get("reports") or {}).values():
                new = set(flatten(report)) - seen
                seen |= new
                (at_start if last is None else after.setdefault(last, set())).update(new)
    if not kept:
        return None
    return Reports(frozenset(at_start), {k: frozenset(v) for k, v in after.items()})


def _reported(facts: State, paths: Set[str]) -> State:
    """The part of `facts` at `paths` (or under them)."""

    def kept(path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:n]) in paths for n in range(1, len(parts) + 1))

    return apply_effects({}, {p: v for p, v in flatten(facts).items() if kept(p)})
