"""An Intent's spec: its goal, constraints, objective, limits, model settings and own
rules."""

from __future__ import annotations

import re
import urllib.parse
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
)

from ido.model.durations import Duration, reading_recorded
from ido.model.fields import (
    ENV_NAME_PATTERN,
    MOST_STEPS,
    SECRET_REFERENCE,
    URL_PATTERN,
    Condition,
    Facts,
    Name,
    Strict,
)
from ido.model.rules import Rule, _tightening
from ido.planner.types import ALTERNATIVES, MOST_ALTERNATIVES, SEARCH_STATES, SOLVE_TIME


class Constraints(Strict):
    max_cost: float | None = Field(
        default=None, ge=0, description="Most the whole plan may cost, in the catalog's currency."
    )
    deadline: Duration | None = Field(
        default=None, description="Most time the plan may take, e.g. '30s'."
    )
    min_success_probability: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Least probability that every step succeeds (product of reliabilities).",
    )

    @field_validator("deadline")
    @classmethod
    def _some_time(cls, value: float | None) -> float | None:
        # (0s was taken, and every plan was then over it: "no plan within deadline 0ms");
        # a run recorded with it before still resumes and replays as it was decided
        if value is not None and value <= 0 and not reading_recorded():
            raise ValueError(
                "a deadline of 0s admits no plan: give the most time the plan may take, e.g. '30s'"
            )
        return value


APPROVAL_WEIGHT = 0.01
"""`objective.approval` by default: a plan that needs a person's approval loses a tie, or a
difference of less than a cent, to one that needs none."""


class Objective(Strict):
    cost: float = Field(default=1.0, ge=0, description="Weight of cost (per currency unit).")
    latency: float = Field(default=0.0, ge=0, description="Weight of latency (per second).")
    risk: float = Field(
        default=0.0, ge=0, description="Weight of risk, -ln(reliability), summed over steps."
    )
    approval: float = Field(
        default=APPROVAL_WEIGHT,
        ge=0,
        description="Score added per approval request a step would stop for (a "
        "require_approval rule on its capability): what waiting for a person costs you.",
    )


class Limits(Strict):
    max_steps: int = Field(
        default=20, ge=1, le=MOST_STEPS, description="Most steps one plan may have."
    )
    max_replans: int = Field(
        default=10,
        ge=0,
        description="Most replans in one run before it fails (a decision made on "
        "resuming after an approval or a crash is none).",
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Most failed attempts of one capability in one run."
    )
    backoff: Duration = Field(
        default=0.0,
        description="Wait before repeating a capability that failed: doubled per failure, "
        "at most 32 times this. e.g. '500ms'.",
    )
    max_compensation_attempts: int = Field(
        default=3,
        ge=1,
        description="Most attempts of one compensation (on_failure: compensate) before its "
        "step is left undone: a failed one is tried again after `backoff`, when its "
        "capability is `idempotent` or its failure was no timeout. 1: never tried again.",
    )
    solve_time: Duration = Field(
        default=SOLVE_TIME,
        gt=0,
        description="How long CP-SAT may work on one solve, in deterministic seconds (about "
        "a second of one core each); past it, the best plan found is kept, marked not "
        "proven optimal. e.g. '30s'.",
    )
    search_states: int = Field(
        default=SEARCH_STATES,
        ge=1,
        description="Most states the exact search expands in one solve before it gives up "
        "(planner search, and cpsat's fallback search).",
    )
    alternatives: int = Field(
        default=ALTERNATIVES,
        ge=0,
        le=MOST_ALTERNATIVES,
        description="Alternative plans each decision works out and records, a solve each at "
        "most; 0 spares their time when a plan is wanted fast (for hybrid, the options its "
        "model chooses among beside the solver's best).",
    )


