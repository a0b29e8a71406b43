"""`ido replay … --fail-on`: a what-if that fails a CI job when a changed policy would
change what recorded runs came to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.journal.sqlite import SqliteJournal
from tests.test_replay_many import NO_CHEAPPAY, NO_PAYMENTS, policies_with, two_runs

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_fail_on_outcome_exits_1_naming_the_runs_whose_outcome_a_new_rule_moves(
    project: Path,
) -> None:
    """A what-if replay exited 0 whatever it found, so a CI job had to grep its words to
    fail a policy change that stops deploys: `--fail-on outcome` exits 1 and names them."""
    first, second = two_runs(project)
    frozen = str(policies_with(project, NO_PAYMENTS))
    code, out = ido("replay", first, second, "--policies", frozen, "--fail-on", "outcome")
    assert code == 1, out
    assert out.endswith(f"\n--fail-on outcome: the outcome changes for {first}, {second}\n")
    code, out = ido("replay", first, "--policies", frozen, "--fail-on", "outcome")
    assert code == 1 and "outcome: achieved → failed" in out, out
    assert out.endswith("\n--fail-on outcome: the outcome changes under these inputs\n"), out
    code, out = ido("replay", first, second, "--policies", frozen)  # without it: a report
    assert code == 0, out


def test_a_rule_that_changes_plans_but_no_outcome_fails_only_the_decision_gate(
    project: Path,
) -> None:
    first, second = two_runs(project)
    other = str(policies_with(project, NO_CHEAPPAY))
    code, out = ido("replay", first, second, "--policies", other, "--fail-on", "outcome")
    assert code == 0 and "2 of 2 run(s) decide otherwise" in out, out
    code, out = ido("replay", first, second, "--policies", other, "--fail-on", "decision")
    assert code == 1, out
    assert out.endswith(f"--fail-on decision: the decision changes for {first}, {second}\n")


def test_fail_on_is_refused_for_an_exact_replay_and_for_another_word(project: Path) -> None:
    first, _ = two_runs(project)
    code, out = ido("replay", first, "--fail-on", "outcome")
    assert code == 2 and "--fail-on judges a what-if (--policies, --catalog" in out, out
    code, out = ido("replay", first, "--policies", "policies", "--fail-on", "outcomes")
    assert code == 2 and "'outcomes' is not one of outcome, decision" in out, out


def test_a_run_blocked_on_a_step_a_crash_cut_short_does_not_fail_the_gate(
    project: Path,
) -> None:
    """A run killed mid-step (a CI job's timeout) and resumed waits for a person's word on
    that step (`resume/outcome-unknown`); a replay under the very same policies meets the
    call the crash cut short as the run did, its outcome unknown, and waits for the same
    word: neither gate fails on it. Left interrupted, not resumed, the replay makes the
    call and says it never saw how it ended."""
    run_id = crashed_in_pay_cheap_eu(project)
    code, out = ido("replay", run_id, "--policies", "policies", "--fail-on", "outcome")
    assert code == 0 and "outcome: interrupted → achieved" in out, out
    # It had called pay-cheap-eu: "the recording never called pay-cheap-eu" said otherwise.
    assert "the recording never saw how its call of pay-cheap-eu ended (cut short)" in out, out
    code, out = ido("resume", run_id)
    assert code == 3 and "resume/outcome-unknown" in out, out
    for gate in ("outcome", "decision"):
        code, out = ido("replay", run_id, "--policies", "policies", "--fail-on", gate)
        assert code == 0 and "outcome: blocked → blocked" in out, out


def test_a_rule_that_fails_runs_a_crash_left_without_an_outcome_fails_the_gate(
    project: Path,
) -> None:
    """A run a crash left interrupted, or blocked on the step it cut short, has no outcome
    a replay meets; the gate let a policy that stops every payment pass on such runs,
    though the report said `outcomes: interrupted → failed ×1, blocked → failed ×1`."""
    frozen = str(policies_with(project, NO_PAYMENTS))
    interrupted = crashed_in_pay_cheap_eu(project)
    code, out = ido("replay", interrupted, "--policies", frozen, "--fail-on", "outcome")
    assert code == 1 and "outcome: interrupted → failed" in out, out
    code, out = ido("resume", interrupted)
    assert code == 3 and "resume/outcome-unknown" in out, out
    code, out = ido("replay", interrupted, "--policies", frozen, "--fail-on", "outcome")
    assert code == 1 and "outcome: blocked → failed" in out, out
    code, out = ido("run", "ship-order")
    assert code == 0, out
    code, out = ido("replay", interrupted, "last", "--policies", frozen, "--fail-on", "outcome")
    assert code == 1, out
    last = out.splitlines()[-1]
    assert last.startswith("--fail-on outcome: the outcome changes for ") and interrupted in last
    # A rule that changes the plan but still achieves: the decision's matter, not the outcome's.
    policy = Path(frozen) / "residency.yaml"
    policy.write_text(policy.read_text().replace(NO_PAYMENTS, NO_CHEAPPAY))
    code, out = ido("replay", interrupted, "--policies", frozen, "--fail-on", "outcome")
    assert code == 0 and "outcome: blocked → achieved" in out, out
    code, out = ido("replay", interrupted, "--policies", frozen, "--fail-on", "decision")
    assert code == 1, out


def crashed_in_pay_cheap_eu(project: Path) -> str:
    """A run of ship-order killed while pay-cheap-eu is in flight (left interrupted)."""
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    for n in range(1, 30):  # the first commit after which pay-cheap-eu is in flight
        journal = project / ".ido" / "ido.db"
        for stale in project.joinpath(".ido").glob("ido.db*"):
            stale.unlink()
        crash = {**env, "IDO_CRASH_AFTER_EVENTS": str(n)}
        cmd = [sys.executable, "-m", "ido", "run", "ship-order"]
        subprocess.run(cmd, cwd=project, env=crash, capture_output=True, check=False)
        with SqliteJournal(journal) as store:
            (row,) = store.runs()
            last = store.events(row.id)[-1]
        if last.kind == "action_started" and last.data["capability"] == "pay-cheap-eu":
            return row.id
    raise AssertionError("no crash left pay-cheap-eu in flight")
