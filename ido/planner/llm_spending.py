"""What a model planner's calls spent: the decision's record of them (`_Log`), the
cost and time of the last one (what the next is weighed by), a call's timeout within the
deadline left, and the task as the calls leave it (`left_after_calls`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ido.model import LlmSettings
from ido.planner.types import Task


@dataclass
class _Log:
    """What one decision asked and was answered, for the decision record."""

    model: str | None
    planner: str
    where: Mapping[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    verdict: str = ""
    fallback: str | None = None
    rationale: list[str] = field(default_factory=list)

    @property
    def _asked(self) -> list[Mapping[str, Any]]:
        """The replies of the calls the model answered (one from the cache cost nothing)."""
        return [c["reply"] for c in self.calls if not c["cached"]]

    @property
    def tokens(self) -> tuple[int, int]:
        asked = self._asked
        return (
            sum(r["input_tokens"] for r in asked),
            sum(r["output_tokens"] for r in asked),
        )

    @property
    def cost(self) -> float:
        return sum(_spent(self.calls, "cost"))

    @property
    def seconds(self) -> float:
        """How long the calls took, as the client measured them: recorded with each reply,
        so replay subtracts the same."""
        return sum(_spent(self.calls, "seconds"))

    def to_json(self) -> dict[str, Any]:
        inputs, outputs = self.tokens
        return {
            "planner": self.planner,
            "model": self.model,
            "where": dict(self.where),
            "calls": self.calls,
            "verdict": self.verdict,
            "fallback": self.fallback,
            "rationale": self.rationale,
            "input_tokens": inputs,
            "output_tokens": outputs,
            "cost": self.cost,
        }


def _within_deadline(settings: LlmSettings, task: Task, log: _Log) -> LlmSettings:
    """`settings` with the call's timeout cut to what is left of the deadline: a call that
    outlasts it leaves no time for any plan (each call's time comes off the deadline), so
    waiting longer (`llm.timeout` is 30s by default) would only hold the run up."""
    deadline = task.limits.deadline
    if deadline is None:
        return settings
    left = max(deadline - log.seconds, SHORTEST_CALL)
    if left >= settings.timeout:
        return settings
    return settings.model_copy(update={"timeout": left})


SHORTEST_CALL = 0.001
"""The least timeout a call is given (a deadline all but gone leaves no time to plan in,
and the decision says so after it)."""


def last_spent(calls: Sequence[Mapping[str, Any]], key: str, before: float) -> float:
    """`key` ("cost" or "seconds") of the last of a decision's model `calls` (as recorded)
    that was not answered from the cache and spent some, else `before`: what the next
    call is weighed by, in this decision (`_unaffordable`, `_out_of_time`) and the run's
    next (`ido.runtime.folds.fold_model_calls`)."""
    return next((amount for amount in reversed(_spent(calls, key)) if amount > 0), before)


def _spent(calls: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    """`key` ("cost" or "seconds") of each of `calls` not answered from the cache, in
    order (one from the cache cost nothing)."""
    return [float(c["reply"].get(key) or 0.0) for c in calls if not c.get("cached")]


def left_after_calls(task: Task, paid: float, took: float) -> Task:
    """`task` as model calls that cost `paid` and took `took` seconds leave it: out of the
    budget and the deadline, as if the run had spent it. What the model planners plan
    within, and so what a search for a plan the plan rules allow must plan within too
    (`ido.decide`): else its plan would spend what the calls already spent."""
    if paid <= 0 and took <= 0:
        return task
    limits = task.limits
    return replace(
        task,
        limits=replace(
            limits,
            max_cost=None if limits.max_cost is None else max(0.0, limits.max_cost - paid),
            deadline=None if limits.deadline is None else max(0.0, limits.deadline - took),
        ),
        spent=task.spent + paid,
        elapsed=task.elapsed + took,
    )