def address_problem(url: str) -> str | None:
    """What keeps a model server's URL from being reached (not http(s), no host, no port,
    white space), which made every model call fail with "Connection error."; None when
    nothing does. The URL itself is not repeated: it may carry a credential."""
    if not re.match(URL_PATTERN, url):
        return "not an http:// or https:// URL"
    if re.search(r"\s", url):
        return "has white space in it, which no URL has"
    # A `${env:NAME}` stands for text known only at call time: a digit fits wherever it
    # stands (user, password, host or port), but for an IPv6 address in brackets whole.
    known = re.sub(r"\[\$\{env:[A-Za-z_][A-Za-z0-9_]*\}\]", "[::1]", url)
    try:
        parts = urllib.parse.urlsplit(SECRET_REFERENCE.sub("1", known))
    except ValueError as error:  # an unclosed `[` of an IPv6 address
        return f"is not a URL: {error}"
    if not parts.hostname:
        return "names no host: write the server's address, as http://127.0.0.1:8080/v1"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return f"port {parts.netloc.rpartition(':')[2]} is not a port (1 to 65535)"
    return None


def _server_address(url: str | None) -> str | None:
    """Refuse an `api_base` no request could reach (`address_problem`); not one a run
    recorded before it was checked, which replays and resumes as it was (`as_recorded`)."""
    said = None if url is None or reading_recorded() else address_problem(url)
    if said is not None:
        raise ValueError(said)
    return url


class LlmSettings(Strict):
    """How the `llm` and `hybrid` planners reach a model (through litellm)."""

    model: str | None = Field(
        default=None,
        min_length=1,
        description="litellm model name, e.g. 'openai/gpt-4o-mini' or 'ollama/llama3'; "
        "default: the IDO_LLM_MODEL environment variable.",
    )
    api_base: Annotated[str | None, AfterValidator(_server_address)] = Field(
        default=None,
        pattern=URL_PATTERN,
        description="Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp); "
        "default: IDO_LLM_API_BASE, else the provider's own.",
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=ENV_NAME_PATTERN,
        description="Environment variable holding the API key; default: the provider's "
        "usual one (OPENAI_API_KEY, ...). The key is never recorded.",
    )
    max_rounds: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Proposals per decision: an invalid one is sent back with the reason.",
    )
    timeout: Duration = Field(
        default=30.0, gt=0, description="Longest one model call may take, in all."
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        # Far past any model's answer; past CEL's 64-bit integers, every rule reading
        # `intent` failed to evaluate (and quoted `intent.llm` whole, api_base and all).
        le=2**31 - 1,
        description="Most tokens one answer may have (sent as the request's max_tokens): "
        "caps what one call may cost; default: the server's own limit.",
    )
    input_cost: float | None = Field(
        default=None, ge=0, description="Price per million input tokens, if litellm has none."
    )
    output_cost: float | None = Field(
        default=None, ge=0, description="Price per million output tokens, if litellm has none."
    )


class IntentSpec(Strict):
    given: Facts = Field(default_factory=dict, description="Known state at the start of the run.")
    goal: list[Condition] = Field(
        min_length=1, description="CEL conditions over `state` that must all hold."
    )
    constraints: Constraints = Field(default_factory=Constraints)
    objective: Objective = Field(default_factory=Objective)
    policies: list[Name] = Field(default_factory=list, description="Policies that govern it.")
    rules: Annotated[list[Rule], AfterValidator(_tightening)] = Field(
        default_factory=list,
        description="The intent's own rules, cited as intent:NAME/ID. They can only tighten "
        "its policies: deny, require_approval or avoid, never prefer.",
    )
    observers: list[Name] = Field(
        default_factory=list, description="Observers whose output is merged into state."
    )
    mode: Literal["auto", "propose", "shadow"] = Field(
        default="auto",
        description="auto: act; propose: plan then wait for approval; shadow: plan only.",
    )
    planner: Literal["cpsat", "search", "llm", "hybrid"] = Field(
        default="cpsat",
        description="cpsat or search (exact solvers); llm (a model proposes, ido checks, "
        "cpsat falls back); hybrid (the solver's best plans, a model chooses).",
    )
    limits: Limits = Field(default_factory=Limits)
    llm: LlmSettings = Field(
        default_factory=LlmSettings, description="The model for planner llm or hybrid."
    )
    on_failure: Literal["stop", "compensate"] = Field(
        default="stop",
        description="stop: leave completed steps as they are; compensate: when the run "
        "fails, run the `compensate` capability of each completed step, newest first.",
    )
