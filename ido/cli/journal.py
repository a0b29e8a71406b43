"""`ido runs`, `ido audit` and `ido prune`: list, sum up and trim the journal's runs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    EXIT,
    SQLITE_MOST,
    JournalOpt,
    _check_format,
    _guard,
    _journal_there,
    _running,
)
from ido.errors import NotFoundError

if TYPE_CHECKING:
    from datetime import datetime


@_guard
def audit(
    journal: JournalOpt = DEFAULT_JOURNAL,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only runs from this day or moment on (UTC; a kept scenario run goes by "
            f"when it was recorded): {_WHEN}.",
        ),
    ] = None,
    intent: Annotated[str | None, typer.Option(help="Only runs of this intent.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md or json.")] = "text",
    until: Annotated[str | None, UNTIL] = None,
    rule: Annotated[
        str | None,
        typer.Option(
            metavar="POLICY/RULE",
            help="Only runs in which this rule fired (denied, asked approval, avoided or "
            "preferred), each decision where it did listed.",
        ),
    ] = None,
) -> None:
    """Sum up the journal: runs by outcome, decisions, denials by rule, approvals, spend."""
    _check_format(fmt, ("text", "md", "json"))
    from ido.audit import READS, render
    from ido.audit import audit as build
    from ido.cli.going import _going_through
    from ido.journal.schema import RunsAsked
    from ido.journal.sqlite import SqliteJournal

    since, start = (None, None) if since is None else _when(since, "--since")
    until, end = (None, None) if until is None else _when(until, "--until", until=True)
    _in_order(since, start, until, end)
    if rule is not None and rule.count("/") != 1:
        raise typer.BadParameter(
            f"'{rule}' is not a rule; write it as ido explain cites it: POLICY/RULE "
            "(sanctions/blocked-country; an intent's own: intent:NAME/RULE)",
            param_hint="--rule",
        )
    intents_asked = () if intent is None else (intent,)
    asked = RunsAsked(intents_asked, (), start, end)  # filtered in SQLite
    intents: set[str] = set()  # of every run in the journal, whatever --since says
    rules: set[str] = set()  # that fired in the runs asked for: what a --rule typo meant

    def selected(store: SqliteJournal) -> Iterator[tuple[Any, Any]]:
        """The runs chosen, each with its events, one at a time (not held all at once)."""
        went = _going_through("auditing", lambda: store.counted(asked))
        for done, (row, events) in enumerate(store.audited(asked, READS)):  # every run asked for
            went(done)
            if rule is not None:
                rules.update(
                    hit["rule"]
                    for e in events
                    if e.kind == "decided"
                    for hit in e.data.get("policy", [])
                )
            yield row, events

    if _journal_there(journal):
        with SqliteJournal(journal, reading=True) as store:
            report = build(selected(store), _running, rule)
            intents = store.intents() if intent is not None else intents
    else:
        report = build([], rule=rule)
    # the runs it covers: said with the report
    report.update(since=since, intent=intent, until=until, rule=rule)
    if intent is not None and intent not in intents:
        typer.echo(f"warning: {_no_runs_of(intent, intents)}", err=True)
    if rule is not None and rule not in rules:
        typer.echo(f"warning: {_never_fired(rule, rules)}", err=True)
    if fmt == "json":
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(render(report, fmt), nl=False)


def _never_fired(rule: str, rules: set[str]) -> str:
    """Why `ido audit --rule` found nothing: the audit of no runs that follows would read
    as a rule that never stopped anything, when it may be a typo."""
    from ido.text import did_you_mean, some

    said = f"rule {rule} fired in no decision of the runs asked for"
    guess = did_you_mean(rule, rules)
    if guess:
        return f"{said}; {guess}"
    return said + (f" (the rules that fired there: {some(sorted(rules), 5)})" if rules else "")


def _no_runs_of(intent: str, intents: set[str]) -> str:
    """Why `ido audit --intent` found nothing, and the names it may have meant: a typo gave
    an audit of no runs and no denials, as if that intent had never been denied anything."""
    from ido.text import did_you_mean, some

    guess = did_you_mean(intent, intents)
    if guess:
        return f"no run in the journal is of intent '{intent}'; {guess}"
    shown = some(sorted(intents), 5)
    return f"no run in the journal is of intent '{intent}'" + (
        f" (its runs are of {shown})" if intents else ""
    )


_WHEN = (
    "an ISO 8601 date (2026-12-06), a moment (2026-12-06T22:00, UTC unless it gives its "
    "offset) or a time ago (12h, 30m, 2d)"
)
"""What `--since`, `--until` and `--before` take, said in their help and in the error of
a wrong one."""


UNTIL = typer.Option(
    metavar="DATE",
    help="Only runs up to this day or moment, itself included (UTC; a kept scenario run "
    f"goes by when it was recorded): {_WHEN}.",
)


def _day_after(day: str | None) -> str | None:
    """The day after `day` (`--until`, which takes its own day too): runs before it."""
    from datetime import date, timedelta

    return None if day is None else (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _when(text: str, flag: str, *, until: bool = False) -> tuple[str, str]:
    """`--since` or `--until` (`until`) as said back to the user, and as the bound the
    journal's stamps are compared with as text: a day, or a moment written as the journal
    writes its stamps. Last night's runs (22:00 to 03:00) span two days, which a day
    cannot ask for; `--until` takes its day, or its moment, itself included."""
    from datetime import UTC, date, timedelta

    try:
        day = date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    else:
        return day, (_day_after(day) or day) if until else day
    moment = _moment(text)
    if moment is None:
        raise typer.BadParameter(f"'{text}' is not a date; write {_WHEN}", param_hint=flag)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:  # 0001-01-01T00:00+01:00 is in year 0 in UTC: an OverflowError's traceback
        moment = moment.astimezone(UTC)
        # a stamp of that very millisecond is up to it too: the bound is the next one
        bound = moment + timedelta(milliseconds=1) if until else moment
    except OverflowError:
        raise typer.BadParameter(
            f"'{text}' is out of the calendar's range (years 1 to 9999, UTC); write {_WHEN}",
            param_hint=flag,
        ) from None
    shown = moment.isoformat(timespec="seconds")
    return shown, bound.isoformat(timespec="milliseconds")


def _in_order(since: str | None, start: str | None, until: str | None, end: str | None) -> None:
    """A usage error when `--until` comes before `--since`: swapped, they asked for no run
    at all, and the listing said "no runs", as if there were none."""
    if start is not None and end is not None and start >= end:
        raise typer.BadParameter(
            f"{until} is before --since {since}: no run can be from both; give the earlier "
            "as --since",
            param_hint="--until",
        )


def _moment(text: str) -> datetime | None:
    """The moment `text` names (`2026-12-06T22:00`, `12h` ago), or None."""
    from datetime import UTC, datetime

    from ido.model.durations import parse_duration

    if "T" in text or " " in text.strip():
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    try:
        ago = parse_duration(text)
    except ValueError:
        return None
    return datetime.fromtimestamp(datetime.now(UTC).timestamp() - ago, UTC)


@_guard
def prune(
    before: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Remove the ended runs from before this day or moment (UTC; a kept scenario "
            f"run goes by when it was recorded): {_WHEN}; at latest tomorrow, which takes "
            "today's runs too.",
        ),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            help="Remove the ended runs older than the newest N (of any outcome, as ido runs "
            "lists them); with --before, only those both allow.",
        ),
    ] = None,
    archive: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="First copy the runs into this journal (made if new), readable with "
            "--journal FILE.",
        ),
    ] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
) -> None:
    """Remove old ended runs from the journal (blocked and interrupted ones stay) and give
    their space back; keeps health and the model answer cache."""
    from datetime import UTC, datetime, timedelta

    from ido.pruning import Cutoff, check_archive, survey
    from ido.pruning import prune as remove
    from ido.text import counted

    if before is None and keep is None:  # a prune of every ended run is --before tomorrow
        raise typer.BadParameter("give --before DATE, --keep N or both", param_hint="--before")
    day, bound = (None, None) if before is None else _when(before, "--before")
    if not _journal_there(journal):
        raise NotFoundError(f"no journal at {journal}; nothing to prune")
    today = datetime.now(UTC).date()
    tomorrow = (today + timedelta(days=1)).isoformat()  # before it: today's runs too
    # A typo for a later year would remove every run. A day and a moment are compared as
    # the text they are: tomorrow's first moment (2026-12-08T00:00:00.000+00:00) is past
    # the day 2026-12-08 as text, so the bound is compared with that moment.
    if day is not None and bound is not None and bound > f"{tomorrow}T00:00:00.000+00:00":
        typer.echo(
            f"{day} is in the future (today is {today.isoformat()}, UTC; the latest DATE is "
            f"{tomorrow}, which takes today's runs too); nothing pruned"
        )
        return
    if dry_run and archive is not None:  # what the prune itself would refuse, refused now
        check_archive(journal, archive, making=False)
    cutoff = Cutoff(bound, keep)
    found = survey(journal, cutoff) if dry_run else remove(journal, cutoff, archive)
    which = _prunable(day, keep)
    if not found.runs:
        spared = ", but for the newest (it always stays)" if found.spared_newest else ""
        typer.echo(f"no ended run {which}{spared}; nothing pruned")
        return
    runs = f"{counted(found.runs, 'run')} {which}"
    stay = "would stay" if dry_run else "kept"
    kept = f"; {counted(found.kept, 'run')} {stay}" if keep is not None else ""
    if dry_run:
        typer.echo(
            f"would prune {runs} (from {found.first} to {found.last}; "
            f"{counted(found.events, 'event')}, {_mb(found.event_bytes)} of event data)"
            f"{kept}; nothing removed"
        )
        return
    line = (
        f"pruned {runs} ({counted(found.events, 'event')}){kept}; journal "
        f"{_mb(found.size_before)} → {_mb(found.size_after)}"
    )
    typer.echo(line + (f"; archived to {archive}" if archive is not None else ""))


def _prunable(before: str | None, keep: int | None) -> str:
    """The runs a prune takes, in words: `from before 2026-12-01`, `older than the newest
    500`, or both."""
    said = [f"from before {before}"] if before is not None else []
    said += [f"older than the newest {keep}"] if keep is not None else []
    return " and ".join(said)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


RUN_OUTCOMES = (*EXIT, "no-plan", "running", "interrupted")
"""The outcomes `ido runs` shows (and `--outcome` takes): the journal's; `no-plan` for a
failed run that found no plan before it did anything (exit 4; `--outcome failed` lists it
too, as its journal row says `failed`); and for a run not ended, `running` (a process here
carries it on) or `interrupted` (`outcome_word`)."""


@_guard
def runs(
    journal: JournalOpt = DEFAULT_JOURNAL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    limit: Annotated[int, typer.Option(help="Most runs to list.", min=1)] = 50,
    intent: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="Only runs of this intent (repeatable: of any)."),
    ] = None,
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            metavar="OUTCOME",
            help="Only runs with this outcome (repeatable: any of them): "
            f"{', '.join(RUN_OUTCOMES)}; failed lists the runs that found no plan too, "
            "no-plan those alone.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only runs from this day or moment on (UTC; a kept scenario run goes by "
            f"when it was recorded): {_WHEN}.",
        ),
    ] = None,
    until: Annotated[str | None, UNTIL] = None,
    sort: Annotated[
        str,
        typer.Option(
            metavar="ORDER",
            help="newest (first), oldest (first: what failed first in a night), cost or "
            "duration (the highest first; runs not ended last).",
        ),
    ] = "newest",
) -> None:
    """List runs, newest first (or as --sort says)."""
    _check_format(fmt, ("text", "json"))
    _check_format(sort, ("newest", "oldest", "cost", "duration"), "--sort")
    from functools import partial

    from ido.journal.schema import RunsAsked
    from ido.journal.sqlite import SqliteJournal
    from ido.run_ends import NO_PLAN, no_plan_of

    words = tuple(dict.fromkeys(_outcome_word(word) for word in outcome or ()))
    day, start = (None, None) if since is None else _when(since, "--since")
    last, end = (None, None) if until is None else _when(until, "--until", until=True)
    _in_order(day, start, last, end)
    intents = tuple(dict.fromkeys(intent or ()))
    outcomes = tuple(dict.fromkeys(map(_stored, words)))
    asked = RunsAsked(intents, outcomes, start, end)
    known: set[str] = set()
    no_plans: set[str] = set()  # of the runs listed, the failed ones that found no plan
    if not _journal_there(journal):
        rows, models, running = [], {}, set()
    else:
        with SqliteJournal(journal, reading=True) as store:
            lives: dict[str, bool] = {}  # read once a run: a process may exit in between

            def live(row: Any) -> bool:
                """Whether a process here carries this run on (its events read once)."""
                if row.id not in lives:
                    lives[row.id] = row.outcome is None and _running(row, store.events(row.id))
                return lives[row.id]

            def no_plan(row: Any) -> bool:
                """Whether this run failed at a decision that found no plan, before any
                step started (its first step's start and last decision read)."""
                return no_plan_of(row.outcome, partial(store.ending, row.id))

            split = ("running" in words) != ("interrupted" in words)
            narrowed = NO_PLAN in words and "failed" not in words

            def told_apart(row: Any) -> bool:
                """Whether this run is one asked for where SQL cannot tell: of runs not
                ended, the running or the interrupted ones only; of failed runs, those
                that found no plan only (`--outcome no-plan` without `failed`)."""
                if split and row.outcome is None and live(row) != ("running" in words):
                    return False
                return not (narrowed and row.outcome == "failed") or no_plan(row)

            rows = store.runs(
                min(limit, SQLITE_MOST),
                asked,
                told_apart if split or narrowed else None,
                order=sort,
            )
            models = store.model_use([r.id for r in rows])
            running = {r.id for r in rows if live(r)}
            no_plans = {r.id for r in rows if no_plan(r)}
            known = store.intents() if intents else known
    for name in intents:
        if name not in known:
            typer.echo(f"warning: {_no_runs_of(name, known)}", err=True)
    if fmt == "json":
        from ido.cli.run_json import listed_run

        listed = [
            listed_run(r, models, running=r.id in running, no_plan=r.id in no_plans) for r in rows
        ]
        typer.echo(json.dumps(listed, indent=2))
        return
    if not rows:
        typer.echo(_no_runs_asked(words, intents, day, last))
        return
    from ido.run_words import format_wait, outcome_word
    from ido.text import money, printable

    # A journal's text as a terminal would show it, not act on it (a hand-edited intent
    # name holding an escape sequence cleared the screen), and columns as wide as it shows.
    ids, names = [printable(r.id) for r in rows], [printable(r.intent) for r in rows]
    wide = max(len("RUN"), *map(len, ids))
    named = max(len("INTENT"), *map(len, names))
    durations = [format_wait(r.duration) if r.duration is not None else "-" for r in rows]
    lasted = max(len(" DURATION"), *(len(d) for d in durations))
    costs = [money(r.cost) for r in rows]  # `12,345.50` is wider than the column was
    priced = max(8, *map(len, costs))
    typer.echo(
        f"{'RUN':<{wide}}  {'INTENT':<{named}}  {'OUTCOME':<11} {'COST':>{priced}} "
        f"{'LLM COST':>10} {'DURATION':>{lasted}}  STARTED"
    )
    for r, run_id, name, duration, paid in zip(rows, ids, names, durations, costs, strict=True):
        llm = f"{models[r.id][0]:.4f}" if r.id in models else "-"
        shown = NO_PLAN if r.id in no_plans else printable(outcome_word(r.outcome, r.id in running))
        # A kept scenario's run started when it was recorded; its duration is virtual time.
        started = r.started_at if r.recorded_at is None else f"{r.recorded_at} (scenario)"
        typer.echo(
            f"{run_id:<{wide}}  {name:<{named}}  {shown:<11} "
            f"{paid:>{priced}} {llm:>10} {duration:>{lasted}}  {printable(started)}"
        )


def _outcome_word(word: str) -> str:
    """`word` if `ido runs` shows it as an outcome, else a usage error naming those it
    shows: a misspelt one would list no runs, as if none had that outcome."""
    from ido.text import did_you_mean

    if word.strip().lower() in RUN_OUTCOMES:  # FAILED, as a shouting log line has it
        return word.strip().lower()
    # `infeasible`: what `ido plan` and a decision's status call no plan (not `failed`,
    # which difflib finds closest)
    infeasible = word.strip().lower() == "infeasible"
    guess = "did you mean 'no-plan'?" if infeasible else did_you_mean(word, RUN_OUTCOMES)
    raise typer.BadParameter(
        f"'{word}' is not an outcome{'; ' + guess if guess else ''} (one of "
        f"{', '.join(RUN_OUTCOMES)})",
        param_hint="--outcome",
    )


def _stored(word: str) -> str | None:
    """An outcome as the journal writes it: a run not ended (running or interrupted) has
    none."""
    if word == "no-plan":  # a failed run, told apart by its events (`ido runs`)
        return "failed"
    return None if word in ("running", "interrupted") else word


def _no_runs_asked(
    words: Sequence[str], intents: Sequence[str], day: str | None, last: str | None = None
) -> str:
    """What `ido runs` found none of, in the words it was asked: `no failed runs of load-eu
    since 2026-12-01`; `no runs yet` when nothing was asked but runs. Not `no no-plan runs`:
    `no-plan` alone is said in words (`no runs of load-eu that found no plan`), and after
    the others (`no blocked or no-plan runs`)."""
    if not (words or intents or day or last):
        return "no runs yet"
    words = sorted(words, key=lambda word: word == "no-plan")  # (a stable sort)
    alone = words == ["no-plan"]
    said = ["no", *([" or ".join(words)] if words and not alone else []), "runs"]
    said += [f"of {' or '.join(intents)}"] if intents else []
    said += [f"since {day}"] if day else []
    said += [f"up to {last}"] if last else []
    said += ["that found no plan"] if alone else []
    return " ".join(said)
