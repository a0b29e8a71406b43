"""`ido approvals`, `ido approve` and `ido reject`: the approvals blocked runs wait for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    JournalOpt,
    _check_format,
    _guard,
    _journal_there,
    _with_journal,
)
from ido.errors import IdoError, NotFoundError


@_guard
def approvals(
    journal: JournalOpt = DEFAULT_JOURNAL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    intent: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME", help="Only the requests of runs of this intent (repeatable: of any)."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            metavar="N", min=1, help="Only the N requests waiting longest.  [default: all]"
        ),
    ] = None,
    owner: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME",
            help="Only the requests of rules whose policy has this owner (repeatable: of any).",
        ),
    ] = None,
) -> None:
    """List what blocked runs wait for: run, step, rule, its owner, message, cost, since
    when, and who it is escalated to and until when; the longest waiting first."""
    _check_format(fmt, ("text", "json"))
    import time
    from datetime import UTC, datetime

    from ido.approval_verdicts import left_unanswered
    from ido.approvals import person, step_words
    from ido.cli.journal import _no_runs_of
    from ido.journal.records import stamp
    from ido.journal.sqlite import SqliteJournal
    from ido.pending import Waiting, of_owners
    from ido.pending import waiting as waiting_in
    from ido.text import did_you_mean, money, printable

    asked = tuple(dict.fromkeys(intent or ()))
    waiting: list[Waiting] = []
    known: set[str] = set()  # the intents of the journal's runs, for an --intent typo
    if _journal_there(journal):
        with SqliteJournal(journal, reading=True) as store:
            known = store.intents() if intent else known
            waiting = waiting_in(store, asked)
    for name in asked:  # a typo listed "nothing waits", as if all had been answered
        if name not in known:
            typer.echo(f"warning: {_no_runs_of(name, known)}", err=True)
    owners = {person(o) for o in owner or ()}  # (`Finance` is finance, as --by names are)
    if owners:
        named = {person(w.request.owner): w.request.owner for w in waiting if w.request.owner}
        for name in dict.fromkeys(owner or ()):  # a typo listed "nothing waits", as --intent's
            guess = did_you_mean(person(name), named) if person(name) not in named else None
            if guess is not None:
                typer.echo(f"warning: no request waiting is of owner {name!r}; {guess}", err=True)
        waiting = of_owners(waiting, owners)
    # A night's blocked runs are thousands of lines: the oldest first, as many as asked.
    left_out = len(waiting) - limit if limit is not None and len(waiting) > limit else 0
    waiting = waiting[:limit]
    now = time.time()

    def when(at: float) -> str:
        """In UTC, saying so, as the journal, `ido audit` and `ido explain` stamp times: a
        local time without its zone read hours off beside them."""
        try:
            return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return "the far future"

    def at(moment: float | None) -> str | None:
        """`moment` as the journal stamps times (`2026-12-07T04:06:22.123+00:00`): the
        epoch seconds beside it read as nothing to a person or a spreadsheet. None for
        never, and past what a date can hold (year 9999)."""
        try:
            return None if moment is None else stamp(moment)
        except (OverflowError, OSError, ValueError):
            return None

    if fmt == "json":
        listed = []
        for w in waiting:
            r = w.request
            to, until = r.stage(now)
            expired = r.expired(now)
            listed.append(
                {
                    "run": w.run,
                    "intent": w.intent,
                    **r.to_json(),
                    "approved_by": list(w.approved_by),
                    "escalated_to": to,
                    "until": until,
                    "expired": expired,
                    # the same moments in ISO 8601 UTC, beside the numbers scripts read
                    "since_at": at(r.since),
                    "expires_at": at(r.expires),
                    "until_at": at(until),
                }
            )
        typer.echo(json.dumps(listed, indent=2))
        return
    if not waiting:
        of = [" or ".join(asked), " or ".join(f"owner {o}" for o in dict.fromkeys(owner or ()))]
        said = " and of ".join(o for o in of if o)  # (both given: of one intent and one owner)
        typer.echo("nothing waits for approval" + (f" of {said}" if said else ""))
        return
    for w in waiting:
        r, so_far = w.request, w.so_far
        step = step_words(r)
        priced = "plan cost" if r.step_of == "plan" else "step cost"  # a step to repeat, or to undo
        notes = [
            *([f"owner {r.owner}"] if r.owner else []),
            *([so_far] if so_far else []),
            # (an ido of journal schema 1 recorded neither the plan nor its cost: not 0.00)
            f"{priced} not recorded" if r.recorded_cost is None else f"{priced} {money(r.cost)}",
            f"since {when(r.since)}",
        ]
        to, until = r.stage(now)
        if r.deadline is not None and r.expired(now):
            notes.append(f"expired {when(r.deadline)}: {left_unanswered(r)}")
        elif until is not None:
            notes.append(f"escalated to {to} until {when(until)}" if to else f"until {when(until)}")
        # The journal's words shown, never acted on: a message holding an escape sequence
        # could clear the screen, and a line break forge a request.
        said = f"{w.run} ({w.intent})  {step}  {r.rule}: {r.message}  ({', '.join(notes)})"
        typer.echo(printable(said))
    if left_out:
        from ido.text import counted

        typer.echo(
            f"… and {counted(left_out, 'more request')} (of {len(waiting) + left_out:,}): "
            "raise --limit, or choose with --intent"
        )


def _check_verdict(journal: Path, by: str, comment: str | None, kind: str) -> None:
    """What is wrong for every run alike (who, why, the journal), refused once."""
    from ido.verdicts import check_verdict

    check_verdict(by, comment, kind)
    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; nothing waits for approval")


def _verdict(
    run_ref: str,
    journal: Path,
    step: int | None,
    rules: list[str],
    by: str,
    comment: str | None,
    kind: str,
) -> None:
    from ido.approvals import subject
    from ido.journal.records import resume_command, temporal_of
    from ido.journal.sqlite import SqliteJournal
    from ido.text import printable
    from ido.verdicts import APPROVED, record_verdict

    _check_verdict(journal, by, comment, kind)
    with SqliteJournal(journal) as store:
        done = record_verdict(
            store,
            run_ref,
            kind=kind,
            by=by,
            comment=comment,
            step=step,
            rules=rules,
            resume=lambda run_id: _with_journal(f"ido resume {run_id}", journal),
            typed=lambda command: _with_journal(command, journal),
        )
    run_id, approving = done.run_id, kind == APPROVED
    verb = "approved" if approving else "rejected"
    for request in done.chosen:
        what = subject(request.step, request.capability)
        count = done.counts[request.key]
        of = (
            f" ({count} of {request.approvers} approvals)"
            if count and request.approvers > 1
            else ""
        )
        typer.echo(printable(f"{verb}: run {run_id} {what} ({request.rule}) by {by}{of}"))
    still = done.still_words()
    if still:  # resuming now would only block again
        waiting = "; ".join(still)
        typer.echo(
            printable(f"still waiting: {waiting}; approve or reject it too, then resume the run")
        )
        return
    from ido.runner import runner_active

    if runner_active(journal) and temporal_of(done.events) is None:
        typer.echo(f"the ido runner watching {journal} continues it")
    else:
        again = _with_journal(resume_command(run_id, done.events), journal)
        typer.echo(f"continue it with: {again}")


STEP_HELP = "Only this step's request: its number, or 0 (or 'plan') for the plan as a whole."
RULE_HELP = (
    "Only the requests of this rule (policy/rule, as ido approvals shows it); repeat it "
    "for several. With --step: that step's request of the rule."
)
RuleOpt = Annotated[list[str] | None, typer.Option("--rule", help=RULE_HELP, metavar="POLICY/RULE")]


def _step(value: str) -> int:
    """`--step`: a step's number, or `plan` (step 0, as `ido approvals` shows it)."""
    if value.strip().lower() == "plan":
        return 0
    if not value.strip().isdigit():
        raise typer.BadParameter(f"'{value}' is not a step: give its number, or 'plan'")
    return int(value)


