"""What every `ido` command shares: options, the error guard, journal hints, the catalog."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ido.errors import DamagedJournal, IdoError, JournalError, NotFoundError
from ido.files import journal_file

DEFAULT_DIRS = ("intents", "capabilities", "policies")


MOST_STEPS = 200
"""`ido.model.fields.MOST_STEPS`, here without importing the models at start-up."""


SQLITE_MOST = 2**63 - 1
"""The largest whole number SQLite takes (`ido runs --limit` past it means "all")."""


EXIT = {"achieved": 0, "failed": 1, "blocked": 3, "shadow": 0}
"""The outcomes a run ends with, and the exit code of each (`ido runs --outcome` takes
them, and the words for a run not ended: `RUN_OUTCOMES`); a failed run that found no plan
before it did anything exits `INFEASIBLE` instead (`exit_of`)."""


INFEASIBLE = 4
"""The exit code of "no plan": the constraints and policies admit none (`ido plan`; a run
that performed nothing, `ido.run_ends.found_no_plan`). Told apart from a failure (1), as
it is the catalog or the intent to change, and nothing was run."""


def exit_of(outcome: str | None, events: Iterable[Any]) -> int:
    """A run's exit code: its outcome's, or `INFEASIBLE` for one that failed at a decision
    that found no plan before any step started."""
    from ido.run_ends import no_plan_of

    if no_plan_of(outcome, events):
        return INFEASIBLE
    return EXIT.get(outcome or "", 1)


def worst(codes: Iterable[int]) -> int:
    """The exit code of several runs: the worst outcome's. A failure is worse than no plan
    (something was tried), no plan worse than a run waiting for approval (exit 3 after a
    failure read as "go and approve"), bad input and a signal worse still; 0 when all were
    achieved (or none ran)."""
    rank = {0: 0, 3: 1, INFEASIBLE: 2, 1: 3}  # achieved, blocked, no plan, failed; then
    # 2 and signals, by number
    return max(codes, key=lambda code: (rank.get(code, 4), code), default=0)


RunRef = Annotated[str, typer.Argument(metavar="RUN", help="Run id, id prefix, or 'last'.")]


CatalogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        "-c",
        metavar="PATH",  # typer's own shows the Python type, `<list[Path]>`
        help="Extra catalog file or folder (repeatable).",
    ),
]


JournalOpt = Annotated[
    Path, typer.Option("--journal", help="Journal database (SQLite).", envvar="IDO_JOURNAL")
]


DEFAULT_JOURNAL = Path(".ido/ido.db")


def _running(row: Any, events: Any) -> bool:
    """Whether a run that has not ended is carried on now by a process here (else it was
    interrupted, left for `ido resume`)."""
    from ido.runtime.owners import live_owner

    return row.outcome is None and live_owner(events) is not None


def _plain_journal() -> Path:
    """The journal a command reads when no `--journal` names one: IDO_JOURNAL's, else
    `.ido/ido.db`."""
    return Path(os.environ.get("IDO_JOURNAL") or DEFAULT_JOURNAL)


def _with_journal(command: str, journal: Path) -> str:
    """`command` as the user should type it next: with `--journal PATH` when the journal
    is neither the default nor the one IDO_JOURNAL names, else `ido explain RUN` read
    another journal (`no journal at .ido/ido.db; run an intent first`)."""
    import shlex

    if journal == _plain_journal():
        return command
    return f"{command} --journal {shlex.quote(str(journal))}"


def _journal_there(journal: Path) -> bool:
    """Whether there is a journal to read: the default one may not be yet (nothing has
    run here), but one named with `--journal` or IDO_JOURNAL that is not there is a typo,
    not an empty history."""
    if journal.exists():
        return True
    if journal != DEFAULT_JOURNAL:
        raise NotFoundError(f"no journal at {journal} (--journal or IDO_JOURNAL names it)")
    return False


F = TypeVar("F", bound=Callable[..., Any])


LEFT = "ido_left"
"""The attribute of a KeyboardInterrupt that names the run it left interrupted (`_left`)."""


def _resume_hint(run_id: str, journal: Path) -> str:
    """How to continue a run left interrupted: `run r…; continue it with ido resume r…`."""
    return f"run {run_id}; continue it with {_with_journal(f'ido resume {run_id}', journal)}"


def _left(exc: KeyboardInterrupt, started: Sequence[str], journal: Path) -> None:
    """Name the run `exc` left interrupted, if it started one, for `_guard` to say how
    to continue it: `interrupted: run r…; continue it with ido resume r…`, and the steps
    it cut short (`_cut_words`)."""
    if started:
        setattr(exc, LEFT, _cut_words(exc, _resume_hint(started[0], journal)))


def _cut_words(exc: BaseException, hint: str) -> str:
    """What follows "interrupted" for a run `exc` left: the steps it cut short, if any, and
    what `ido resume` does with them: ` during step 2 charge: run r…; continue it with ido
    resume r… (step 2 is not idempotent: …)`. It said only "interrupted: run r…", and
    whoever pressed Ctrl-C could not tell which call was cut off, nor whether resuming
    would make it again."""
    from ido.runtime.stopping import steps_cut
    from ido.text import listed

    steps = steps_cut(exc)
    if not steps:
        return f": {hint}"
    named = listed([f"{step} {capability}" for step, capability, _ in steps])
    during = f" during step{'s' if len(steps) > 1 else ''} {named}"
    again = [step for step, _, idempotent in steps if idempotent]
    settled = [step for step, _, idempotent in steps if not idempotent]
    notes = []
    if again:
        notes.append(
            f"{_steps(again)} {'is' if len(again) == 1 else 'are'} idempotent: ido resume "
            f"makes {_them(again)} again, under the same idempotency key"
        )
    if settled:
        notes.append(
            f"{_steps(settled)} {'is' if len(settled) == 1 else 'are'} not idempotent: ido "
            f"resume settles {_them(settled)} by the effects it observes, or asks a person "
            "when nothing observes them"
        )
    return f"{during}: {hint} ({'; '.join(notes)})"


def _steps(numbers: Sequence[int]) -> str:
    """`step 2`, `steps 2 and 3`."""
    from ido.text import listed

    return f"step{'s' if len(numbers) > 1 else ''} {listed([str(n) for n in numbers])}"


def _them(numbers: Sequence[int]) -> str:
    return "it" if len(numbers) == 1 else "them"


def _left_by(exc: JournalError, run_ids: Sequence[str], store: Any, journal: Path) -> JournalError:
    """`exc`, a journal write that failed mid-run (a full disk, a file size limit), naming
    the runs it left interrupted (every one of `ido run A B` it stopped) and how to
    continue them: `journal …: disk I/O error` alone said neither. Not for a journal
    removed or replaced (its runs went with the old file). A damaged one was to be restored
    from a copy and the runs resumed "once the journal can be written": a copy made before
    them lacks them, and the steps they performed."""
    if not store.names_its_file():
        return exc
    left = [run_id for run_id in run_ids if _interrupted(store, run_id)]
    if not left:
        return exc
    which = f"run {left[0]} is" if len(left) == 1 else f"runs {', '.join(left)} are"
    them = "it" if len(left) == 1 else "them"
    if isinstance(exc, DamagedJournal):  # a copy made before lacks what the runs did
        again = " and ".join(f"ido resume {run_id} --journal SAVED" for run_id in left)
        its = "its" if len(left) == 1 else "their"
        return DamagedJournal(
            f"{exc}; {which} left interrupted, {its} latest events in this file alone: a "
            f"copy made before {them} lacks them, and the steps {them} performed (a new run "
            "would perform them again); save what can be read first (as SAVED), then "
            f"continue {them} with {again}"
        )
    again = " and ".join(_with_journal(f"ido resume {run_id}", journal) for run_id in left)
    return JournalError(
        f"{exc}; {which} left interrupted: continue {them} with {again} once the journal "
        "can be written"
    )


def _interrupted(store: Any, run_id: str) -> bool:
    """Whether the run is in the journal and has not ended: one to `ido resume`."""
    try:
        return bool(store.run(run_id).outcome is None)
    except IdoError:  # its start never reached the journal: nothing to continue
        return False


def _guard(fn: F) -> F:
    """Turn IdoErrors into a message on stderr and the error's exit code; never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _output_gone.clear()  # each command finds out afresh (tests run many in a process)
        try:
            return fn(*args, **kwargs)
        except IdoError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt as exc:
            from ido.runtime.stopping import Terminated, exit_code

            by = f" ({exc})" if isinstance(exc, Terminated) else ""
            left = getattr(exc, LEFT, "")  # the run it left interrupted, for `ido resume`
            with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) reads it no more
                typer.echo(f"interrupted{by}{left}", err=True)
            raise typer.Exit(exit_code(exc)) from None

    return wrapper  # type: ignore[return-value]


