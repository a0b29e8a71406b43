"""OpenTelemetry traces and metrics of runs. The only module that imports opentelemetry.

`from_environment()` reads the standard `OTEL_*` variables and gives a `RunTelemetry` (or
None when no variable asks for telemetry, and then opentelemetry is not even imported).
The runtime reports every event it journals to it (`ido.runtime.core.Telemetry`), and it
builds, per run, one trace:

    Run:{intent}                      the run (Resume:{intent} for each resumption)
      Decide:{n}                      a decision, until the next one or the run's end
        Perform:{capability}          one attempt of a step

Span ids come from `ido.runtime.tracecontext`: digests of the run id and the span's place,
so the `traceparent` handed to a capability names its Perform span, and a resumed run
continues the same trace. Attribute names are under `ido.*` (docs/observability.md).
Spans are exported in the background (a batch processor) and `shutdown()` waits at most
two seconds, so a missing collector never holds up a run or its exit for long.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from ido.errors import IdoError
from ido.export_trouble import ExportWatch
from ido.journal import made_calls, shown_cost
from ido.model.resources import HEADER_NAME, HEADER_NAME_WORDS
from ido.runtime.tracecontext import perform_place, span_id, trace_id
from ido.secrets import mask_all, masked_url, url_credentials

SHUTDOWN_SECONDS = 2.0
EXPORTERS = ("otlp", "console", "none")
SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0
)  # fmt: skip
"""The durations' histogram buckets, in seconds. The SDK's default bounds (0, 5, 10, 25, …,
10000) are made for milliseconds: a 4 ms call and a 4 s one fell in one bucket."""
PROTOCOLS = ("http/protobuf", "grpc")


class TelemetryConfigError(IdoError):
    """An OTEL_* variable ido cannot use; the message names it."""


# --- configuration from OTEL_* ------------------------------------------------------------


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


def from_environment(
    environ: Mapping[str, str] | None = None, tell: Callable[[str], None] | None = None
) -> RunTelemetry | None:
    """Telemetry as the OTEL_* variables configure it, or None when they ask for none.

    With `tell`, the exporters' own warnings (one per retry and batch) are not logged:
    `tell` is given one line per collector outage instead (see `ido.export_trouble`)."""
    environ = os.environ if environ is None else environ
    found = settings(environ)
    if found is None:
        return None
    watch = _watch_exporter_logs(environ, tell)
    spans = [_span_exporter(name, found.traces_protocol) for name in found.traces]
    readers: list[MetricReader] = [
        PeriodicExportingMetricReader(_metric_exporter(name, found.metrics_protocol))
        for name in found.metrics
    ]
    processors = [BatchSpanProcessor(e if watch is None else _Watched(e, watch)) for e in spans]
    return RunTelemetry(processors, readers, watch)


EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
)
"""The loggers that say an export failed, quoting the request's URL."""


class _MaskedLog(logging.Filter):
    """Masks credentials in what a logger says, as `***`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        said = record.getMessage()
        masked: str = mask_all(said, self.secrets)
        if masked != said:
            record.msg, record.args = masked, None
        return True


def _watch_exporter_logs(
    environ: Mapping[str, str], tell: Callable[[str], None] | None
) -> ExportWatch | None:
    """Mask the OTLP endpoints' credentials in the exporters' own warnings (a collector
    that was down had `Transient error … url: /?token=… encountered while exporting` on
    standard error, the endpoint's token in it), or, with `tell`, say them once through it."""
    secrets = [
        found
        for name in ENDPOINT_VARIABLES
        for found in url_credentials(environ.get(name, "").strip())
    ]
    secrets += _header_values(environ)
    endpoints = dict.fromkeys(
        masked_url(environ[name].strip()) for name in ENDPOINT_VARIABLES if environ.get(name)
    )
    watch = None if tell is None else ExportWatch(tell, endpoints, secrets)
    for name in EXPORTER_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, (_MaskedLog, ExportWatch))]:
            logger.removeFilter(old)
        if watch is not None:
            logger.addFilter(watch)
        elif secrets:
            logger.addFilter(_MaskedLog(secrets))
    return watch


def _header_values(environ: Mapping[str, str]) -> list[str]:
    """The values of the OTLP headers (a key, `Bearer …`, and its token alone): a collector
    refusing one may quote it back, and the exporters log what it said."""
    found: list[str] = []
    for name in HEADER_VARIABLES:
        for pair in environ.get(name, "").split(","):
            value = unquote(pair.partition("=")[2]).strip()
            found += [value, *value.split()[1:]] if value else []
    return list(dict.fromkeys(found))


