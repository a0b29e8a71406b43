"""`ido verify`: check the journal's file (SQLite's integrity check) and the hash chain of
each run's events, list the runs' heads to keep elsewhere, and check the journal against
such a list."""

from __future__ import annotations

import functools
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ido.cli.common import DEFAULT_JOURNAL, JournalOpt, _check_format, _guard, _journal_there
from ido.errors import DamagedJournal, NotFoundError

if TYPE_CHECKING:
    from ido.journal.chain import Checked
    from ido.journal.records import RunRow
    from ido.journal.sqlite import SqliteJournal

_HEAD = re.compile(r"[0-9a-f]{64}")
_TOLD_BYTES = 100 * 1024 * 1024
"""A journal larger than this is said to be checked whole before its runs (a second or so)."""


@dataclass
class _Found:
    """What `ido verify` found, over the journal and the archives named."""

    checked: list[Checked] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # against the list
    seen: set[str] = field(default_factory=set)

    def broken(self) -> list[Checked]:
        return [c for c in self.checked if c.status == "broken"]

    def of(self, status: str) -> list[Checked]:
        return [c for c in self.checked if c.status == status]


@_guard
def verify(
    journal: JournalOpt = DEFAULT_JOURNAL,
    heads: Annotated[
        bool,
        typer.Option(
            "--heads",
            help="Print each intact run's head (RUN SEQ SHA256), to keep where the journal's "
            "owner cannot change it; the findings go to stderr.",
        ),
    ] = False,
    listed: Annotated[
        Path | None,
        typer.Option(
            "--against",
            metavar="FILE",
            help="Check the runs against heads listed earlier with --heads: a run removed, "
            "cut short or chained again since is reported.",
        ),
    ] = None,
    archives: Annotated[
        list[Path] | None,
        typer.Option(
            "--archive",
            metavar="FILE",
            help="An archive of pruned runs (ido prune --archive) to verify too, and to look "
            "for listed runs in; may be repeated.",
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Check that the journal's file is whole, and that each run's events are as recorded:
    their hash chain, and the run's row."""
    _check_format(fmt, ("text", "json"))
    wanted = _read_list(listed) if listed is not None else {}
    found = _Found()
    for archive in archives or []:
        if not archive.is_file():
            raise NotFoundError(f"no archive at {archive} (--archive names it)")
    damaged: list[tuple[Path, DamagedJournal]] = []  # (each told: the first damaged one hid
    checked = 0  # the findings of the others: a damaged archive, the journal's broken runs)
    for path in [journal, *(archives or [])]:
        if path != journal or _journal_there(path):
            try:
                _verify_one(path, wanted, found)
                checked += 1
            except DamagedJournal as exc:
                damaged.append((path, exc))
    if damaged and not checked and fmt != "json":  # (no report to make: the errors alone;
        _tell_damaged(damaged)  # JSON says them in `damaged`, as with a file read)
    missing = sorted(set(wanted) - found.seen)
    failed = bool(found.broken() or found.changed or missing)
    if fmt == "json":
        typer.echo(
            json.dumps(
                _as_json(journal, archives, listed, wanted, found, missing, damaged),
                indent=2,
                default=repr,  # an event's number edited by hand into bytes
            )
        )
    else:
        if heads:
            from ido.journal.records import stamp

            typer.echo(f"# ido verify --heads of {journal} at {stamp(time.time())}: RUN SEQ SHA256")
            for c in found.of("intact"):
                typer.echo(f"{c.run_id} {c.head_seq} {c.head}")
        typer.echo(_text(journal, listed, wanted, found, missing), nl=False, err=heads)
    if damaged:
        _tell_damaged(damaged)
    if failed:
        raise typer.Exit(1)


def _tell_damaged(damaged: list[tuple[Path, DamagedJournal]]) -> NoReturn:
    """Say each damaged file, as any error is said, and exit as a damaged journal does."""
    for _, exc in damaged:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(damaged[0][1].exit_code)


def _verify_one(path: Path, wanted: dict[str, tuple[int, str]], found: _Found) -> None:
    """Check every run of the journal at `path`, one at a time (not all held at once)."""
    from ido.cli.going import _going_through
    from ido.journal.chain import Row, against, check
    from ido.journal.schema import RunsAsked
    from ido.journal.sqlite import SqliteJournal

    with SqliteJournal(path, reading=True) as store:
        _check_file(store)
        since = store.chained_since()
        # (a catalog's runs name one row, most often one run after another: a few kept,
        # not every one read, which held each catalog's text, megabytes, to the end)
        catalog = functools.lru_cache(maxsize=4)(store.catalog)
        went = _going_through("verifying", lambda: store.counted(RunsAsked()))
        for done, (run, links) in enumerate(store.chains()):  # each with its events, one snapshot
            went(done)
            if run.id is None:  # (SQLite lets a TEXT key be NULL; ido never writes one)
                found.checked.append(_no_id(run))
                continue
            row = Row(
                run.intent,
                run.started_at,
                run.ended_at,
                run.outcome,
                run.reason,
                run.cost,
                run.recorded,
            )
            checked = check(run.id, row, links, since, catalog)
            found.checked.append(checked)
            found.seen.add(run.id)
            if run.id in wanted and checked.status != "broken":
                problem = against(wanted[run.id], links)
                if problem is not None:
                    found.changed.append(
                        {"run": run.id, "seq": wanted[run.id][0], "problem": problem}
                    )
        _rowless(store, found)


def _check_file(store: SqliteJournal) -> None:
    """Check the journal's file itself (SQLite's `integrity_check`), before its chains: a
    damaged page the runs' reads miss (an index) went unreported. A big journal (the check
    reads it whole, about a second a 150 MB) is said to be checked, on a terminal."""
    from ido.cli.deciding import _is_terminal

    if _is_terminal(sys.stderr) and store.path.stat().st_size > _TOLD_BYTES:
        typer.echo(f"checking the file of {store.path} whole (SQLite's integrity_check)…", err=True)
    store.check_file()


def _no_id(run: RunRow) -> Checked:
    """A run's row with no id (NULL), reported: its events cannot name it."""
    from ido.journal.chain import Checked

    problem = (
        f"it has no id (NULL), started {run.started_at}, intent {run.intent}: the row was "
        "edited by hand"
    )
    return Checked("(no id)", "broken", 0, problem=problem)


def _rowless(store: SqliteJournal, found: _Found) -> None:
    """Report the runs whose events are left without their row."""
    from ido.journal.chain import Checked

    for run_id, events in store.rowless().items():
        problem = "its events are in the journal, its row is not: the row was removed"
        found.checked.append(Checked(run_id, "broken", events, problem=problem))
        found.seen.add(run_id)


def _read_list(path: Path) -> dict[str, tuple[int, str]]:
    """A list of heads (`RUN SEQ SHA256` a line, `#` comments): each run's listed event."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--against") from None
    wanted: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[1].isdigit() or not _HEAD.fullmatch(parts[2]):
            raise typer.BadParameter(
                f"{path} line {number}: expected RUN SEQ SHA256 (as ido verify --heads "
                f"prints), got {line.strip()[:80]!r}",
                param_hint="--against",
            )
        wanted[parts[0]] = (int(parts[1]), parts[2])
    return wanted


def _text(
    journal: Path,
    listed: Path | None,
    wanted: dict[str, tuple[int, str]],
    found: _Found,
    missing: list[str],
) -> str:
    from ido.text import counted, some

    broken, unchained = found.broken(), found.of("unchained")
    lines = [
        f"journal {journal}: {counted(len(found.checked), 'run')} checked: "
        f"{len(found.of('intact')):,} intact, {len(unchained):,} recorded before chaining, "
        f"{len(broken):,} broken"
    ]
    lines += [f"broken: {c.said()}" for c in broken]
    if unchained:
        lines.append(
            "recorded before chaining (their events have no hashes; nothing to check): "
            + some([c.run_id for c in unchained], 10)
        )
    partly = [c for c in found.of("intact") if c.unchained]
    lines += [
        f"run {c.run_id}: its events 1 to {c.unchained} were recorded before chaining; "
        "those after them are intact"
        for c in partly
    ]
    if listed is not None:
        lines.append(
            f"against {listed}: {len(wanted)} runs listed, {len(found.changed)} changed since, "
            f"{len(missing)} missing"
        )
        lines += [f"changed: run {c['run']}: {c['problem']}" for c in found.changed]
        lines += [
            f"missing: run {run_id} (listed up to event {wanted[run_id][0]}) is not in the "
            "journal: removed, or pruned into an archive (name it with --archive)"
            for run_id in missing
        ]
    return "\n".join(lines) + "\n"


def _as_json(
    journal: Path,
    archives: list[Path] | None,
    listed: Path | None,
    wanted: dict[str, tuple[int, str]],
    found: _Found,
    missing: list[str],
    damaged: list[tuple[Path, DamagedJournal]],
) -> dict[str, Any]:
    return {
        "journal": str(journal),
        "archives": [str(a) for a in archives or []],
        "runs": len(found.checked),
        "intact": len(found.of("intact")),
        "broken": [c.to_json() for c in found.broken()],
        "unchained": [c.run_id for c in found.of("unchained")],
        "partly_chained": [
            {"run": c.run_id, "unchained": c.unchained} for c in found.of("intact") if c.unchained
        ],
        "heads": [{"run": c.run_id, "seq": c.head_seq, "hash": c.head} for c in found.of("intact")],
        "against": None if listed is None else str(listed),
        "listed": len(wanted),
        "changed": found.changed,
        "missing": missing,
        "damaged": [{"file": str(path), "problem": str(exc)} for path, exc in damaged],
        "ok": not (found.broken() or found.changed or missing or damaged),
    }
