"""`RunTelemetry`: each event the runtime journals turned into spans (Run, Resume, Decide,
Perform) and metrics (runs, decisions, actions, spend, observer failures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Span
from opentelemetry.trace import SpanKind, Status, StatusCode

from ido.runtime.tracecontext import perform_place
from ido.tracing.attributes import _amount, _attributes, _decision_events, _model_attributes
from ido.tracing.providers import _Providers, _RunSpans


class RunTelemetry(_Providers):
    """Spans and metrics for the runs of this process (thread-safe: runs may be concurrent)."""

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
                    # (a failed run that found no plan before it did anything: `ido run`'s
                    # exit 4, `ido runs`' no-plan)
                    "ido.no_plan": True if data.get("found_no_plan") else None,
                }
            )
        )
        if outcome == "failed":
            spans.segment.set_status(Status(StatusCode.ERROR, str(data.get("reason") or outcome)))
        spans.segment.end(end_time=at)


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
