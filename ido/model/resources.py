"""The resource kinds users write in YAML: Intent, Capability, Policy, Observer (Scenario:
`ido.model.scenario`)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from ido.model.durations import Duration, format_duration
from ido.planner.types import ALTERNATIVES, MOST_ALTERNATIVES, SEARCH_STATES, SOLVE_TIME
from ido.state import overlaps
from ido.text import acts

NAME_PATTERN = r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$"
SECRET_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")
PATH_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
CALLABLE_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
URL_PATTERN = r"^https?://"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _secret_references(value: Any) -> Any:
    """Refuse `${...}` that is not `${env:NAME}`, in any string of `value`, however nested."""
    if isinstance(value, str):
        for match in _PLACEHOLDER.finditer(value):
            if not SECRET_REFERENCE.fullmatch(match.group(0)):
                raise ValueError(
                    f"'{match.group(0)}' is not a secret reference; write ${{env:NAME}} "
                    "to use the environment variable NAME"
                )
    elif isinstance(value, list):
        for item in value:
            _secret_references(item)
    elif isinstance(value, dict):
        for item in value.values():
            _secret_references(item)
    return value


Templated = AfterValidator(_secret_references)


HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name: an HTTP token (RFC 9110), in bindings and in the OTLP exporter's headers."""
HEADER_NAME_WORDS = "letters, digits and !#$%&'*+-.^_`|~"
"""`HEADER_NAME` in words."""


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    """Refuse a header name HTTP cannot carry: `X-${env:TEAM}` loaded (names are not
    substituted) and every call failed, `Invalid header name`."""
    for name in headers:
        if not HEADER_NAME.fullmatch(name):
            said = "; ${env:NAME} is substituted in header values only" if "${" in name else ""
            raise ValueError(f"{name!r} is not a header name ({HEADER_NAME_WORDS}){said}")
    return headers


def _no_credentials(url: str) -> str:
    """Refuse a user and password written in a binding's or observer's URL: Python's HTTP
    client does not send them, and reads them as part of the host, so every call failed
    as `[Errno -2] Name or service not known` (or `nonnumeric port`)."""
    netloc = url.partition("://")[2].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        raise ValueError(
            "a user and password before '@' are not sent (every call would fail); send them "
            'in a header instead: headers: {Authorization: "Basic ${env:BASIC_AUTH}"}'
        )
    return url


def _no_nul(argv: list[str]) -> list[str]:
    """A program's arguments are C strings: one holding NUL cannot be passed at all (the
    step then stopped the run with a traceback, left "outcome unknown" for resume)."""
    for i, item in enumerate(argv):
        if "\0" in item:
            raise ValueError(f"item {i} holds a NUL character, which no program can be given")
    return argv


def _finite(value: Any, where: str = "") -> Any:
    """Refuse `.nan` and `.inf` in a value however nested: rules compare facts (`amount >
    1000.0` does not hold of NaN, so an approval rule let it through) and the journal keeps
    JSON, which has no NaN."""
    if _all_finite(value):  # (the usual case: no path worked out for every item)
        return value
    return _finite_at(value, where)


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list):
        return True
    for item in value:  # (a call only for what may hold a number not finite)
        if isinstance(item, float | list | dict) and not _all_finite(item):
            return False
    return True


def _finite_at(value: Any, where: str) -> Any:
    """`_finite`, raising with the path (`where`) of the first number that is not finite."""
    if isinstance(value, float) and not math.isfinite(value):
        at = f" (at {where})" if where else ""
        raise ValueError(f"numbers must be finite, not {value}{at}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _finite_at(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            _finite_at(item, f"{where}.{key}" if where else str(key))
    return value


def _one_line(text: str) -> str:
    """A message people read in `ido approvals`, `ido run` and `ido explain`: one line
    (a block scalar's last line break dropped), with nothing a terminal would act on, so
    that it cannot forge lines there or move the cursor."""
    text = text.strip()
    if not text:
        raise ValueError("a message says something; this one is blank")
    return _shown_in_line(text, "a message")


OneLine = Annotated[str, AfterValidator(_one_line)]


def _label(text: str) -> str:
    """A provider, region or tag: shown beside other text in `ido explain` and `ido audit`,
    so it holds nothing a terminal would act on (a line break, an escape sequence)."""
    return _shown_in_line(text, "a provider, region or tag")


def _shown_in_line(text: str, what: str) -> str:
    """`text`, refused when it holds what a terminal acts on: it would forge lines or move
    the cursor where it is shown."""
    if text.isprintable():  # none of those (all unprintable), told in C: the usual case
        return text
    acting = next((c for c in text if acts(c)), None)
    if acting is not None:
        raise ValueError(
            f"{what} is one line of text; this one holds {acting!r}, which would forge "
            "lines or move the cursor where it is shown"
        )
    return text


Label = Annotated[str, AfterValidator(_label)]


Facts = Annotated[dict[str, Any], AfterValidator(_finite)]
"""Facts a user writes (an intent's `given`, a capability's `effects`): JSON-like values,
numbers finite."""
MOST_STEPS = 200
"""The most steps `limits.max_steps` may allow a plan."""
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=120)]
FactPath = Annotated[str, Field(pattern=PATH_PATTERN)]
Condition = Annotated[str, Field(min_length=1, description="A CEL expression that yields a bool.")]


