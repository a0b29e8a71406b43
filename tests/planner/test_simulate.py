"""The independent plan checker's judgement of steps a plan does not need."""

from __future__ import annotations

from test_cpsat import GOAL, NOTIFY, PACK, PAY_CHEAP, PAY_FAST, SHIP, action, task

from ido.planner.simulate import check_plan, needless_steps, undone_steps
from ido.planner.solving import step_of
from ido.planner.types import Action, Limits, Plan, Task

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


UNPAY = action("unpay", ("state.order.paid",), {"order.paid": False, "order.refunded": True})


def test_a_stretch_that_undoes_and_redoes_is_not_needed() -> None:
    """Paid, refunded and paid again: each step is needed by the next, yet the first
    payment and the refund leave what the later steps and the goal read as it was."""
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, UNPAY])
    plan = proposed(t, PAY_CHEAP, UNPAY, PAY_CHEAP, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == [] and needless_steps(t, plan) == []
    assert undone_steps(t, plan) == [
        "steps 1 to 2 (pay-cheap, unpay) leave every fact the goal and the later steps read "
        "as it was before them (an undo and a redo): leave them out, since each step is "
        "performed for real"
    ]


def test_an_undo_and_a_redo_by_another_provider_is_not_needed_either() -> None:
    t = task([PAY_CHEAP, PAY_FAST, PACK, SHIP, NOTIFY, UNPAY])
    plan = proposed(t, PAY_CHEAP, UNPAY, PAY_FAST, PACK, SHIP, NOTIFY)
    assert [p.split(" (")[0] for p in undone_steps(t, plan)] == ["steps 1 to 2"]


def test_a_fact_changed_for_good_is_no_undo() -> None:
    """Packed, then shipped: `order.status` changes twice, never back."""
    t = task()
    assert undone_steps(t, proposed(t, PAY_CHEAP, PACK, SHIP, NOTIFY)) == []


def test_an_undo_a_later_step_reads_is_needed() -> None:
    """A refund the goal asks for, after the payment the refund requires: no redo."""
    t = task([PAY_CHEAP, PACK, SHIP, NOTIFY, UNPAY], goal=(*GOAL, "state.order.refunded"))
    assert undone_steps(t, proposed(t, PAY_CHEAP, PACK, SHIP, NOTIFY, UNPAY)) == []


def test_a_long_goal_that_does_not_hold_is_quoted_cut_short() -> None:
    """A goal of 50,000 characters was quoted whole in the plan's problem (which goes back
    to the model and into the decision); it is cut to its first 200 characters."""
    long_goal = " && ".join(["state.order.paid"] * 2_500 + ["state.order.lost"])
    t = task(goal=(*GOAL, long_goal))
    (problem,) = check_plan(t, proposed(t, PAY_CHEAP, PACK, SHIP, NOTIFY))
    assert problem.startswith("goal 'state.order.paid && ") and problem.endswith(
        "…' does not hold after the plan"
    )
    assert len(problem) < 250


def test_a_critical_path_a_hair_over_the_deadline_reads_apart_from_it() -> None:
    """The checker said "critical path 4s over deadline 4s" of a 4.0004s path."""
    from ido.planner.types import Limits

    slow = action("slow", (), {"order.paid": True}, latency=4.0004)
    t = task([slow], ("state.order.paid",), limits=Limits(deadline=4.0))
    problems = check_plan(t, proposed(t, slow))
    assert "critical path 4.0004s over deadline 4s" in problems


def test_a_plan_over_a_limit_is_told_in_the_limit_s_own_terms() -> None:
    """A model's plan over max_cost in yen read "cost 1.6e+06 over max_cost 1.5e+06", and
    one under min_success_probability "success probability 0.6859999999999999 under 0.9":
    money is written as money, and a probability to the decimals that tell it apart."""
    yen = action("pay-yen", ("!state.order.paid",), {"order.paid": True}, cost=1_600_000)
    t = task([yen, PACK, SHIP, NOTIFY], limits=Limits(max_cost=1_500_000.0))
    plan = proposed(t, yen, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == ["cost 1600000.65 over max_cost 1500000.00"]
    shaky = action("pay-shaky", ("!state.order.paid",), {"order.paid": True}, reliability=0.7)
    t = task([shaky, PACK, SHIP, NOTIFY], limits=Limits(min_success_probability=0.9))
    plan = proposed(t, shaky, PACK, SHIP, NOTIFY)
    assert check_plan(t, plan) == ["success probability 0.6859 under 0.900"]
