"""A Capability's spec and bindings (`run`, `http`), and an Observer's spec and sources."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ido.model.durations import Duration, format_duration
from ido.model.fields import (
    CALLABLE_PATTERN,
    ENV_NAME_PATTERN,
    URL_PATTERN,
    Condition,
    FactPath,
    Label,
    Name,
    Strict,
    Templated,
    _finite,
    _header_names,
    _no_credentials,
    _no_nul,
)
from ido.state import overlaps


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


OWN_PYTHON = ("python", "python3")
"""The programs a `shell` binding names that mean ido's own interpreter (`sys.executable`),
so a project's virtualenv just works."""

SCRIPT_RUNNERS = {".sh": "sh", ".bash": "bash", ".py": "python3"}
"""What runs a project's script by its suffix (`deploy.sh`: `[sh, deploy.sh]`)."""


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
