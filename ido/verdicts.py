"""Recording a verdict on what a blocked run waits for: `ido approve`, `ido reject`, and
`ido.approve` / `ido.reject` from Python, checked and written alike."""

from __future__ import annotations

import functools
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ido.approval_verdicts import (
    check_not_expired,
    choose,
    not_blocked,
    not_waiting,
    verdict_data,
)
from ido.approvals import Key, Request, answering, requests, step_words, tally, waiting_of
from ido.approvers import check_new_approver, next_approval, so_far_words
from ido.errors import IdoError
from ido.journal.records import Event, scenario_of, stamp
from ido.text import verdict_problem

if TYPE_CHECKING:
    from ido.journal.sqlite import SqliteJournal
    from ido.testing import MemoryJournal

APPROVED = "approval_given"
REJECTED = "approval_rejected"


@dataclass(frozen=True)
class Recorded:
    """A verdict written: the requests it answered (`chosen`, each with which of its
    approvals it was, in `counts`), and those the run waited for before it."""

    run_id: str
    kind: str
    by: str
    chosen: list[Request]
    counts: dict[Key, int | None]
    unanswered: list[Request]
    partial: dict[Key, list[dict[str, Any]]]
    events: list[Event]

    def still(self) -> list[Request]:
        """The requests the run still waits for after this verdict (a rejection leaves
        none: the run fails on resuming)."""
        approving = self.kind == APPROVED
        answered = {
            r.key for r in self.chosen if not approving or (self.counts[r.key] or 1) >= r.approvers
        }
        return [r for r in self.unanswered if r.key not in answered]

    def still_words(self) -> list[str]:
        """`still()`, each in words: its step, rule, and who approved it so far."""
        after = {  # who approved each by now, this approval included
            r.key: [
                *(answering(self.partial, r.key) or []),
                *([{"by": self.by}] if r.key in self.counts else []),
            ]
            for r in self.still()
        }

        def said(r: Request) -> str:
            so_far = so_far_words(r, after)
            return f"{step_words(r)} ({r.rule}{', ' + so_far if so_far else ''})"

        return [said(r) for r in self.still()] if self.kind == APPROVED else []


def check_verdict(by: str, comment: str | None, kind: str, flag: str = "--") -> None:
    """Who decides and why, refused as `ido approve` refuses them (`flag`: how the fields
    are named to the one who gave them, `--by` or `by`)."""
    wrong = verdict_problem(by, comment, rejected=kind == REJECTED)
    if wrong is not None:
        raise IdoError(f"{flag}{wrong[0]} {wrong[1]}")


def record_verdict(
    store: SqliteJournal | MemoryJournal,
    run_ref: str,
    *,
    kind: str,
    by: str,
    comment: str | None,
    step: int | None = None,
    rules: Sequence[str] = (),
    resume: Callable[[str], str] = lambda run_id: f"ido resume {run_id}",
    now: Callable[[], float] = time.time,
    cli: bool = True,
    typed: Callable[[str], str] = lambda command: command,
) -> Recorded:
    """Record `by`'s verdict on the requests the blocked run waits for (all, or `step`'s,
    or those of `rules`), checked and written in one commit: of two verdicts at once, one
    wins and the other looks again. `resume`: how to carry on a run no longer waiting, for
    the error that says so; `cli`: whether a refusal names the command's options or
    `ido.approve`'s arguments; `typed`: an `ido` command as typed for this journal."""
    run_id = store.resolve(run_ref)
    while True:
        outcome = store.run(run_id).outcome
        events = store.events(run_id)
        if outcome != "blocked":
            said = not_blocked(run_id, outcome, events, resume(run_id), typed, cli)
            raise IdoError(said)
        scenario = scenario_of(events)
        if scenario is not None:
            name = scenario.get("metadata", {}).get("name")
            raise IdoError(
                f"run {run_id} blocked in the simulated world of scenario '{name}'; no "
                "verdict can continue it: run the scenario again instead"
            )
        given, partial = tally(events)
        unanswered = waiting_of(requests(events), given)
        if not unanswered:
            raise IdoError(not_waiting(run_id, events, resume(run_id)))
        chosen = choose(unanswered, run_id, step, list(rules), cli)
        moment = now()
        for request in chosen:
            check_not_expired(request, moment, run_id)
        approving = kind == APPROVED
        if approving:
            check_new_approver(run_id, chosen, partial, by, cli)
        # which of its approvals each is: a request needing N people waits for the Nth
        counts = {r.key: next_approval(r, partial) if approving else None for r in chosen}
        at = stamp(moment)
        written = [
            (kind, at, verdict_data(request, by, comment, moment, counts[request.key]))
            for request in chosen
        ]
        if store.append_after(run_id, events[-1].seq if events else 0, written):
            return Recorded(run_id, kind, by, chosen, counts, unanswered, partial, events)


def approve(
    journal: SqliteJournal | MemoryJournal,
    run: str,
    *,
    by: str,
    comment: str | None = None,
    step: int | None = None,
    rules: Sequence[str] | str = (),
) -> list[str]:
    """Approve what the blocked `run` waits for (all of it, or `step`'s request, or those of
    `rules`: one `policy/rule`, or a list), as `ido approve` does; what it still waits for,
    in words (nothing: `resume` carries it on)."""
    return _recorded(journal, run, APPROVED, by, comment, step, rules).still_words()


def reject(
    journal: SqliteJournal | MemoryJournal,
    run: str,
    *,
    by: str,
    comment: str,
    step: int | None = None,
    rules: Sequence[str] | str = (),
) -> None:
    """Reject what the blocked `run` waits for, as `ido reject` does: `resume` then fails
    the run, saying who rejected it and why (`comment`, required)."""
    _recorded(journal, run, REJECTED, by, comment, step, rules)


def _recorded(
    journal: SqliteJournal | MemoryJournal,
    run: str,
    kind: str,
    by: str,
    comment: str | None,
    step: int | None,
    rules: Sequence[str] | str,
) -> Recorded:
    """`approve`'s or `reject`'s verdict, checked as the commands check theirs, recorded."""
    _check_types(by, comment, step)
    check_verdict(by, comment, kind, flag="")
    return record_verdict(
        journal,
        run,
        kind=kind,
        by=by,
        comment=comment,
        step=step,
        rules=[rules] if isinstance(rules, str) else rules,  # one rule, not its letters
        resume=_resume,
        cli=False,
        typed=functools.partial(_typed, journal),
    )


def _check_types(by: object, comment: object, step: object) -> None:
    """What a caller passed on from a request, refused in words: `by=None` (no user) was an
    AttributeError, `step="1"` refused as "not step 1", `step=True` taken for step 1."""
    if not isinstance(by, str):
        raise IdoError("by must name who decides")
    if comment is not None and not isinstance(comment, str):
        raise IdoError(f"comment must be text, not {comment!r}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        raise IdoError(f"step must be a step's number (0: the plan), not {step!r}")


def _typed(journal: SqliteJournal | MemoryJournal, command: str) -> str:
    """An `ido` command as typed for `journal` (`ido.approve`'s): with `--journal` naming
    its file, as the CLI's default journal may not be it."""
    path = getattr(journal, "path", None)
    return command if path is None else f"{command} --journal {shlex.quote(str(path))}"


def _resume(run_id: str) -> str:
    return f"LocalRuntime.resume('{run_id}')"
