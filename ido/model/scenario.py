"""The Scenario kind: an intent in a simulated world, with scripted faults and expectations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from ido.model.durations import Duration
from ido.model.fields import FactPath, Name, Strict
from ido.model.intent_spec import IntentSpec
from ido.model.resources import _Resource
from ido.text import verdict_problem


class Spread(Strict):
    """A latency drawn uniformly between `min` and `max` on each call."""

    min: Duration = Field(description="Shortest call.")
    max: Duration = Field(description="Longest call.")

    @model_validator(mode="after")
    def _ordered(self) -> Spread:
        if self.min > self.max:
            raise ValueError("min must not be more than max")
        return self


class Behaviour(Strict):
    """How a capability behaves in the simulated world, instead of calling its binding."""

    success: float = Field(
        default=1.0, ge=0, le=1, description="Probability that a call succeeds (seeded)."
    )
    latency: Duration | Spread | None = Field(
        default=None, description="Call duration, fixed or {min, max}; default: declared."
    )
    output: dict[str, Any] | None = Field(
        default=None, description="What a successful call returns (stored at `output`)."
    )
    applies: bool = Field(
        default=True,
        description="false: calls report success but the world does not change (silent).",
    )


class Fault(Strict):
    """A scripted change of the world at a virtual time, or over a window of it.

    A call fault names `capability` or `provider` and one of `fail_next`, `outage`,
    `latency` or `silent`; a world fault sets facts (`observe`) or switches a policy on.
    """

    at: Duration | None = Field(default=None, description="When it happens (virtual time).")
    from_: Duration | None = Field(default=None, alias="from", description="Window start.")
    until: Duration | None = Field(default=None, description="Window end (exclusive).")
    capability: Name | None = Field(default=None, description="The capability it hits.")
    provider: str | None = Field(default=None, description="Or every capability of a provider.")
    fail_next: int | None = Field(default=None, ge=1, description="The next N calls fail.")
    outage: bool = Field(default=False, description="Every call in the window fails.")
    latency: Duration | None = Field(default=None, description="Calls in the window take this.")
    silent: bool = Field(
        default=False, description="Calls in the window succeed without changing the world."
    )
    error: str | None = Field(default=None, description="The failure message bindings give.")
    observe: dict[FactPath, Any] | None = Field(
        default=None, description="Facts the world reports from `at` on."
    )
    policy: Name | None = Field(default=None, description="A policy switched on at `at`.")

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )

    @model_validator(mode="after")
    def _shape(self) -> Fault:
        calls = [k for k in ("fail_next", "latency") if getattr(self, k) is not None]
        calls += [k for k in ("outage", "silent") if getattr(self, k)]
        world = [k for k in ("observe", "policy") if getattr(self, k) is not None]
        if len(calls) + len(world) != 1:
            raise ValueError(
                "give exactly one of fail_next, outage, latency, silent, observe or policy"
            )
        if calls and (self.capability is None) == (self.provider is None):
            raise ValueError(f"{calls[0]} needs exactly one of capability or provider")
        windowed = calls and calls[0] != "fail_next"
        if windowed:
            if self.at is not None:
                raise ValueError(f"{calls[0]} lasts a window: give from and until, not at")
            start, end = self.from_ or 0.0, self.until
            if end is not None and end <= start:
                raise ValueError("until must be after from")
        elif self.from_ is not None or self.until is not None:
            raise ValueError("this fault happens at one time: give at, not from/until")
        return self

    @property
    def start(self) -> float:
        return self.at if self.at is not None else (self.from_ or 0.0)


class Replans(Strict):
    """Bounds on the replans of a run: decisions made because a step failed or reality
    diverged (not its first, nor one on resuming after a verdict)."""

    min: int = Field(default=0, ge=0, description="Fewest replans.")
    max: int | None = Field(default=None, ge=0, description="Most replans.")

    @model_validator(mode="after")
    def _ordered(self) -> Replans:
        if self.max is not None and self.min > self.max:
            raise ValueError("min must not be more than max")
        return self


def _says_something(text: str) -> str:
    """Blank text is in every reason and every trigger: it would check nothing."""
    if not text.strip():
        raise ValueError("blank text is found in any run: write what it must contain")
    return text


Said = Annotated[str, AfterValidator(_says_something)]


class Expect(Strict):
    """What a run in this world must show; every field is optional."""

    outcome: Literal["achieved", "failed", "blocked", "shadow"] | None = None
    reason: Said | None = Field(default=None, description="Text the run's reason contains.")
    max_cost: float | None = Field(default=None, ge=0, description="Most the run may spend.")
    max_time: Duration | None = Field(default=None, description="Most virtual time it may take.")
    used: list[Name] = Field(
        default_factory=list,
        description="Capabilities called at least once, whatever came of it (a failure counts).",
    )
    never_used: list[Name] = Field(
        default_factory=list, description="Capabilities never called (not even a failed call)."
    )
    cites: list[Said] = Field(
        default_factory=list,
        description="Rule ids (policy/rule) some decision cites, or text a trigger contains.",
    )
    replans: Replans | None = Field(
        default=None, description="Bounds on replans (as limits.max_replans counts them)."
    )
    undone: list[Name] = Field(
        default_factory=list,
        description="Capabilities whose completed steps the failed run undid, each by its "
        "`compensate` capability (on any attempt: a retried refund counts once done).",
    )

    @model_validator(mode="after")
    def _can_be_met(self) -> Expect:
        """A capability both `used` and `never_used` fails every run: the scenario could
        never pass, and `ido scenario test` said so only once it had run."""
        both = [name for name in self.used if name in self.never_used]
        if both:
            raise ValueError(
                f"{', '.join(dict.fromkeys(both))} is in both used and never_used: no run can "
                "meet both"
            )
        return self


class Answer(Strict):
    """A verdict the scenario gives on the approval requests it matches, as `ido approve` or
    `ido reject` would, `after` the request was made (virtual time)."""

    rule: Said = Field(description="The rule id asked (policy/rule, or mode/propose).")
    capability: Name | None = Field(
        default=None, description="Only requests about this capability; default: any."
    )
    verdict: Literal["approve", "reject"] = Field(default="approve")
    by: Said = Field(default="scenario", description="Who answers.")
    after: Duration = Field(default=0.0, description="How long after the request it comes.")
    comment: Said | None = Field(
        default=None, description="Why; required with `verdict: reject` (its reason)."
    )

    @model_validator(mode="after")
    def _as_ido_approve(self) -> Answer:
        """What `ido approve`/`ido reject` refuse: a reject with no reason, a line break."""
        wrong = verdict_problem(self.by, self.comment, rejected=self.verdict == "reject")
        if wrong is not None:
            raise ValueError(f"{wrong[0]} {wrong[1]}")
        return self


class World(Strict):
    capabilities: dict[Name, Behaviour] = Field(
        default_factory=dict, description="Behaviour per capability; others just succeed."
    )
    observe: dict[FactPath, Any] = Field(
        default_factory=dict, description="Facts the world reports from the start."
    )


class ScenarioSpec(Strict):
    intent: Name | IntentSpec = Field(description="The intent's name, or an inline intent spec.")
    catalog: list[str] = Field(
        default_factory=list, description="More catalog paths, relative to this file."
    )
    seed: int = Field(default=0, description="Seed of every random draw: same seed, same run.")
    world: World = Field(default_factory=World)
    faults: list[Fault] = Field(default_factory=list)
    approvals: list[Answer] = Field(
        default_factory=list,
        description="Verdicts on approval requests; the first that matches answers each.",
    )
    expect: Expect = Field(default_factory=Expect)


class Scenario(_Resource):
    kind: Literal["Scenario"]
    spec: ScenarioSpec


# --- PolicyTest -------------------------------------------------------------------------


class Verdicts(Strict):
    """Rule ids (`policy/rule`) expected to fire, by effect, exactly (`[]`: none may);
    an effect not given is not checked; `allow`: no deny fires."""

    deny: list[str] | None = None
    require_approval: list[str] | None = None
    prefer: list[str] | None = None
    avoid: list[str] | None = None
    allow: bool | None = Field(default=None, description="true: no deny rule fires.")

    @model_validator(mode="after")
    def _expects_something(self) -> Verdicts:
        # A case that checks nothing cannot fail, so its pass would say nothing.
        if all(getattr(self, key) is None for key in type(self).model_fields):
            raise ValueError(
                "expects nothing, so it cannot fail: give deny, require_approval, prefer, "
                "avoid (the rule ids that must fire; [] for none) or allow"
            )
        return self


class CaseHealth(Strict):
    """What a policy test case says the `health` variable holds of one capability."""

    reliability: float | None = Field(default=None, ge=0, le=1, description="0 to 1.")
    latency: float | None = Field(default=None, ge=0, description="Seconds.")
    failures: int | None = Field(default=None, ge=0, description="Failures in the run.")


class PolicyCase(Strict):
    name: str = Field(min_length=1, description="What the case checks, in words.")
    capability: Name | None = Field(
        default=None, description="A capability of the catalog, as capability rules see it."
    )
    plan: list[Name] | None = Field(
        default=None,
        min_length=1,
        description="Capabilities of the catalog, in order: the plan plan rules see.",
    )
    state: dict[str, Any] = Field(default_factory=dict, description="The state rules read.")
    intent: dict[str, Any] = Field(
        default_factory=dict, description="The `intent` variable rules read (name, goal…)."
    )
    health: dict[str, CaseHealth] = Field(
        default_factory=dict,
        description="The `health` variable per capability name (reliability, latency, "
        "failures); others get their declared values and 0 failures.",
    )
    expect: Verdicts

    @model_validator(mode="after")
    def _one_subject(self) -> PolicyCase:
        if (self.capability is None) == (self.plan is None):
            raise ValueError("give exactly one of capability (for capability rules) or plan")
        return self


class PolicyTestSpec(Strict):
    policies: list[Name] = Field(min_length=1, description="The policies under test.")
    cases: list[PolicyCase] = Field(min_length=1)


class PolicyTest(_Resource):
    kind: Literal["PolicyTest"]
    spec: PolicyTestSpec
