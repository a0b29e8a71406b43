"""A what-if replay of a run a crash cut short in a call (`kill -9`), whose resume asked a
person about it (`resume/outcome-unknown`): the call is replayed as the run met it, its
outcome unknown, not as never made (its provider may have done it) nor as done."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal.records import Event
from ido.journal.sqlite import SqliteJournal
from ido.testing import MemoryJournal
from tests.crashes import killed_when, started
from tests.test_replay_gate import crashed_in_pay_cheap_eu
from tests.test_replay_many import NO_CHEAPPAY, policies_with

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def _blocked_on_the_cut_call(project: Path) -> str:
    run_id = crashed_in_pay_cheap_eu(project)
    code, out = ido("resume", run_id)
    assert code == 3 and "resume/outcome-unknown" in out, out
    return run_id


def test_a_run_blocked_on_a_cut_call_replays_blocked_on_it_under_the_same_policies(
    project: Path,
) -> None:
    """The replay took the cut call as never made, called pay-cheap-eu afresh, assumed it
    succeeded and said `blocked → achieved`, the person's question `no longer asked`, as
    if the policies had spared it: the same inputs come to the same question."""
    run_id = _blocked_on_the_cut_call(project)
    code, out = ido("replay", run_id, "--policies", "policies")
    assert code == 0, out
    assert "decision 1: same choice\n" in out, out
    assert (
        "outcome: blocked → blocked (pay-cheap-eu needs approval (resume/outcome-unknown: " in out
    )
    assert "step 1 (pay-cheap-eu) was interrupted, and nothing observes its effects" in out, out
    assert "unknown outcomes" not in out and "no longer asked" not in out, out
    code, out = ido("replay", run_id)
    assert code == 0 and out.startswith("identical: 1 decision(s)"), out


def test_a_cut_call_resumed_after_the_deadline_replays_blocked_on_it_as_the_run_did(
    project: Path,
) -> None:
    """Killed, and resumed once the run's deadline had passed (a `kill -9` is seldom
    answered within seconds): the resume asked a person, and the run was blocked. The
    replay under the same policies took the time up to the question, the downtime in it,
    for the call's own, past its deadline: it said the deadline stopped the call, made a
    decision 2 the run never made and `blocked → failed`, and `--fail-on decision` failed
    a replay of the same inputs."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("deadline: 30s", "deadline: 2s"))
    run_id = crashed_in_pay_cheap_eu(project)
    time.sleep(2.5)  # the process is down past the run's deadline
    code, out = ido("resume", run_id)
    assert code == 3 and "resume/outcome-unknown" in out, out
    code, out = ido("replay", run_id, "--policies", "policies", "--fail-on", "decision")
    assert code == 0, out
    assert "decision 1: same choice\noutcome: blocked → blocked (pay-cheap-eu needs" in out, out
    assert "was interrupted, and nothing observes its effects" in out, out
    assert "deadline" not in out, out


def test_an_approved_repeat_of_a_cut_call_replays_as_the_second_call_it_was(
    project: Path,
) -> None:
    """Approved and made again under its key, the repeat's outcome is the cut call's
    second: the replay meets the same question, gets the recorded verdict and the repeat's
    outcome, and pairs every decision (one charge, counted once)."""
    run_id = _blocked_on_the_cut_call(project)
    code, out = ido("approve", run_id, "--by", "ops")
    assert code == 0, out
    code, out = ido("resume", run_id)
    assert code == 0 and "achieved" in out, out
    code, out = ido("replay", run_id, "--policies", "policies")
    assert code == 0, out
    assert "decision 1: same choice\n" in out, out
    assert "outcome: achieved → achieved\ncost: 0.80 → 0.80;" in out, out
    assert "no longer asked" not in out and "left out" not in out, out
    assert "and the waits for approval" in out, out
    code, out = ido("replay", run_id)
    assert code == 0 and out.startswith("identical: 2 decision(s)"), out