class _Watched(SpanExporter):
    """A span exporter that tells the watch when an export succeeds (the outage is over)."""

    def __init__(self, exporter: SpanExporter, watch: ExportWatch) -> None:
        self._exporter = exporter
        self._watch = watch

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self._exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            self._watch.exported()
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


def _span_exporter(name: str, protocol: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            raise TelemetryConfigError(
                "OTLP over gRPC needs the grpc exporter: pip install 'ido[otlp-grpc]'"
            ) from None
        exporter: SpanExporter = GrpcSpanExporter()
        return exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(name: str, protocol: str) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )
        except ImportError:
            raise TelemetryConfigError(
                "OTLP over gRPC needs the grpc exporter: pip install 'ido[otlp-grpc]'"
            ) from None
        metrics: MetricExporter = GrpcMetricExporter()
        return metrics
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


# --- spans and metrics from runtime events ------------------------------------------------


class _PlacedIds(IdGenerator):
    """Hands the SDK the ids `ido.runtime.tracecontext` derived, set just before each span."""

    def __init__(self) -> None:
        self._next = threading.local()

    def place(self, trace: int, span: int) -> None:
        self._next.trace, self._next.span = trace, span

    def generate_span_id(self) -> int:
        return int(self._next.span)

    def generate_trace_id(self) -> int:
        return int(self._next.trace)


@dataclass
class _RunSpans:
    segment: Span
    """The Run span, or the Resume span of this process's part of the run."""
    place: str
    """The segment's place in the run (`run`, or `resume/…`), which its children name."""
    decisions: dict[int, Span] = field(default_factory=dict)
    steps: dict[int, Span] = field(default_factory=dict)
    current: int | None = None


