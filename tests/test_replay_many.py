"""Replaying several runs at once: a line each, and what changed in all."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()

NO_CHEAPPAY = (
    "    - id: no-cheappay\n      effect: deny\n"
    "      when: \"capability.provider == 'cheappay'\"\n      message: Contract ended.\n"
)
NO_PAYMENTS = (
    "    - id: frozen\n      effect: deny\n"
    "      when: \"capability.name.startsWith('pay-')\"\n      message: Payments frozen.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def two_runs(project: Path) -> list[str]:
    """Two achieved runs of ship-order (newest first, as `ido runs` lists them)."""
    assert ido("run", "ship-order")[0] == 0
    assert ido("run", "ship-order")[0] == 0
    with_ids = ido("runs")[1].splitlines()[1:]
    return [line.split()[0] for line in with_ids]


def policies_with(project: Path, rule: str) -> Path:
    """A copy of the project's policies with `rule` added to residency: the new policy."""
    folder = project.parent / f"{project.name}-new-policies"
    shutil.copytree(project / "policies", folder)
    policy = folder / "residency.yaml"
    policy.write_text(policy.read_text() + rule)
    return folder


def test_which_runs_a_new_rule_would_have_changed_is_said_a_line_a_run(project: Path) -> None:
    """ "Which runs would a new rule have blocked?" took one `ido replay RUN --policies DIR`
    per run, each a page: several RUNs now give a line each and the total."""
    first, second = two_runs(project)
    code, out = ido("replay", first, second, "--policies", str(policies_with(project, NO_PAYMENTS)))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"{first}  ship-order  decision 1 changes: "), out
    assert " → now no plan reaches " in lines[0] and "outcome achieved → failed, cost " in lines[0]
    assert lines[1].startswith(f"{second}  ship-order  decision 1 changes: "), out
    assert (
        lines[2]
        == "2 of 2 run(s) decide otherwise under these inputs; outcomes: achieved → failed ×2"
    )


def test_a_rule_that_changes_plans_but_no_outcome_is_counted_apart(project: Path) -> None:
    first, second = two_runs(project)
    code, out = ido("replay", first, second, "--policies", str(policies_with(project, NO_CHEAPPAY)))
    assert code == 0, out
    assert "pay-cheap-eu → ship (cost" in out and "→ now pay-pricey-eu → ship (cost" in out, out
    assert out.endswith("\n2 of 2 run(s) decide otherwise under these inputs\n"), out
    code, out = ido("replay", first, second)  # the policies as they stand: the same
    assert code == 0, out
    assert f"{first}  ship-order  identical: 1 decision(s)\n" in out
    assert out.endswith("\n2 of 2 run(s) re-decided the same\n"), out


def test_several_exact_replays_exit_1_when_one_diverges_naming_the_edited_policy(
    project: Path,
) -> None:
    first, second = two_runs(project)
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + NO_CHEAPPAY)
    code, out = ido("replay", first, second)
    assert code == 1, out
    assert f"{first}  ship-order  diverged at decision 1: " in out
    assert "; policies edited since: residency\n" in out
    assert out.endswith("\n0 of 2 run(s) re-decided the same\n"), out


def test_an_intent_file_replaces_one_run_s_intent_only(project: Path) -> None:
    first, second = two_runs(project)
    code, out = ido("replay", first, second, "--intent", "intents/ship-order.yaml")
    assert code == 2 and "--intent replaces one run's intent: give one RUN" in out, out


def test_costs_are_said_as_every_report_says_them(project: Path) -> None:
    """`ido replay RUN RUN…` wrote costs with `:.2f` (`cost 12345.80`) where the other
    reports set thousands apart (`ido.text.money`): it does too."""
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 12345.50"))
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("max_cost: 5.0", "max_cost: 20000"))
    first, second = two_runs(project)
    same = policies_with(project, "")
    code, out = ido("replay", first, second, "--policies", str(same))
    assert code == 0, out
    assert f"{first}  ship-order  same choices: achieved, cost 12,345.80\n" in out, out
    policy = same / "residency.yaml"
    policy.write_text(policy.read_text() + NO_PAYMENTS)
    code, out = ido("replay", first, second, "--policies", str(same))
    assert "outcome achieved → failed, cost 12,345.80 → 0.00" in out, out


def test_a_run_not_in_the_journal_is_said_on_its_line_and_the_others_are_replayed(
    project: Path,
) -> None:
    """One id mistyped among several stopped them all (`run 'nope' not found`), none
    replayed: the runs found are replayed, each run not found (or an ambiguous prefix) is
    said on its own line, in the order given, and the total names them; exit 2."""
    first, second = two_runs(project)
    code, out = ido("replay", first, "nope", second, "r2")
    assert code == 2, out
    lines = out.splitlines()
    assert lines[0] == f"{first}  ship-order  identical: 1 decision(s)", out
    assert lines[1] == "nope  not replayed: run 'nope' not found in .ido/ido.db; see ido runs"
    assert lines[2] == f"{second}  ship-order  identical: 1 decision(s)", out
    assert lines[3].startswith("r2  not replayed: run 'r2' is ambiguous: "), out
    assert lines[4] == "2 of 2 run(s) re-decided the same; not found: nope, r2 (see ido runs)"
    code, out = ido("replay", "nope", "nope", "--policies", "policies")
    assert code == 2, out
    assert out.splitlines()[-1] == "no run replayed; not found: nope (see ido runs)", out


def test_runs_of_several_intents_are_counted_by_intent(project: Path) -> None:
    """On a platform shared by teams, each with its intents, a proposed rule's reach was
    one line a run to count by hand: the total now says how many of each intent's runs
    decide otherwise."""
    intent = project / "intents" / "ship-order.yaml"
    other = intent.read_text().replace("name: ship-order", "name: ship-other")
    (project / "intents" / "ship-other.yaml").write_text(other)
    first, second = two_runs(project)
    assert ido("run", "ship-other")[0] == 0
    third = ido("runs")[1].splitlines()[1].split()[0]
    new = policies_with(project, NO_PAYMENTS)
    code, out = ido("replay", first, second, third, "--policies", str(new))
    assert code == 0, out
    assert out.splitlines()[-1] == (
        "3 of 3 run(s) decide otherwise under these inputs; outcomes: achieved → failed ×3; "
        "by intent: ship-order 2 of 2, ship-other 1 of 1"
    ), out