def test_a_rejected_repeat_of_a_cut_call_replays_failed_as_the_run_did(project: Path) -> None:
    """Rejected, the run failed on the cut call; the replay took it as never made and
    achieved (`failed → achieved`), as if the policies had saved the run."""
    run_id = _blocked_on_the_cut_call(project)
    code, out = ido("reject", run_id, "--by", "ops", "--comment", "not twice")
    assert code == 0, out
    code, out = ido("resume", run_id)
    assert code == 1 and "failed" in out, out
    code, out = ido("replay", run_id, "--policies", "policies", "--fail-on", "outcome")
    assert code == 0, out
    assert "decision 1: same choice\n" in out, out
    assert "outcome: failed → failed (step 1 pay-cheap-eu was interrupted with its outcome" in out


def test_a_policy_that_spares_the_cut_call_still_changes_the_outcome(project: Path) -> None:
    """A rule that keeps the run from the cut call's provider does change what it comes
    to: the replay pays elsewhere, and no question about the cut call is asked."""
    run_id = _blocked_on_the_cut_call(project)
    other = str(policies_with(project, NO_CHEAPPAY))
    code, out = ido("replay", run_id, "--policies", other, "--fail-on", "outcome")
    assert code == 0 and "outcome: blocked → achieved" in out, out
    assert "approval resume/outcome-unknown for pay-cheap-eu no longer asked" in out, out


def _repeat_cut_short_again(project: Path) -> str:
    """A run whose cut call a person approved repeating, killed again in the repeat and
    resumed: failed, the repeat's outcome still unknown."""
    run_id = _blocked_on_the_cut_call(project)
    code, out = ido("approve", run_id, "--by", "ops")
    assert code == 0, out
    repeated = killed_when(project, ("resume", run_id), lambda e: e.kind == "action_repeated")
    assert repeated == run_id
    code, out = ido("resume", run_id)
    assert code == 1 and "was interrupted again: its outcome is still unknown" in out, out
    return run_id


def test_an_approved_repeat_cut_short_again_replays_failed_as_the_run_did(
    project: Path,
) -> None:
    """Killed again in the approved repeat, the run failed (its outcome still unknown);
    the replay took the repeat as a call never made, assumed it succeeded and achieved."""
    run_id = _repeat_cut_short_again(project)
    code, out = ido("replay", run_id, "--policies", "policies")
    assert code == 0, out
    assert "outcome: failed → failed (step 1 pay-cheap-eu was performed again as approved, " in out
    assert "unknown outcomes" not in out, out


def test_an_approved_repeat_cut_short_again_is_settled_in_the_replay_as_the_run_did(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run settled the repeat an interruption cut short again as cut short: not done,
    nothing learnt of its provider, no failure of it counted. The replay settled it as a
    repeat that timed out, a failure of its provider (`resumed: approved`, learnt from and
    counted), and the run's words were not its own ("was interrupted again" from a timeout's
    error). It is now settled as the run settled it."""
    run_id = _repeat_cut_short_again(project)
    replayed: list[MemoryJournal] = []

    class Kept(MemoryJournal):
        """The replay's own journal, kept to read (a MemoryJournal, as it is)."""

        def __init__(self) -> None:
            super().__init__()
            replayed.append(self)

    monkeypatch.setattr("ido.testing.MemoryJournal", Kept)
    code, out = ido("replay", run_id, "--policies", "policies")
    assert code == 0 and "outcome: failed → failed" in out, out
    keys = ("ok", "error", "timed_out", "resumed", "interrupted", "settled")

    def settled(events: Sequence[Event]) -> list[dict[str, object]]:
        ends = [e.data for e in events if e.kind == "action_finished"]
        return [{k: end.get(k) for k in keys} for end in ends if end["step"] == 1][-1:]

    with SqliteJournal(project / ".ido" / "ido.db") as store:
        recorded = settled(store.events(run_id))
    (journal,) = replayed
    assert recorded and recorded[0]["resumed"] == "interrupted", recorded
    assert settled(journal.events(f"{run_id}-counterfactual")) == recorded