class RunTelemetry:
    """Spans and metrics for the runs of this process (thread-safe: runs may be concurrent)."""

    def __init__(
        self,
        processors: Sequence[SpanProcessor],
        readers: Sequence[MetricReader],
        watch: ExportWatch | None = None,
    ) -> None:
        self._watch = watch
        # `create`'s own attributes win over OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES:
        # given always, service.name=ido hid every service's runs under one name.
        named = "service.name" in OTELResourceDetector().detect().attributes
        resource = Resource.create({} if named else {"service.name": "ido"})
        self._ids = _PlacedIds()
        # Not shut down at exit by the SDK: `shutdown()` does it, with a time limit.
        self._tracers = TracerProvider(
            resource=resource, id_generator=self._ids, sampler=ALWAYS_ON, shutdown_on_exit=False
        )
        for processor in processors:
            self._tracers.add_span_processor(processor)
        self._tracer = self._tracers.get_tracer("ido")
        self._meters = MeterProvider(
            resource=resource, metric_readers=list(readers), shutdown_on_exit=False
        )
        meter = self._meters.get_meter("ido")
        self._runs: Counter = meter.create_counter("ido.runs", "{run}", "Runs by outcome.")
        self._decision_seconds: Histogram = meter.create_histogram(
            "ido.decision.duration",
            "s",
            "Time to decide (plan), per decision.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        self._actions: Counter = meter.create_counter(
            "ido.actions", "{action}", "Action attempts by provider and outcome."
        )
        self._action_seconds: Histogram = meter.create_histogram(
            "ido.action.duration",
            "s",
            "Action attempts' duration, by provider.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS,
        )
        # Summed here and reported rounded past float noise (`shown_cost`): a counter's own
        # float sum showed a run that cost 2.86 as 2.8600000000000003.
        self._spent: dict[tuple[tuple[str, str], ...], float] = {}
        self._spent_lock = threading.Lock()  # (read by the reader's thread, at collection)
        meter.create_observable_counter(
            "ido.spend",
            [self._spend],
            "1",
            "What actions cost, in the catalog's currency.",
        )
        self._observer_failures: Counter = meter.create_counter(
            "ido.observer.failures", "{observation}", "Observations that failed, by observer."
        )
        self._open: dict[str, _RunSpans] = {}
        self._lock = threading.Lock()

    def record(
        self,
        run_id: str,
        intent: str,
        kind: str,
        data: Mapping[str, Any],
        at: float,
        took: float | None = None,
    ) -> None:
        """One journaled event of a run (see `ido.runtime.core.Telemetry`)."""
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        with self._lock:
            handler(self, run_id, intent, data, int(at * 1e9), took)

    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """End what is still open (a run stopped by Ctrl-C: `interrupted`), then export what
        is left, waiting at most `timeout` seconds (then give up on it)."""
        now = time.time_ns()
        with self._lock:
            for spans in self._open.values():
                for step in spans.steps.values():  # cut short with the run: say so
                    step.set_attribute("ido.outcome", "interrupted")
                    step.set_status(Status(StatusCode.ERROR, "interrupted"))
                    step.end(end_time=now)
                if spans.current is not None:
                    spans.decisions[spans.current].set_attribute("ido.outcome", "interrupted")
                self._end_decision(spans, now)
                spans.segment.set_attribute("ido.outcome", "interrupted")
                spans.segment.end(end_time=now)
            self._open.clear()
        done = threading.Thread(target=self._shutdown, name="ido:telemetry", daemon=True)
        done.start()
        done.join(timeout)
        if done.is_alive() and self._watch is not None:
            self._watch.cut_short(timeout)

    def _shutdown(self) -> None:
        self._tracers.shutdown()
        self._meters.shutdown()

    # Spans ------------------------------------------------------------------------------

    def _span(
        self,
        run_id: str,
        place: str,
        name: str,
        parent: str | None,
        start: int,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Span:
        """Start the span at `place` in the run's trace, as a child of the span at `parent`."""
        context = None
        if parent is not None:
            parent_context = SpanContext(
                trace_id(run_id),
                span_id(run_id, parent),
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            context = trace.set_span_in_context(NonRecordingSpan(parent_context))
        self._ids.place(trace_id(run_id), span_id(run_id, place))
        # A root span starts from an empty context: not under whatever span is current in
        # a program that embeds ido.
        span = self._tracer.start_span(
            name, context=context or Context(), kind=kind, start_time=start
        )
        if not isinstance(span, Span):
            raise TelemetryConfigError("the tracer returned no recording span")
        return span

    def _run_started(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        span = self._span(run_id, "run", f"Run:{intent}", None, at)
        span.set_attributes({"ido.run.id": run_id, "ido.intent": intent})
        self._open[run_id] = _RunSpans(span, "run")

    def _run_resumed(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        place = f"resume/{at}"
        span = self._span(run_id, place, f"Resume:{intent}", "run", at)
        span.set_attributes(
            {
                "ido.run.id": run_id,
                "ido.intent": intent,
                "ido.resumed": True,
                "ido.interrupted_steps": [int(s) for s in data.get("interrupted_steps", [])],
            }
        )
        if data.get("compensate"):  # `ido compensate`: the steps it undoes again
            span.set_attribute("ido.undoing_again", [int(s) for s, _ in data["compensate"]])
        self._open[run_id] = _RunSpans(span, place)

    def _decided(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        if spans is None:
            return
        self._end_decision(spans, at)
        number = int(data["number"])
        seconds = took or 0.0
        result = data["result"]
        start = at - int(seconds * 1e9)
        span = self._span(run_id, f"decide/{number}", f"Decide:{number}", spans.place, start)
        plan = result.get("plan") or {}
        binding = [c["name"] for c in result.get("constraints", []) if c.get("binding")]
        span.set_attributes(
            _attributes(
                {
                    "ido.decision.number": number,
                    "ido.decision.trigger": data.get("trigger"),
                    "ido.decision.status": result["status"],
                    "ido.planner": data.get("planner"),
                    "ido.plan.capabilities": [s["capability"] for s in plan.get("steps", [])],
                    "ido.plan.cost": _amount(plan.get("cost")),
                    "ido.plan.latency": plan.get("latency"),
                    "ido.alternatives": len(result.get("alternatives", [])),
                    "ido.constraint.binding": binding,
                    "ido.solve.seconds": seconds,
                    "ido.proven_optimal": result.get("proven_optimal"),
                    "ido.reason": result.get("reason"),
                    **_model_attributes(result),
                }
            )
        )
        for hit in data.get("policy", []):
            span.add_event(
                f"policy.{hit['verdict']}",
                _attributes(
                    {
                        "ido.policy.decision_id": hit["id"],
                        "ido.rule": hit["rule"],
                        "ido.subject": hit["subject"],
                        "ido.message": hit["message"],
                    }
                ),
                timestamp=at,
            )
        _decision_events(span, result, at)
        spans.decisions[number] = span
        spans.current = number
        self._decision_seconds.record(
            seconds,
            {"ido.planner": str(data.get("planner")), "ido.decision.status": result["status"]},
        )

    def _action_started(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        if spans is None:
            return
        span = self._perform(run_id, spans, data, at)
        span.set_attributes(
            _attributes(
                {
                    "ido.idempotency_key": data.get("idempotency_key"),
                    "ido.binding": data.get("binding"),
                    "ido.backoff.seconds": data.get("backoff"),
                }
            )
        )
        spans.steps[int(data["step"])] = span

    def _action_finished(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        span = spans.steps.pop(int(data["step"]), None) if spans else None
        if span is None and spans is not None:  # settled on resume: its start is the last run's
            span = self._settled(run_id, spans, data, at)
        outcome = "ok" if data["ok"] else "timed_out" if data.get("timed_out") else "failed"
        if data.get("interrupted"):
            outcome = "interrupted"
        provider = str(data.get("provider") or "")
        if not provider and span is not None and span.attributes:
            provider = str(span.attributes.get("ido.provider", ""))
        if span is not None:
            span.set_attributes(
                _attributes(
                    {
                        "ido.outcome": outcome,
                        "ido.cost": _amount(data.get("cost")),
                        "ido.latency": data.get("duration"),
                        "ido.error": data.get("error"),
                        "ido.resumed": data.get("resumed"),
                    }
                )
            )
            if not data["ok"]:
                span.set_status(Status(StatusCode.ERROR, str(data.get("error") or outcome)))
            span.end(end_time=at)
        labels = {"ido.provider": provider, "ido.capability": str(data["capability"])}
        self._actions.add(1, {**labels, "ido.outcome": outcome})
        if data.get("duration") is not None:
            self._action_seconds.record(
                float(data["duration"]), {"ido.provider": provider, "ido.outcome": outcome}
            )
        key = (("ido.intent", intent), ("ido.provider", provider))
        with self._spent_lock:
            self._spent[key] = self._spent.get(key, 0.0) + float(data.get("cost") or 0.0)

    def _spend(self, options: CallbackOptions) -> Iterable[Observation]:
        """`ido.spend` so far, per intent and provider, rounded past float noise."""
        with self._spent_lock:
            totals = list(self._spent.items())
        return [Observation(shown_cost(total), dict(key)) for key, total in totals]

    def _settled(self, run_id: str, spans: Any, data: Mapping[str, Any], at: int) -> Span:
        """The Perform span of a step settled on resume, its start (and any call it made)
        in this process: the call went out with this span's traceparent. It is the Resume
        span's child: the decision that planned it was the last process's, and after a
        crash its span was never exported."""
        start = at - int(float(data.get("duration") or 0.0) * 1e9)
        return self._perform(run_id, spans, data, start, resumed=True)

    def _perform(
        self, run_id: str, spans: Any, data: Mapping[str, Any], start: int, resumed: bool = False
    ) -> Span:
        """A Perform span for the step `data` names, under the decision that planned it (or,
        `resumed`, under the Resume span)."""
        step, attempt = int(data["step"]), int(data.get("attempt") or 1)
        planned = data.get("decision") and not resumed
        parent = f"decide/{data['decision']}" if planned else spans.place
        span = self._span(
            run_id,
            perform_place(step, attempt, resumed),
            f"Perform:{data['capability']}",
            parent,
            start,
            # An HTTP call is a client span: a service continuing the trace is its server,
            # and backends draw the edge between them (Tempo's service graph needs both).
            SpanKind.CLIENT if data.get("binding") == "http" else SpanKind.INTERNAL,
        )
        span.set_attributes(
            _attributes(
                {
                    "ido.capability": data["capability"],
                    "ido.provider": data.get("provider"),
                    "ido.step": step,
                    "ido.attempt": attempt,
                }
            )
        )
        return span

    def _approval_required(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        if spans is None:
            return
        target = spans.decisions.get(spans.current or -1, spans.segment)
        target.add_event(
            "approval.required",
            _attributes(
                {
                    "ido.rule": data.get("rule"),
                    "ido.capability": data.get("capability"),
                    "ido.step": data.get("step"),
                    "ido.message": data.get("message"),
                    "ido.plan.cost": _amount(data.get("cost")),
                }
            ),
            timestamp=at,
        )

    def _effects_missing(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        if spans is not None:
            spans.segment.add_event(
                "effects.missing",
                _attributes(
                    {"ido.capability": data.get("capability"), "ido.step": data.get("step")}
                ),
                timestamp=at,
            )

    def _observer_failed(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        self._observer_failures.add(1, {"ido.observer": str(data.get("observer"))})
        spans = self._open.get(run_id)
        if spans is None or data.get("again"):  # told once, as `ido run` tells it
            return
        spans.segment.add_event(
            "observer.failed",
            _attributes(
                {
                    "ido.observer": data.get("observer"),
                    "ido.reason": data.get("reason") or data.get("error"),
                    "ido.observer.kept_last_report": data.get("kept_last_report"),
                }
            ),
            timestamp=at,
        )

    def _compensation_started(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.get(run_id)
        span = spans.steps.get(int(data["step"])) if spans else None
        if span is not None:
            span.set_attributes(
                _attributes(
                    {
                        "ido.compensates": data.get("undoes"),
                        "ido.compensates.step": data.get("undoes_step"),
                    }
                )
            )

    def _run_finished(
        self, run_id: str, intent: str, data: Mapping[str, Any], at: int, took: float | None
    ) -> None:
        spans = self._open.pop(run_id, None)
        outcome = str(data.get("outcome"))
        self._runs.add(1, {"ido.intent": intent, "ido.outcome": outcome})
        if spans is None:
            return
        for step in spans.steps.values():
            step.end(end_time=at)
        self._end_decision(spans, at)
        spans.segment.set_attributes(
            _attributes(
                {
                    "ido.outcome": outcome,
                    "ido.cost": _amount(data.get("cost")),
                    "ido.reason": data.get("reason"),
                }
            )
        )
        if outcome == "failed":
            spans.segment.set_status(Status(StatusCode.ERROR, str(data.get("reason") or outcome)))
        spans.segment.end(end_time=at)

    @staticmethod
    def _end_decision(spans: _RunSpans, at: int) -> None:
        if spans.current is not None:
            spans.decisions[spans.current].end(end_time=at)
            spans.current = None


def _decision_events(span: Span, result: Mapping[str, Any], at: int) -> None:
    """Why each alternative lost and why each capability was left out, as `ido explain`
    says it: an SRE looking at a replan in the trace sees that load-a was denied by
    `limits.max_attempts`, not only that load-b was chosen. Those not needed for the goal
    (`irrelevant`: in a shared catalog, most) are left out, as explain leaves them out, and
    alternatives come first: a span keeps 128 events unless OTEL_SPAN_EVENT_COUNT_LIMIT says
    more."""
    for alternative in result.get("alternatives", []):
        plan = alternative.get("plan") or {}
        delta = alternative.get("score_delta")
        span.add_event(
            "alternative",
            _attributes(
                {
                    "ido.plan.capabilities": [s["capability"] for s in plan.get("steps", [])],
                    "ido.plan.cost": _amount(plan.get("cost")),
                    "ido.score.delta": None if delta is None else round(float(delta), 9),
                    "ido.message": alternative.get("why"),
                }
            ),
            timestamp=at,
        )
    for rejection in result.get("rejections", []):
        if rejection.get("reason") == "irrelevant":
            continue
        span.add_event(
            "capability.rejected",
            _attributes(
                {
                    "ido.capability": rejection.get("capability"),
                    "ido.reason": rejection.get("reason"),
                    "ido.rule": rejection.get("rule"),
                    "ido.message": rejection.get("detail"),
                }
            ),
            timestamp=at,
        )


def _model_attributes(result: Mapping[str, Any]) -> dict[str, Any]:
    """What a model planner's decision asked, as `ido explain` tells it: the model, its
    calls, tokens and cost, the verdict and the fallback. Without them a trace showed the
    solver's plan under `ido.planner: llm` as if the model had made it."""
    llm = (result.get("solver") or {}).get("llm")
    if not llm:
        return {}
    calls = made_calls(llm)
    return {
        "ido.llm.model": llm.get("model"),
        "ido.llm.calls": len(calls),
        "ido.llm.cached_calls": sum(1 for c in calls if c.get("cached")),
        "ido.llm.input_tokens": llm.get("input_tokens"),
        "ido.llm.output_tokens": llm.get("output_tokens"),
        "ido.llm.cost": _amount(llm.get("cost")),
        "ido.llm.verdict": llm.get("verdict") or None,
        "ido.llm.fallback": llm.get("fallback"),
    }


def _amount(cost: Any) -> float | None:
    """A recorded cost as `ido runs` and `ido explain` show it (`shown_cost`), if any."""
    return None if cost is None else shown_cost(float(cost))


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values OpenTelemetry takes: no None; lists of one primitive type."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            out[key] = (
                [str(v) for v in value] if value and isinstance(value[0], str) else list(value)
            )
        else:
            out[key] = value
    return out


_HANDLERS = {
    "run_started": RunTelemetry._run_started,
    "run_resumed": RunTelemetry._run_resumed,
    "decided": RunTelemetry._decided,
    "action_started": RunTelemetry._action_started,
    "action_finished": RunTelemetry._action_finished,
    "approval_required": RunTelemetry._approval_required,
    "effects_missing": RunTelemetry._effects_missing,
    "observer_failed": RunTelemetry._observer_failed,
    "compensation_started": RunTelemetry._compensation_started,
    "run_finished": RunTelemetry._run_finished,
}