RunRefs = Annotated[
    list[str],
    typer.Argument(
        metavar="RUN...",
        help="Run id, id prefix, or 'last'; several: each answered alike, in its own commit.",
    ),
]


def _verdicts(run_refs: list[str], journal: Path, answer: Callable[[str], None]) -> None:
    """Answer each run in turn. One run's error is the command's, as it always was; of
    several (a night's blocked runs, `$(ido approvals -f json | jq …)`), each run's is said
    on stderr and the others answered, exit 2 at the end naming those left unanswered:
    one at a time, a thousand runs took a thousand starts of ido. A run named twice (its
    id and its end, or pasted with a space) is answered once: its second answer was
    refused as already given, and the run said not answered."""
    if len(run_refs) == 1:
        answer(run_refs[0])
        return
    from ido.journal.sqlite import SqliteJournal

    missed: list[str] = []
    named: set[str] = set()  # the runs named, by id (or as written, of one not found)
    for ref in dict.fromkeys(run_refs):
        try:
            with SqliteJournal(journal, reading=True) as store:
                run_id = store.resolve(ref)
        except IdoError as exc:
            typer.echo(f"error: {exc}", err=True)
            missed.append(ref)
            named.add(ref)
            continue
        if run_id in named:
            continue
        named.add(run_id)
        try:
            answer(run_id)
        except IdoError as exc:
            typer.echo(f"error: {exc}", err=True)
            missed.append(ref)
    if missed:
        from ido.text import counted, some

        raise IdoError(
            f"{counted(len(missed), 'run')} of {len(named):,} not answered: {some(missed, 5)}"
        )


@_guard
def approve(
    run_refs: RunRefs,
    by: Annotated[str, typer.Option(help="Who approves.")],
    step: Annotated[int | None, typer.Option(help=STEP_HELP, parser=_step, metavar="N")] = None,
    rule: RuleOpt = None,
    comment: Annotated[str | None, typer.Option(help="Why.")] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Approve what blocked runs wait for (all their requests, or one step's, or one rule's)."""
    _check_verdict(journal, by, comment, "approval_given")
    _verdicts(
        run_refs,
        journal,
        lambda ref: _verdict(ref, journal, step, rule or [], by, comment, "approval_given"),
    )


@_guard
def reject(
    run_refs: RunRefs,
    by: Annotated[str, typer.Option(help="Who rejects.")],
    comment: Annotated[str, typer.Option(help="Why (required).")],
    step: Annotated[int | None, typer.Option(help=STEP_HELP, parser=_step, metavar="N")] = None,
    rule: RuleOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Reject what blocked runs wait for; resuming one then fails the run with the reason."""
    _check_verdict(journal, by, comment, "approval_rejected")
    _verdicts(
        run_refs,
        journal,
        lambda ref: _verdict(ref, journal, step, rule or [], by, comment, "approval_rejected"),
    )