LEDGER = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: payco
  requires: ["!state.x.paid"]
  effects: {x.paid: true}
  cost: 0.30
  run: {shell: ["cp", "paid.json", "ledger.json"]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.x.paid"]
  effects: {x.shipped: true}
  cost: 0.50
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: ledger}
spec: {file: ../ledger.json}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: go}
spec:
  goal: ["state.x.paid", "state.x.shipped"]
  observers: [ledger]
"""


def test_a_cut_call_its_resume_found_not_done_is_replayed_made_and_not_done(
    tmp_path: Path,
) -> None:
    """Killed in `pay`, resumed: the ledger shows it not paid, so the step is not done and
    pay is made again (both calls counted, 1.10). The replay took the cut call as never
    made: under the same inputs it said cost 1.10 → 0.80 and a decision 2 with no
    recorded counterpart."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(LEDGER)
    (tmp_path / "paid.json").write_text('{"x": {"paid": true}}')
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    unpaid = lambda: (tmp_path / "ledger.json").write_text('{"x": {"paid": false}}')  # noqa: E731
    args = ("run", "go", "--catalog", "capabilities")
    run_id = killed_when(tmp_path, args, started("pay"), before_each=unpaid)
    ido_ = [sys.executable, "-m", "ido"]
    done = subprocess.run(
        [*ido_, "resume", run_id, "--catalog", "capabilities"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "its effects are observed not to hold" in done.stdout, done
    assert "achieved" in done.stdout and "cost 1.10" in done.stdout, done.stdout
    replay = [*ido_, "replay", run_id, "--catalog", "capabilities"]
    out = subprocess.run(
        replay, cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    ).stdout
    assert "decision 1: same choice\ndecision 2: same choice\n" in out, out
    assert "outcome: achieved → achieved\ncost: 1.10 → 1.10;" in out, out
    assert "unknown outcomes" not in out and "left out" not in out, out


SIDE_BY_SIDE = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: do-a}
spec:
  provider: pa
  requires: ["!state.x.a"]
  effects: {x.a: true}
  cost: 0.30
  run: {shell: ["cp", "done.json", "ledger.json"]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: do-b}
spec:
  provider: pb
  requires: ["!state.x.b"]
  effects: {x.b: true}
  cost: 0.50
  run: {shell: ["true"]}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: ledger}
spec: {file: ../ledger.json}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: go}
spec:
  goal: ["state.x.a", "state.x.b"]
  observers: [ledger]
