"""What blocked runs wait for, from Python (`ido.pending_approvals`): what `ido approvals`
lists, read by the same code, from a real SQLite journal."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

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
      expires: 1h
      escalate: [{{to: cfo, expires: 2h}}]
"""


def _blocked(
    project: Path, journal: ido.Journal, approvers: int = 1, owner: str | None = None
) -> ido.RunReport:
    policy = NEEDS.format(approvers=approvers)
    if owner is not None:
        policy = policy.replace("  rules:", f"  owner: {owner}\n  rules:")
    (project / "policies" / "spend.yaml").write_text(policy)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("[residency]", "[residency, spend]"))
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    report = ido.LocalRuntime(catalog, journal, base=project).run(catalog.intents["ship-order"])
    assert report.outcome == "blocked"
    return report


def _cli(path: Path) -> list[dict[str, object]]:
    listed = subprocess.run(
        [sys.executable, "-m", "ido", "approvals", "--journal", str(path), "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: list[dict[str, object]] = json.loads(listed.stdout)
    return parsed


def test_a_blocked_run_s_request_is_listed_as_the_command_lists_it(
    project: Path, tmp_path: Path
) -> None:
    """One request, typed, with what `ido approvals -f json` says of it; answered, none."""
    path = tmp_path / "ido.db"
    with ido.open_journal(path) as journal:
        blocked = _blocked(project, journal)
        (waiting,) = ido.pending_approvals(journal)
    (listed,) = _cli(path)
    assert isinstance(waiting, ido.PendingApproval)
    assert (waiting.run, waiting.intent, waiting.rule) == (
        blocked.run_id,
        "ship-order",
        "spend/payments",
    )
    assert waiting.message == "A person approves every payment."
    assert (waiting.step, waiting.capability) == (listed["step"], listed["capability"])
    assert waiting.what.startswith("plan step ") and waiting.capability in waiting.what
    assert waiting.cost == listed["cost"] and waiting.since == listed["since"]
    assert (waiting.approvers, waiting.approved_by, waiting.expired) == (1, (), False)
    assert (waiting.escalated_to, waiting.until) == (None, listed["expires"])
    with ido.open_journal(path) as journal:
        ido.approve(journal, blocked.run_id, by="alice")
        assert ido.pending_approvals(journal) == []


def test_escalation_stands_where_the_clock_given_puts_it(project: Path) -> None:
    """Past its first wait (1h) the request is escalated to the cfo; past both, expired."""
    journal = ido.MemoryJournal()
    _blocked(project, journal)
    (asked,) = ido.pending_approvals(journal)
    (later,) = ido.pending_approvals(journal, now=asked.since + 3600 + 1)
    assert (later.escalated_to, later.until) == ("cfo", asked.since + 3 * 3600)
    (last,) = ido.pending_approvals(journal, now=asked.since + 3 * 3600 + 1)
    assert last.expired


def test_a_clock_that_is_no_time_is_refused_not_judged(project: Path) -> None:
    """`now=nan` said the request was escalated to the cfo and yet not expired, and a
    `datetime` passed unread until a request had a wait to compare it with: a time that is
    no number of seconds is an `IdoError`, as a `limit` that is no count is."""
    from datetime import UTC, datetime

    journal = ido.MemoryJournal()
    _blocked(project, journal)
    for wrong in (float("nan"), float("inf"), datetime.now(UTC), True, "1796663713"):
        with pytest.raises(ido.IdoError, match=r"^now must be a time in epoch seconds"):
            ido.pending_approvals(journal, now=wrong)  # type: ignore[arg-type]
    assert len(ido.pending_approvals(journal, now=0)) == 1  # (an int is seconds too)


def test_a_rule_of_two_people_names_who_approved_so_far_and_no_comment(
    project: Path,
) -> None:
    """Who approved so far is listed; what they wrote is not (a comment may hold what a
    person pasted: `ido approvals` does not show it either)."""
    journal = ido.MemoryJournal()
    _blocked(project, journal, approvers=2)
    ido.approve(journal, "last", by="alice", comment="token sk-live-0123456789")
    (waiting,) = ido.pending_approvals(journal)
    assert (waiting.approvers, waiting.approved_by) == (2, ("alice",))
    assert "sk-live" not in repr(dataclasses.astuple(waiting))


def test_intents_and_limit_choose_as_the_command_s_options_do(project: Path) -> None:
    """Of the named intents alone (one name, or several), the first `limit` waiting."""
    journal = ido.MemoryJournal()
    first = _blocked(project, journal)
    catalog = ido.load_catalog(["intents", "capabilities", "policies"])
    runtime = ido.LocalRuntime(catalog, journal, base=project)
    second = runtime.run(catalog.intents["ship-order"])
    assert [w.run for w in ido.pending_approvals(journal)] == [first.run_id, second.run_id]
    assert [w.run for w in ido.pending_approvals(journal, limit=1)] == [first.run_id]
    assert ido.pending_approvals(journal, intents="other") == []
    assert len(ido.pending_approvals(journal, intents=["other", "ship-order"])) == 2
    with pytest.raises(ido.IdoError, match=r"^limit must be a whole number of 1 or more"):
        ido.pending_approvals(journal, limit=0)


def test_a_run_s_outcome_is_one_of_the_outcomes_the_command_gives_a_code() -> None:
    """`RunOutcome`, what `RunReport.outcome` is typed as, names every outcome `ido run`
    exits with a code for, and no other: a user's `match` on it covers them all."""
    from ido.cli.common import EXIT

    assert set(get_args(ido.RunOutcome)) == set(EXIT)
    hints = {f.name: f.type for f in dataclasses.fields(ido.RunReport)}
    assert hints["outcome"] == "RunOutcome"


def test_a_journal_opened_to_read_that_is_not_there_is_not_made(tmp_path: Path) -> None:
    """`SqliteJournal(path, reading=True)` made an empty journal, folders and all, where a
    path was misspelt, and `pending_approvals` of it said nothing waits: it is refused, as
    `open_journal(path, reading=True)` refuses it, and nothing is made."""
    typo = tmp_path / "typo" / "ido.db"
    with pytest.raises(ido.NotFoundError, match=r"^no journal at .*typo"):
        ido.SqliteJournal(typo, reading=True)
    assert not typo.parent.exists()


def test_requests_are_listed_by_their_rule_s_owner_as_the_command_lists_them(
    project: Path, tmp_path: Path
) -> None:
    """`ido approvals --owner finance` listed a team's requests; from Python, a script
    had to filter them itself (`owner` is on each, but `limit` had cut the list first)."""
    path = tmp_path / "ido.db"
    with ido.open_journal(path) as journal:
        _blocked(project, journal, owner="Finance")
        (mine,) = ido.pending_approvals(journal, owners="finance", limit=1)
        assert mine.owner == "Finance"
        assert ido.pending_approvals(journal, owners=["legal", "FINANCE"]) == [mine]
        assert ido.pending_approvals(journal, owners="legal") == []
    cmd = [sys.executable, "-m", "ido", "approvals", "--journal", str(path), "-f", "json"]
    listed = subprocess.run([*cmd, "--owner", "legal"], capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed
