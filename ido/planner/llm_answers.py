"""What the model planners make of an answer: the plan an `llm` answer's tool calls
propose and every reason it is not acceptable, the option a `hybrid` answer chooses, and
the decision either becomes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ido.planner.explain import alternative_why, constraint_reports
from ido.planner.grounding import ground
from ido.planner.made_maps import made_reads
from ido.planner.order import footprints, waits
from ido.planner.simulate import check_plan, needless_steps, undone_steps
from ido.planner.solving import step_of
from ido.planner.types import Alternative, Denied, Plan, PlanResult, Task
from ido.text import visible

from .llm_client import Reply


def _proposal(
    task: Task, reply: Reply, by_tool: Mapping[str, str], denied: Mapping[str, Denied]
) -> tuple[Plan | None, list[str], list[str]]:
    """The plan the tool calls propose, every reason it is not acceptable, and rationales.
    `by_tool`: the capabilities offered, by tool name; `denied`: `_denied_by_tool`."""
    if not reply.tool_calls:
        return None, ["the answer is not a tool call"], []
    if reply.cut:
        most = len(reply.tool_calls)
        return None, [f"{most + reply.cut} tool calls, more than the {most} ido reads"], []
    actions = {a.name: a for a in task.actions}
    steps, problems, rationale = [], [], []
    for k, (tool, arguments) in enumerate(reply.tool_calls, start=1):
        name = by_tool.get(tool)
        if name is None and tool in denied:
            refused = denied[tool]
            problems.append(
                f"call {k}: {refused.action.name} is denied by {refused.rule}: {refused.message}"
            )
            continue
        if name is None:
            problems.append(
                f"call {k}: '{visible(tool)}' is not one of the capabilities offered"
                " (denied or unknown)"
            )
            continue
        args = tool_arguments(arguments)
        if args is None:
            problems.append(f"call {k} ({name}): its arguments are not a JSON object")
        else:
            rationale.append(f"{name}: {str(args.get('rationale', ''))[:500]}")
        steps.append(step_of(task, actions[name]))
    if problems:
        return None, problems, rationale
    plan = _in_order(task, Plan(tuple(steps)))
    needless = needless_steps(task, plan) or undone_steps(task, plan)  # the plainer first
    return plan, check_plan(task, plan) + needless, rationale


def _denied_by_tool(refusals: Sequence[Denied], names: Mapping[str, str]) -> dict[str, Denied]:
    """The capabilities a rule denied, by their names and the tool names they would have
    had: a model that proposes one (it is not among the tools) is told which rule, and
    why, as `ido explain` tells it, not that the name is unknown. `names`: `_tool_names`
    of the capabilities offered and then the denied (the offered keep theirs)."""
    denied: dict[str, Denied] = {}
    for refused in refusals:
        denied.setdefault(names[refused.action.name], refused)
        denied.setdefault(refused.action.name, refused)
    return denied


def _in_order(task: Task, plan: Plan) -> Plan:
    """`plan` with, per step, the earlier steps it must wait for (`ido.planner.order`),
    worked out from its own capabilities: a proposal may name any capability offered."""
    actions = {a.name: a for a in task.actions}
    steps = [actions[s.capability] for s in plan.steps]
    return replace(plan, after=waits(footprints(steps, made_reads(task.state, steps))))


def _of_what_is_left(problem: str) -> str:
    """A limit's problem, saying the limit is what this decision's model calls left of it
    (the model was told the whole)."""
    if problem.startswith(("cost ", "critical path ")):
        return f"{problem} (what is left once this decision's model calls are counted)"
    return problem


def tool_arguments(text: str) -> dict[str, Any] | None:
    """A tool call's arguments, if they are a JSON object: None for any other answer, one
    nested too deep for `json.loads` (RecursionError) as much as one that is not JSON."""
    try:
        value = json.loads(text or "{}")
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _choice(reply: Reply, count: int) -> tuple[int | None, str, list[str]]:
    if len(reply.tool_calls) != 1 or reply.tool_calls[0][0] != "choose":
        return None, "answer with exactly one call of the tool `choose`", []
    args = tool_arguments(reply.tool_calls[0][1])
    option = _whole(args.get("option") if args else None)
    if option is None or not 1 <= option <= count:
        return None, f"option must be a number from 1 to {count}", []
    return option - 1, "", [str((args or {}).get("rationale", ""))[:500]]


def _whole(value: Any) -> int | None:
    """`value` as a whole number, if it is one however the model wrote it: 2, 2.0, "2"."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def _mentioned(result: PlanResult) -> PlanResult:
    """`result` without rejections of the capabilities its plan uses: grounding leaves out
    what no best plan needs (a dominated capability, say), and the model chose otherwise."""
    used = set(result.plan.capabilities if result.plan else ())
    kept = tuple(r for r in result.rejections if r.capability not in used)
    return replace(result, rejections=kept)


def _planned(task: Task, plan: Plan) -> PlanResult:
    grounded = ground(task)
    return _mentioned(
        PlanResult(
            "planned",
            plan=plan,
            rejections=grounded.rejections,
            constraints=constraint_reports(task, plan),
            proven_optimal=False,
            condition_errors=grounded.errors,
            solver={"backend": "llm"},
        )
    )


def _chosen(task: Task, solved: PlanResult, options: Sequence[Plan], k: int) -> PlanResult:
    chosen = options[k]
    others = [p for i, p in enumerate(options) if i != k]
    return _mentioned(
        replace(
            solved,
            plan=chosen,
            alternatives=tuple(
                Alternative(
                    p,
                    p.score - chosen.score,
                    alternative_why(chosen, p, task.weights, task.actions),
                )
                for p in others
            ),
            constraints=constraint_reports(task, chosen),
            proven_optimal=solved.proven_optimal and chosen is solved.plan,
        )
    )
