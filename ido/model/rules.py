"""Policy rules as users write them (effect, condition, expiry and escalation of an
approval) and a Policy's spec."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from ido.model.durations import Duration
from ido.model.fields import Condition, Name, OneLine, Owner, Strict


class Escalation(Strict):
    to: OneLine = Field(min_length=1, description="Who is asked once the earlier wait expired.")
    expires: Duration = Field(description="How long this level may wait; then the next one.")

    @model_validator(mode="after")
    def _some_time(self) -> Escalation:
        if self.expires <= 0:
            raise ValueError(NO_TIME)
        return self


NO_TIME = "expires must be more than 0s: a request that expires at once cannot be answered"


class Rule(Strict):
    id: Name = Field(description="Rule id, unique in its policy; cited as policy/rule-id.")
    effect: Literal["deny", "require_approval", "prefer", "avoid"]
    when: Condition = Field(
        description="CEL over capability, state, intent and health, or over plan, state, "
        "intent and health: a rule that reads `plan` is about the plan as a whole."
    )
    message: OneLine = Field(
        min_length=1, description="What people read when the rule fires: one line."
    )
    weight: float = Field(
        default=1.0, ge=0, description="Score added (avoid) or removed (prefer) per step."
    )
    expires: Duration | None = Field(
        default=None,
        description="require_approval: how long a request may wait; then it escalates, "
        "or the run fails.",
    )
    escalate: list[Escalation] = Field(
        default_factory=list,
        description="require_approval: who is asked next, in turn, each time a wait "
        "expires; after the last, the run fails.",
    )
    negotiable: bool = Field(
        default=True,
        description="deny: whether the reason a run has no plan may offer lifting this "
        "rule as a way out (`or lift rule …`); false for a rule that must hold (sanctions, "
        "law), which the reason still names as what stands in the way.",
    )

    approvers: int = Field(
        default=1,
        ge=1,
        description="require_approval: how many different people (--by names) must "
        "approve a request; one rejection rejects it.",
    )

    @field_validator("approvers")
    @classmethod
    def _approvers_for_approvals(cls, approvers: int, info: ValidationInfo) -> int:
        """Told at the `approvers` line (runs only where it is written; 1, the default, is
        what a rule read back from a journal or a dump holds, whatever its effect)."""
        effect = info.data.get("effect", "require_approval")
        if effect != "require_approval" and approvers != 1:
            raise ValueError(f"approvers is for require_approval rules, not {effect}")
        return approvers

    @model_validator(mode="after")
    def _approval_fields(self) -> Rule:
        if not self.negotiable and self.effect != "deny":
            raise ValueError(
                f"negotiable is for deny rules, not {self.effect}: only a deny rule is "
                "offered as a way out to lift"
            )
        if self.effect != "require_approval":
            given = [k for k in ("expires", "escalate") if getattr(self, k) not in (None, [])]
            if given:
                raise ValueError(f"{given[0]} is for require_approval rules, not {self.effect}")
        if self.escalate and self.expires is None:
            raise ValueError("escalate needs expires: how long the first request may wait")
        if self.expires is not None and self.expires <= 0:
            raise ValueError(NO_TIME)
        return self


def _unique_rule_ids(rules: list[Rule], tightening: bool = False) -> list[Rule]:
    """`rules`, unless an id is used twice, or (`tightening`: an intent's own rules) a rule
    is a `prefer`: then an error at that rule's `id` or `effect`, so that it is told at its
    line, not at the `spec` above."""
    seen: set[str] = set()
    errors: list[InitErrorDetails] = []
    for i, rule in enumerate(rules):
        if tightening and rule.effect == "prefer":
            why = (
                f"rule '{rule.id}': an intent's own rules can only tighten its policies "
                "(deny, require_approval or avoid); prefer could outweigh a policy's avoid"
            )
            errors.append(_error_at((i, "effect"), rule.effect, why))
        if rule.id in seen:
            errors.append(_error_at((i, "id"), rule.id, f"rule id '{rule.id}' is used twice"))
        seen.add(rule.id)
    if errors:
        raise ValidationError.from_exception_data("rules", errors)
    return rules


def _tightening(rules: list[Rule]) -> list[Rule]:
    return _unique_rule_ids(rules, tightening=True)


def _error_at(loc: tuple[int | str, ...], value: Any, why: str) -> InitErrorDetails:
    return InitErrorDetails(
        type="value_error", loc=loc, input=value, ctx={"error": ValueError(why)}
    )


class PolicySpec(Strict):
    description: str | None = None
    owner: Owner | None = Field(
        default=None,
        description=(
            "Who answers for the policy's rules (a team or a person): named beside each rule "
            "in explanations and approval requests (`ido approvals --owner`)."
        ),
    )
    enforced: bool = Field(
        default=False,
        description="true: governs every intent, whether or not it lists the policy.",
    )
    rules: Annotated[list[Rule], AfterValidator(_unique_rule_ids)] = Field(min_length=1)
