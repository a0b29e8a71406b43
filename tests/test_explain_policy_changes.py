"""`ido explain` tells when the policies in force changed between a run's decisions: a
policy edited, or an enforced one added or removed, while the run waited or was down."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()
PROD = (
    "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: change-board}\nspec:\n"
    "  enforced: true\n  rules:\n    - id: ship-change\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: {message}\n"
)
FREEZE = (
    "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: freeze}\nspec:\n"
    "  enforced: true\n  rules:\n    - id: nothing-on-mars\n      effect: deny\n"
    "      when: \"capability.region == 'mars'\"\n      message: Nothing runs on Mars.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _blocked(project: Path) -> Path:
    """A run blocked on the enforced `change-board` policy, approved, not yet resumed."""
    policy = project / "policies" / "change-board.yaml"
    policy.write_text(PROD.replace("{message}", "The change board signs shipping."))
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    return policy


def test_a_policy_edited_while_the_run_waited_is_named_at_the_decision_after(
    project: Path,
) -> None:
    """The resumed decision applied the edited policy; explain read as if nothing moved."""
    policy = _blocked(project)
    policy.write_text(PROD.replace("{message}", "The change board and the lead sign shipping."))
    (project / "policies" / "freeze.yaml").write_text(FREEZE)
    code, out = ido("resume", "last")
    assert code == 0, out
    code, told = ido("explain", "last")
    assert code == 0, told
    second = told.split("decision 2 ·")[1]
    assert "  policies changed:\n" in second, told
    assert "    change-board: edited since decision 1; this decision applied the edited" in second
    assert "    freeze: added since decision 1; it governs this decision" in second
    assert "policies changed" not in told.split("decision 2 ·")[0]
    view = json.loads(ido("explain", "last", "--format", "json")[1])
    assert view["decisions"][1]["policies_changed"] == {
        "since": 1,
        "edited": ["change-board"],
        "added": ["freeze"],
        "removed": [],
    }
    assert "policies_changed" not in view["decisions"][0]


def test_an_enforced_policy_removed_while_the_run_waited_is_named(project: Path) -> None:
    (project / "policies" / "freeze.yaml").write_text(FREEZE)
    _blocked(project)
    (project / "policies" / "freeze.yaml").unlink()
    assert ido("resume", "last")[0] == 0
    told = ido("explain", "last")[1]
    assert "    freeze: removed since decision 1; it no longer governs" in told, told


def test_decisions_under_the_same_policies_say_nothing_of_them(project: Path) -> None:
    _blocked(project)
    assert ido("resume", "last")[0] == 0
    told = ido("explain", "last")[1]
    assert "decision 2 ·" in told and "policies changed" not in told, told


def test_resuming_without_a_policy_that_governed_the_run_is_warned_of(project: Path) -> None:
    """A run resumed without the company's folder (a `--catalog` left out) went on without
    its enforced policies, and said nothing until someone read its explanation."""
    (project / "policies" / "freeze.yaml").write_text(FREEZE)
    policy = _blocked(project)
    (project / "policies" / "freeze.yaml").unlink()
    policy.write_text(PROD.replace("{message}", "The change board and the lead sign shipping."))
    code, out = ido("resume", "last")
    assert code == 0, out
    assert (
        "warning: the policies changed since decision 1 of this run: freeze removed (the run "
        "goes on without it: give the --catalog folders that hold it, as it started with); "
        "change-board edited (its version as it stands governs from here on)\n" in out
    ), out


def test_resuming_under_the_same_policies_warns_of_nothing(project: Path) -> None:
    _blocked(project)
    code, out = ido("resume", "last")
    assert code == 0 and "warning" not in out, out


def test_resuming_without_a_policy_the_run_lists_is_refused_not_said_to_go_on(
    project: Path,
) -> None:
    """A policy the run's recorded intent lists, gone (the intent file no longer lists it):
    resuming refuses, naming it; the warning before said the run went on without it."""
    _blocked(project)
    (project / "policies" / "residency.yaml").unlink()
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("policies: [residency]", "policies: []"))
    code, out = ido("resume", "last")
    assert code != 0, out
    assert "governed by policy 'residency', which is not in the catalog" in out, out
    assert "goes on without" not in out and "warning" not in out, out


def test_resuming_a_run_that_ended_says_only_that_it_ended(project: Path) -> None:
    """A policy edited since an achieved run: `ido resume` warned that the edited version
    "governs from here on", then refused, the run having ended."""
    policy = _blocked(project)
    assert ido("resume", "last")[0] == 0
    policy.write_text(PROD.replace("{message}", "The change board and the lead sign shipping."))
    code, out = ido("resume", "last")
    assert code != 0 and "already ended (achieved)" in out, out
    assert "warning" not in out, out


def test_resuming_a_run_nobody_answered_says_only_what_it_waits_for(project: Path) -> None:
    """Its request unanswered, the run is refused: the warning before said the edited
    policy governed it from here on."""
    policy = project / "policies" / "change-board.yaml"
    policy.write_text(PROD.replace("{message}", "The change board signs shipping."))
    assert ido("run", "ship-order")[0] == 3
    policy.write_text(PROD.replace("{message}", "The change board and the lead sign shipping."))
    code, out = ido("resume", "last")
    assert code != 0 and "still waits for approval of ship" in out, out
    assert "warning" not in out, out
