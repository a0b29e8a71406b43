"""A decision's constraint lines: the plan and what the run used, added up, read as a sum
that adds up, whatever the rounding."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest

from ido.explain_decisions import _constraint_line

_SUM = re.compile(
    r"plan (\S+) \+ (\S+) (?:spent|elapsed)(?: on this decision's model calls)? = (\S+) of (\S+)"
)
_UNITS = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
}


def _read(text: str) -> Decimal:
    """The amount or seconds a figure of the line reads as."""
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit):
            return Decimal(text[: -len(unit)]) * _UNITS[unit]
    return Decimal(text.replace(",", ""))


def _line(name: str, plan: float, used: float, model: float = 0.0, limit: float = 10.0) -> str:
    c = {"name": name, "value": plan, "limit": limit - used, "binding": False}
    use = (used, 0.0) if name == "max_cost" else (0.0, used)
    calls = (model, 0.0) if name == "max_cost" else (0.0, model)
    return _constraint_line(c, (use[0] - calls[0], use[1] - calls[1]), calls)


def _adds_up(line: str) -> None:
    match = _SUM.search(line)
    assert match, line
    plan, used, total, limit = (_read(g) for g in match.groups())
    assert plan + used == total, line
    assert total <= limit, line


@pytest.mark.parametrize(
    ("name", "plan", "used", "model"),
    [
        ("max_cost", 0.005, 0.005, 0.0),  # read 0.01 + 0.01 = 0.01
        ("max_cost", 1.004, 1.004, 0.0),  # read 1.00 + 1.00 = 2.01
        ("max_cost", 2.965, 0.345, 0.0),  # read 2.96 + 0.34 = 3.31
        ("max_cost", 0.8, 0.006, 0.003),  # read 0.80 + 0.01 = 0.8060
        ("max_cost", 0.8, 0.5015, 0.0015),  # read 0.80 + 0.50 = 1.3015
        ("deadline", 1.0004, 1.0004, 0.0),  # read 1s + 1s = 2.001s
    ],
)
def test_a_sum_that_rounding_breaks_is_shown_finely_enough_to_add_up(
    name: str, plan: float, used: float, model: float
) -> None:
    _adds_up(_line(name, plan, used, model))


def test_sums_as_they_read_today_are_kept() -> None:
    assert (
        _line("max_cost", 2.96, 0.35, limit=5.0)
        == "max_cost: plan 2.96 + 0.35 spent = 3.31 of 5.00"
    )
    assert _line("max_cost", 0.8, 0.003, 0.003, limit=5.0) == (
        "max_cost: plan 0.80 + 0.0030 spent on this decision's model calls = 0.8030 of 5.00"
    )
    # In one unit (it read `3.7s + 18ms elapsed = 3.718s`, and `1h + 500ms = 3600.5s of 2h`).
    assert _line("deadline", 3.7, 0.018, limit=30.0) == (
        "deadline: plan 3.7s + 0.018s elapsed = 3.718s of 30s"
    )
    assert _line("deadline", 3600.0, 0.5, limit=7200.0) == (
        "deadline: plan 3600s + 0.5s elapsed = 3600.5s of 7200s"
    )
    assert _line("deadline", 3600.0, 3600.0, limit=10800.0) == (
        "deadline: plan 1h + 1h elapsed = 2h of 3h"
    )
    assert _line("deadline", 0.2, 0.05, limit=0.5) == (
        "deadline: plan 200ms + 50ms elapsed = 250ms of 500ms"
    )


def test_random_amounts_and_durations_add_up_as_shown() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        name = rng.choice(["max_cost", "deadline"])
        used = rng.choice(
            [rng.uniform(0.0006, 0.01), rng.uniform(0.0006, 5.0), round(rng.uniform(0, 5), 3)]
        )
        plan = rng.choice([rng.uniform(0, 5.0), round(rng.uniform(0, 5), 2), 0.005])
        model = rng.choice([0.0, used, used * rng.random()])
        _adds_up(_line(name, plan, used, model, limit=plan + used + rng.choice([0.0, 1.0])))


def _units(line: str) -> set[str]:
    """The units the figures of a sum are written in (`ms`, `s`, `m`, …)."""
    match = _SUM.search(line)
    assert match, line
    return {re.sub(r"[-0-9.,]", "", figure) for figure in match.groups()}


@pytest.mark.parametrize(
    ("plan", "used", "limit"),
    [
        (0.5, 0.0015, 0.8),  # read `plan 0.5s + 0.0015s elapsed = 0.5015s of 800ms`
        (0.0005, 0.0025, 0.004),  # read `plan 0.0005s + 0.0025s elapsed = 0.003s of 4ms`
        (0.0015, 0.0015, 0.3),  # read `plan 0.0015s + 0.0015s elapsed = 0.003s of 300ms`
    ],
)
def test_a_deadline_sum_shown_finely_keeps_one_unit(plan: float, used: float, limit: float) -> None:
    """Milliseconds that, rounded, did not add up were written finely in seconds, all but
    the limit, left in milliseconds: the sum mixed units again."""
    line = _line("deadline", plan, used, limit=limit)
    _adds_up(line)
    assert len(_units(line)) == 1, line


def test_random_durations_are_summed_in_one_unit() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        used = rng.choice([rng.uniform(0.0005, 0.01), rng.uniform(0.0005, 2.0), 0.0015])
        plan = rng.choice([rng.uniform(0, 1.0), round(rng.uniform(0, 1), 3), 0.0005, 0.5])
        line = _line("deadline", plan, used, limit=plan + used + rng.choice([0.0, 0.3, 1.0]))
        _adds_up(line)
        assert len(_units(line)) == 1, line
