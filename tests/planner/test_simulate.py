"""The independent plan checker's judgement of steps a plan does not need."""

from __future__ import annotations

from test_cpsat import GOAL, NOTIFY, PACK, PAY_CHEAP, PAY_FAST, SHIP, action, task

from ido.planner.simulate import check_plan, needless_steps
from ido.planner.solving import step_of
from ido.planner.types import Action, Plan, Task

REFUND = action("refund", ("state.order.paid",), {"order.refunded": True}, cost=0.1)
THANK = action("thank", ("state.order.refunded",), {"customer.thanked": True})


def proposed(t: Task, *actions: Action) -> Plan:
    return Plan(tuple(step_of(t, a) for a in actions))


def test_a_plan_the_goal_needs_every_step_of_has_no_needless_step() -> None:
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, REFUND])
    plan = proposed(t, PAY_CHEAP, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == [] and needless_steps(t, plan) == []


def test_a_step_whose_effects_already_hold_changes_nothing() -> None:
    t = task()
    plan = proposed(t, PAY_CHEAP, PACK, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == []  # valid: it would be performed twice
    assert needless_steps(t, plan) == ["step 3: pack changes nothing: its effects already hold"]


def test_a_step_whose_effects_nothing_reads_does_nothing_toward_the_goal() -> None:
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, REFUND])
    plan = proposed(t, PAY_CHEAP, REFUND, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == []
    assert needless_steps(t, plan) == [
        "step 2: refund does nothing toward the goal: neither the goal nor a later step "
        "needs its effects"
    ]


def test_steps_needed_only_by_needless_steps_are_needless_too() -> None:
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, REFUND, THANK])
    plan = proposed(t, PAY_CHEAP, REFUND, THANK, PACK, SHIP, NOTIFY)
    assert [p.split(":")[0] for p in needless_steps(t, plan)] == ["step 2", "step 3"]


def test_a_second_way_to_the_same_fact_changes_nothing() -> None:
    """Paying twice with two providers: the second payment's effects hold already (its
    precondition `!paid` fails too, which `check_plan` reports)."""
    t = task()
    plan = proposed(t, PAY_CHEAP, PAY_FAST, PACK, SHIP, NOTIFY)
    assert "step 2: pay-fast changes nothing: its effects already hold" in needless_steps(t, plan)


def test_a_step_a_condition_over_the_whole_state_reads_is_needed() -> None:
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, REFUND], goal=(*GOAL, "size(state) > 0"))
    plan = proposed(t, PAY_CHEAP, REFUND, PACK, SHIP, NOTIFY)
    assert needless_steps(t, plan) == []
