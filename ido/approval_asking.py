"""What a plan asks people to approve, and what its requests record (`ido.approvals`)."""

from __future__ import annotations

import functools
import hashlib
import json
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ido.approvals import PLAN, PROPOSE, UNDO_PLAN, UNKNOWN_PLAN, Given, Key, Request
from ido.model import RunBinding
from ido.state import sorted_json
from ido.text import money

if TYPE_CHECKING:  # (annotations only: the rule engine imports this module, not the journal)
    from ido.decision import Decision
    from ido.journal.records import Event
    from ido.model import Capability, Rule


PROPOSED = "a person approves every plan before it runs"
"""The message of a `mode: propose` request."""


def approvals_asked(
    steps: Sequence[str], approvals: Sequence[tuple[str, str, str]], mode: str
) -> list[tuple[str, str, int, str]]:
    """What a plan of `steps` (capability names, in order) asks approval for, as (rule,
    capability, step, message): the plan as a whole in `mode: propose` (step 0), then the
    decision's `approvals` (rule, capability or `PLAN`, message), each at its step's
    1-based number in the plan (0 for a plan rule's). `ido run` records these and stops;
    `ido plan` says them, so that a plan shown does not hide the wait it leads to."""
    found = [
        (rule, name, 0 if name == PLAN else steps.index(name) + 1, message)
        for rule, name, message in approvals
    ]
    if mode == "propose":
        found.insert(0, (PROPOSE, PLAN, 0, PROPOSED))
    return found


def would_ask(decision: Decision, mode: str) -> list[dict[str, Any]]:
    """The approvals a run of `decision`'s plan in `mode` would stop for, as the events it
    would record (`approval needed for the plan (mode/propose: …)`); none without a plan.
    `ido plan` shows them (a `mode: propose` plan showed no sign that nothing of it runs
    before a person approves), and a `mode: shadow` run names them in its reason (one of a
    payment that needs the controller read as if it would go ahead unasked)."""
    plan = decision.result.plan
    if plan is None or not plan.steps:
        return []
    asked = approvals_asked(plan.capabilities, decision.approvals, mode)
    return [
        {"kind": "approval_required", "rule": rule, "capability": name, "step": step, "message": m}
        for rule, name, step, m in asked
    ]