def _catalog_paths(extra: list[Path] | None, intent: str | list[str] | None = None) -> list[Path]:
    for name in DEFAULT_DIRS:  # a link to the shared catalog that leads nowhere: not "none"
        if Path(name).is_symlink() and not Path(name).exists():
            raise NotFoundError(f"{name} is a link to {os.readlink(name)}, which does not exist")
    paths = [Path(d) for d in DEFAULT_DIRS if Path(d).is_dir()]
    paths += list(extra or [])
    from ido.loading.files import inside, named_yaml

    folders = list(paths)
    for reference in [intent] if isinstance(intent, str) else intent or []:
        if not (named_yaml(reference) or Path(reference).is_file()):
            continue
        if not Path(reference).is_file():
            raise NotFoundError(f"{reference}: no such intent file")
        if not inside(Path(reference), folders):
            paths.append(Path(reference))
    if not paths:
        raise NotFoundError(
            "no catalog found: expected intents/, capabilities/ or policies/ here, "
            f"or pass --catalog DIR{_inside_catalog(Path.cwd())}"
        )
    return paths


def _inside_catalog(here: Path) -> str:
    """A hint when `here` is a catalog folder of a project (`ido run` typed in
    `intents/`): ido runs in the project's folder, the one that holds it."""
    if here.name in DEFAULT_DIRS and here.parent != here:
        return f" (this is the {here.name}/ folder of a project: run ido in {here.parent})"
    return ""


