"""A capability without a `run` binding can be planned, not run: a run plans around it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()
SCENARIO = """\
apiVersion: ido/v1
kind: Scenario
metadata: {name: cheap-pays}
spec:
  intent: ship-order
  expect: {outcome: achieved, used: [pay-cheap-eu]}
"""


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def unbind(project: Path, *names: str) -> None:
    """Drops the `run` line of each named capability in the shared test catalog."""
    catalog = project / "capabilities" / "catalog.yaml"
    docs = catalog.read_text().split("---\n")
    for i, doc in enumerate(docs):
        if any(f"name: {name}}}" in doc for name in names):
            docs[i] = "".join(line for line in doc.splitlines(True) if "run:" not in line)
    catalog.write_text("---\n".join(docs))


def test_a_run_plans_around_a_capability_it_cannot_perform(project: Path) -> None:
    """pay-cheap-eu was planned, "called", failed and charged 0.30; the run then
    replanned. Now the first plan pays with pay-pricey-eu and nothing is charged twice."""
    unbind(project, "pay-cheap-eu")
    code, planned = ido("plan", "ship-order")
    assert code == 0 and "1. pay-cheap-eu (cheappay)" in planned, planned  # planning: usable
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert "decision 1 (run started): pay-pricey-eu → ship (cost 1.30" in out
    assert "achieved: run" in out and "cost 1.30" in out
    assert "pay-cheap-eu" not in (project / "calls.log").read_text()
    told = ido("explain", "last")[1]
    assert "pay-cheap-eu: denied by spec.run: has no run binding" in told
    code, replayed = ido("replay", "last")
    assert code == 0 and "identical" in replayed, replayed


def test_when_every_way_needs_one_the_way_out_is_to_bind_it(project: Path) -> None:
    unbind(project, "pay-cheap-eu", "pay-pricey-eu")
    code, out = ido("run", "ship-order")
    assert code == 4, out  # no plan, nothing performed
    assert "pay-cheap-eu, pay-pricey-eu have no run binding" in out
    assert "or give pay-cheap-eu a run binding (spec.run) to allow pay-cheap-eu → ship" in out


def test_a_scenario_s_simulated_world_performs_it_without_one(project: Path) -> None:
    unbind(project, "pay-cheap-eu")
    (project / "scenarios").mkdir()
    (project / "scenarios" / "cheap-pays.yaml").write_text(SCENARIO)
    code, out = ido("scenario", "test", "scenarios")
    assert code == 0 and "1 passed" in out, out