def plan_digest(
    plan: Mapping[str, Any], specs: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """What identifies a plan for approvals: its steps, what each waits for, and its cost
    (an approval of a plan at 3.00 is not one of the same steps at 2,700.00); and, when
    given, what its steps perform (`specs`, each capability's `spec_digests`: an approval of
    shipping through one endpoint is not one of shipping through another). A run's
    decisions recorded without them (before they were) keep their requests' digests."""
    steps = [s["capability"] for s in plan["steps"]]
    cost = round(float(plan.get("cost", 0.0)), 6)
    whole: dict[str, Any] = {"steps": steps, "after": plan.get("after"), "cost": cost}
    given = specs or {}
    named = {name: dict(given[name]) for name in sorted(set(steps)) if name in given}
    if named:  # (`specs` may be the whole catalog's: only the plan's own steps count)
        whole["specs"] = named
    text = json.dumps(whole, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def asks_approval(decision: Decision, mode: str) -> bool:
    """Whether a run in `mode` stops at `decision` for approvals (the verdicts given may
    answer them all): such a decision records what its plan's steps perform
    (`capability_digests`), which an approval is given for and a resume compares."""
    plan = decision.result.plan
    if plan is None or mode == "shadow":  # (a shadow run ends before any approval)
        return False
    return bool(approvals_asked(plan.capabilities, decision.approvals, mode))


def specced(events: Sequence[Event]) -> bool:
    """Whether a run's approvals cover what its steps perform (`plan_digest`'s `specs`): the
    first decision that asked for approval, or recorded what its steps perform, recorded
    them (`asks_approval`: only a decision that asks does, and an older ido's did on every
    decision with a plan). A run begun by an ido that did not keeps its requests' digests
    as they were, so that the verdicts given on them still answer."""
    asked = {  # (a plan's requests: those about a step's unknown outcome or an undoing name none)
        e.data["decision"] for e in events if e.kind == "approval_required" and "decision" in e.data
    }
    first = next(
        (
            e
            for e in events
            if e.kind == "decided"
            and ("capability_digests" in e.data or e.data.get("number") in asked)
        ),
        None,
    )
    return first is None or "capability_digests" in first.data


SPEC_PARTS = ("binding", "provider", "requires", "effects")
"""What a capability performs, as a plan's approval covers it (its cost is the plan's)."""


def spec_digests(
    capability: Capability, declared: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """What `capability` performs, part by part (`SPEC_PARTS`), each as a short digest: what
    an approval of a plan with it was given for, and what moved when it no longer is.
    `declared`: its `declared_spec`, dumped already (a runtime's start dumps each
    capability once, for this and for the run's `catalog_digests`)."""
    spec = capability.spec
    # (what the binding reads by itself is masked, not performed: `secrets` left out, so a
    # binding that declares them is the one approved before it did)
    if declared is not None:
        binding = binding_of(declared)
    elif spec.run is not None:
        binding = spec.run.model_dump(mode="json", exclude={"secrets"})
    else:
        binding = None
    parts = {
        "binding": binding,
        "provider": spec.provider,
        "requires": list(spec.requires),
        "effects": spec.effects,
    }
    # (`sorted_json`: the text of `json.dumps(value, sort_keys=True, default=str)`, without
    # an encoder made per call, which took most of the time a runtime's start spent here)
    return {
        part: hashlib.sha256(sorted_json(value).encode()).hexdigest()[:12]
        for part, value in parts.items()
    }


def binding_of(declared: Mapping[str, Any]) -> dict[str, Any] | None:
    """A capability's binding as `run.model_dump(mode="json", exclude={"secrets"})` gives
    it, read off its `ido.catalog_record.declared_spec` (which leaves out the fields at
    their defaults: they are put back); None when it declares none."""
    run = declared.get("run")
    if run is None:
        return None
    whole = _with_defaults(RunBinding, run)
    whole.pop("secrets", None)
    return whole


def _with_defaults(model: type[BaseModel], dumped: Mapping[str, Any]) -> dict[str, Any]:
    """`dumped` (a `model` dumped to JSON leaving out the fields at their defaults) with
    them put back, in the models within it too."""
    whole: dict[str, Any] = {}
    for name, default, inner in _fields(model):
        if name not in dumped:
            whole[name] = default
            continue
        value = dumped[name]
        whole[name] = _with_defaults(inner, value) if inner and isinstance(value, dict) else value
    return whole


@functools.cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, Any, type[BaseModel] | None], ...]:
    """Each field of `model`: its name, its default as JSON (None for a required one, which
    a dump never leaves out) and the model it holds, if any (`HttpBinding | None`)."""
    return tuple(
        (
            name,
            None
            if field.is_required()
            else to_jsonable_python(field.get_default(call_default_factory=True)),
            _model_in(field.annotation),
        )
        for name, field in model.model_fields.items()
    )


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (`HttpBinding | None`: HttpBinding); None if it holds none."""
    for kind in (annotation, *typing.get_args(annotation)):
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            return kind
    return None


def replanned_since(asked: Sequence[Request], given: Given, key: Key, cost: float) -> str:
    """What a request asked again for another plan adds to its message: a person who
    approved this rule for this capability, and is asked again after a replan or a change
    of the catalog, was told nothing of why. Empty when no plan of the run had it approved."""
    before = [
        r
        for r in asked
        if r.key[:2] == key[:2]
        and r.plan not in (key[3], UNKNOWN_PLAN, UNDO_PLAN)
        and (given.get(r.key) or {}).get("approved")
    ]
    if not before:
        return ""
    if not before[-1].plan:  # (its cost unrecorded too: "plan cost 0.00 then" was untrue)
        return (
            "; asked again: the approval given was of a request an ido of journal schema 1 "
            "recorded, which names no plan, so it cannot be tied to this one"
        )
    was = before[-1].cost
    costs = (
        f" (plan cost {money(was)} then, {money(cost)} now)" if money(was) != money(cost) else ""
    )
    return f"; asked again: the plan changed since it was approved{costs}"


def request_data(
    rule: str,
    capability: str,
    step: int,
    message: str,
    plan: str,
    cost: float,
    since: float,
    asking: Rule | None,
    owner: str | None = None,
) -> dict[str, Any]:
    """What an `approval_required` event records of a request first asked at `since`: its
    waits are those of the rule that asks (`asking`: its `expires` and `escalate` levels;
    None, ido's own rule: it waits for good); `owner`: its policy's, recorded when named."""
    ttl = asking.expires if asking is not None else None
    levels = [[e.to, e.expires] for e in asking.escalate] if asking is not None else []
    approvers = asking.approvers if asking is not None else 1
    # (recorded only when more than one: a request's event reads as it did before)
    more: dict[str, Any] = {"approvers": approvers} if approvers > 1 else {}
    if owner is not None:
        more["owner"] = owner
    return {
        "rule": rule,
        "capability": capability,
        "step": step,
        "message": message,
        "plan": plan,
        "cost": cost,
        "since": since,
        "expires": None if ttl is None else since + ttl,
        "escalate": levels,
        **more,
    }
