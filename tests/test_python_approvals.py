"""Answering a blocked run from Python (`ido.approve`, `ido.reject`), as a service's own
approval endpoint would: recorded as `ido approve` and `ido reject` record it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ido

NEEDS = """\
apiVersion: ido/v1
kind: Policy
metadata: {{name: spend}}
spec:
  rules:
    - id: payments
      effect: require_approval
      when: "'payments' in capability.tags"
      message: A person approves every payment.
      approvers: {approvers}
"""


def _blocked(project: Path, journal: ido.Journal, approvers: int = 1) -> ido.RunReport:
    (project / "policies" / "spend.yaml").write_text(NEEDS.format(approvers=approvers))
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("[residency]", "[residency, spend]"))
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    report = ido.LocalRuntime(catalog, journal, base=project).run(catalog.intents["ship-order"])
    assert report.outcome == "blocked"
    return report


def _runtime(journal: ido.Journal, project: Path) -> ido.LocalRuntime:
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    return ido.LocalRuntime(catalog, journal, base=project)


def test_an_approval_from_python_lets_the_run_go_on(project: Path, tmp_path: Path) -> None:
    """Approved from Python, the run resumes to its end, and the journal holds the verdict
    as `ido approve` writes it: `ido approvals` lists nothing waiting."""
    path = tmp_path / "ido.db"
    with ido.open_journal(path) as journal:
        blocked = _blocked(project, journal)
        with pytest.raises(ido.IdoError, match="still waits for approval"):
            _runtime(journal, project).resume(blocked.run_id)
        assert ido.approve(journal, blocked.run_id, by="alice", comment="known customer") == []
        done = _runtime(journal, project).resume(blocked.run_id)
        kinds = [e.kind for e in journal.events(blocked.run_id)]
    assert done.outcome == "achieved"
    assert "approval_given" in kinds
    waiting = subprocess.run(
        [sys.executable, "-m", "ido", "approvals", "--journal", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert blocked.run_id not in waiting.stdout


def test_a_rejection_fails_the_run_saying_who_and_why(project: Path) -> None:
    """Rejected (on a MemoryJournal, as a test of a service would), the run fails on
    resuming, its reason naming who rejected it and why."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal)
    ido.reject(journal, "last", by="bob", comment="card reported stolen")
    done = _runtime(journal, project).resume(blocked.run_id)
    assert done.outcome == "failed"
    assert done.reason is not None
    assert "bob" in done.reason
    assert "card reported stolen" in done.reason


def test_a_rule_of_two_people_says_what_it_still_waits_for(project: Path) -> None:
    """One approval of a rule that needs two is recorded, and said as still waiting; the
    same person again is refused; a second person's approval lets the run go on."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal, approvers=2)
    (still,) = ido.approve(journal, blocked.run_id, by="alice")
    assert "spend/payments" in still
    assert "1 of 2 approvals (alice)" in still
    with pytest.raises(ido.IdoError, match="alice already approved"):
        ido.approve(journal, blocked.run_id, by="alice")
    assert ido.approve(journal, blocked.run_id, by="carol") == []
    assert _runtime(journal, project).resume(blocked.run_id).outcome == "achieved"


def test_a_verdict_that_cannot_be_given_is_an_error(project: Path) -> None:
    """No one named, a rejection without its reason, a run that waits for nothing: an
    IdoError each, in words for the caller (no `--by` of a command), nothing written."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal)
    before = len(journal.events(blocked.run_id))
    with pytest.raises(ido.IdoError, match=r"^by must name who decides$"):
        ido.approve(journal, blocked.run_id, by=" ")
    with pytest.raises(ido.IdoError, match=r"^comment must say why"):
        ido.reject(journal, blocked.run_id, by="bob", comment="")
    with pytest.raises(ido.NotFoundError, match="run 'nope' not found"):
        ido.approve(journal, "nope", by="alice")
    assert len(journal.events(blocked.run_id)) == before
    ido.approve(journal, blocked.run_id, by="alice")
    with pytest.raises(ido.IdoError, match=r"already answered.*LocalRuntime.resume\('r"):
        ido.approve(journal, blocked.run_id, by="dave")
    _runtime(journal, project).resume(blocked.run_id)
    with pytest.raises(ido.IdoError, match="is not waiting for an approval"):
        ido.approve(journal, blocked.run_id, by="dave")


