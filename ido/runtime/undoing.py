"""What a failed run's undoing left to do: attempts counted, and compensations left undone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ido.errors import IdoError
from ido.journal.records import Event, RunRow
from ido.runtime.folds import settles, unknown_undoing


def undo_attempts(events: Sequence[Event], step: int) -> tuple[int, str | None]:
    """How many attempts of undoing `step` ended (one an interruption cut short, and that
    is tried again, made no call that counts), and its first attempt's idempotency key:
    a run stopped between attempts goes on counting them, under the same key. `ido
    compensate` starts counting again (under the same key: an idempotent refund whose
    attempts timed out may have been made)."""
    starts: dict[int, Mapping[str, Any]] = {}
    first: str | None = None
    ended = 0
    for e in events:
        data = e.data
        if e.kind == "action_started" and data.get("undoes_step") == step:
            starts[data["step"]] = data
            first = str(data["idempotency_key"]) if first is None else first
        elif e.kind == "action_finished" and data["step"] in starts:
            ended += not data.get("interrupted") or settles(data)
        elif e.kind == "run_resumed" and step in {s for s, _ in data.get("compensate", ())}:
            ended = 0  # `ido compensate`: a person has it tried again, as many times
    return ended, first


def to_undo_again(row: RunRow, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The compensations `ido compensate` tries again on run `row` (`left_undone`); refuses
    a run that has not failed, or that left nothing undone, saying why."""
    if row.outcome != "failed":
        said = {
            None: "has not ended (running, or interrupted: continue it with ido resume)",
            "blocked": "is blocked, waiting for a person's approval (ido approvals)",
        }.get(row.outcome, f"ended {row.outcome}")
        raise IdoError(
            f"run {row.id} {said}; only a failed run's compensations left undone can be tried again"
        )
    left = left_undone(events)
    if not left:
        spec = events[0].data.get("intent", {}).get("spec", {}) if events else {}
        skipped = _skipped(events)
        if skipped:  # (its reason says they are not undone: "nothing left undone" was false)
            named = ", ".join(f"{d['undoes']} (step {d['undoes_step']})" for d in skipped)
            raise IdoError(
                f"run {row.id} failed with nothing ido compensate tries again: {named} is not "
                "undone, its compensation not performed (a rule denied it, its requires did "
                "not hold, or a person rejected it); it tries again only compensations that "
                "failed, or whose outcome is unknown"
            )
        why = (
            "every compensation it ran was done"
            if spec.get("on_failure") == "compensate"
            else "its intent's on_failure is stop: it undoes nothing"
        )
        raise IdoError(f"run {row.id} failed with nothing left undone: {why}")
    return left


def _skipped(events: Sequence[Event]) -> list[Mapping[str, Any]]:
    """The compensations whose last word is that they were not performed (skipped)."""
    last: dict[int, Event] = {}
    for e in events:
        if e.kind in ("compensation_finished", "compensation_skipped"):
            last[int(e.data["undoes_step"])] = e
    return [
        e.data for _, e in sorted(last.items(), reverse=True) if e.kind == "compensation_skipped"
    ]


def left_undone(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The compensations a failed run left undone for good (failed after every attempt, or
    left to a person), newest step first: the last end of each (`ido compensate` may have
    done one since)."""
    last: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.kind == "compensation_finished":
            last[int(e.data["undoes_step"])] = e.data
    return [data for _, data in sorted(last.items(), reverse=True) if not data["ok"]]


def outcome_unknown(events: Sequence[Event], undo: Mapping[str, Any]) -> bool:
    """Whether the compensation left undone `undo` (as `left_undone` gives it) may have
    been made all the same: its last attempt timed out, or was cut short and not made
    again. Made again, a refund that is not idempotent could be made twice."""
    if unknown_undoing(undo):
        return True
    ended = [
        e.data
        for e in events
        if e.kind == "action_finished" and e.data.get("step") == undo.get("step")
    ]
    return bool(ended) and bool(ended[-1].get("timed_out"))