def _load(
    extra: list[Path] | None, intent: str | list[str] | None = None, listener: Any = None
) -> Any:
    """The catalog, loaded and checked, saying how far loading has got on a terminal when
    it takes more than a second (`listener`: the command's, if it made one)."""
    from ido.cli.deciding import _telling_loads
    from ido.loading.load import load_catalog

    with _telling_loads(listener):
        loaded = load_catalog(_catalog_paths(extra, intent))
    _warn(loaded)
    return loaded


def _warn(loaded: Any) -> None:
    """Print what loaded but looks wrong (`ido.loading.check_names`, `check_nulls`, goals
    no capability can make hold: `ido.goal_check`), on stderr: JSON on stdout stays JSON."""
    for warning in _warnings(loaded):
        typer.echo(f"warning: {warning}", err=True)


def _warnings(loaded: Any) -> list[Any]:
    """What loaded but looks wrong, as `Problem`s (see `_warn`)."""
    from ido.goal_check import goal_warnings
    from ido.loading.checks import check_constant_rules, check_names, check_nulls

    here = Path.cwd()
    return [
        *check_names(loaded, here),
        *check_nulls(loaded, here),
        *check_constant_rules(loaded, here),
        *goal_warnings(loaded, here),
    ]


def _check_format(fmt: str, allowed: tuple[str, ...], param_hint: str = "--format") -> None:
    """Refuse a value of an option of a few words (`--format` by default) not among them."""
    if fmt not in allowed:
        raise typer.BadParameter(
            f"'{fmt}' is not one of {', '.join(allowed)}", param_hint=param_hint
        )


def _check_out_file(path: Path, hint: str, journal: Path) -> None:
    """A usage error, before any work, for an output file that cannot be: a folder, in a
    folder that does not exist, or the journal (`_not_the_journal`); what else stops the
    write is said when it fails."""
    _not_the_journal(path, journal, hint)
    try:
        folder, parent, parent_folder = path.is_dir(), path.parent.exists(), path.parent.is_dir()
    except OSError as exc:  # a folder on the way that may not be looked into
        said = exc.strerror or exc
        raise typer.BadParameter(f"cannot write {path}: {said}", param_hint=hint) from None
    if folder:
        raise typer.BadParameter(f"{path} is a folder; give a file name", param_hint=hint)
    if parent and not parent_folder:
        raise typer.BadParameter(f"{path.parent} is a file, not a folder", param_hint=hint)
    if not parent_folder:
        raise typer.BadParameter(f"folder {path.parent} does not exist", param_hint=hint)


def _not_the_journal(path: Path, journal: Path, hint: str) -> None:
    """A usage error for an output file that is the journal, or a file SQLite keeps beside
    it, under any name (a link too): `ido explain last -o .ido/ido.db` wrote the report
    over the journal, and every run recorded in it was gone."""
    suffix = journal_file(path, journal)
    if suffix is not None:
        raise typer.BadParameter(
            f"{path} is the journal {journal}{f' ({suffix} file)' if suffix else ''}; "
            "writing there would lose its runs: give another file",
            param_hint=hint,
        )


_output_gone: list[bool] = []


def _tell(line: str) -> None:
    """Print a progress line of a run. When the output has gone (its reader stopped:
    `ido run … | head -1`), the run goes on without it: a closed pipe stopped it between
    recording a step's start and making the call, for `ido resume` to settle."""
    if _output_gone:
        return
    from ido.text import printable  # (a capability's or model's words: shown, not acted on)

    try:
        typer.echo(printable(line))
    except BrokenPipeError:
        _output_gone.append(True)
        with contextlib.suppress(OSError):  # later lines (and the outcome) go nowhere
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, sys.stdout.fileno())
            os.close(quiet)
        with contextlib.suppress(OSError):
            typer.echo("ido: the output was closed; the run goes on without it", err=True)