def test_a_verdict_of_values_a_request_may_carry_is_an_error_not_a_traceback(
    project: Path,
) -> None:
    """What a service's endpoint passes on from its request: no user (None), a comment
    that is not text, a step as text. Each is an IdoError saying which, nothing written
    (an AttributeError came out of `by=None`; `step="1"` was refused as "not step 1")."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal)
    before = len(journal.events(blocked.run_id))
    with pytest.raises(ido.IdoError, match=r"^by must name who decides$"):
        ido.approve(journal, blocked.run_id, by=None)  # type: ignore[arg-type]
    with pytest.raises(ido.IdoError, match=r"^by must name who decides$"):
        ido.reject(journal, blocked.run_id, by=None, comment="no")  # type: ignore[arg-type]
    with pytest.raises(ido.IdoError, match=r"^comment must be text, not 5$"):
        ido.approve(journal, blocked.run_id, by="alice", comment=5)  # type: ignore[arg-type]
    with pytest.raises(ido.IdoError, match=r"^step must be a step's number \(0: the plan\)"):
        ido.approve(journal, blocked.run_id, by="alice", step="1")  # type: ignore[arg-type]
    with pytest.raises(ido.IdoError, match=r"^step must be a step's number \(0: the plan\)"):
        ido.approve(journal, blocked.run_id, by="alice", step=True)
    assert len(journal.events(blocked.run_id)) == before


def test_one_rule_is_one_rule_not_its_letters(project: Path) -> None:
    """`rules="spend/payments"`, one rule as a string, answers that rule's request: it was
    read as its letters, and refused as "not s, p, e, n, d, …"."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal)
    assert ido.approve(journal, blocked.run_id, by="alice", rules="spend/payments") == []
    assert _runtime(journal, project).resume(blocked.run_id).outcome == "achieved"


def test_a_refusal_from_python_names_the_arguments_not_the_commands_options(
    project: Path,
) -> None:
    """A step or rule nothing waits under, or the same person twice, refused from Python
    says `step` (0: the plan), `rules`: it said `--step takes a number ... or plan`, an
    option of the command, and `plan` is no step a Python caller may pass."""
    journal = ido.MemoryJournal()
    blocked = _blocked(project, journal, approvers=2)
    with pytest.raises(ido.IdoError) as step:
        ido.approve(journal, blocked.run_id, by="alice", step=7)
    assert str(step.value).endswith("(step takes a number `ido approvals` shows, or 0: the plan)")
    with pytest.raises(ido.IdoError) as rule:
        ido.approve(journal, blocked.run_id, by="alice", rules=["x/y"])
    assert str(rule.value).endswith("(rules takes rules `ido approvals` shows, as policy/rule)")
    ido.approve(journal, blocked.run_id, by="alice")
    with pytest.raises(ido.IdoError) as twice:
        ido.approve(journal, blocked.run_id, by="alice")
    assert "--" not in str(twice.value)


def test_approving_a_running_run_from_python_names_the_python_list_of_requests(
    tmp_path: Path,
) -> None:
    """`ido.approve` on a run still running sent its caller to the CLI's `ido approvals`;
    the Python API lists requests with `ido.pending_approvals`."""
    from ido.journal import SqliteJournal
    from ido.runtime.owners import _host

    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with SqliteJournal(tmp_path / "ido.db") as journal:
            owner = {"process": dict(_host(running.pid))}
            journal.start_run("r01", "ship-order", "2026-12-07T12:00:01.000+00:00", owner)
            with pytest.raises(ido.IdoError) as refused:
                ido.approve(journal, "r01", by="bob")
    finally:
        running.kill()
        running.wait()
    assert str(refused.value) == (
        "run r01 is not waiting for an approval: it is running; a request it makes is "
        "listed by ido.pending_approvals(journal)"
    )
