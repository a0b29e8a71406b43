"""The tracer and meter providers of a process's runs: each span given the id its place in
the run names, started in the run's trace; what is still open ended, and everything
exported, at shutdown, in at most two seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
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

from ido.export_trouble import ExportWatch
from ido.journal.records import shown_cost
from ido.runtime.tracecontext import span_id, trace_id
from ido.tracing.config import TelemetryConfigError

SHUTDOWN_SECONDS = 2.0


SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0
)  # fmt: skip
"""The durations' histogram buckets, in seconds. The SDK's default bounds (0, 5, 10, 25, …,
10000) are made for milliseconds: a 4 ms call and a 4 s one fell in one bucket."""


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


class _Providers:
    """The providers, instruments and open spans of `RunTelemetry` (its base)."""

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

    def _spend(self, options: CallbackOptions) -> Iterable[Observation]:
        """`ido.spend` so far, per intent and provider, rounded past float noise."""
        with self._spent_lock:
            totals = list(self._spent.items())
        return [Observation(shown_cost(total), dict(key)) for key, total in totals]

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

    @staticmethod
    def _end_decision(spans: _RunSpans, at: int) -> None:
        if spans.current is not None:
            spans.decisions[spans.current].end(end_time=at)
            spans.current = None
