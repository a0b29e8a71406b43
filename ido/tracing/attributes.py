"""What the spans say, as OpenTelemetry takes it: a decision's alternatives and rejections
as events, a model planner's calls, costs as shown, no None values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Span

from ido.explain_rejected import GROUP_PAST, OWN_REASONS, OWN_RULES, rejection_groups
from ido.journal.records import made_calls, shown_cost


def _decision_events(span: Span, result: Mapping[str, Any], at: int) -> None:
    """Why each alternative lost and why each capability was left out, as `ido explain`
    says it: an SRE looking at a replan in the trace sees that load-a was denied by
    `limits.max_attempts`, not only that load-b was chosen. Those not needed for the goal
    (`irrelevant`: in a shared catalog, most) are left out, as explain leaves them out, and
    alternatives come first: a span keeps 128 events unless OTEL_SPAN_EVENT_COUNT_LIMIT says
    more. Past `GROUP_PAST` rejections (a catalog of 1,000 had some 480: all but the first
    128 were dropped), an event per group of them (`ido.explain_rejected.rejection_groups`),
    naming every capability of it."""
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
    rejections = [r for r in result.get("rejections", []) if r.get("reason") != "irrelevant"]
    if len(rejections) > GROUP_PAST:  # past the span's 128 events, the rest were dropped
        for reason, rule, detail, names in rejection_groups(rejections):
            values = {"ido.capabilities": names, "ido.count": len(names), "ido.reason": reason}
            own = OWN_REASONS if rule is not None else OWN_RULES  # (None: several rules)
            values |= {"ido.rule": rule or None, "ido.message": detail or own}
            span.add_event("capabilities.rejected", _attributes(values), timestamp=at)
        return
    for rejection in rejections:
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
