"""What of a decision's record ido's readers of it need (`ido explain`, `ido replay`), and
a clear error naming run and event for one edited by hand to lack it, where reading it
raised a KeyError or TypeError (`refuse_unreadable`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ido.errors import JournalError
from ido.text import printable

if TYPE_CHECKING:  # (`ido --help` imports this through ido.cli.replay: not the journal)
    from ido.journal.records import Event


def refuse_unreadable(run_id: str, event: Event) -> None:
    """A clear error for a decision that lacks what ido records in it and its readers
    read (edited by hand): a `result` that is no object (`null`), one without its
    `status` (`{}`), a plan missing its figures or steps, observed facts that are no
    object; nothing for any other event or a decision as ido records it."""
    if event.kind != "decided":
        return
    wrong = unreadable(event.data)
    if wrong is not None:
        raise JournalError(
            f"run {run_id}, event {event.seq} ({event.kind}): {wrong}, not as ido records "
            "it: the journal was edited by hand (ido verify checks it)"
        )


_PLAN_FIGURES = ("cost", "latency", "success_probability", "score")
_STEP_FIELDS = ("capability", "provider", "cost", "latency", "reliability")


def unreadable(data: Mapping[str, Any]) -> str | None:
    """What of a decision's record `ido explain` (`decision_parts`) or `ido replay` could
    not read, in words; None when they can read all they need."""
    if "result" not in data:
        return "it has no result"
    result = data["result"]
    if not isinstance(result, dict):
        return f"its result is {printable(json.dumps(result))[:60]}"
    if not isinstance(result.get("status"), str):
        return "its result has no status"
    if not isinstance(data.get("observed"), dict):
        return "its observed facts are no object"
    wrong = _unreadable_model_record(result.get("solver", {}))
    if wrong is not None:
        return wrong
    plan = result.get("plan")
    if not plan or result["status"] in ("infeasible", "satisfied"):
        return None
    if not isinstance(plan, dict):
        return "its plan is no object"
    missing = [f for f in _PLAN_FIGURES if not _is_number(plan.get(f))]
    if missing:
        return f"its plan has no {missing[0]}"
    steps = plan.get("steps")
    if not isinstance(steps, list):
        return "its plan has no steps"
    for i, step in enumerate(steps, start=1):
        lost = [f for f in _STEP_FIELDS if not isinstance(step, dict) or f not in step]
        lost += [f for f in _STEP_FIELDS[2:] if not lost and not _is_number(step[f])]
        if lost:
            return f"its plan's step {i} has no {lost[0]}"
    return None


_MODEL_FIELDS = ("planner", "verdict")
_MODEL_FIGURES = ("cost", "input_tokens", "output_tokens")


def _unreadable_model_record(solver: object) -> str | None:
    """What of a decision's solver record and its model planner's (`llm`: its verdict,
    spend and calls, each with its reply) could not be read; None when all can be."""
    if not isinstance(solver, dict):
        return "its solver record is no object"
    llm = solver.get("llm")
    if not llm:
        return None
    if not isinstance(llm, dict):
        return "its model planner's record is no object"
    lost = [f for f in _MODEL_FIELDS if f not in llm]
    lost += [f for f in _MODEL_FIGURES if llm.get(f) is not None and not _is_number(llm[f])]
    if lost:
        return f"its model planner's record has no {lost[0]}"
    calls = llm.get("calls", [])
    if not isinstance(calls, list) or not all(
        isinstance(c, dict) and isinstance(c.get("reply"), dict) for c in calls
    ):
        return "its model calls are not calls with replies"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