"""


def _killed_between_the_starts(
    folder: Path, catalog: str, last_started: str = "do-a"
) -> tuple[str, dict[str, str]]:
    """A run of `go` killed with do-a started and do-b, beside it, not yet (or, with
    `last_started` do-b, both started): its id, and the environment to run ido in."""
    (folder / "capabilities").mkdir()
    (folder / "capabilities" / "all.yaml").write_text(catalog)
    (folder / "done.json").write_text('{"x": {"a": true}}')
    env = {k: v for k, v in os.environ.items() if k != "IDO_JOURNAL"}
    undone = lambda: (folder / "ledger.json").write_text('{"x": {"a": false}}')  # noqa: E731
    args = ("run", "go", "--catalog", "capabilities")
    return killed_when(folder, args, started(last_started), before_each=undone), env


def _ido_in(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ido", *args, "--catalog", "capabilities"]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, check=False)


def test_a_run_killed_between_two_side_by_side_starts_replays_the_same(tmp_path: Path) -> None:
    """do-a and do-b run side by side; the run is killed with do-a started and do-b not
    yet. Its resume finds do-a not done and decides both again. The replay started do-b
    beside the cut do-a, had it done before that decision, and said "decision 2 changes"
    (do-a alone) under the same inputs: it starts no step the recording had not."""
    run_id, env = _killed_between_the_starts(tmp_path, SIDE_BY_SIDE)
    done = _ido_in(tmp_path, env, "resume", run_id)
    assert "decision 2 (resumed after an interruption): do-a + do-b" in done.stdout, done
    assert "achieved" in done.stdout and "cost 1.10" in done.stdout, done.stdout
    out = _ido_in(tmp_path, env, "replay", run_id, "--fail-on", "decision")
    assert out.returncode == 0, out
    assert "decision 1: same choice\ndecision 2: same choice\n" in out.stdout, out.stdout
    assert "outcome: achieved → achieved\ncost: 1.10 → 1.10;" in out.stdout, out.stdout


def test_a_run_killed_between_two_starts_and_left_to_a_person_replays_blocked_as_it_was(
    tmp_path: Path,
) -> None:
    """With nothing observing do-a, the resume asks a person and the run is blocked,
    do-b never called. The replay called do-b beside the cut do-a: `cost: 0.00 → 0.50`,
    and `never called do-b` among its unknown outcomes."""
    unobserved = SIDE_BY_SIDE.replace("  observers: [ledger]\n", "")
    run_id, env = _killed_between_the_starts(tmp_path, unobserved)
    done = _ido_in(tmp_path, env, "resume", run_id)
    assert done.returncode == 3 and "resume/outcome-unknown" in done.stdout, done
    out = _ido_in(tmp_path, env, "replay", run_id)
    assert out.returncode == 0, out
    assert "decision 1: same choice\noutcome: blocked → blocked" in out.stdout, out.stdout
    assert "cost: 0.00 → 0.00;" in out.stdout, out.stdout
    assert "unknown outcomes" not in out.stdout, out.stdout


def test_a_run_killed_with_two_side_by_side_calls_in_flight_replays_both_started(
    tmp_path: Path,
) -> None:
    """Killed with do-a and do-b both in flight, the run's resume found do-a not done and
    made do-b again (idempotent, under its key), then decided do-a alone. The replay took
    do-b, settled on resume without being cut short, for a step the run had not started
    before the kill: it held do-b back beside the cut do-a, decided both again and said
    "decision 2 changes" under the same inputs."""
    catalog = SIDE_BY_SIDE.replace("  cost: 0.50\n", "  cost: 0.50\n  idempotent: true\n")
    run_id, env = _killed_between_the_starts(tmp_path, catalog, last_started="do-b")
    done = _ido_in(tmp_path, env, "resume", run_id)
    assert "decision 2 (resumed after an interruption): do-a (" in done.stdout, done
    assert "achieved" in done.stdout and "cost 1.10" in done.stdout, done.stdout
    out = _ido_in(tmp_path, env, "replay", run_id, "--fail-on", "decision")
    assert out.returncode == 0, out
    assert "decision 1: same choice\ndecision 2: same choice\n" in out.stdout, out.stdout
    assert "outcome: achieved → achieved\ncost: 1.10 → 1.10;" in out.stdout, out.stdout


DO_AB = """\
---
apiVersion: ido/v1
kind: Capability
metadata: {name: do-ab}
spec:
  provider: pab
  requires: ["!state.x.ab"]
  effects: {x.ab: true}
  cost: 0.40
  run: {shell: ["true"]}
"""


def test_a_step_the_run_never_started_holds_back_no_step_after_it_that_it_did(
    tmp_path: Path,
) -> None:
    """Killed with do-a and do-b both in flight; the what-if also wants do-ab, which the
    plan puts between them. The replay stopped starting steps at do-ab (never started
    before the kill) and so did not start do-b either, which the run had made beside
    do-a: its decision 2 planned do-b again. It starts do-b beside do-a, as the run did."""
    catalog = SIDE_BY_SIDE.replace("  cost: 0.50\n", "  cost: 0.50\n  idempotent: true\n")
    run_id, env = _killed_between_the_starts(tmp_path, catalog, last_started="do-b")
    done = _ido_in(tmp_path, env, "resume", run_id)
    assert "achieved" in done.stdout and "cost 1.10" in done.stdout, done.stdout
    wider = catalog.replace('"state.x.b"]', '"state.x.b", "state.x.ab"]') + DO_AB
    (tmp_path / "capabilities" / "all.yaml").write_text(wider)
    out = _ido_in(tmp_path, env, "replay", run_id, "--intent", "capabilities/all.yaml")
    assert out.returncode == 0, out
    assert "now: run started → do-a + do-ab + do-b (" in out.stdout, out.stdout  # do-ab between
    assert "from there → do-a + do-ab (cost 0.70" in out.stdout, out.stdout
