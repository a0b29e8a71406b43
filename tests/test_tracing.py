"""OpenTelemetry traces and metrics of real runs: span trees from the in-memory exporter, trace
context handed to capabilities, configuration by OTEL_* variables, and OTLP over HTTP to a
receiver on loopback."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from typer.testing import CliRunner

from ido import tracing
from ido.cli import app
from ido.export_trouble import ExportWatch
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.runtime.tracecontext import span_id, trace_id, traceparent
from ido.testing import serve_on_loopback
from ido.tracing import RunTelemetry, TelemetryConfigError, settings

cli = CliRunner()


@pytest.fixture
def telemetry() -> Iterator[tuple[RunTelemetry, InMemorySpanExporter, InMemoryMetricReader]]:
    spans = InMemorySpanExporter()
    metrics = InMemoryMetricReader()
    found = RunTelemetry([SimpleSpanProcessor(spans)], [metrics])
    yield found, spans, metrics
    found.shutdown()


def run(project: Path, found: RunTelemetry, resume: str | None = None) -> Any:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=project, telemetry=found)
        if resume is not None:
            return runtime.resume(resume)
        return runtime.run(catalog.intents["ship-order"])


def tree(spans: tuple[ReadableSpan, ...] | list[ReadableSpan]) -> str:
    """The spans as an indented outline, children under parents, in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans if s.context is not None}
    for span in sorted(spans, key=lambda s: (s.start_time or 0, s.name)):
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent if parent in ids else None, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in by_parent.get(parent, []):
            lines.append("  " * depth + span.name)
            assert span.context is not None
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def named(spans: Any, name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


def test_a_run_with_a_replan_is_one_trace_of_decisions_and_actions(
    project: Path, telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    found, exporter, _ = telemetry
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    report = run(project, found)
    assert report.outcome == "achieved"
    spans = exporter.get_finished_spans()
    assert tree(spans) == (
        "Run:ship-order\n"
        "  Decide:1\n"
        "    Perform:pay-cheap-eu\n"
        "  Decide:2\n"
        "    Perform:pay-pricey-eu\n"
        "    Perform:ship"
    )
    assert {s.context.trace_id for s in spans} == {trace_id(report.run_id)}
    root = named(spans, "Run:ship-order")
    assert root.attributes == {
        "ido.run.id": report.run_id,
        "ido.intent": "ship-order",
        "ido.outcome": "achieved",
        "ido.cost": pytest.approx(1.6),
    }
    first = named(spans, "Decide:1")
    assert first.attributes is not None
    assert first.attributes["ido.decision.trigger"] == "run started"
    assert first.attributes["ido.planner"] == "cpsat"
    assert list(first.attributes["ido.plan.capabilities"]) == ["pay-cheap-eu", "ship"]
    assert first.attributes["ido.solve.seconds"] > 0
    (denial,) = [e for e in first.events if e.name == "policy.deny"]
    assert denial.attributes is not None
    assert denial.attributes["ido.rule"] == "residency/pii-stays-in-eu"
    assert denial.attributes["ido.subject"] == "pay-us"
    failed = named(spans, "Perform:pay-cheap-eu")
    assert failed.attributes is not None
    assert failed.attributes["ido.outcome"] == "failed"
    assert failed.attributes["ido.provider"] == "cheappay"
    assert "cheappay is down" in str(failed.attributes["ido.error"])
    assert failed.status.status_code.name == "ERROR"
    second = named(spans, "Decide:2")
    assert second.attributes is not None
    assert "failed" in str(second.attributes["ido.decision.trigger"])


def test_a_run_that_found_no_plan_says_so_on_its_span(project: Path, telemetry: Any) -> None:
    """Failed either way, its span told no-plan (exit 4) from failed steps only by its
    reason's words."""
    found, spans, _ = telemetry
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("5.0", "0.1"))
    report = run(project, found)
    assert report.outcome == "failed" and report.found_no_plan
    root = named(spans.get_finished_spans(), "Run:ship-order")
    assert root.attributes is not None
    assert root.attributes["ido.outcome"] == "failed"
    assert root.attributes["ido.no_plan"] is True


def test_metrics_count_runs_actions_and_spend(
    project: Path, telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    found, _, reader = telemetry
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    run(project, found)
    points: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    (runs,) = points["ido.runs"]
    assert runs.value == 1 and runs.attributes["ido.outcome"] == "achieved"
    actions = {
        (p.attributes["ido.provider"], p.attributes["ido.outcome"]): p.value
        for p in points["ido.actions"]
    }
    assert actions == {("cheappay", "failed"): 1, ("priceypay", "ok"): 1, ("carrier", "ok"): 1}
    spend = {p.attributes["ido.provider"]: p.value for p in points["ido.spend"]}
    assert spend == {
        "cheappay": pytest.approx(0.3),
        "priceypay": pytest.approx(0.8),
        "carrier": pytest.approx(0.5),
    }
    decisions = points["ido.decision.duration"]
    assert sum(p.count for p in decisions) == 2


class Recorder(BaseHTTPRequestHandler):
    """A capability's HTTP endpoint that keeps the headers it was sent."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_capabilities_receive_the_trace_context_of_their_span(
    project: Path, telemetry: Any
) -> None:
    found, exporter, _ = telemetry
    Recorder.seen = []
    with serve_on_loopback(Recorder) as url:
        catalog = project / "capabilities" / "catalog.yaml"
        catalog.write_text(
            catalog.read_text().replace(
                'output: shipment\n  run: {python: "fakesvc.impl:call"}',
                f'output: shipment\n  run: {{http: {{url: "{url}/ship"}}}}',
            )
        )
        report = run(project, found)
    assert report.outcome == "achieved"
    ship = named(exporter.get_finished_spans(), "Perform:ship")
    assert ship.context is not None
    (headers,) = Recorder.seen
    expected = f"00-{ship.context.trace_id:032x}-{ship.context.span_id:016x}-01"
    assert headers["traceparent"] == expected
    assert expected == traceparent(report.run_id, "perform/2/1")
    # The HTTP call is a client span (its service's span is the server); the Python one is not.
    assert ship.kind is SpanKind.CLIENT
    assert named(exporter.get_finished_spans(), "Perform:pay-cheap-eu").kind is SpanKind.INTERNAL


def test_a_resumed_run_continues_its_trace(project: Path, telemetry: Any) -> None:
    found, exporter, _ = telemetry
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text() + "    - id: gate\n      effect: require_approval\n"
        "      when: \"capability.name == 'ship'\"\n      message: Ship needs a yes.\n"
    )
    blocked = run(project, found)
    assert blocked.outcome == "blocked"
    assert cli.invoke(app, ["approve", blocked.run_id, "--by", "alice"]).exit_code == 0
    assert run(project, found, resume=blocked.run_id).outcome == "achieved"
    spans = exporter.get_finished_spans()
    assert tree(spans) == (
        "Run:ship-order\n"
        "  Decide:1\n"
        "  Resume:ship-order\n"
        "    Decide:2\n"
        "      Perform:pay-cheap-eu\n"
        "      Perform:ship"
    )
    resumed = named(spans, "Resume:ship-order")
    assert resumed.parent is not None and resumed.parent.span_id == span_id(blocked.run_id, "run")
    assert {s.context.trace_id for s in spans} == {trace_id(blocked.run_id)}
    (asked,) = [e for e in named(spans, "Decide:1").events if e.name == "approval.required"]
    assert asked.attributes is not None and asked.attributes["ido.rule"] == "residency/gate"


# --- configuration ------------------------------------------------------------------------


def test_no_otel_variable_means_no_telemetry() -> None:
    assert settings({}) is None
    assert settings({"OTEL_SERVICE_NAME": "x"}) is None
    assert (
        settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"})
        is None
    )


def test_an_endpoint_turns_otlp_on_for_traces_and_metrics() -> None:
    found = settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert found is not None
    assert (found.traces, found.metrics, found.traces_protocol) == (
        ("otlp",),
        ("otlp",),
        "http/protobuf",
    )
    found = settings({"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"})
    assert found is not None and (found.traces, found.metrics) == (("console",), ())
    found = settings({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert found is not None and (found.traces, found.metrics) == (("otlp",), ())


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "unknown exporter 'jaeger'"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "is not an http:// or https:// URL"),
        (
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            },
            "ido exports OTLP as http/protobuf or grpc",
        ),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, "is not a number"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_HEADERS": "token"},
            "pair 1 of 1 is not NAME=VALUE",
        ),
    ],
)
def test_malformed_otel_variables_are_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(TelemetryConfigError, match=message):
        settings(environ)


@pytest.mark.parametrize(
    ("name", "headers", "message"),
    [
        ("OTEL_EXPORTER_OTLP_HEADERS", "api key=secrettok123", "pair 1 of 1 is not NAME=VALUE"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a=b,x=sec;ret", r"value of pair 2 of 2 \(x\)"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x=secret%0Aline", r"value of pair 1 of 1 \(x\)"),
    ],
)
def test_headers_the_sdk_would_drop_are_refused_without_their_values(
    name: str, headers: str, message: str
) -> None:
    """The SDK dropped such a header with a warning on stderr quoting it, token and all,
    and the run went on with no credentials for the collector."""
    otlp = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp"}
    with pytest.raises(TelemetryConfigError, match=message) as info:
        settings({**otlp, name: headers})
    assert "sec" not in str(info.value)


def test_the_exporter_takes_the_header_names_a_binding_takes() -> None:
    """One pattern of header names for bindings and the OTLP exporter, written once: two
    copies could come to differ."""
    from ido.model import fields

    assert tracing.config.HEADER_NAME is fields.HEADER_NAME
    otlp = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_HEADERS": "x@y=1"}
    with pytest.raises(TelemetryConfigError, match=re.escape(fields.HEADER_NAME_WORDS)):
        settings(otlp)


def test_headers_no_exporter_reads_are_not_checked() -> None:
    """Found in review: a header no exporter would send (telemetry off, or the general
    variable when a signal has its own) stopped the command all the same."""
    bad = "x-api-key=abc;def"
    assert settings({"OTEL_EXPORTER_OTLP_HEADERS": bad}) is None
    console = {"OTEL_TRACES_EXPORTER": "console", "OTEL_EXPORTER_OTLP_HEADERS": bad}
    assert settings(console) is not None
    own = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "a=b"}
    assert settings({**own, "OTEL_EXPORTER_OTLP_HEADERS": bad}) is not None
    assert settings({**own, "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "a=b%09c"}) is not None


def test_headers_the_sdk_takes_are_accepted() -> None:
    headers = "Authorization=Bearer%20tok, x-team = ops ,api-key=a b"
    assert settings({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_HEADERS": headers})


def test_an_endpoint_that_is_not_a_url_is_named_with_its_password_masked() -> None:
    endpoint = "htp://user:pw123secret@127.0.0.1:9/"
    with pytest.raises(TelemetryConfigError) as info:
        settings({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    assert "pw123secret" not in str(info.value) and "htp://***@127.0.0.1:9/" in str(info.value)


def test_an_endpoint_without_its_slashes_is_named_with_its_password_masked() -> None:
    """`user:pw@collector:4318` (no scheme) was quoted whole: its password in the error."""
    with pytest.raises(TelemetryConfigError) as info:
        settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "user:pw123secret@collector:4318"})
    assert "pw123secret" not in str(info.value) and "'***@collector:4318'" in str(info.value)


@pytest.mark.parametrize(
    "endpoint", ["https://u:pw@collector:43l8", "http://c:99999", "http://:4318"]
)
def test_an_endpoint_with_no_host_or_a_bad_port_is_refused_before_the_run(
    endpoint: str,
) -> None:
    """`https://collector:43l8` passed, and each export then failed with the SDK's own
    warnings (`Failed to export spans batch … not a valid host or port`) while the run
    went on untraced."""
    with pytest.raises(TelemetryConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT=") as info:
        settings({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
    assert "pw" not in str(info.value)


def test_the_exporters_warnings_mask_the_endpoint_s_credentials(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector that was down had the exporter warn `Transient error … url:
    /?token=tok123secret/v1/traces …` on standard error, the endpoint's token in it."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/?token=tok123secret")
    telemetry = tracing.from_environment()
    assert telemetry is not None
    try:
        logger = logging.getLogger(tracing.EXPORTER_LOGGERS[0])
        with caplog.at_level(logging.WARNING):
            logger.warning("Transient error %s encountered", "url: /?token=tok123secret/v1")
    finally:
        telemetry.shutdown(0.1)
    assert "tok123secret" not in caplog.text and "url: /?token=***/v1" in caplog.text


def test_ido_run_with_a_malformed_variable_exits_2_before_acting(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    result = cli.invoke(app, ["run", "ship-order"])
    assert result.exit_code == 2
    assert "OTEL_TRACES_EXPORTER='zipkin': unknown exporter 'zipkin'" in result.output
    assert not (project / "calls.log").exists()


# --- OTLP over HTTP, for real -------------------------------------------------------------


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: keeps every trace export request it is sent."""

    traces: ClassVar[list[ExportTraceServiceRequest]] = []
    paths: ClassVar[list[str]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Collector.lock:
            Collector.paths.append(self.path)
            if self.path == "/v1/traces":
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                Collector.traces.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def ido_process(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    environ.update(env, PYTHONPATH=str(project))
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=120,
    )


def test_spans_and_metrics_arrive_at_an_otlp_receiver_over_http(project: Path) -> None:
    Collector.traces, Collector.paths = [], []
    with serve_on_loopback(Collector) as url:
        done = ido_process(project, "run", "ship-order", OTEL_EXPORTER_OTLP_ENDPOINT=url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/v1/metrics" in Collector.paths
    spans = {
        span.name: {a.key: a.value for a in span.attributes}
        for request in Collector.traces
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert set(spans) == {"Run:ship-order", "Decide:1", "Perform:pay-cheap-eu", "Perform:ship"}
    assert spans["Run:ship-order"]["ido.outcome"].string_value == "achieved"
    assert spans["Perform:ship"]["ido.provider"].string_value == "carrier"
    assert spans["Decide:1"]["ido.decision.status"].string_value == "planned"
    services = {
        a.value.string_value
        for request in Collector.traces
        for resource in request.resource_spans
        for a in resource.resource.attributes
        if a.key == "service.name"
    }
    assert services == {"ido"}


def test_a_missing_collector_does_not_fail_the_run(project: Path) -> None:
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the run: nothing listens there
    done = ido_process(
        project, "run", "ship-order", OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved" in done.stdout


# --- found in review ----------------------------------------------------------------------


def test_a_sampler_other_than_always_on_is_refused() -> None:
    with pytest.raises(TelemetryConfigError, match="ido traces every run whole"):
        settings({"OTEL_TRACES_EXPORTER": "console", "OTEL_TRACES_SAMPLER": "traceidratio"})


@pytest.mark.parametrize(
    "variable",
    [
        {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "0"},
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "-3"},
        {"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "abc"},
    ],
)
def test_variables_the_sdk_refuses_are_exit_2_not_a_traceback(
    project: Path, variable: dict[str, str]
) -> None:
    done = ido_process(project, "run", "ship-order", OTEL_TRACES_EXPORTER="console", **variable)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "malformed" in done.stderr
    assert not (project / "calls.log").exists()
    (name,) = variable
    if name == "OTEL_BSP_MAX_EXPORT_BATCH_SIZE":  # the SDK's words name its setting
        assert f"error: {name} is malformed: max_export_batch_size must be" in done.stderr


class Broken(RunTelemetry):
    def record(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("exporter exploded")


def test_telemetry_that_fails_never_breaks_the_run(project: Path) -> None:
    broken = Broken([], [])
    report = run(project, broken)
    assert report.outcome == "achieved"
    broken.shutdown()


def test_a_run_inside_a_traced_program_keeps_its_own_trace(project: Path, telemetry: Any) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    found, exporter, _ = telemetry
    outer = TracerProvider().get_tracer("host program")
    with outer.start_as_current_span("host work"):
        report = run(project, found)
    spans = exporter.get_finished_spans()
    assert {s.context.trace_id for s in spans} == {trace_id(report.run_id)}
    assert named(spans, "Run:ship-order").parent is None


def test_spans_left_open_end_as_interrupted_at_shutdown() -> None:
    exporter = InMemorySpanExporter()
    found = RunTelemetry([SimpleSpanProcessor(exporter)], [])
    found.record("r1", "ship-order", "run_started", {"run_id": "r1"}, 1_800_000_000.0)
    found.record(
        "r1",
        "ship-order",
        "decided",
        {
            "number": 1,
            "trigger": "run started",
            "planner": "cpsat",
            "result": {"status": "planned"},
        },
        1_800_000_001.0,
        0.5,
    )
    step = {"step": 1, "attempt": 1, "capability": "ship", "provider": "carrier", "decision": 1}
    found.record("r1", "ship-order", "action_started", step, 1_800_000_002.0)
    found.shutdown()
    spans = exporter.get_finished_spans()
    assert tree(spans) == "Run:ship-order\n  Decide:1\n    Perform:ship"
    for name in ("Run:ship-order", "Decide:1", "Perform:ship"):  # the step and decision
        attributes = named(spans, name).attributes  # were left without an outcome
        assert attributes is not None and attributes["ido.outcome"] == "interrupted", name
    perform = named(spans, "Perform:ship")  # status ERROR unless ok, as the docs say
    assert perform.status.status_code == StatusCode.ERROR, perform.status


def test_a_step_settled_on_resume_has_its_perform_span() -> None:
    """Performed again on resume (idempotent), it had no span, though its call carried the
    traceparent of one, and its metrics lost the provider."""
    exporter = InMemorySpanExporter()
    found = RunTelemetry([SimpleSpanProcessor(exporter)], [])
    found.record("r1", "ship-order", "run_resumed", {"after": "interruption"}, 1_800_000_000.0)
    finished = {"step": 2, "attempt": 1, "capability": "ship", "provider": "carrier"}
    finished |= {"decision": 1, "ok": True, "duration": 0.25, "cost": 0.5, "resumed": "repeated"}
    found.record("r1", "ship-order", "action_finished", finished, 1_800_000_001.0)
    found.shutdown()
    spans = exporter.get_finished_spans()
    span = named(spans, "Perform:ship")
    assert span.context is not None and span.context.span_id == span_id("r1", "perform/2/1/resumed")
    assert span.attributes is not None and span.attributes["ido.provider"] == "carrier"
    assert span.attributes["ido.outcome"] == "ok" and span.attributes["ido.resumed"] == "repeated"
    # Under the Resume span: the decision that planned it was the last process's, whose
    # span a crash left unexported (it was an orphan there).
    resume = named(spans, "Resume:ship-order").context
    assert span.parent is not None and resume is not None
    assert span.parent.span_id == resume.span_id


def test_a_refusal_two_variables_could_be_named_by_names_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Found in review: the first variable in sorted order whose words the SDK's message
    held was named, a valid `OTEL_BLRP_…` for a malformed `OTEL_BSP_…`."""
    from ido.cli.telemetry import _malformed

    said = ValueError("max_export_batch_size must be a positive integer.")
    monkeypatch.setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0")
    monkeypatch.setenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10")
    assert _malformed(said).startswith(
        "one of OTEL_BLRP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE is malformed"
    )
    monkeypatch.delenv("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE")
    assert _malformed(said).startswith("OTEL_BSP_MAX_EXPORT_BATCH_SIZE is malformed")


def test_costs_on_spans_are_the_amounts_explain_shows(project: Path, telemetry: Any) -> None:
    """Steps of 0.10 and 0.20: the Run span said `ido.cost` 0.30000000000000004 where
    `ido runs` and `ido explain` say 0.3, a sum of floats with its noise."""
    catalog = project / "capabilities" / "catalog.yaml"
    text = catalog.read_text()
    catalog.write_text(text.replace("cost: 0.30", "cost: 0.10").replace("cost: 0.50", "cost: 0.20"))
    found, exporter, _ = telemetry
    report = run(project, found)
    assert report.outcome == "achieved" and report.cost != 0.3  # the noise is there
    spans = exporter.get_finished_spans()
    assert named(spans, "Run:ship-order").attributes["ido.cost"] == 0.3  # type: ignore[index]
    assert named(spans, "Decide:1").attributes["ido.plan.cost"] == 0.3  # type: ignore[index]


# --- what an SRE reads in the trace (walk-through) ----------------------------------------


def test_a_decision_span_says_why_each_capability_and_alternative_lost(
    project: Path, telemetry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trace named the chosen plan only: why load-a was left out (a rule, a limit, its
    health) was in `ido explain` alone."""
    found, exporter, _ = telemetry
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    run(project, found)
    first = named(exporter.get_finished_spans(), "Decide:1")
    rejected = {
        str(e.attributes["ido.capability"]): dict(e.attributes)
        for e in first.events
        if e.name == "capability.rejected" and e.attributes is not None
    }
    assert rejected["pay-us"] == {
        "ido.capability": "pay-us",
        "ido.reason": "denied",
        "ido.rule": "residency/pii-stays-in-eu",
        "ido.message": "PII of EU customers is processed in the EU only.",
    }
    assert "refund-eu" not in rejected  # not needed for the goal: left out, as explain does
    alternatives = [e.attributes for e in first.events if e.name == "alternative"]
    assert alternatives and alternatives[0] is not None
    assert list(alternatives[0]["ido.plan.capabilities"]) == ["pay-pricey-eu", "ship"]
    assert float(alternatives[0]["ido.score.delta"]) > 0  # type: ignore[arg-type]
    assert "pay-pricey-eu instead of pay-cheap-eu" in str(alternatives[0]["ido.message"])


def test_an_observer_that_fails_is_an_event_of_the_run_span_once(
    project: Path, telemetry: Any
) -> None:
    """An observer that failed before every step left no trace in the spans at all."""
    (project / "capabilities" / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\nspec: {file: stock.json}\n"
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  observers: [stock]\n")
    found, exporter, reader = telemetry
    run(project, found)
    root = named(exporter.get_finished_spans(), "Run:ship-order")
    failures = [e for e in root.events if e.name == "observer.failed"]
    assert len(failures) == 1  # it failed before each of several decisions and steps
    (counted,) = [
        point
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "ido.observer.failures"
        for point in metric.data.data_points
    ]
    assert counted.attributes == {"ido.observer": "stock"}
    assert counted.value > 1  # the metric counts every failed observation, for alerts
    assert failures[0].attributes is not None
    assert failures[0].attributes["ido.observer"] == "stock"
    assert "stock.json" in str(failures[0].attributes["ido.reason"])


def test_a_missing_collector_is_told_once_not_per_retry_or_batch(project: Path) -> None:
    """The exporter wrote `Transient error … retrying in 2.28s` once per attempt (ido never
    waits for the retry), with urllib3's three-deep exception text."""
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the run: nothing listens there
    endpoint = f"http://127.0.0.1:{port}/?token=tok123secret"
    done = ido_process(project, "run", "ship-order", OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if "telemetry" in line]
    assert warnings == [
        f"warning: telemetry: could not export spans to http://127.0.0.1:{port}/?token=***: "
        "Connection refused; runs go on without it"
    ], done.stderr
    assert "Transient error" not in done.stderr and "tok123secret" not in done.stderr


class Stalling(BaseHTTPRequestHandler):
    """A collector that takes requests and answers none until it is let go."""

    let_go = threading.Event()

    def do_POST(self) -> None:
        Stalling.let_go.wait(30)

    def log_message(self, *args: Any) -> None:
        return


def test_a_collector_that_does_not_answer_is_told_once_at_exit(project: Path) -> None:
    """A collector that accepted the connection and never answered cost the 2 s at exit and
    said nothing: the run's spans were lost without a word."""
    Stalling.let_go.clear()
    try:
        with serve_on_loopback(Stalling) as url:
            done = ido_process(project, "run", "ship-order", OTEL_EXPORTER_OTLP_ENDPOINT=url)
            Stalling.let_go.set()
    finally:
        Stalling.let_go.set()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "achieved" in done.stdout
    warnings = [line for line in done.stderr.splitlines() if "telemetry" in line]
    assert warnings == [
        f"warning: telemetry: {url} did not take the last spans and metrics within 2 s "
        "(they were dropped); runs go on without it"
    ], done.stderr


def test_an_outage_is_told_again_only_after_an_export_succeeded() -> None:
    """A long-lived `ido runner` tells each outage once: not every batch, not never again."""
    told: list[str] = []
    watch = ExportWatch(told.append, ["http://collector:4318"], ["s3cret-token"])
    logger = logging.getLogger("test.exporter")
    logger.addFilter(watch)
    try:
        for _ in range(3):
            logger.error(
                "Failed to export %s batch code: %s, reason: %s", "spans", 401, "s3cret-token?"
            )
        watch.exported()
        logger.warning(
            "Transient error %s encountered while exporting %s batch, retrying in %.2fs.",
            "Read timed out. (read timeout=10)",
            "metrics",
            1.2,
        )
    finally:
        logger.removeFilter(watch)
    assert told == [
        "telemetry: could not export spans to http://collector:4318: HTTP 401 ***?; "
        "runs go on without it",
        "telemetry: could not export metrics to http://collector:4318: timed out; "
        "runs go on without it",
    ]


def test_duration_histograms_have_buckets_in_seconds(project: Path, telemetry: Any) -> None:
    """The SDK's default bounds (0, 5, 10, … 10000) are made for milliseconds: every call
    under five seconds, 4 ms or 4 s, fell in one bucket, and a p99 said nothing."""
    found, _, reader = telemetry
    run(project, found)
    bounds = {
        metric.name: list(point.explicit_bounds)
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name.endswith(".duration")
        for point in metric.data.data_points
    }
    assert set(bounds) == {"ido.decision.duration", "ido.action.duration"}
    for found_bounds in bounds.values():
        assert found_bounds[0] <= 0.01  # milliseconds apart
        assert {0.1, 1.0, 10.0} <= set(found_bounds)  # and seconds
        assert found_bounds[-1] >= 600  # a step of minutes still has its bucket


@pytest.mark.parametrize(
    ("environ", "service"),
    [
        ({}, "ido"),
        ({"OTEL_SERVICE_NAME": "etl-prod"}, "etl-prod"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=etl-eu,deployment.environment=prod"}, "etl-eu"),
    ],
)
def test_the_service_name_is_ido_unless_the_environment_names_one(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], service: str
) -> None:
    """`OTEL_SERVICE_NAME=etl-prod` was overridden by ido's own `service.name=ido`, so every
    team's runs showed up as one service."""
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    exporter = InMemorySpanExporter()
    found = RunTelemetry([SimpleSpanProcessor(exporter)], [])
    try:
        found.record("r1", "etl", "run_started", {}, 1.8e9)
        found.record("r1", "etl", "run_finished", {"outcome": "achieved"}, 1.8e9 + 1)
    finally:
        found.shutdown()
    (span,) = exporter.get_finished_spans()
    assert span.resource.attributes["service.name"] == service


def test_a_model_planner_s_decision_span_says_what_the_model_was_asked_and_answered() -> None:
    """Under `planner: llm` a Decide span showed the solver's fallback plan as if the model
    had made it, with nothing of the calls, their cost or why the model was overruled."""
    exporter = InMemorySpanExporter()
    found = RunTelemetry([SimpleSpanProcessor(exporter)], [])
    found.record("r1", "heal", "run_started", {"run_id": "r1"}, 1_800_000_000.0)
    failed = {"request": "ab", "cached": False, "reply": {"error": "RateLimitError (HTTP 429)"}}
    again = {"request": "cd", "cached": True, "reply": {"tool_calls": []}}
    llm = {
        "model": "openai/sre",
        "calls": [failed, again],
        "input_tokens": 1000,
        "output_tokens": 100,
        "cost": 0.0014000000000000002,
        "verdict": "model call failed: RateLimitError (HTTP 429)",
        "fallback": "cpsat",
    }
    decided = {
        "number": 1,
        "trigger": "run started",
        "planner": "llm",
        "result": {"status": "planned", "solver": {"backend": "ortools-cp-sat", "llm": llm}},
    }
    found.record("r1", "heal", "decided", decided, 1_800_000_001.0, 0.5)
    plain = {**decided, "number": 2, "planner": "cpsat", "result": {"status": "planned"}}
    found.record("r1", "heal", "decided", plain, 1_800_000_002.0, 0.5)
    found.shutdown()
    spans = exporter.get_finished_spans()
    attributes = named(spans, "Decide:1").attributes
    assert attributes is not None
    assert {k: v for k, v in attributes.items() if k.startswith("ido.llm.")} == {
        "ido.llm.model": "openai/sre",
        "ido.llm.calls": 2,
        "ido.llm.cached_calls": 1,
        "ido.llm.input_tokens": 1000,
        "ido.llm.output_tokens": 100,
        "ido.llm.cost": 0.0014,
        "ido.llm.verdict": "model call failed: RateLimitError (HTTP 429)",
        "ido.llm.fallback": "cpsat",
    }
    second = named(spans, "Decide:2").attributes
    assert second is not None and not [k for k in second if k.startswith("ido.llm.")]


@pytest.mark.parametrize("told", [True, False], ids=["once-through-ido", "the-sdk-s-own-line"])
def test_a_collector_quoting_the_header_s_credential_is_told_with_it_masked(
    caplog: pytest.LogCaptureFixture, told: bool
) -> None:
    """The exporters of the versions ido takes (>=1.30) quote a refusing collector's body
    (`Failed to export span batch code: 401, reason: invalid key hdr-s3cret-value`), and a
    collector may echo the key of OTEL_EXPORTER_OTLP_HEADERS it was sent: only the
    endpoint's own credentials were masked."""
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-api-key=hdr-s3cret-value,x-tenant=eu",
    }
    said: list[str] = []
    telemetry = tracing.from_environment(environ, said.append if told else None)
    assert telemetry is not None
    try:
        logger = logging.getLogger(tracing.EXPORTER_LOGGERS[0])
        with caplog.at_level(logging.WARNING):
            logger.error(
                "Failed to export %s batch code: %s, reason: %s",
                "span",
                401,
                "invalid key hdr-s3cret-value",
            )
    finally:
        telemetry.shutdown(0.1)
    shown = "\n".join(said) + caplog.text
    assert "invalid key ***" in shown and "hdr-s3cret-value" not in shown, shown


def test_spend_is_reported_without_float_noise() -> None:
    """Five steps of a run that cost 2.86 in all added up to an `ido.spend` of
    2.8600000000000003."""
    reader = InMemoryMetricReader()
    found = RunTelemetry([], [reader])
    for step, cost in enumerate((0.3, 0.8, 0.5, 0.3, 0.96)):
        finished = {"step": step, "capability": "c", "provider": "p", "ok": True, "cost": cost}
        found.record("r1", "etl", "action_finished", finished, 1_800_000_000.0 + step)
    (spend,) = [
        point
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "ido.spend"
        for point in metric.data.data_points
    ]
    assert repr(spend.value) == "2.86"  # not 2.8600000000000003
    assert dict(spend.attributes) == {"ido.intent": "etl", "ido.provider": "p"}
    found.shutdown()


def test_a_decision_span_of_a_big_catalog_keeps_every_rejection_in_groups() -> None:
    """A decision on 1,000 capabilities rejected some 480: an event each, and the span
    kept the first 128 (OTEL_SPAN_EVENT_COUNT_LIMIT), the rest dropped unsaid. Past 20,
    an event per reason, rule and detail names all of its capabilities."""
    from opentelemetry.sdk.trace import TracerProvider

    from ido.tracing.attributes import _decision_events

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    denied = [
        {"capability": f"bad-{i}", "reason": "denied", "rule": "gate/no-bad", "detail": "Off."}
        for i in range(200)
    ]
    locked = [
        {"capability": f"locked-{i}", "reason": "unreachable", "rule": None,
         "detail": f"precondition never holds: state.vault.k{i}"}
        for i in range(300)
    ]  # fmt: skip
    with provider.get_tracer("t").start_as_current_span("Decide:1") as span:
        _decision_events(span, {"rejections": denied + locked}, at=1)  # type: ignore[arg-type]
    (decided,) = spans.get_finished_spans()
    assert decided.dropped_events == 0
    events = [dict(e.attributes or {}) for e in decided.events]
    assert events[0] == {
        "ido.capabilities": tuple(f"bad-{i}" for i in range(200)),
        "ido.count": 200,
        "ido.reason": "denied",
        "ido.rule": "gate/no-bad",
        "ido.message": "Off.",
    }
    assert sum(int(e["ido.count"]) for e in events) == 500  # type: ignore[call-overload]
    assert events[-1]["ido.message"] == "each for a reason of its own"
    assert len(events) <= 20
    provider.shutdown()
