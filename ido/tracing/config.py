"""Which traces and metrics the OTEL_* variables ask for, and how they are exported;
a malformed variable refused, named, before any exporter is built."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from ido.errors import IdoError
from ido.model.fields import HEADER_NAME, HEADER_NAME_WORDS
from ido.secrets import masked_url

EXPORTERS = ("otlp", "console", "none")


PROTOCOLS = ("http/protobuf", "grpc")


class TelemetryConfigError(IdoError):
    """An OTEL_* variable ido cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """What the OTEL_* variables ask for: exporters of traces and of metrics, and protocols."""

    traces: tuple[str, ...]
    metrics: tuple[str, ...]
    traces_protocol: str
    metrics_protocol: str


ENDPOINT_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


def _check_endpoint(name: str, value: str) -> None:
    """Raise TelemetryConfigError unless `value` is an http(s) URL with a host and, if it
    gives one, a port: `https://collector:43l8` passed, and every export of the run then
    failed with the SDK's warnings."""
    url = urlparse(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise TelemetryConfigError(
            f"{name}={masked_url(value)!r} is not an http:// or https:// URL"
        )
    try:
        url.port  # noqa: B018 (read for the ValueError it raises)
    except ValueError:
        raise TelemetryConfigError(
            f"{name}={masked_url(value)!r}: its port is not a number from 0 to 65535"
        ) from None


def settings(environ: Mapping[str, str]) -> Settings | None:
    """The telemetry the environment asks for; None when it asks for none.

    Telemetry is on when `OTEL_TRACES_EXPORTER` or `OTEL_METRICS_EXPORTER` names an
    exporter, or an `OTEL_EXPORTER_OTLP_*ENDPOINT` is set (then OTLP is the default), and
    `OTEL_SDK_DISABLED` is not `true`. Raises TelemetryConfigError on a malformed value.
    """
    if _flag(environ, "OTEL_SDK_DISABLED"):
        return None
    endpoints = [name for name in ENDPOINT_VARIABLES if environ.get(name, "").strip()]
    for name in endpoints:
        _check_endpoint(name, environ[name])
    # An endpoint turns OTLP on for its own signal (the general one for both).
    general = "OTEL_EXPORTER_OTLP_ENDPOINT" in endpoints
    for_traces = general or "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" in endpoints
    for_metrics = general or "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" in endpoints
    traces = _exporters(environ, "OTEL_TRACES_EXPORTER", ("otlp",) if for_traces else ())
    metrics = _exporters(environ, "OTEL_METRICS_EXPORTER", ("otlp",) if for_metrics else ())
    for name in ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_BSP_SCHEDULE_DELAY"):
        value = environ.get(name, "").strip()
        if value and not _number(value):
            raise TelemetryConfigError(f"{name}={environ[name]!r} is not a number")
    for exporters, own in ((traces, HEADER_VARIABLES[1]), (metrics, HEADER_VARIABLES[2])):
        if "otlp" in exporters:  # the headers this signal's exporter reads: its own, or all's
            name = own if environ.get(own, "").strip() else HEADER_VARIABLES[0]
            _check_headers(name, environ.get(name, ""))
    sampler = environ.get("OTEL_TRACES_SAMPLER", "").strip()
    if sampler and sampler not in ("always_on", "parentbased_always_on"):
        raise TelemetryConfigError(
            f"OTEL_TRACES_SAMPLER={sampler!r}: ido traces every run whole (always_on); "
            "sample in the collector instead"
        )
    if not traces and not metrics:
        return None
    return Settings(
        traces,
        metrics,
        _protocol(environ, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
        _protocol(environ, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
    )


HEADER_VARIABLES = (
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
)
_HEADER_VALUE = re.compile(r"[ !#-+\--:<-\[\]-~]*")  # what the SDK takes (no `"`, `;`, `\`)


def _check_headers(name: str, text: str) -> None:
    """Refuse headers the SDK would drop with a warning quoting them, token and all (the
    collector then gets no credentials). The error names the pair by its place, never
    its text, which may be a credential."""
    pairs = [pair for pair in text.split(",") if pair.strip()]
    for place, pair in enumerate(pairs, start=1):
        key, sep, value = pair.partition("=")
        if not sep or not HEADER_NAME.fullmatch(key.strip()):
            raise TelemetryConfigError(
                f"{name}: pair {place} of {len(pairs)} is not NAME=VALUE with NAME a header "
                f"name ({HEADER_NAME_WORDS}; no spaces)"
            )
        decoded = unquote(value.strip())
        if not _HEADER_VALUE.fullmatch(value.strip()) or not all(
            c == "\t" or c.isprintable() for c in decoded
        ):
            raise TelemetryConfigError(
                f"{name}: the value of pair {place} of {len(pairs)} ({key.strip()}) holds a "
                'character a header value cannot (a control character, or `"`, `;` or `\\` '
                "not %-encoded)"
            )


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() == "true"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _exporters(environ: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    names = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    unknown = [n for n in names if n not in EXPORTERS]
    if unknown:
        raise TelemetryConfigError(
            f"{name}={raw!r}: unknown exporter {unknown[0]!r}; use {', '.join(EXPORTERS)}"
        )
    return tuple(n for n in names if n != "none")


def _protocol(environ: Mapping[str, str], specific: str) -> str:
    name = specific if environ.get(specific, "").strip() else "OTEL_EXPORTER_OTLP_PROTOCOL"
    value = environ.get(name, "").strip() or "http/protobuf"
    if value not in PROTOCOLS:
        raise TelemetryConfigError(
            f"{name}={value!r}: ido exports OTLP as {' or '.join(PROTOCOLS)}"
        )
    return value
