"""OpenTelemetry traces and metrics of runs. The only package that imports opentelemetry.

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

`config` reads what the OTEL_* variables ask for, and refuses what cannot be used;
`exporters` builds the exporters (`from_environment`), their log lines masked or told once
per outage; `providers` holds the tracer and meter providers, the placed span ids and the
shutdown; `telemetry` the `RunTelemetry` that turns each event into spans and metrics,
with `attributes` for what the spans say.
"""

from ido.tracing.config import TelemetryConfigError, settings
from ido.tracing.exporters import EXPORTER_LOGGERS, from_environment
from ido.tracing.telemetry import RunTelemetry

__all__ = [
    "EXPORTER_LOGGERS",
    "RunTelemetry",
    "TelemetryConfigError",
    "from_environment",
    "settings",
]
