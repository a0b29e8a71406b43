"""Exact replay: every recorded decision re-decided from its recorded inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import JournalError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.replay import replay_exact
from ido.scenario.runner import load_scenarios, run_scenario

ROOT = Path(__file__).resolve().parents[1]
CATALOG = [ROOT / d for d in ("intents", "capabilities", "policies")]
runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_run_with_a_failure_and_a_replan_replays_identically(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    code, out = ido("replay", "last")
    assert code == 0, out
    assert "identical: 2 decision(s)" in out


def test_a_later_run_that_starts_from_learnt_beliefs_replays_identically(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run 2 plans with what run 1 learnt; its replay uses the beliefs recorded at its start."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "ship-order")
    monkeypatch.delenv("FAKESVC_FAIL")
    ido("run", "ship-order")
    code, out = ido("replay", "last")
    assert code == 0, out


def test_a_changed_policy_shows_the_first_divergence_side_by_side(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ido("run", "ship-order")[0] == 0
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-cheappay\n      effect: deny\n"
        + "      when: \"capability.provider == 'cheappay'\"\n      message: Contract ended.\n"
    )
    code, out = ido("replay", "last")
    assert code == 1, out
    assert "diverged at decision 1 of run" in out
    assert "result.plan" in out
    assert "recorded: pay-cheap-eu → ship" in out
    assert "replayed: pay-pricey-eu → ship" in out


def test_a_resumed_run_replays_identically(project: Path) -> None:
    """Replay crosses a resume: the beliefs stored at the resume are its starting point."""
    from tests.runtime.test_resume import ido as ido_process
    from tests.runtime.test_resume import make_project

    shop = make_project(project / "shop")
    ido_process(shop, "run", "deliver", IDO_CRASH_AFTER_EVENTS="5")
    assert ido_process(shop, "resume", "last").returncode == 0
    replayed = ido_process(shop, "replay", "last")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical" in replayed.stdout


@pytest.mark.parametrize("file", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_replays_identically(file: Path) -> None:
    """Outages, silent failures, a policy switched on mid-run, compensation: all re-decided."""
    (scenario,), catalog = load_scenarios(file, CATALOG)
    result = run_scenario(scenario, catalog, base=ROOT)
    events = result.journal.events(result.report.run_id)
    replay = replay_exact(result.report.run_id, events, catalog)
    assert replay.divergence is None, replay.divergence
    assert replay.decisions == sum(1 for e in events if e.kind == "decided")


def test_a_journal_without_decision_inputs_cannot_be_replayed_exactly(project: Path) -> None:
    ido("run", "ship-order")
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        run_id = store.resolve("last")
        events = store.events(run_id)
    for event in events:
        event.data.pop("now", None)
    with pytest.raises(JournalError, match="did not keep every input of a decision"):
        replay_exact(run_id, events, load_catalog(["capabilities", "policies", "intents"]))


def test_replaying_an_unknown_run_is_a_clear_error(project: Path) -> None:
    ido("run", "ship-order")
    code, out = ido("replay", "r-nope")
    assert code == 2
    assert "run 'r-nope' not found" in out
