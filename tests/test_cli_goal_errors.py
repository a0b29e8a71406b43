"""Goals over facts not set yet are not yet true, not errors; a goal that cannot be evaluated
is told once: at load, naming its file, line and field, and once in `ido explain`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PAY = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: pay-{p}}}
spec:
  provider: pay{p}
  requires: ["!state.order.paid"{extra}]
  effects: {{order.paid: true, order.provider: "{p}"}}
  cost: {cost}
  run: {{python: "fakesvc.impl:call"}}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {{name: pay-order}}
spec:
  given: {{order: {{id: "7"}}}}
  goal: ["state.order.paid", {goal!r}]
"""

IMPL = """\
import os


def call(ctx):
    if ctx.provider in os.environ.get("FAKESVC_FAIL", "").split(","):
        raise RuntimeError(f"{ctx.provider} is down")
    return {}
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """Two payment providers, a cheap one (a) and a dearer one (b), each setting which of
    them paid (`order.provider`, text: no `false` stands for it before a step sets it); a
    third (x) whose precondition compares the order's id, text, with a number."""
    for folder in ("capabilities", "intents", "fakesvc"):
        (tmp_path / folder).mkdir()
    for p, cost, extra in (("a", 1.0, ""), ("b", 2.0, ""), ("x", 0.5, ', "state.order.id > 3"')):
        (tmp_path / "capabilities" / f"pay-{p}.yaml").write_text(
            PAY.format(p=p, cost=cost, extra=extra)
        )
    (tmp_path / "fakesvc" / "__init__.py").write_text("")
    (tmp_path / "fakesvc" / "impl.py").write_text(IMPL)
    return tmp_path


def ido(folder: Path, *args: str, fail: str = "") -> subprocess.CompletedProcess[str]:
    """`ido ARGS` in its own process, in `folder`, with the providers `fail` names down."""
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={**_environ(), "FAKESVC_FAIL": fail},
    )


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("IDO_JOURNAL", "FAKESVC_FAIL")}


def test_a_goal_over_a_fact_a_step_sets_later_records_no_error_at_any_decision(
    shop: Path,
) -> None:
    """`state.order.provider in ['a', 'b']` before any payment: each decision of the run
    (provider a down: a replan onto b) recorded `Key not found in map : "provider"`; the
    goal simply does not hold yet."""
    (shop / "intents" / "pay-order.yaml").write_text(
        INTENT.format(goal="state.order.provider in ['a', 'b']")
    )
    done = ido(shop, "run", "pay-order", fail="paya")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "decision 2 (step 1 pay-a failed" in done.stdout
    told = ido(shop, "explain", "last")
    assert told.returncode == 0, told.stderr
    assert told.stdout.count("\ndecision ") >= 2  # pay-a tried again, then pay-b
    assert "Key not found" not in told.stdout
    assert "goal: state.order.provider" not in told.stdout


def test_an_error_of_every_decision_is_told_once_in_explain(shop: Path) -> None:
    """pay-x's `state.order.id > 3` fails at each decision (text against a number): the
    first decision shows it, the next says it is the same."""
    (shop / "intents" / "pay-order.yaml").write_text(
        INTENT.format(goal="state.order.provider in ['a', 'b']")
    )
    assert ido(shop, "run", "pay-order", fail="paya").returncode == 0
    told = ido(shop, "explain", "last").stdout
    error = (
        "requires of pay-x: state.order.id > 3: UNKNOWN: No matching overloads found : "
        "_>_(string, int64)"
    )
    assert told.count(error) == 1, told
    first, second = told.split("\ndecision 2 ")
    assert f"    {error}\n" in first
    assert "    the same as at decision 1\n" in second
    markdown = ido(shop, "explain", "last", "--format", "md").stdout
    assert markdown.count("No matching overloads found") == 1
    assert "- the same as at decision 1" in markdown
    json_view = ido(shop, "explain", "last", "--format", "json").stdout
    decisions = told.count("\ndecision ")
    assert decisions >= 2
    assert json_view.count("No matching overloads found") == decisions  # the record keeps each


def test_a_goal_that_never_evaluates_is_warned_of_once_at_its_file_line_and_field(
    shop: Path,
) -> None:
    """`state.order.id > 3` compares the order's id, text, with a number on every value it
    may take: `ido validate` and `ido run` warn of it with where it is written, once."""
    (shop / "intents" / "pay-order.yaml").write_text(INTENT.format(goal="state.order.id > 3"))
    warning = (
        "warning: intents/pay-order.yaml:6: spec.goal[1]: the goal cannot be evaluated on any"
        " value its facts may take, so it never holds: UNKNOWN: No matching overloads found :"
        " _>_(string, int64)"
    )
    checked = ido(shop, "validate")
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.count(warning) == 1, checked.stderr
    ran = ido(shop, "run", "pay-order")
    assert ran.returncode == 4, ran.stdout + ran.stderr
    assert ran.stderr.count(warning) == 1, ran.stderr
