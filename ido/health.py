"""Health beliefs: what ido has learned of each capability's reliability and latency.

Reliability is the mean of a Beta posterior. The declared `reliability` is the prior, worth
PRIOR_WEIGHT observations; each outcome adds one success or one failure. Old outcomes fade
with a half-life (HALF_LIFE seconds), so a provider that failed an hour ago and has been
quiet since is trusted close to its declared figure again. Latency is an exponentially
weighted moving average (weight LATENCY_WEIGHT per new outcome) of observed durations,
blended with the declared latency, which counts as PRIOR_WEIGHT calls.

Observers may report provider health directly: `health.<provider>.error_rate` (0..1) caps
the reliability at 1 − error_rate, and `health.<provider>.latency_p99` (seconds) raises
the latency estimate to at least that. Pure functions on values: the runtime supplies the
clock and persists the beliefs in the journal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ido.text import WHOLE, faded_count

PRIOR_WEIGHT = 4.0
HALF_LIFE = 900.0  # seconds
LATENCY_WEIGHT = 0.3


@dataclass(frozen=True)
class Evidence:
    """Decayed counts of outcomes and the latency estimate, as of `updated` (epoch seconds)."""

    successes: float = 0.0
    failures: float = 0.0
    latency: float | None = None
    updated: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "successes": self.successes,
            "failures": self.failures,
            "latency": self.latency,
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(data["successes"], data["failures"], data["latency"], data["updated"])

    def decayed(self, now: float) -> Evidence:
        """The same evidence seen from `now`: older outcomes count for less."""
        if now <= self.updated:
            return self
        keep = math.pow(0.5, (now - self.updated) / HALF_LIFE)
        return Evidence(self.successes * keep, self.failures * keep, self.latency, self.updated)

    def record(self, ok: bool, duration: float | None, now: float) -> Evidence:
        """Evidence after one more outcome at `now` (a duration updates the latency average)."""
        base = self.decayed(now)
        latency = base.latency
        if duration is not None:
            latency = (
                duration
                if latency is None
                else LATENCY_WEIGHT * duration + (1 - LATENCY_WEIGHT) * latency
            )
        return Evidence(
            base.successes + (1.0 if ok else 0.0),
            base.failures + (0.0 if ok else 1.0),
            latency,
            max(now, self.updated),
        )

    def overturned(self, success_at: float, now: float) -> Evidence:
        """Evidence once the success recorded at `success_at` turned out, at `now`, to be a
        failure (its effects did not show): that outcome moves from one count to the other."""
        base = self.decayed(now)
        weight = math.pow(0.5, max(0.0, now - success_at) / HALF_LIFE)
        moved = min(base.successes, weight)
        return Evidence(
            base.successes - moved, base.failures + moved, base.latency, max(now, self.updated)
        )


@dataclass(frozen=True)
class Lesson:
    """One outcome of a capability to learn from, at `at` (epoch seconds): a call that
    succeeded or failed, taking `duration`; or, with `overturns`, the success learnt at that
    moment turned out a failure (a silent failure: its effects did not show)."""

    capability: str
    ok: bool
    duration: float | None
    at: float
    overturns: float | None = None

    def applied(self, evidence: Evidence | None) -> Evidence:
        """`evidence` (none yet: empty) with this lesson learnt."""
        before = evidence or Evidence()
        if self.overturns is not None:
            return before.overturned(self.overturns, self.at)
        return before.record(self.ok, self.duration, self.at)


def with_lessons(
    evidence: Mapping[str, Evidence], lessons: Iterable[Lesson]
) -> dict[str, Evidence]:
    """`evidence` with `lessons` learnt, in order."""
    found = dict(evidence)
    for lesson in lessons:
        found[lesson.capability] = lesson.applied(found.get(lesson.capability))
    return found


@dataclass(frozen=True)
class Belief:
    """What the planner uses for one capability, and why, in words."""

    reliability: float
    latency: float
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"reliability": self.reliability, "latency": self.latency, "why": self.why}


RELIABILITY_FLOOR = 1e-6
"""The least reliability an observed estimate is planned with; a declared one is not raised."""


def believe(
    declared_reliability: float,
    declared_latency: float,
    evidence: Evidence | None,
    now: float,
    provider_health: Mapping[str, Any] | None = None,
) -> Belief:
    """Reliability and latency to plan with, from the declaration, outcomes and observers."""
    reliability, latency = declared_reliability, declared_latency
    reasons: list[str] = []
    if evidence is not None:
        # Imported here: the journal imports this module, and these load every model
        # (pydantic), which `ido approve`, `prune` and the runner never need; and only
        # here, where they are used: a decision believes every capability of its catalog,
        # most without evidence (an import of PDDL, thousands).
        from ido.model.durations import format_duration
        from ido.planner.limit_words import shown_probability

        seen = evidence.decayed(now)
        weight = PRIOR_WEIGHT + seen.successes + seen.failures
        reliability = (PRIOR_WEIGHT * declared_reliability + seen.successes) / weight
        if seen.failures >= 0.05 or seen.successes >= 0.05:
            ago = max(0.0, now - evidence.updated)
            reasons.append(
                f"reliability estimate {shown_probability(reliability)} after "
                f"{_outcomes(seen.failures, seen.successes)}, the last {_ago(ago)}"
            )
        if evidence.latency is not None:
            # The declared latency is a prior worth PRIOR_WEIGHT calls, like reliability.
            calls = seen.successes + seen.failures
            latency = (PRIOR_WEIGHT * declared_latency + calls * evidence.latency) / (
                PRIOR_WEIGHT + calls
            )
            if abs(latency - declared_latency) > 1e-3 * max(1.0, declared_latency):
                reasons.append(
                    f"latency estimate {format_duration(latency)} "
                    f"(calls averaged {format_duration(evidence.latency)})"
                )
    health = provider_health or {}
    error_rate = _number(health.get("error_rate"))
    if error_rate is not None and 0.0 <= error_rate <= 1.0 and reliability > 1.0 - error_rate:
        reliability = 1.0 - error_rate
        reasons.append(f"observed error rate {error_rate:.2f}")
    p99 = _number(health.get("latency_p99"))
    if p99 is not None and p99 >= 0.0 and p99 > latency:
        from ido.model.durations import format_duration

        latency = p99
        reasons.append(f"observed p99 latency {format_duration(p99)}")
    # A capability observed certain to fail cannot be planned with (log 0); keep it usable
    # but as unattractive as the objective allows. Only an observed estimate is raised so:
    # a declared reliability (above 0, as loading checks) is planned with as written.
    floor = min(RELIABILITY_FLOOR, declared_reliability)
    if reliability < floor:
        reliability = floor
        reasons.append(f"planned with {floor:g} at least (a reliability of 0 cannot be)")
    reliability = min(1.0, reliability)
    return Belief(reliability, latency, "; ".join(reasons))


def _ago(seconds: float) -> str:
    """`just now`, `4s ago`, `15m ago`: how long ago, to the second, in the units a person
    would say it in (it read `0 s ago` and `900 s ago`)."""
    from ido.model.durations import format_wait

    whole = round(seconds)
    return "just now" if whole == 0 else f"{format_wait(whole)} ago"


def _outcomes(failures: float, successes: float) -> str:
    """`1 failure and 3 successes`; once older outcomes have faded (`decayed`) their counts
    are no whole numbers, and "1.4 successes" read as a misprint: then said to be weighed,
    `outcomes weighing 0.7 failures and 1.4 successes (older ones count for less)`. A
    faded count never reads whole (`1.996 failures`: it read `2 failures`)."""
    said = f"{_count(failures, 'failure')} and {_count(successes, 'success')}"
    if all(abs(value - round(value)) < WHOLE for value in (failures, successes)):
        return said
    return f"outcomes weighing {said} (older ones count for less)"


def _count(value: float, noun: str) -> str:
    """`1 failure`, `3 failures`, `2.5 failures`, `1.996 failures` (`faded_count`)."""
    shown = faded_count(value)
    plural = "es" if noun.endswith("s") else "s"
    return f"{shown} {noun}" if shown == "1" else f"{shown} {noun}{plural}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
