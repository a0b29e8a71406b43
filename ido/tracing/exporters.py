"""The exporters the OTEL_* variables ask for (`from_environment`), and their own log
lines: credentials masked, or, with a `tell`, one line per collector outage."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import unquote

from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanExportResult,
)

from ido.export_trouble import ExportWatch
from ido.secrets import mask_all, masked_url, url_credentials
from ido.tracing.config import ENDPOINT_VARIABLES, HEADER_VARIABLES, TelemetryConfigError, settings
from ido.tracing.telemetry import RunTelemetry


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
