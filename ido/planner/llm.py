"""The `llm` and `hybrid` planners: a model proposes or chooses, ido decides.

`llm`: the model gets the goal, the limits, the state that matters and the admissible
capabilities as tools (denied ones are not offered), and answers with tool calls, one per
step in order, each with a rationale. Every proposal is checked by the independent plan
checker (preconditions, goal, max_steps, budget, deadline, success probability, and
steps it does not need, an undo and a redo among them: `ido.planner.simulate`); an
invalid one goes back to the model with the reasons, up to `max_rounds` times, and then
the decision falls back to `cpsat`. A provider error, no model configured or an answer
that is not a tool call end the same way: a fallback, recorded, never a crash.

`hybrid`: `cpsat` works out the best plan and its alternatives (all valid by
construction); the model chooses one with a rationale. Nothing it says can make a plan
invalid; an unusable answer keeps the solver's best.

Every request and answer is recorded in the decision (`result.solver["llm"]`): model,
request digest, answer, tokens, cost, verdict, fallback; the API key never is. A `Cache`
answers a request seen before (same digest) without asking the model; replay answers
every request from the journal. Observed state is data: the system message says so, and
whatever the model proposes is validated like any plan.

The planners are here; what the model is told is `llm_prompt`, what its answers are made
into `llm_answers`, how requests are made, cached and replayed `llm_calls`, what the
calls spent `llm_spending`, and the one call through litellm `llm_client`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ido.conditions import all_hold
from ido.model import LlmSettings, format_duration
from ido.planner import progress
from ido.planner.explain import constraint_reports
from ido.planner.simulate import check_plan
from ido.planner.types import PlanResult, Task
from ido.secrets import masked_url

from .llm_answers import _choice, _chosen, _denied_by_tool, _of_what_is_left, _planned, _proposal
from .llm_calls import Cache, Client, Recorded, _default_client, failed_call, request_digest
from .llm_client import Reply
from .llm_prompt import (
    CHOOSE,
    SYSTEM,
    _choose_tool,
    _feedback,
    _options,
    _situation,
    _tool,
    _tool_names,
)
from .llm_spending import _Log, _within_deadline, last_spent, left_after_calls


class _ModelPlanner:
    """What `llm` and `hybrid` share: settings, the model call with cache, the fallback."""

    name = "llm"

    def __init__(
        self,
        settings: LlmSettings | None = None,
        client: Client | None = None,
        cache: Cache | None = None,
        fallback: Any = None,
    ) -> None:
        from ido.planner.cpsat import CpSatPlanner

        self.settings = settings or LlmSettings()
        self.model = self.settings.model or os.environ.get("IDO_LLM_MODEL") or None
        # (a key not set: no call can be made, so litellm need not be imported for one)
        keyed = not self.settings.api_key_env or os.environ.get(self.settings.api_key_env)
        self.client: Client = client or _default_client(self.model is not None and bool(keyed))
        self.cache = cache
        self.fallback = fallback or CpSatPlanner()
        api_base = self.settings.api_base or os.environ.get("IDO_LLM_API_BASE")
        where = None if api_base is None else masked_url(api_base)  # recorded: no credentials
        self.where = {"api_base": where, "temperature": self.settings.temperature}
        if self.settings.max_tokens is not None:  # a cap is part of the request asked
            self.where["max_tokens"] = self.settings.max_tokens
        self.rules_solver = self.fallback
        """What searches for plans no plan rule denies (`ido.plan_rules`): asking the model
        for every plan tried would multiply calls; the model's proposal is checked first."""

    def _log(self) -> _Log:
        return _Log(self.model, self.name, self.where)

    @staticmethod
    def _unaffordable(task: Task, log: _Log) -> str | None:
        """Why not to ask (again): the budget left would not pay for a call like the last,
        or the deadline left would not wait for one (`_out_of_time`).

        The last paid call is this decision's, else the run's (`task.model_call_cost`).
        """
        budget = task.limits.max_cost
        last = last_spent(log.calls, "cost", task.model_call_cost)
        left = None if budget is None else budget - log.cost
        if left is not None and last > 0 and left <= 0:  # not "the budget left (-0.6400)"
            return (
                f"nothing is left of the budget for another model call (the last cost {last:.4f})"
            )
        if left is not None and last > 0 and left < last:
            return (
                f"the budget left ({left:.4f}) would not pay for another model call "
                f"(the last cost {last:.4f})"
            )
        return _ModelPlanner._out_of_time(task, log)

    @staticmethod
    def _out_of_time(task: Task, log: _Log) -> str | None:
        """Why not to ask (again): the deadline left would not wait for a call as long as
        the last. Each call's time comes off the deadline, so a slow model asked round after
        round would spend the time the plan needs (three 8 s calls against a 5 s deadline
        failed a run that the solver's 0.8 s plan fitted), and asked decision after decision
        would time out and leave the solver no time at all.

        The last call is this decision's, else the run's (`task.model_call_seconds`).
        """
        deadline = task.limits.deadline
        last = last_spent(log.calls, "seconds", task.model_call_seconds)
        if deadline is None or last <= 0:
            return None
        left = deadline - log.seconds
        if left < last:
            return (
                f"the deadline left ({format_duration(max(left, 0.0))}) would not wait for "
                f"another model call (the last took {format_duration(last)})"
            )
        return None

    @staticmethod
    def _left(task: Task, log: _Log) -> Task:
        """The task as this decision's model calls leave it (`left_after_calls`)."""
        return left_after_calls(task, log.cost, log.seconds)

    def _ask(
        self, task: Task, log: _Log, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Reply:
        """Ask the model (or the cache), for no longer than the deadline left. The runtime
        keeps a reply in the cache in the same commit as the decision, so a reply paid for
        is never lost from the record."""
        assert self.model is not None
        key = request_digest(self.model, messages, tools, self.where)
        cached = self.cache.get(key) if self.cache is not None else None
        if cached is not None:
            reply = Reply.from_json(cached)
        else:
            progress.report(stage="llm", model=self.model, call=len(log.calls) + 1)
            settings = _within_deadline(self.settings, task, log)
            reply = self.client.complete(settings, self.model, messages, tools)
        log.calls.append({"request": key, "reply": reply.to_json(), "cached": cached is not None})
        return reply

    def _as_asked(
        self,
        task: Task,
        request: Callable[[Task], tuple[list[dict[str, Any]], list[dict[str, Any]]]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The messages and tools `request` makes of `task`. A replay of a run recorded
        before the prompt named approvals makes them as that run did, with no word of
        approvals, where only that request was recorded: else its reply was not found, the
        solver decided, and an exact replay of the old journal was no longer exact. (Not a
        what-if: one that adds an approval would tell the model of it, a request never made.)"""
        messages, tools = request(task)
        recorded = self.client if isinstance(self.client, Recorded) else None
        if recorded is None or not recorded.exact or self.model is None:
            return messages, tools
        if recorded.has(request_digest(self.model, messages, tools, self.where)):
            return messages, tools
        unasked = tuple(replace(action, approvals=()) for action in task.actions)
        if unasked == task.actions:
            return messages, tools
        before = request(replace(task, actions=unasked))
        if recorded.has(request_digest(self.model, *before, self.where)):
            return before
        return messages, tools

    def _fall_back(self, task: Task, log: _Log, why: str) -> PlanResult:
        log.verdict, log.fallback = why, self.fallback.name
        result = self.fallback.plan(self._left(task, log))
        return _with_log(result, log)


class LlmPlanner(_ModelPlanner):
    """`planner: llm`: the model proposes the plan; ido checks it; cpsat is the fallback."""

    name = "llm"

    def plan(self, task: Task) -> PlanResult:
        log = self._log()
        if _goal_holds(task):
            return self.fallback.plan(task)  # nothing to decide: no need to ask anyone
        if self.model is None:
            return self._fall_back(
                task, log, "no model configured (spec.llm.model or IDO_LLM_MODEL)"
            )

        # Named once, the offered first (they keep their names), the denied after them.
        names = _tool_names([*task.actions, *(refused.action for refused in task.denied)])
        by_tool = {names[action.name]: action.name for action in task.actions}
        denied = _denied_by_tool(task.denied, names)

        def request(told: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            situation = {"role": "user", "content": _situation(told)}
            tools = [_tool(action, names[action.name]) for action in told.actions]
            return [{"role": "system", "content": SYSTEM}, situation], tools

        messages, tools = self._as_asked(task, request)
        for _ in range(self.settings.max_rounds):
            unaffordable = self._unaffordable(task, log)
            if unaffordable is not None:
                return self._fall_back(task, log, unaffordable)
            reply = self._ask(task, log, messages, tools)
            if reply.error is not None:
                return self._fall_back(task, log, failed_call(reply))
            left = self._left(task, log)  # a proposal must fit what the calls left
            plan, problems, rationale = _proposal(left, reply, by_tool, denied)
            if left is not task:
                problems = [_of_what_is_left(p) for p in problems]
            if plan is not None and not problems:
                log.verdict, log.rationale = "accepted", rationale
                return _with_log(_planned(left, plan), log)
            log.calls[-1]["problems"] = problems
            messages += _feedback(reply, problems)
        return self._fall_back(
            task, log, f"no valid proposal in {self.settings.max_rounds} round(s)"
        )


class HybridPlanner(_ModelPlanner):
    """`planner: hybrid`: cpsat finds the best plans; the model chooses among them."""

    name = "hybrid"

    def plan(self, task: Task) -> PlanResult:
        log = self._log()
        solved = self.fallback.plan(task)  # its alternatives are the model's other options
        if solved.plan is None or not solved.plan.steps or not solved.alternatives:
            return solved  # nothing to choose between
        if self.model is None:
            log.verdict, log.fallback = "no model configured: the solver's best", self.fallback.name
            return _with_log(solved, log)

        found = [solved.plan, *(a.plan for a in solved.alternatives)]
        options = found
        if task.allows is not None:  # a plan a plan rule denies would be overruled
            options = [plan for plan in options if task.allows(plan)]
        if len(options) < 2:  # nothing to choose between (the plan rules' search decides)
            log.verdict = (
                f"the plan rules allow {len(options)} of the solver's {len(found)} plans: "
                "not asked, nothing to choose between"
            )
            log.fallback = self.fallback.name
            return _with_log(solved, log)
        tools = [_choose_tool(len(options))]

        def request(told: Task) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            chosen = {"role": "user", "content": _options(told, options)}
            return [{"role": "system", "content": CHOOSE}, chosen], tools

        messages, tools = self._as_asked(task, request)
        for _ in range(self.settings.max_rounds):
            unaffordable = self._unaffordable(task, log)
            if unaffordable is not None:
                log.verdict, log.fallback = f"{unaffordable}: the solver's best", self.fallback.name
                return self._settled(task, log, solved)
            reply = self._ask(task, log, messages, tools)
            if reply.error is not None:
                log.verdict, log.fallback = failed_call(reply), self.fallback.name
                return self._settled(task, log, solved)
            chosen, problem, rationale = _choice(reply, len(options))
            if chosen is not None:
                log.verdict, log.rationale = f"chose option {chosen + 1}", rationale
                return self._settled(task, log, _chosen(task, solved, options, chosen))
            log.calls[-1]["problems"] = [problem]
            messages += _feedback(reply, [problem])
        log.verdict, log.fallback = "no usable choice: the solver's best", self.fallback.name
        return self._settled(task, log, solved)

    def _settled(self, task: Task, log: _Log, result: PlanResult) -> PlanResult:
        """`result` if its plan fits what this decision's model calls left of the limits,
        its slack measured against that; else the solver's best within what is left."""
        left = self._left(task, log)
        assert result.plan is not None
        if left is task:
            return _with_log(result, log)
        misfit = check_plan(left, result.plan)
        if not misfit:
            binding = frozenset(c.name for c in result.constraints if c.binding)
            constraints = constraint_reports(left, result.plan, binding)
            return _with_log(replace(result, constraints=constraints), log)
        log.verdict += (
            f"; that plan no longer fits once the model's calls are counted ({'; '.join(misfit)}):"
            " the solver's best within what is left"
        )
        log.fallback = self.fallback.name
        return _with_log(self.fallback.plan(left), log)


def _with_log(result: PlanResult, log: _Log) -> PlanResult:
    return replace(result, solver={**result.solver, "llm": log.to_json()})


def _goal_holds(task: Task) -> bool:
    return all_hold(task.goal, task.state)