class Strict(BaseModel):
    """Base of every user-written model: unknown keys are errors, values are not coerced.

    Numbers must be finite: the planner adds costs and latencies up, and `.inf` or `.nan`
    would make every sum meaningless.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Metadata(Strict):
    name: Name = Field(description="Unique name of the resource; equals the file stem.")
    description: str | None = Field(default=None, description="Free text for people.")
    labels: dict[str, str] = Field(default_factory=dict, description="Free key/value labels.")


# --- Policy ---------------------------------------------------------------------------


class Escalation(Strict):
    to: OneLine = Field(min_length=1, description="Who is asked once the earlier wait expired.")
    expires: Duration = Field(description="How long this level may wait; then the next one.")

    @model_validator(mode="after")
    def _some_time(self) -> Escalation:
        if self.expires <= 0:
            raise ValueError(NO_TIME)
        return self


NO_TIME = "expires must be more than 0s: a request that expires at once cannot be answered"


class Rule(Strict):
    id: Name = Field(description="Rule id, unique in its policy; cited as policy/rule-id.")
    effect: Literal["deny", "require_approval", "prefer", "avoid"]
    when: Condition = Field(
        description="CEL over capability, state, intent and health, or over plan, state, "
        "intent and health: a rule that reads `plan` is about the plan as a whole."
    )
    message: OneLine = Field(
        min_length=1, description="What people read when the rule fires: one line."
    )
    weight: float = Field(
        default=1.0, ge=0, description="Score added (avoid) or removed (prefer) per step."
    )
    expires: Duration | None = Field(
        default=None,
        description="require_approval: how long a request may wait; then it escalates, "
        "or the run fails.",
    )
    escalate: list[Escalation] = Field(
        default_factory=list,
        description="require_approval: who is asked next, in turn, each time a wait "
        "expires; after the last, the run fails.",
    )
    negotiable: bool = Field(
        default=True,
        description="deny: whether the reason a run has no plan may offer lifting this "
        "rule as a way out (`or lift rule …`); false for a rule that must hold (sanctions, "
        "law), which the reason still names as what stands in the way.",
    )

    approvers: int = Field(
        default=1,
        ge=1,
        description="require_approval: how many different people (--by names) must "
        "approve a request; one rejection rejects it.",
    )

    @field_validator("approvers")
    @classmethod
    def _approvers_for_approvals(cls, approvers: int, info: ValidationInfo) -> int:
        """Told at the `approvers` line (runs only where it is written; 1, the default, is
        what a rule read back from a journal or a dump holds, whatever its effect)."""
        effect = info.data.get("effect", "require_approval")
        if effect != "require_approval" and approvers != 1:
            raise ValueError(f"approvers is for require_approval rules, not {effect}")
        return approvers

    @model_validator(mode="after")
    def _approval_fields(self) -> Rule:
        if not self.negotiable and self.effect != "deny":
            raise ValueError(
                f"negotiable is for deny rules, not {self.effect}: only a deny rule is "
                "offered as a way out to lift"
            )
        if self.effect != "require_approval":
            given = [k for k in ("expires", "escalate") if getattr(self, k) not in (None, [])]
            if given:
                raise ValueError(f"{given[0]} is for require_approval rules, not {self.effect}")
        if self.escalate and self.expires is None:
            raise ValueError("escalate needs expires: how long the first request may wait")
        if self.expires is not None and self.expires <= 0:
            raise ValueError(NO_TIME)
        return self


def _unique_rule_ids(rules: list[Rule], tightening: bool = False) -> list[Rule]:
    """`rules`, unless an id is used twice, or (`tightening`: an intent's own rules) a rule
    is a `prefer`: then an error at that rule's `id` or `effect`, so that it is told at its
    line, not at the `spec` above."""
    seen: set[str] = set()
    errors: list[InitErrorDetails] = []
    for i, rule in enumerate(rules):
        if tightening and rule.effect == "prefer":
            why = (
                f"rule '{rule.id}': an intent's own rules can only tighten its policies "
                "(deny, require_approval or avoid); prefer could outweigh a policy's avoid"
            )
            errors.append(_error_at((i, "effect"), rule.effect, why))
        if rule.id in seen:
            errors.append(_error_at((i, "id"), rule.id, f"rule id '{rule.id}' is used twice"))
        seen.add(rule.id)
    if errors:
        raise ValidationError.from_exception_data("rules", errors)
    return rules


def _tightening(rules: list[Rule]) -> list[Rule]:
    return _unique_rule_ids(rules, tightening=True)


def _error_at(loc: tuple[int | str, ...], value: Any, why: str) -> InitErrorDetails:
    return InitErrorDetails(
        type="value_error", loc=loc, input=value, ctx={"error": ValueError(why)}
    )


class PolicySpec(Strict):
    description: str | None = None
    enforced: bool = Field(
        default=False,
        description="true: governs every intent, whether or not it lists the policy.",
    )
    rules: Annotated[list[Rule], AfterValidator(_unique_rule_ids)] = Field(min_length=1)


# --- Intent -----------------------------------------------------------------------------


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


class LlmSettings(Strict):
    """How the `llm` and `hybrid` planners reach a model (through litellm)."""

    model: str | None = Field(
        default=None,
        min_length=1,
        description="litellm model name, e.g. 'openai/gpt-4o-mini' or 'ollama/llama3'; "
        "default: the IDO_LLM_MODEL environment variable.",
    )
    api_base: str | None = Field(
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


# --- Capability -------------------------------------------------------------------------


class HttpBinding(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: Annotated[str, Templated, AfterValidator(_no_credentials)] = Field(
        pattern=URL_PATTERN, description="http:// or https:// URL; may use ${env:NAME}."
    )
    json_body: Annotated[Any, Templated] = Field(
        default=None, alias="json", description="JSON body to send; strings may use ${env:NAME}."
    )
    headers: Annotated[dict[str, str], Templated, AfterValidator(_header_names)] = Field(
        default_factory=dict, description="Request headers; values may use ${env:NAME}."
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )


class RunBinding(Strict):
    python: str | None = Field(
        default=None,
        pattern=CALLABLE_PATTERN,
        description="'package.module:function', called with an ActionContext.",
    )
    shell: Annotated[list[str], Templated, AfterValidator(_no_nul)] | None = Field(
        default=None,
        min_length=1,
        description="argv list; never run through a shell; items may use ${env:NAME}.",
    )
    http: HttpBinding | None = None
    secrets: list[Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Environment variables the binding reads by itself (a Python binding's "
        "os.environ): their values are masked in what every call gives back, as those "
        "named ${env:NAME} are.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> RunBinding:
        chosen = [k for k in ("python", "shell", "http") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of python, shell or http")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("python", "shell", "http") if getattr(self, k) is not None)


class CapabilitySpec(Strict):
    description: str | None = None
    provider: Label = Field(min_length=1, description="Who performs it (stripe, dhl, ...).")
    region: Label | None = Field(default=None, description="Where it processes data (eu, us).")
    tags: list[Label] = Field(default_factory=list)
    requires: list[Condition] = Field(
        default_factory=list, description="CEL preconditions over `state`, all must hold."
    )
    effects: Annotated[dict[FactPath, Any], AfterValidator(_finite)] = Field(
        min_length=1, description="Facts set when it succeeds: path -> value."
    )
    cost: float = Field(default=0.0, ge=0, description="Cost per call.")
    latency: Duration = Field(default=0.0, description="Expected duration, e.g. '800ms'.")
    reliability: float = Field(default=1.0, gt=0, le=1, description="Probability of success.")
    timeout: Duration = Field(default=30.0, gt=0, description="Longest a call may take.")
    idempotent: bool = Field(default=False, description="Safe to repeat with the same key.")
    compensate: Name | None = Field(default=None, description="Capability that undoes it.")
    output: FactPath | None = Field(
        default=None, description="State path where the binding's JSON result is stored."
    )
    run: RunBinding | None = Field(default=None, description="How to perform it.")

    @model_validator(mode="after")
    def _timeout_covers_latency(self) -> CapabilitySpec:
        if self.latency > self.timeout:
            raise ValueError(
                f"latency {format_duration(self.latency)} is longer than timeout "
                f"{format_duration(self.timeout)}"
                + ("" if "timeout" in self.model_fields_set else " (the default)")
                + ": a call that takes as long as expected would be cut off; raise timeout"
            )
        return self

    @model_validator(mode="after")
    def _output_apart_from_effects(self) -> CapabilitySpec:
        out = self.output
        if out is None:
            return self
        for path in self.effects:
            if overlaps(path, out):
                raise ValueError(
                    f"output {out} overlaps effect {path}: the binding's result would "
                    "overwrite what the effect sets; keep output paths apart from effect paths"
                )
        return self


# --- Observer ---------------------------------------------------------------------------


class HttpSource(Strict):
    url: Annotated[str, Templated, AfterValidator(_no_credentials)] = Field(
        pattern=URL_PATTERN, description="http:// or https:// URL; may use ${env:NAME}."
    )
    headers: Annotated[dict[str, str], Templated, AfterValidator(_header_names)] = Field(
        default_factory=dict, description="Request headers; values may use ${env:NAME}."
    )


class PrometheusSource(HttpSource):
    url: Annotated[str, Templated, AfterValidator(_no_credentials)] = Field(
        pattern=URL_PATTERN,
        description="The Prometheus server's base URL (http://prometheus:9090), without "
        "/api/v1/query; may use ${env:NAME}.",
    )
    query: str = Field(
        min_length=1, description="PromQL giving one value: a scalar, or one series."
    )


OBSERVER_SOURCES = ("python", "file", "http", "prometheus")


class ObserverSpec(Strict):
    description: str | None = None
    python: str | None = Field(
        default=None,
        pattern=CALLABLE_PATTERN,
        description="'module:function' returning a JSON-like mapping.",
    )
    file: str | None = Field(default=None, description="JSON file, relative to this YAML file.")
    http: HttpSource | None = Field(default=None, description="HTTP GET returning JSON.")
    prometheus: PrometheusSource | None = Field(
        default=None, description="A PromQL instant query whose one value is the fact at `at`."
    )
    at: FactPath | None = Field(
        default=None,
        description="State path to mount the output at; default: merge at root (required "
        "for prometheus: the fact its value sets).",
    )
    timeout: Duration = Field(
        default=5.0,
        gt=0,
        description="Longest one HTTP observation may take, in all; http and prometheus "
        "observers only.",
    )
    secrets: list[Annotated[str, StringConstraints(pattern=ENV_NAME_PATTERN)]] = Field(
        default_factory=list,
        description="Environment variables the observer reads by itself (a Python "
        "observer's os.environ): their values are masked in what every call and observer "
        "gives back, as those named ${env:NAME} are.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ObserverSpec:
        chosen = [k for k in OBSERVER_SOURCES if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError("give exactly one of python, file, http or prometheus")
        if "timeout" in self.model_fields_set and chosen[0] in ("python", "file"):
            # Accepted and ignored, it promised a bound it did not keep: a python observer
            # that hung, hung the run.
            raise ValueError(
                f"timeout applies to http and prometheus observers only; a {chosen[0]} "
                "observer runs to its end: remove timeout"
            )
        if self.prometheus is not None and self.at is None:
            raise ValueError(
                "a prometheus observer reports one number: name the fact it sets with at "
                "(at: db.load)"
            )
        return self


# --- envelopes --------------------------------------------------------------------------


class _Resource(Strict):
    api_version: Literal["ido/v1"] = Field(alias="apiVersion")
    metadata: Metadata

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )

    @property
    def name(self) -> str:
        return self.metadata.name


class Intent(_Resource):
    kind: Literal["Intent"]
    spec: IntentSpec


class Capability(_Resource):
    kind: Literal["Capability"]
    spec: CapabilitySpec


class Policy(_Resource):
    kind: Literal["Policy"]
    spec: PolicySpec


class Observer(_Resource):
    kind: Literal["Observer"]
    spec: ObserverSpec
