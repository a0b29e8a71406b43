"""Goals that read a fact nothing sets are warned of when the catalog loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.goal_check import goal_warnings
from ido.loading import load_catalog

CAPABILITY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: brew}
spec:
  provider: kettle
  effects: {coffee.ready: true}
  output: coffee.cup
"""


def intent(spec: str) -> str:
    return f"apiVersion: ido/v1\nkind: Intent\nmetadata: {{name: morning}}\nspec:\n{spec}"


def warnings(tmp_path: Path, spec: str) -> list[str]:
    (tmp_path / "brew.yaml").write_text(CAPABILITY)
    (tmp_path / "morning.yaml").write_text(intent(spec))
    catalog = load_catalog([tmp_path], base=tmp_path)
    return [str(w) for w in goal_warnings(catalog, tmp_path)]


def test_a_goal_reading_a_misspelt_fact_is_warned_of_with_the_fact_it_likely_means(
    tmp_path: Path,
) -> None:
    """`state.coffee.redy` never holds: only `ido plan` said so, `ido validate` said ok."""
    assert warnings(tmp_path, "  goal: [state.coffee.redy]\n") == [
        "morning.yaml:5: spec.goal[0]: the goal reads coffee.redy, which no capability sets"
        " and the intent does not give; did you mean 'coffee.ready'?"
    ]


def test_facts_set_given_output_or_observed_are_not_warned_of(tmp_path: Path) -> None:
    """An effect, a fact inside what the intent gives or a capability outputs, a mapping
    above a given fact: each may hold. An intent with observers may be told any fact."""
    spec = (
        "  given: {order: {amount: 3}}\n"
        "  goal: ['state.coffee.ready && state.order.amount > 2 && size(state.order) > 0"
        " && state.coffee.cup.size > 1']\n"
    )
    assert warnings(tmp_path, spec) == []
    observed = "  observers: [pantry]\n  goal: [state.pantry.full]\n"
    (tmp_path / "pantry.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: pantry}\nspec:\n  file: p.json\n"
    )
    assert warnings(tmp_path, observed) == []


def test_a_misspelt_fact_beside_a_given_one_is_warned_of(tmp_path: Path) -> None:
    """With `given: {order: {id: …}}`, as nearly every intent has, anything under `order`
    counted as given, so `state.order.payed` or `state.order.regoin` passed without a
    word."""
    spec = "  given: {order: {id: '1042', region: eu}}\n  goal: ['state.order.regoin == \"eu\"']\n"
    assert warnings(tmp_path, spec) == [
        "morning.yaml:6: spec.goal[0]: the goal reads order.regoin, which no capability sets"
        " and the intent does not give; did you mean 'order.region'?"
    ]


def test_validate_prints_the_warning_and_still_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warning: the exit code stays 0, as for a rule naming a capability not there."""
    for folder in ("capabilities", "intents"):
        (tmp_path / folder).mkdir()
    (tmp_path / "capabilities" / "brew.yaml").write_text(CAPABILITY)
    (tmp_path / "intents" / "morning.yaml").write_text(intent("  goal: [state.tea.ready]\n"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
    assert "warning: intents/morning.yaml:5: spec.goal[0]: the goal reads tea.ready" in (
        result.output
    )


def test_a_goal_fact_every_capability_sets_to_text_is_warned_of(tmp_path: Path) -> None:
    """`effects: {coffee.ready: "true"}` sets text, which a goal `state.coffee.ready`
    never takes for true: `ido plan` said only that no capability can make it true."""
    (tmp_path / "brew.yaml").write_text(
        CAPABILITY.replace("coffee.ready: true", 'coffee.ready: "true"')
    )
    (tmp_path / "morning.yaml").write_text(intent("  goal: [state.coffee.ready]\n"))
    catalog = load_catalog([tmp_path], base=tmp_path)
    assert [str(w) for w in goal_warnings(catalog, tmp_path)] == [
        "morning.yaml:5: spec.goal[0]: the goal needs coffee.ready to be true or false, but"
        " brew sets it to 'true', not a bool: write the effect as true, without quotes"
    ]


def test_a_goal_that_errs_on_every_value_its_facts_may_take_is_warned_of(tmp_path: Path) -> None:
    """`state.coffee.temp > '60'` compares a number (given, or set by a capability) with
    text: it never holds, and only each decision of a run recorded the error."""
    (tmp_path / "heat.yaml").write_text(
        CAPABILITY.replace("brew", "heat").replace("coffee.ready: true", "coffee.temp: 80")
    )
    spec = "  given: {coffee: {temp: 20}}\n  goal: [\"state.coffee.temp > '60'\"]\n"
    assert warnings(tmp_path, spec) == [
        "morning.yaml:6: spec.goal[0]: the goal cannot be evaluated on any value its facts may"
        " take, so it never holds: UNKNOWN: No matching overloads found : _>_(int64, string)"
    ]


@pytest.mark.parametrize(
    "goal",
    [
        "state.coffee.temp > 60",  # right: no error on any value
        "100 / state.coffee.temp > 1",  # an error on one value (0) only: not on every one
        "state.coffee.cup.size > '1'",  # a fact under an output: no value known at load
    ],
)
def test_a_goal_that_evaluates_on_some_value_is_not_warned_of(tmp_path: Path, goal: str) -> None:
    """Only a goal that fails on every value is told: a fact not set yet does not count
    (the goal does not hold yet), nor does an error on some values only."""
    (tmp_path / "heat.yaml").write_text(
        CAPABILITY.replace("brew", "heat")
        .replace("coffee.ready: true", "coffee.temp: 80")
        .replace("output: coffee.cup\n", "")
    )
    spec = f"  given: {{coffee: {{temp: 0}}}}\n  goal: [{goal!r}]\n"
    assert warnings(tmp_path, spec) == []
