"""The `ido` command line: the only module that prints and sets exit codes."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import json
import math
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from ido.cli_typer import IdoTyper
from ido.errors import (
    IdoError,
    JournalError,
    LoadError,
    NotFoundError,
    OutOfBudget,
    UnsolvableError,
    writing,
)
from ido.exiting import settle
from ido.fanout import DEFAULT_CONCURRENCY, dismiss

if TYPE_CHECKING:
    from ido.planning_words import Throttled
    from ido.pruning import Cutoff

app = IdoTyper(
    name="ido",
    help="Intent-driven orchestrator: declare the outcome, ido plans, acts and explains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"ido {version('ido')}")
        raise typer.Exit(0)


@app.callback()
def _ido(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print ido's version and exit."
        ),
    ] = False,
) -> None:
    """Intent-driven orchestrator: declare the outcome, ido plans, acts and explains."""


DEFAULT_DIRS = ("intents", "capabilities", "policies")
MOST_STEPS = 200
"""`ido.model.resources.MOST_STEPS`, here without importing the models at start-up."""
SQLITE_MOST = 2**63 - 1
"""The largest whole number SQLite takes (`ido runs --limit` past it means "all")."""
EXIT = {"achieved": 0, "failed": 1, "blocked": 3, "shadow": 0}


def worst(codes: Iterable[int]) -> int:
    """The exit code of several runs: the worst outcome's. A failure is worse than a run
    waiting for approval (exit 3 after a failure read as "go and approve"), bad input and a
    signal worse still; 0 when all were achieved (or none ran)."""
    rank = {0: 0, 3: 1, 1: 2}  # achieved, blocked, failed; then 2 and signals, by number
    return max(codes, key=lambda code: (rank.get(code, 3), code), default=0)


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
    to continue it: `interrupted: run r…; continue it with ido resume r…`."""
    if started:
        setattr(exc, LEFT, f": {_resume_hint(started[0], journal)}")


def _left_by(exc: JournalError, run_ids: Sequence[str], store: Any, journal: Path) -> JournalError:
    """`exc`, a journal write that failed mid-run (a full disk, a file size limit), naming
    the runs it left interrupted (every one of `ido run A B` it stopped) and how to
    continue them: `journal …: disk I/O error` alone said neither. Not for a journal
    removed or replaced (its runs went with the old file)."""
    if not store.names_its_file():
        return exc
    left = [run_id for run_id in run_ids if _interrupted(store, run_id)]
    if not left:
        return exc
    again = " and ".join(_with_journal(f"ido resume {run_id}", journal) for run_id in left)
    which = f"run {left[0]} is" if len(left) == 1 else f"runs {', '.join(left)} are"
    them = "it" if len(left) == 1 else "them"
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


@contextmanager
def _telemetry() -> Iterator[Any]:
    """Traces and metrics as the OTEL_* variables configure them (None: not asked for),
    exported at the end in at most two seconds."""
    if not any(name.startswith("OTEL_") for name in os.environ):
        yield None  # nothing asked for: opentelemetry is not even imported
        return
    _check_telemetry()
    from ido.tracing import TelemetryConfigError, from_environment

    try:
        telemetry = from_environment()
    except ValueError as exc:  # the SDK's own checks, as it builds the exporters
        raise TelemetryConfigError(_malformed(exc)) from None
    try:
        yield telemetry
    finally:
        if telemetry is not None:
            telemetry.shutdown()


def _check_telemetry() -> None:
    """The errors of malformed OTEL_* variables, without building exporters (`ido run
    --processes` checks once, before its workers start; `_telemetry` first)."""
    if not any(name.startswith("OTEL_") for name in os.environ):
        return
    try:
        from ido.tracing import TelemetryConfigError, settings
    except ValueError as exc:  # the SDK reads some OTEL_* variables as it is imported
        raise IdoError(_malformed(exc)) from None
    try:
        settings(os.environ)
    except ValueError as exc:
        raise TelemetryConfigError(_malformed(exc)) from None


def _malformed(exc: Exception) -> str:
    """The SDK's refusal of an OTEL_* variable, naming the variable where the message
    names its setting (`max_export_batch_size must be …`: OTEL_BSP_MAX_EXPORT_BATCH_SIZE)."""
    said = str(exc)
    named: dict[str, int] = {}  # variable → the most of its words the message names
    for name in (n for n in os.environ if n.startswith("OTEL_")):
        words = name.lower().split("_")[1:]
        for i in range(len(words) - 1):  # two words at least
            if "_".join(words[i:]) in said.lower():
                named[name] = len(words) - i
                break
    most = max(named.values(), default=0)
    found = sorted(name for name, count in named.items() if count == most)
    if len(found) == 1:
        return f"{found[0]} is malformed: {said}"
    if found:  # `OTEL_BSP_…` and `OTEL_BLRP_…` end alike: one of them
        return f"one of {', '.join(found)} is malformed: {said}"
    return f"an OTEL_* variable is malformed: {said}"


def _catalog_paths(extra: list[Path] | None, intent: str | list[str] | None = None) -> list[Path]:
    for name in DEFAULT_DIRS:  # a link to the shared catalog that leads nowhere: not "none"
        if Path(name).is_symlink() and not Path(name).exists():
            raise NotFoundError(f"{name} is a link to {os.readlink(name)}, which does not exist")
    paths = [Path(d) for d in DEFAULT_DIRS if Path(d).is_dir()]
    paths += list(extra or [])
    from ido.loading import inside, named_yaml

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


def _load(extra: list[Path] | None, intent: str | list[str] | None = None) -> Any:
    from ido.loading import load_catalog

    loaded = load_catalog(_catalog_paths(extra, intent))
    _warn(loaded)
    return loaded


def _warn(loaded: Any) -> None:
    """Print what loaded but looks wrong (`ido.loading.check_names`, goals no capability
    can make hold: `ido.goal_check`), on stderr: JSON on stdout stays JSON."""
    from ido.goal_check import goal_warnings
    from ido.loading import check_names

    for warning in [*check_names(loaded, Path.cwd()), *goal_warnings(loaded, Path.cwd())]:
        typer.echo(f"warning: {warning}", err=True)


def _check_format(fmt: str, allowed: tuple[str, ...], param_hint: str = "--format") -> None:
    """Refuse a value of an option of a few words (`--format` by default) not among them."""
    if fmt not in allowed:
        raise typer.BadParameter(
            f"'{fmt}' is not one of {', '.join(allowed)}", param_hint=param_hint
        )


@app.command()
@_guard
def validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders; default: the catalog here.")
    ] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Check YAML resources: schema, names, references, CEL conditions and Python bindings.

    Files or folders inside the catalog folders here (intents/, capabilities/, policies/,
    scenarios/) are checked with that catalog, which their references name; others on
    their own, with --catalog for what they name elsewhere."""
    from ido.binding_check import check_bindings, check_observer_files
    from ido.loading import check_ignored, check_models, load_catalog
    from ido.scenario.runner import check_own_catalogs, own_catalog

    if not paths and Path("scenarios").is_dir():
        paths = [*_catalog_paths(catalog), Path("scenarios")]
    elif paths:
        folders = [Path(d) for d in (*DEFAULT_DIRS, "scenarios") if Path(d).is_dir()]
        within = [folder.resolve() for folder in folders]
        if all(any(p.resolve().is_relative_to(f) for f in within) for p in paths):
            paths = [*(f for f in folders if f.name != "scenarios"), *paths]
    # With no PATH, `--catalog DIR` is what to check: it was refused, "no catalog found
    # … or pass --catalog DIR", in a folder with no intents/, capabilities/ or policies/.
    everything = [*(paths or _catalog_paths(catalog)), *(catalog or [])]
    # A scenario with catalog entries of its own is checked with them, as it runs.
    loaded = load_catalog(everything, skip=lambda _, data: own_catalog(data))
    bindings = check_bindings(loaded, Path.cwd())
    bindings.warnings.extend(check_observer_files(loaded, Path.cwd()))
    wrong = [*check_models(loaded, os.environ), *bindings.errors]
    try:  # (an own catalog holds the shared intents too: their models are checked here)
        own, own_ignored = check_own_catalogs(
            everything, os.environ, checked=set(loaded.intents), bound=set(loaded.origins)
        )
    except LoadError as exc:
        raise LoadError([*exc.problems, *wrong]) from None
    if wrong:
        raise LoadError(wrong)
    if len(loaded) + own == 0:  # a mistyped or emptied folder in CI must not pass
        where = ", ".join(str(p) for p in everything)
        raise NotFoundError(f"nothing to check: no YAML resource in {where}")
    _warn(loaded)
    ignored = [*check_ignored(loaded, Path.cwd()), *own_ignored, *bindings.warnings]
    for warning in ignored:  # (`plan --planner llm` reads the llm ones)
        typer.echo(f"warning: {warning}", err=True)
    counts = ", ".join(
        (
            _counted(len(loaded.intents), "intent"),
            _counted(len(loaded.capabilities), "capability", "capabilities"),
            _counted(len(loaded.policies), "policy", "policies"),
            _counted(len(loaded.observers), "observer"),
            _counted(len(loaded.scenarios) + own, "scenario"),
            _counted(len(loaded.policy_tests), "policy test"),
        )
    )
    typer.echo(f"ok: {_counted(len(loaded) + own, 'resource')} ({counts})")


def _counted(count: int, one: str, many: str | None = None) -> str:
    """`count` things in words: 1 scenario, 2 scenarios, 0 scenarios."""
    return f"{count} {one if count == 1 else many or one + 's'}"


@app.command()
@_guard
def plan(
    intent: Annotated[
        str | None, typer.Argument(help="Intent name or path to an intent file.")
    ] = None,
    catalog: CatalogOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
    pddl: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            "--pddl",
            metavar="DOMAIN PROBLEM",
            help="Plan a PDDL problem instead of an intent, read as import-pddl reads it.",
        ),
    ] = None,
    plan_out: Annotated[
        Path | None,
        typer.Option("--plan-out", help="Also write the plan in IPC format (VAL reads it)."),
    ] = None,
    planner: Annotated[
        str | None,
        typer.Option(
            "--planner", help="Planner backend instead of the intent's: cpsat, search, llm, hybrid."
        ),
    ] = None,
    alternatives: Annotated[
        int | None,
        typer.Option(
            "--alternatives",
            min=0,
            max=20,
            help="Alternative plans to work out instead of the intent's limits.alternatives "
            "(3 by default).",
        ),
    ] = None,
    solve_time: Annotated[
        str | None,
        typer.Option(
            "--solve-time",
            metavar="DURATION",
            help="CP-SAT's time per solve instead of the intent's limits.solve_time, e.g. 60s.",
        ),
    ] = None,
    search_states: Annotated[
        int | None,
        typer.Option(
            "--search-states",
            min=1,
            help="States the exact search may expand per solve instead of the intent's "
            "limits.search_states.",
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps",
            min=1,
            max=MOST_STEPS,
            help="Most steps the plan may have instead of the intent's limits.max_steps "
            f"(for --pddl, {MOST_STEPS} by default).",
        ),
    ] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Plan an intent from the current state without acting, with what the journal's runs
    have learnt of the capabilities' health, as a run would."""
    _check_format(fmt, ("text", "json"))
    if planner is not None:
        from ido.planner import PLANNERS

        _check_format(planner, tuple(sorted(PLANNERS)), "--planner")
    from ido.loading import find_intent

    if pddl is None and intent is None:
        raise typer.BadParameter("name an INTENT, or give --pddl DOMAIN PROBLEM")
    if pddl is not None and _option_like(pddl[1]):
        raise typer.BadParameter(
            f"--pddl takes two files, DOMAIN PROBLEM; '{pddl[1]}' was read as the problem "
            "(give the problem file after the domain)",
            param_hint="--pddl",
        )
    if pddl is not None and intent is not None:
        raise typer.BadParameter(
            f"plan the intent '{intent}' or the PDDL problem, not both", param_hint="--pddl"
        )
    if pddl is not None and catalog:
        raise typer.BadParameter(
            "a PDDL problem is planned on its own; --catalog adds nothing to it",
            param_hint="--catalog",
        )
    if plan_out is not None:
        _check_out_file(plan_out, "--plan-out")  # before planning, which may take minutes
        _not_the_journal(plan_out, journal, "--plan-out")
        _not_an_input(plan_out, [*pddl] if pddl is not None else _catalog_paths(catalog))
        _clear_plan_file(plan_out)
    listener = _planning_to_terminal()  # one for reading the problem and planning it
    if pddl is not None:
        try:
            with _grounding(listener, pddl[1]):
                loaded, chosen = _pddl_intent(pddl[0], pddl[1])
        except UnsolvableError as exc:
            if fmt != "json":
                raise
            _unsolvable_json(exc, planner or "cpsat")
    else:
        assert intent is not None
        loaded = _load(catalog, intent)
        chosen = find_intent(loaded, intent)
    if planner is not None:
        chosen = _on_planner(chosen, planner)
    chosen = _on_limits(chosen, _solve_time(solve_time), search_states, max_steps, alternatives)
    wanted = chosen.spec.limits.alternatives
    with _user_prints_aside(fmt):
        decision = (
            _decide_once(loaded, chosen, wanted, _beliefs(journal), listener)
            if pddl is None
            else _pddl_decision(loaded, chosen, wanted, listener)
        )
    asks = _would_ask(decision, chosen.spec.mode)
    if fmt == "json":
        # The waits as the text view says them: `approvals` lists the rules' alone.
        needed = [{k: v for k, v in ask.items() if k != "kind"} for ask in asks]
        shown = {**decision.to_json(), "approvals_needed": needed}
        typer.echo(json.dumps(shown, indent=2, sort_keys=True, default=str))
    else:
        from ido.explain import render

        view = {
            "run": {
                "id": "(plan only)",
                "intent": chosen.name,
                "outcome": decision.result.status,
                "reason": None,
                "cost": None,  # no run: nothing spent, and no header saying 0.00
                "duration": None,
            },
            "decisions": [{**decision.to_json(), "actions": []}],
            "events": asks,
        }
        typer.echo(render(view, "text"), nl=False)
    if plan_out is not None and decision.result.plan is not None:
        with writing(plan_out):  # after the decision is shown: a failed write loses nothing
            plan_out.write_text(_ipc_plan(loaded, decision.result.plan), encoding="utf-8")
    status = decision.result.status
    raise typer.Exit(1 if status == "infeasible" else 0)


@contextmanager
def _user_prints_aside(fmt: str) -> Iterator[None]:
    """Under `--format json`, what a Python observer prints goes to standard error: on
    standard output, before the document, it made `ido plan --format json | jq` fail."""
    if fmt != "json":
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _would_ask(decision: Any, mode: str) -> list[dict[str, Any]]:
    """The approvals a run of this plan would stop for, as the events it would record
    (`approval needed for the plan (mode/propose: …)`): the plan of a `mode: propose`
    intent showed no sign that nothing of it runs before a person approves."""
    from ido.approvals import approvals_asked

    plan = decision.result.plan
    if plan is None or not plan.steps:
        return []
    asked = approvals_asked(plan.capabilities, decision.approvals, mode)
    return [
        {"kind": "approval_required", "rule": rule, "capability": name, "step": step, "message": m}
        for rule, name, step, m in asked
    ]


def _not_an_input(plan_out: Path, inputs: list[Path]) -> None:
    """A usage error for a `--plan-out` that is one of the files planned from (the PDDL
    domain or problem, a YAML file of the catalog): writing the plan would lose it."""
    from ido.loading import yaml_files

    if not plan_out.exists():  # (a new file is none of them: no walk of the catalog)
        return
    files = [p for p in inputs if p.is_file()] + list(yaml_files(inputs)[0])
    for file in files:
        try:
            same = os.path.samefile(plan_out, file)
        except OSError:
            continue
        if same:  # (another name of it, a link say, is told: "plan.txt is p.pddl, …")
            named = "a file" if str(file) == str(plan_out) else f"{file}, which is a file"
            raise typer.BadParameter(
                f"{plan_out} is {named} this plan is made from", param_hint="--plan-out"
            )


def _clear_plan_file(plan_out: Path) -> None:
    """Empty what an earlier plan left at `plan_out`, so that no plan (exit 1) or an error
    (exit 2) leaves no plan there for a script to validate as this one's: a file is
    removed; a link to one is kept and its file emptied; a device is left alone."""
    with writing(plan_out):
        if plan_out.is_symlink() and plan_out.is_file():
            plan_out.write_text("", encoding="utf-8")
        elif plan_out.is_file():
            plan_out.unlink()


def _option_like(path: Path) -> bool:
    """Whether `--pddl`'s PROBLEM is an option taken in its place (`--pddl D --planner
    search` reads `--planner` as the problem): it starts with `-` and is no file."""
    return str(path).startswith("-") and not path.exists()


@contextlib.contextmanager
def _grounding(listener: Any, problem: Path) -> Iterator[None]:
    """While a PDDL problem is read and ground (a large one takes seconds), say so on a
    terminal now and then, as planning does (`_planning_to_terminal`)."""
    from ido.planning_words import telling

    with telling(listener):
        if listener is not None:
            listener({"stage": "grounding", "problem": problem.name})
        yield


def _pddl_decision(loaded: Any, chosen: Any, alternatives: int, listener: Any = None) -> Any:
    """`_decide_once` for `ido plan --pddl`, whose search, should it give up, is given more
    by the command's flags: a PDDL problem has no intent file whose limits one could edit."""
    from ido.planner.cpsat import BudgetsSpent
    from ido.planner.search import SearchGaveUp

    try:
        decision = _decide_once(loaded, chosen, alternatives, listener=listener)
    except BudgetsSpent as spent:
        raise spent.advised(
            f"{_pddl_size(loaded, chosen)}: a larger `--solve-time DURATION` or "
            "`--search-states N` gives them more room"
        ) from None
    except OutOfBudget as stop:  # the search's, alone or settling CP-SAT's solve
        other = ", or `--planner cpsat` may settle it" if isinstance(stop, SearchGaveUp) else ""
        raise stop.advised(f"`--search-states N` lets it go further{other}") from None
    from ido.planner.explain import MORE_STEPS

    result, said = decision.result, decision.result.reason or ""
    for way in result.ways:  # the way out past the step limit, as the reason words it
        steps = len(way.plan.steps)
        if way.element == "limits.max_steps" and MORE_STEPS.format(steps=steps) in said:
            reason = said.replace(MORE_STEPS.format(steps=steps), _more_steps(steps))
            return dataclasses.replace(decision, result=dataclasses.replace(result, reason=reason))
    return decision


def _pddl_size(loaded: Any, chosen: Any) -> str:
    """How large a PDDL problem is to plan, in its grounding's numbers, for an error that
    says it may be too large (a PDDL problem has no catalog the user wrote)."""
    changed = {path for c in loaded.capabilities.values() for path in c.spec.effects}
    return (
        f"the PDDL problem may be too large to plan within these limits ({chosen.metadata.name} "
        f"grounds to {len(loaded.capabilities):,} actions, which change {len(changed):,} facts; "
        f"plans of up to {chosen.spec.limits.max_steps} steps)"
    )


def _more_steps(steps: int) -> str:
    """The advice to raise a PDDL plan's step limit, in the command's words."""
    if steps <= MOST_STEPS:
        return f"give --max-steps {steps}"
    return f"ido plans at most {MOST_STEPS} steps (--max-steps {MOST_STEPS})"


def _check_out_file(path: Path, hint: str) -> None:
    """A usage error, before any work, for an output file that cannot be: a folder, or in a
    folder that does not exist (what else stops the write is said when it fails)."""
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


JOURNAL_FILES = ("", "-wal", "-shm", "-journal")
"""The journal's file and those SQLite keeps beside it: overwriting any loses runs."""


def _not_the_journal(path: Path, journal: Path, hint: str) -> None:
    """A usage error for an output file that is the journal, or a file SQLite keeps beside
    it, under any name (a link too): `ido explain last -o .ido/ido.db` wrote the report
    over the journal, and every run recorded in it was gone."""
    target = path.resolve()
    for suffix in JOURNAL_FILES:
        kept = journal.with_name(journal.name + suffix)
        try:
            same = target == kept.resolve() or (path.exists() and os.path.samefile(path, kept))
        except OSError:  # (kept is not there: no other name of it either)
            same = False
        if same:
            raise typer.BadParameter(
                f"{path} is the journal {journal}{f' ({suffix} file)' if suffix else ''}; "
                "writing there would lose its runs: give another file",
                param_hint=hint,
            )


def _unsolvable_json(exc: UnsolvableError, planner: str) -> NoReturn:
    """`ido plan --pddl -f json` on a problem grounding proves has no plan: the decision as
    JSON, "infeasible" with the reason, as for any other plan, and exit 1."""
    from ido.decide import Decision
    from ido.planner.types import PlanResult

    result = PlanResult("infeasible", reason=exc.reason, solver={"backend": "pddl grounding"})
    decision = Decision(1, "ido plan", planner, "", {}, result, {}, (), ())
    typer.echo(json.dumps(decision.to_json(), indent=2, sort_keys=True, default=str))
    raise typer.Exit(1)


def _pddl_intent(domain: Path, problem: Path) -> tuple[Any, Any]:
    """A PDDL problem as `ido plan --pddl` plans it: the catalog `ido import-pddl` would
    write (checked as loading it would, but built in memory) and that catalog's intent."""
    from ido.pddl import pddl_catalog

    loaded, name, rounded = pddl_catalog(domain, problem)
    if rounded is not None:
        typer.echo(f"warning: {problem}: {rounded}", err=True)
    return loaded, loaded.intents[name]


def _on_planner(intent: Any, planner: str) -> Any:
    """`intent` planned by the backend `planner` instead of its own."""
    return intent.model_copy(update={"spec": intent.spec.model_copy(update={"planner": planner})})


def _solve_time(text: str | None) -> float | None:
    """`--solve-time` in seconds; a clear error for what is not a duration above zero."""
    if text is None:
        return None
    from ido.model import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--solve-time") from None
    if seconds <= 0:
        raise typer.BadParameter(
            "a solve needs some time: give more than 0s", param_hint="--solve-time"
        )
    return seconds


def _on_limits(
    intent: Any,
    solve_time: float | None,
    search_states: int | None,
    max_steps: int | None = None,
    alternatives: int | None = None,
) -> Any:
    """`intent` with the planner's budgets given on the command line in place of its own."""
    given = {
        "solve_time": solve_time,
        "search_states": search_states,
        "max_steps": max_steps,
        "alternatives": alternatives,
    }
    changed = {name: value for name, value in given.items() if value is not None}
    if not changed:
        return intent
    limits = intent.spec.limits.model_copy(update=changed)
    return intent.model_copy(update={"spec": intent.spec.model_copy(update={"limits": limits})})


def _beliefs(journal: Path) -> dict[str, Any]:
    """What the runs in `journal` have learnt of the capabilities' health: a run decides
    with it, and so does `ido plan`. None when there is no journal yet (named with
    IDO_JOURNAL before the first run, say): said, not refused."""
    from ido.journal import SqliteJournal

    if not journal.exists():
        if journal != DEFAULT_JOURNAL:  # named, so perhaps misspelt: said
            typer.echo(f"no journal at {journal} yet: planning with the declared figures", err=True)
        return {}
    with SqliteJournal(journal, reading=True) as store:
        return dict(store.health())


def _decide_once(
    loaded: Any,
    chosen: Any,
    alternatives: int,
    evidence: Mapping[str, Any] | None = None,
    listener: Any = None,
) -> Any:
    """Observe once and decide once, as `ido plan` does: nothing is executed or journaled.
    `evidence`: the health beliefs to decide with, as of now. `listener`: the progress
    lines' (`_planning_to_terminal`), when the command made one already (its time counts
    from the command's start)."""
    import time

    from ido.decide import History, decide
    from ido.errors import ObserverError
    from ido.explain import observer_failed
    from ido.observe import boolean_facts, observe, snapshot
    from ido.planner import get_planner
    from ido.secrets import catalog_secrets

    observations = []
    named = catalog_secrets(loaded)
    for name in chosen.spec.observers:
        observer = loaded.observers[name]
        origin = loaded.origin(observer)
        try:
            observations.append(observe(observer, origin.file.parent, Path.cwd(), named=named))
        except ObserverError as exc:  # as a run does: told, and planned without it
            typer.echo(f"{observer_failed(name, exc.reason)}; planning without it", err=True)
    state = snapshot(chosen, observations, {}, boolean_facts(loaded))
    from ido.planning_words import telling

    planner = get_planner(chosen.spec.planner, settings=chosen.spec.llm)
    listener = listener or _planning_to_terminal()
    with telling(listener):
        return decide(
            chosen,
            loaded,
            state,
            History(evidence=dict(evidence or {}), now=time.time()),
            planner,
            number=1,
            trigger="ido plan",
            alternatives=alternatives,
        )


def _planning_to_terminal() -> Throttled | None:
    """A line on standard error now and then while a decision plans for more than a second
    (`ido.planner.progress`), when standard error is a terminal: the plan itself, on
    standard output, stays as it is."""
    import sys

    from ido.planning_words import Throttled, describe

    if not _is_terminal(sys.stderr):
        return None
    return Throttled(lambda data: typer.echo(describe(data), err=True))


def _is_terminal(stream: Any) -> bool:
    return bool(stream.isatty())


def _ipc_plan(loaded: Any, plan: Any) -> str:
    """One `(action args)` line per step (a PDDL import's description, else the name)."""
    lines = []
    for step in plan.steps:
        description = loaded.capabilities[step.capability].metadata.description or ""
        is_call = description.startswith("(") and description.endswith(")")
        lines.append(description if is_call else f"({step.capability})")
    return "\n".join([*lines, f"; cost = {_ipc_number(plan.cost)} (general cost)", ""])


def _ipc_number(number: float) -> str:
    """`number` as a plan file writes it for VAL: whole as an integer, else every digit
    that tells it apart, never as an exponent (`:g` wrote 2469134 as 2.46913e+06)."""
    if float(number).is_integer():  # (an empty plan's cost is the int 0)
        return str(int(number))
    from decimal import Decimal

    return format(Decimal(repr(number)), "f")


@app.command()
@_guard
def run(
    intents: Annotated[
        list[str],
        typer.Argument(metavar="INTENT...", help="Intent names or paths to intent files."),
    ],
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    concurrency: Annotated[
        int, typer.Option(help="Most runs at once when several intents are given.", min=1)
    ] = DEFAULT_CONCURRENCY,
    processes: Annotated[
        int,
        typer.Option(
            help="Worker processes to share several intents out over (a process runs "
            "Python on one core); --concurrency counts the runs of all of them.",
            min=1,
        ),
    ] = 1,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the outcome (with its reason, and how to explain it)."
        ),
    ] = False,
    worker: Annotated[bool, typer.Option("--worker", hidden=True)] = False,
    tag_runs: Annotated[bool, typer.Option("--tag-runs", hidden=True)] = False,
) -> None:
    """Pursue intents: observe, decide, act and replan until an outcome.

    Several intents run side by side (at most --concurrency at once), each its own run in
    the same journal; lines are prefixed with the intent's name. With --processes N they
    are dealt out to N worker processes as they ask for more.
    """
    if processes > 1 and len(intents) > 1 and not worker:
        _run_in_processes(intents, catalog, journal, concurrency, processes, quiet)
    dismiss()  # spares started from a glance at the arguments (`ido.fanout`): not needed
    from ido.loading import find_intent

    loaded = _load(catalog, intents)
    chosen = [find_intent(loaded, reference) for reference in intents]
    from ido.journal import SqliteJournal
    from ido.runtime import local  # noqa: F401  (loaded before a worker is let go)

    # What is loaded lives until the process ends (`ido.exiting.settle`).
    channel = None
    if worker:
        from ido.fanout import wait_for_go

        channel = wait_for_go(meanwhile=settle)
        if channel is None:  # stood down: the command has told what was wrong
            raise typer.Exit(0)
    else:
        settle()
    if len(chosen) == 1 and not worker:
        started: list[str] = []
        with _telemetry() as telemetry, SqliteJournal(journal) as store:
            try:
                progress = None if quiet else _progress
                report = _run_one(loaded, chosen[0], store, progress, telemetry, started)
            except KeyboardInterrupt as exc:
                _left(exc, started, journal)
                raise
            except JournalError as exc:
                raise _left_by(exc, started, store, journal) from None
        _report(report, journal)
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()
    names = [intent.name for intent in chosen]
    ended: list[tuple[str, str, Any]] = []  # label, intent, report or run id: as runs stop
    unbegun: list[str] = []  # the intents taken and stopped before their runs began
    stranded: list[str] = []  # the runs a journal that could not be written stopped

    def one(intent: Any) -> Any:
        label = [intent.name]
        started: list[str] = []

        def named(run_id: str) -> None:
            if tag_runs or names.count(intent.name) > 1:
                # Runs of one intent side by side: told apart by their run ids' ends.
                label[0] = f"{intent.name} …{run_id[-6:]}"

        def listener(kind: str, data: Mapping[str, Any]) -> None:
            if kind == "run_started":
                named(str(data["run_id"]))
            with lock:
                _progress(kind, data, prefix=f"[{label[0]}] ")

        try:  # (quiet: no listener, so a decision keeps no heartbeat for nobody)
            report = _run_one(
                loaded, intent, store, None if quiet else listener, telemetry, started
            )
        except KeyboardInterrupt:
            with lock:
                if started:
                    named(started[0])
                    ended.append((label[0], intent.name, started[0]))
                else:
                    unbegun.append(intent.name)
            raise
        except JournalError:  # the others' runs are stopped too, each on its next commit
            with lock:
                stranded.extend(started)
            raise
        named(started[0])
        with lock:
            ended.append((label[0], intent.name, report))
        return label[0], report

    from ido.runtime import stopping

    dealt = None
    if channel is not None:
        from ido.dealing import Dealt

        def say(line: str) -> None:
            with lock:  # a line of its own among the runs' lines
                typer.echo(line)

        dealt = Dealt(chosen, say, channel)
    stopping.reset()
    # One journal for all: runs side by side share its commits (see SqliteJournal).
    with (
        _telemetry() as telemetry,
        SqliteJournal(journal) as store,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        try:
            if dealt is not None:  # the intents the command deals out, into `chosen`
                reports = _run_dealt(pool, concurrency, dealt, one)
            else:
                reports = list(pool.map(one, chosen))
        except KeyboardInterrupt as exc:  # reaches this thread only: the runs are told to stop
            stopping.stop()
            _shut_down(pool)
            if dealt is None:  # of the command's intents, those no run was started for
                ran = collections.Counter(intent for _, intent, _ in ended)
                left = list((collections.Counter(names) - ran).elements())
            else:  # of a worker's, those taken too late and those dealt and not taken
                left = unbegun + [i.name for i in dealt.left()]
            for line in _stopped_lines(ended, left, journal):
                typer.echo(line)
            if worker:  # the command says "interrupted", once for all its workers
                raise typer.Exit(stopping.exit_code(exc)) from None
            raise
        except JournalError as exc:  # the first run's, in order: each run it stopped named
            pool.shutdown(wait=True)
            raise _left_by(exc, stranded, store, journal) from None
        finally:
            stopping.reset()
    for label, report in reports:  # prefixed as the runs' lines are, and in their order
        typer.echo(_batch_line(label, report))
    codes = (EXIT.get(r.outcome, 1) for _, r in reports)  # none: a worker dealt no intent
    raise typer.Exit(worst(codes))


def _stopped_lines(
    ended: Sequence[tuple[str, str, Any]], not_started: Sequence[str], journal: Path
) -> list[str]:
    """What each run of an interrupted `ido run A B …` came to, as the runs stopped: the
    outcome of each that ended, the `ido resume` of each left interrupted, and the
    intents `not_started`, counted by name for running them again."""
    lines = []
    for label, _, how in ended:
        if isinstance(how, str):
            lines.append(f"[{label}] interrupted: {_resume_hint(how, journal)}")
        else:
            lines.append(_batch_line(label, how))
    if not_started:
        lines.append(f"not started: {_tally(collections.Counter(not_started))}")
    return lines


def _batch_line(label: str, report: Any) -> str:
    """How one run of `ido run A B …` ended, on one line among the others':
    `[label] achieved: run r…, cost 0.80 (reason)`."""
    line = f"[{label}] {_ended(report)}"
    return line + (f" ({report.reason})" if report.reason else "")


def _run_dealt(pool: Any, concurrency: int, dealt: Any, one: Any) -> list[Any]:
    """In a worker: run the intents dealt to it (`ido.dealing.Dealt`), `concurrency` at
    once, in the order dealt; what `one` gives for each (its label and report)."""
    taken = itertools.count()

    def drain() -> list[tuple[int, Any]]:
        done = []
        while (intent := dealt.take()) is not None:
            order = next(taken)
            done.append((order, one(intent)))
        return done

    threads = [pool.submit(drain) for _ in range(concurrency)]
    return [report for _, report in sorted(pair for t in threads for pair in t.result())]


def _shut_down(pool: Any) -> None:
    """Wait for the runs to stop; another Ctrl-C meanwhile does not cut the wait short."""
    while True:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            continue


def _tally(counted: Mapping[str, int]) -> str:
    """Intents as counted, for running them again: `ship-order ×5, ship-order-2`."""
    return ", ".join(r if n == 1 else f"{r} ×{n}" for r, n in counted.items())


def _run_in_processes(
    intents: list[str],
    catalog: list[Path] | None,
    journal: Path,
    concurrency: int,
    processes: int,
    quiet: bool,
) -> None:
    """`ido run` in worker processes, the intents dealt out to them as they ask (see
    `ido.fanout`); exits with the worst outcome of all."""
    from ido.dealing import Dealer
    from ido.fanout import concurrencies, death, exit_code, run_workers, worker_command
    from ido.fanout import workers as counted
    from ido.journal import SqliteJournal

    def check() -> None:  # while the workers load the catalog
        _check_telemetry()  # so a malformed OTEL_* variable is told once, not by every worker
        with SqliteJournal(journal):  # made (or refused) once, before the workers open it
            pass

    position = {r: i for i, r in enumerate(dict.fromkeys(intents))}  # each loaded once
    references = list(position)
    most = concurrencies(concurrency, counted(processes, concurrency, len(intents)))
    common = ["--journal", str(journal), "--worker", *(["--quiet"] if quiet else [])]
    if len(references) < len(intents):  # an intent named twice: each run's lines tagged
        common.append("--tag-runs")
    for extra in catalog or []:
        common += ["--catalog", str(extra)]
    commands = [
        worker_command(["run", *common, "--concurrency", str(each), "--", *references])
        for each in most
    ]
    dealer = Dealer([position[r] for r in intents], most)
    try:
        ended = run_workers(commands, lambda line, err: typer.echo(line, err=err), check, dealer)
    except KeyboardInterrupt:  # each worker said what its runs came to; these none took
        for line in _stopped_lines([], [references[i] for i in dealer.undealt()], journal):
            typer.echo(line)
        raise
    codes = [e.code for e in ended]
    for number, end in enumerate(ended, 1):
        why = death(end.code)
        if why is not None and end.let_go:
            given = collections.Counter(references[i] for i in dealer.given(number - 1))
            named = _tally(given)
            noun = "intent" if given.total() == 1 else "intents"
            typer.echo(
                f"error: worker {number} was {why}; it had been dealt {given.total()} "
                f"{noun} ({named}): the runs it ended are in the journal, those in flight "
                "are left interrupted (ido runs; ido resume RUN), and the others were not run",
                err=True,
            )
        elif why is not None:
            typer.echo(f"error: worker {number} was {why} before it started any run", err=True)
    undealt = collections.Counter(references[i] for i in dealer.undealt())
    if undealt and any(e.let_go for e in ended):  # named, so that they can be run again
        named = _tally(undealt)
        typer.echo(f"error: not started, no worker was left to run them: {named}", err=True)
        codes.append(1)
    if not any(e.let_go for e in ended) and not any(codes):  # left early, saying nothing
        typer.echo("error: a worker ended before it was ready; no run was started", err=True)
        codes.append(1)
    terminated = _terminated_by(codes)
    if terminated:  # the workers stopped their runs on it, and left the saying to the command
        typer.echo(f"interrupted (terminated by {terminated})", err=True)
    raise typer.Exit(worst(exit_code(c) for c in codes))


def _terminated_by(codes: Iterable[int]) -> str | None:
    """The signal (SIGTERM, SIGHUP) that workers with these exit codes stopped on, if any:
    one of those that stop ido's runs, other than Ctrl-C's SIGINT."""
    import signal

    from ido.runtime.stopping import STOPPING_SIGNALS

    stops = [s for s in STOPPING_SIGNALS if s != signal.SIGINT]
    return next((signal.Signals(c - 128).name for c in codes if c - 128 in stops), None)


def _run_one(
    loaded: Any, intent: Any, store: Any, listener: Any, telemetry: Any, started: list[str]
) -> Any:
    """Run `intent`; its run id is added to `started` once it has one, however the run
    ends (an interruption names the run it stopped), without a listener to learn it from."""
    from ido.runtime.local import LocalRuntime

    runtime = LocalRuntime(loaded, store, base=Path.cwd(), listener=listener, telemetry=telemetry)
    try:
        return runtime.run(intent)
    finally:
        if runtime.carrying is not None:
            started.append(runtime.carrying)


@app.command()
@_guard
def resume(
    run_ref: RunRef,
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the outcome (with its reason, and how to explain it)."
        ),
    ] = False,
) -> None:
    """Continue an interrupted run, or a blocked one once its approvals are answered, from
    its journal; completed steps are never repeated."""
    from ido.journal import SqliteJournal
    from ido.runtime.local import LocalRuntime

    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; nothing to resume")
    loaded = _load(catalog, None)
    with _telemetry() as telemetry, SqliteJournal(journal) as store:
        run_id = store.resolve(run_ref)
        runtime = LocalRuntime(
            loaded,
            store,
            base=Path.cwd(),
            listener=None if quiet else _progress,
            telemetry=telemetry,
        )
        try:
            report = runtime.resume(run_id)
        except KeyboardInterrupt as exc:
            _left(exc, [run_id], journal)
            raise
        except JournalError as exc:
            raise _left_by(exc, [run_id], store, journal) from None
    _report(report, journal)


def _interval(seconds: float) -> float:
    """`--interval`, from 0.05 to 86400 seconds. (Checked here, not by the option's range,
    which said of `nan` that it "should be less than or equal to 86400".)"""
    if math.isnan(seconds):
        raise typer.BadParameter("nan is not a number of seconds; give 0.05 to 86400")
    if not 0.05 <= seconds <= 86400:
        raise typer.BadParameter(f"{seconds:g} seconds is not from 0.05 to 86400")
    return seconds


@app.command()
@_guard
def runner(
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            callback=_interval,
            help="Seconds between looks at the journal, 0.05 to 86400.",
        ),
    ] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Look once, then exit.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print outcomes.")] = False,
) -> None:
    """Continue blocked runs as soon as they may go on: every request approved, one
    rejected, or one past its last wait. Runs until interrupted (Ctrl-C)."""
    import time

    from ido.journal import SqliteJournal
    from ido.runner import Runner, hold_lock
    from ido.runtime.local import LocalRuntime

    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; nothing to watch (--journal PATH?)")
    catalog_now = _Reloaded(catalog)
    told: dict[str, str] = {}  # per run, the trouble last told
    with _telemetry() as telemetry, SqliteJournal(journal) as store:
        lock = hold_lock(journal)
        if lock is None:
            raise IdoError(f"another ido runner already watches {journal}")

        current: list[str] = []  # the run being resumed, if one is

        def resume(run_id: str) -> bool:
            listener = None if quiet else _named(run_id, store.run(run_id).intent)
            current[:] = [run_id]
            try:
                runtime = LocalRuntime(
                    catalog_now(), store, base=Path.cwd(), listener=listener, telemetry=telemetry
                )
                report = runtime.resume(run_id)
            except Exception as exc:  # one run's trouble must not stop the runner
                current.clear()
                said = f"run {run_id}: cannot continue: {exc}"
                if store.run(run_id).outcome is None:  # taken over, then given up
                    again = _with_journal(f"ido resume {run_id}", journal)
                    said += f"; it is left interrupted: continue it with {again}"
                if told.get(run_id) != said:  # (tried again each look: told once)
                    typer.echo(said, err=True)
                told[run_id] = said
                return store.run(run_id).outcome != "blocked"  # else: try it again
            current.clear()  # (not on Ctrl-C: the handler below names the run)
            told.pop(run_id, None)
            typer.echo("\n".join(_outcome_lines(report, journal)))
            return True

        watcher = Runner(store, resume, time.time)
        if not quiet and once:
            typer.echo(f"looking once in {journal} for runs that may go on")
        elif not quiet:
            typer.echo(f"watching {journal} for runs that may go on (Ctrl-C to stop)")
        try:
            while True:
                if not store.names_its_file():
                    raise JournalError(_watched_gone(journal))
                if watcher.retrying and catalog_now.moved():
                    watcher.retry_now()  # what stopped them may be mended
                watcher.poll()
                if once:
                    break
                time.sleep(interval)
        except KeyboardInterrupt as exc:
            if current:  # the run it was carrying on is left interrupted: `_guard` says which
                _left(exc, current, journal)
                raise
            typer.echo("runner stopped")
        finally:
            lock.close()


def _watched_gone(journal: Path) -> str:
    """Why the runner stops when its journal was removed or replaced (restored from a
    copy): it watched the old file on, where no verdict would ever come, and said nothing."""
    return (
        f"journal {journal} was removed or replaced while the runner watched it; no verdict "
        "given in the new file would have reached it: start ido runner again"
    )


def _named(run_id: str, intent: str) -> Callable[..., None]:
    """`_progress` for a run the runner carries on, after a line that names it (runs go on
    one after another there, and their lines named none until each outcome): said with
    the run's first line, so a run that cannot go on yet says nothing more each look."""
    said: list[bool] = []

    def listener(kind: str, data: Mapping[str, Any]) -> None:
        if not said:
            said.append(True)
            typer.echo(f"run {run_id} · intent {intent}")
        _progress(kind, data)

    return listener


class _Reloaded:
    """The catalog `ido runner` resumes runs with, loaded again when its YAML files change
    (a policy added while the runner watches binds the runs it continues after). A
    catalog that no longer loads raises LoadError, and the runs wait for it to load."""

    def __init__(self, catalog: list[Path] | None) -> None:
        self.catalog = catalog
        self.seen = self.looked = self._files()
        self.loaded = _load(catalog, None)
        self.failed: Exception | None = None  # the files as they are do not load

    def _files(self) -> tuple[tuple[str, int, int], ...]:
        from ido.loading import yaml_files

        found = []
        for file in yaml_files(_catalog_paths(self.catalog))[0]:
            try:
                stat = file.stat()
            except OSError:
                continue
            found.append((str(file), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def moved(self) -> bool:
        """Whether the YAML files changed since this was last asked."""
        now = self._files()
        moved, self.looked = now != self.looked, now
        return moved

    def __call__(self) -> Any:
        now = self._files()
        if now != self.seen:  # read once per change, loaded or not
            self.seen = now
            try:
                self.loaded, self.failed = _load(self.catalog, None), None
            except IdoError as exc:
                self.failed = exc
        if self.failed is not None:
            raise self.failed
        return self.loaded


@app.command()
@_guard
def replay(
    run_ref: RunRef,
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    policies: Annotated[
        Path | None,
        typer.Option(help="Counterfactual: these policies instead of policies/ here."),
    ] = None,
    intent: Annotated[
        Path | None, typer.Option(help="Counterfactual: this intent file instead of the run's.")
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact", help="Exact replay against the catalog --catalog adds to, not a what-if."
        ),
    ] = False,
) -> None:
    """Re-decide a run's decisions from the journal: exactly, or under changed inputs.

    Without --policies, --catalog or --intent (or with --exact): every recorded decision is
    re-decided from its recorded inputs; exit 0 when all choose as recorded (those worded
    otherwise are named), 1 at the first that chooses otherwise, shown side by side. With
    any of them: the run is done again under the changed inputs in the world the recording
    met, and the decisions that change are listed, with how outcome, cost and time change;
    exit 0.
    """
    from ido.journal import SqliteJournal
    from ido.loading import find_intent, inside, load_catalog
    from ido.replay import replay_counterfactual, replay_exact

    if exact and (policies is not None or intent is not None):
        given = "--policies" if policies is not None else "--intent"
        raise typer.BadParameter(
            f"an exact replay re-decides under the run's own inputs; {given} asks what changes "
            "under others (a counterfactual): give one or the other",
            param_hint="--exact",
        )
    if not _journal_there(journal):  # a path named that is not there is a typo, said so
        raise NotFoundError(f"no journal at {journal}; run an intent first (ido run INTENT)")
    if policies is not None and not policies.exists():
        raise NotFoundError(f"{policies}: no such file or folder")
    replaced = {Path("policies")} if policies is not None else set()
    replaced |= {Path("intents")} if intent is not None else set()  # the file stands for it
    paths = [p for p in _catalog_paths(catalog) if p not in replaced]
    paths += [policies] if policies is not None else []
    if intent is not None:
        if intent.is_dir():
            raise NotFoundError(f"{intent} is a folder; --intent names one intent file")
        if not intent.is_file():
            raise NotFoundError(f"{intent}: no such intent file")
        if not inside(intent, paths):
            paths.append(intent)
    loaded = load_catalog(paths)
    with SqliteJournal(journal, reading=True) as store:
        run_id = store.resolve(run_ref)
        events, row = store.events(run_id), store.run(run_id)
    live = _running(row, events)  # its decisions so far: not an outcome yet
    if exact or (policies is None and catalog is None and intent is None):
        _exact(replay_exact(run_id, events, loaded), live)
    chosen = find_intent(loaded, str(intent)) if intent is not None else None
    result = replay_counterfactual(run_id, events, row, loaded, chosen)
    _counterfactual(run_id, result, live)


STILL_RUNNING = " (it is still running: its decisions so far)"
"""What a replay of a run a process here still carries on adds: it has no outcome yet."""


def _exact(result: Any, live: bool = False) -> None:
    if result.divergence is None and not result.worded:
        typer.echo(
            f"identical: {result.decisions} decision(s) of run {result.run_id} re-decided the "
            f"same{STILL_RUNNING if live else ''}"
        )
        raise typer.Exit(0)
    if result.divergence is None:
        _worded(result)
        raise typer.Exit(0)
    d = result.divergence
    typer.echo(f"diverged at decision {d.number} of run {result.run_id} (trigger: {d.trigger})")
    typer.echo(f"fields that differ: {', '.join(d.fields)}")
    if d.worded:
        typer.echo(f"worded otherwise too: {', '.join(d.worded)}")
    if d.catalog is not None:
        typer.echo(f"the catalog has changed since the run: {_catalog_change(d.catalog)}")
    if d.policies:
        typer.echo(f"policies edited since the run: {', '.join(d.policies)}")
    for label, side in (("recorded", d.recorded), ("replayed", d.replayed)):
        typer.echo(f"  {label}: {_decision_summary(side)}")
    if "result.rejections" in d.fields:
        from ido.replay import rejections_changed
        from ido.text import printable

        removed = d.catalog.removed if d.catalog is not None else ()
        for line in rejections_changed(d.recorded, d.replayed, removed):
            typer.echo(f"  rejected: {printable(line)}")
    raise typer.Exit(1)


CHANGES_SHOWN = 5
"""Capabilities named per kind of change in a divergence, and decisions worded otherwise
in an identical replay; `, …` says there are more."""


def _worded(result: Any) -> None:
    """Every decision chose as recorded, some in other words: which, and the first one's
    old and new words of one field, so that what changed shows (and that it is only words)."""
    from ido.text import ECHOED, printable, shortened, some

    said = [f"decision {w.number} ({', '.join(w.fields)})" for w in result.worded]
    typer.echo(
        f"identical choices: {result.decisions} decision(s) of run {result.run_id} re-decided "
        f"the same; worded otherwise since the run: {some(said, CHANGES_SHOWN)}"
    )
    first = result.worded[0]
    path, was, now = first.example
    typer.echo(f"  decision {first.number}, {path}:")
    typer.echo(f"    recorded: {printable(shortened(was, ECHOED))}")
    typer.echo(f"    replayed: {printable(shortened(now, ECHOED))}")


def _catalog_change(change: Any) -> str:
    """`capabilities added: a, b; removed: c; changed: d`, each list cut at CHANGES_SHOWN."""
    from ido.text import some

    said = []
    for label, names in (
        ("added", change.added),
        ("removed", change.removed),
        ("changed", change.changed),
    ):
        if names:
            said.append(f"{label}: {some(names, CHANGES_SHOWN)}")
    return "capabilities " + "; ".join(said)


def _counterfactual(run_id: str, c: Any, live: bool = False) -> None:
    from ido.model import format_wait
    from ido.text import printable

    typer.echo(f"counterfactual replay of run {run_id}{STILL_RUNNING if live else ''}")
    for d in c.decisions:
        asked = _approval_change(d)
        if d in c.changed:
            typer.echo(f"decision {d.number}{_replays_own(d)} changes:")
            for label, side in (("recorded", d.recorded), ("now", d.replayed)):
                if side is None:
                    typer.echo(f"  {label}: (no such decision)")
                else:
                    typer.echo(f"  {label}: {side['trigger']} → {_decision_summary(side)}")
            if asked:
                typer.echo(f"  {asked}")
        elif asked:
            typer.echo(f"decision {d.number}: same plan; {asked}")
        else:
            typer.echo(f"decision {d.number}: same choice")
    if c.left_out:
        typer.echo(
            f"({c.left_out} recorded decision(s) made on resuming, going on with the plan "
            "before them, left out: the replay does not stop there)"
        )
    time = "-" if c.recorded_time is None else format_wait(c.recorded_time)
    typer.echo(
        f"outcome: {c.recorded_outcome or ('running' if live else 'interrupted')} → {c.outcome}"
        + (f" ({c.reason})" if c.reason else "")
    )
    typer.echo(
        f"cost: {c.recorded_cost:.2f} → {c.cost:.2f}; time: {time} "
        f"({'virtual' if c.virtual else 'wall'}) → "
        f"{format_wait(c.time)} (the recorded calls' durations"
        + (", and the model calls' time" if c.asked else "")
        + (", and the waits for approval" if c.waited else "")
        + ", on a virtual clock)"
    )
    if c.unknown:
        typer.echo(
            "unknown outcomes: the recording "
            + "; ".join(c.unknown)
            + "; assumed to succeed as declared"
        )
    if c.unreplayed:
        typer.echo(
            "not replayed: the recording's observers saw "
            + "; ".join(printable(m) for m in c.unreplayed)
            + _not_made(c.unreplayed)
        )
    raise typer.Exit(0)


def _not_made(unreplayed: Sequence[str]) -> str:
    """What the replay did not make that the moves it leaves out followed: calls, or waits
    for approval (`ido.replay`: `… while it waited for approval 1`)."""
    waits = sum("while it waited for approval" in m for m in unreplayed)
    calls = len(unreplayed) - waits
    made = [
        *([] if not calls else ["calls" if calls > 1 else "a call"]),
        *([] if not waits else ["waits" if waits > 1 else "a wait"]),
    ]
    return f", {' and '.join(made)} this replay did not make"


def _replays_own(d: Any) -> str:
    """` (the replay's decision 2)`, when the replay numbers the decision paired with the
    recorded one otherwise (the recording stopped to resume where the replay went on)."""
    if d.recorded is None or d.replayed is None:
        return ""
    own = d.replayed.get("number")
    return "" if own in (None, d.number) else f" (the replay's decision {own})"


def _approval_change(d: Any) -> str:
    """How the approvals a counterfactual decision asks differ from the recorded one's
    (`approval bias/large for pay no longer asked`), or "" when they do not."""
    gone, new = d.approvals
    said = [f"approval {a} no longer asked" for a in gone]
    said += [f"approval {a} now asked" for a in new]
    return "; ".join(said)


def _decision_summary(decision: Mapping[str, Any]) -> str:
    result = decision["result"]
    if result["status"] == "planned" and result.get("plan"):
        plan = result["plan"]
        return f"{_stages(plan)} (cost {plan['cost']:.2f}, score {plan['score']:.3f})"
    if result["status"] == "infeasible":
        return _no_plan(result["reason"])
    return "goal already holds"


def _no_plan(reason: str) -> str:
    """An infeasible decision's reason as its line says it: `no plan: …`, said once when
    the reason says it already (`no plan: no plan reaches 'state.app.up': …`)."""
    return reason if reason.startswith("no plan") else f"no plan: {reason}"


@app.command()
@_guard
def approvals(
    journal: JournalOpt = DEFAULT_JOURNAL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """List what blocked runs wait for: run, step, rule, message, cost, since when, and
    who it is escalated to and until when."""
    _check_format(fmt, ("text", "json"))
    import time
    from datetime import datetime

    from ido.approvals import left_unanswered, pending, step_words
    from ido.journal import SqliteJournal

    waiting: list[tuple[str, Any]] = []
    if _journal_there(journal):
        with SqliteJournal(journal, reading=True) as store:
            for run_id, events in store.blocked().items():
                waiting += [(run_id, r) for r in pending(events)]
    now = time.time()

    def when(at: float) -> str:
        try:
            return datetime.fromtimestamp(at).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return "the far future"

    if fmt == "json":
        listed = []
        for run, r in waiting:
            to, until = r.stage(now)
            expired = r.expired(now)
            listed.append(
                {"run": run, **r.to_json(), "escalated_to": to, "until": until, "expired": expired}
            )
        typer.echo(json.dumps(listed, indent=2))
        return
    if not waiting:
        typer.echo("nothing waits for approval")
        return
    for run, r in waiting:
        step = step_words(r)
        priced = "plan cost" if r.step_of == "plan" else "step cost"  # a step to repeat, or to undo
        notes = [f"{priced} {r.cost:.2f}", f"since {when(r.since)}"]
        to, until = r.stage(now)
        if r.deadline is not None and r.expired(now):
            notes.append(f"expired {when(r.deadline)}: {left_unanswered(r)}")
        elif until is not None:
            notes.append(f"escalated to {to} until {when(until)}" if to else f"until {when(until)}")
        typer.echo(f"{run}  {step}  {r.rule}: {r.message}  ({', '.join(notes)})")


def _not_waiting(run_id: str, answered: str | None, journal: Path) -> str:
    """Why a verdict on a blocked run none of whose requests waits is refused: who answered
    them (`answered`), and how to go on."""
    said = f"run {run_id} is not waiting for an approval"
    if answered is None:
        return said
    again = _with_journal(f"ido resume {run_id}", journal)
    return f"{said}: already answered, {answered}; continue it with {again}"


def _verdict(
    run_ref: str, journal: Path, step: int | None, by: str, comment: str | None, kind: str
) -> None:
    import time

    from ido.approvals import (
        answered_by,
        check_not_expired,
        choose,
        pending,
        step_words,
        subject,
        verdict_data,
    )
    from ido.journal import SqliteJournal, scenario_of, stamp
    from ido.text import verdict_problem

    wrong = verdict_problem(by, comment, rejected=kind == "approval_rejected")
    if wrong is not None:
        raise IdoError(f"--{wrong[0]} {wrong[1]}")
    if not journal.exists():
        raise NotFoundError(f"no journal at {journal}; nothing waits for approval")
    with SqliteJournal(journal) as store:
        run_id = store.resolve(run_ref)
        while True:  # checked and written in one commit: of two verdicts at once, one wins
            if store.run(run_id).outcome != "blocked":
                raise IdoError(f"run {run_id} is not waiting for an approval")
            events = store.events(run_id)
            scenario = scenario_of(events)
            if scenario is not None:
                name = scenario.get("metadata", {}).get("name")
                raise IdoError(
                    f"run {run_id} blocked in the simulated world of scenario '{name}'; no "
                    "verdict can continue it: run the scenario again instead"
                )
            unanswered = pending(events)
            if not unanswered:
                raise IdoError(_not_waiting(run_id, answered_by(events), journal))
            chosen = choose(unanswered, run_id, step)
            now = time.time()
            for request in chosen:
                check_not_expired(request, now, run_id)
            at = stamp(now)
            verdicts = [(kind, at, verdict_data(request, by, comment, now)) for request in chosen]
            if store.append_after(run_id, events[-1].seq if events else 0, verdicts):
                break  # else another verdict (or resume) came first: look again
    verb = "approved" if kind == "approval_given" else "rejected"
    for request in chosen:
        what = subject(request.step, request.capability)
        typer.echo(f"{verb}: run {run_id} {what} ({request.rule}) by {by}")
    answered = {request.key for request in chosen}
    still = [r for r in pending(events) if r.key not in answered]
    if still and kind == "approval_given":  # resuming now would only block again
        waiting = "; ".join(f"{step_words(r)} ({r.rule})" for r in still)
        typer.echo(f"still waiting: {waiting}; approve or reject it too, then resume the run")
        return
    from ido.runner import runner_active

    if runner_active(journal):
        typer.echo(f"the ido runner watching {journal} continues it")
    else:
        typer.echo(f"continue it with: {_with_journal(f'ido resume {run_id}', journal)}")


STEP_HELP = "Only this step's request: its number, or 0 (or 'plan') for the plan as a whole."


def _step(value: str) -> int:
    """`--step`: a step's number, or `plan` (step 0, as `ido approvals` shows it)."""
    if value.strip().lower() == "plan":
        return 0
    if not value.strip().isdigit():
        raise typer.BadParameter(f"'{value}' is not a step: give its number, or 'plan'")
    return int(value)


@app.command()
@_guard
def approve(
    run_ref: RunRef,
    by: Annotated[str, typer.Option(help="Who approves.")],
    step: Annotated[int | None, typer.Option(help=STEP_HELP, parser=_step, metavar="N")] = None,
    comment: Annotated[str | None, typer.Option(help="Why.")] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Approve what a blocked run waits for (all its requests, or one step's)."""
    _verdict(run_ref, journal, step, by, comment, "approval_given")


@app.command()
@_guard
def reject(
    run_ref: RunRef,
    by: Annotated[str, typer.Option(help="Who rejects.")],
    comment: Annotated[str, typer.Option(help="Why (required).")],
    step: Annotated[int | None, typer.Option(help=STEP_HELP, parser=_step, metavar="N")] = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    """Reject what a blocked run waits for; resuming it then fails the run with the reason."""
    _verdict(run_ref, journal, step, by, comment, "approval_rejected")


@app.command()
@_guard
def audit(
    journal: JournalOpt = DEFAULT_JOURNAL,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only runs from this day on (UTC; a kept scenario run goes by when it was "
            "recorded): an ISO 8601 date (2026-12-06)."
        ),
    ] = None,
    intent: Annotated[str | None, typer.Option(help="Only runs of this intent.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md or json.")] = "text",
) -> None:
    """Sum up the journal: runs by outcome, decisions, denials by rule, approvals, spend."""
    _check_format(fmt, ("text", "md", "json"))
    from ido.audit import audit as build
    from ido.audit import render
    from ido.journal import SqliteJournal

    if since is not None:
        since = _iso_date(since, "--since")

    intents: set[str] = set()  # of every run in the journal, whatever --since says

    def selected(store: SqliteJournal) -> Iterator[tuple[Any, Any]]:
        """The runs chosen, each with its events, one at a time (not held all at once)."""
        for row in store.runs(-1):  # every run (SQLite: a negative LIMIT is none)
            intents.add(row.intent)
            if since is not None and row.recorded[:10] < since:  # not a scenario's clock
                continue
            if intent is None or row.intent == intent:
                yield row, store.events(row.id)

    if _journal_there(journal):
        with SqliteJournal(journal, reading=True) as store:
            report = build(selected(store), _running)
    else:
        report = build([])
    report.update(since=since, intent=intent)  # the runs it covers: said with the report
    if intent is not None and intent not in intents:
        typer.echo(f"warning: {_no_runs_of(intent, intents)}", err=True)
    if fmt == "json":
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(render(report, fmt), nl=False)


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


def _iso_date(text: str, flag: str) -> str:
    """A date as the journal writes it (2026-12-06), from any ISO 8601 date: 20261206 or
    2026-W49 compared with the journal's dates as text would match nothing."""
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not a date; write an ISO 8601 date (2026-12-06)", param_hint=flag
        ) from None


@app.command()
@_guard
def prune(
    before: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Remove the ended runs from before this day (UTC; a kept scenario run goes by "
            "when it was recorded): an ISO 8601 date "
            "(2026-12-06); at latest tomorrow, which takes today's runs too.",
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

    from ido.pruning import Cutoff, refuse_the_journal_itself, survey
    from ido.pruning import prune as remove

    if before is None and keep is None:  # a prune of every ended run is --before tomorrow
        raise typer.BadParameter("give --before DATE, --keep N or both", param_hint="--before")
    day = None if before is None else _iso_date(before, "--before")
    if not _journal_there(journal):
        raise NotFoundError(f"no journal at {journal}; nothing to prune")
    today = datetime.now(UTC).date()
    tomorrow = (today + timedelta(days=1)).isoformat()  # before it: today's runs too
    if day is not None and day > tomorrow:  # a typo for a later year would remove every run
        typer.echo(
            f"{day} is in the future (today is {today.isoformat()}, UTC; the latest DATE is "
            f"{tomorrow}, which takes today's runs too); nothing pruned"
        )
        return
    if dry_run and archive is not None:  # what the prune itself would refuse, refused now
        refuse_the_journal_itself(journal, archive)
    cutoff = Cutoff(day, keep)
    found = survey(journal, cutoff) if dry_run else remove(journal, cutoff, archive)
    which = _prunable(cutoff)
    if not found.runs:
        spared = ", but for the newest (it always stays)" if found.spared_newest else ""
        typer.echo(f"no ended run {which}{spared}; nothing pruned")
        return
    runs = f"{_counted(found.runs, 'run')} {which}"
    stay = "would stay" if dry_run else "kept"
    kept = f"; {_counted(found.kept, 'run')} {stay}" if keep is not None else ""
    if dry_run:
        typer.echo(
            f"would prune {runs} (from {found.first} to {found.last}; {found.events} "
            f"events, {_mb(found.event_bytes)} of event data){kept}; nothing removed"
        )
        return
    line = (
        f"pruned {runs} ({found.events} events){kept}; journal {_mb(found.size_before)} → "
        f"{_mb(found.size_after)}"
    )
    typer.echo(line + (f"; archived to {archive}" if archive is not None else ""))


def _prunable(cutoff: Cutoff) -> str:
    """The runs a prune takes, in words: `from before 2026-12-01`, `older than the newest
    500`, or both."""
    said = [f"from before {cutoff.before}"] if cutoff.before is not None else []
    said += [f"older than the newest {cutoff.keep}"] if cutoff.keep is not None else []
    return " and ".join(said)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


policy_app = IdoTyper(help="Test policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("test")
@_guard
def policy_test(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH...]",
            help="More policy test files or folders, beside the catalog's (which always run).",
        ),
    ] = None,
    catalog: CatalogOpt = None,
) -> None:
    """Run policy unit tests (kind PolicyTest): given a capability and state, what fires."""
    from ido.loading import inside, load_catalog
    from ido.policy_test import run_policy_test

    base = _catalog_paths(catalog)
    loaded = load_catalog([*base, *(p for p in paths or [] if not inside(p, base))])
    results = [r for t in loaded.policy_tests.values() for r in run_policy_test(t, loaded)]
    if not results:  # a test run that tests nothing must not pass (as `scenario test`)
        raise NotFoundError(
            "no policy tests in the catalog or the PATHs given: a policy test is a YAML "
            "file of kind: PolicyTest"
        )
    for r in results:
        typer.echo(f"{'pass' if r.passed else 'FAIL'}  {r.test}: {r.case}")
        for problem in r.problems:
            typer.echo(f"      ✗ {problem}")
    failed = sum(1 for r in results if not r.passed)
    typer.echo(f"\n{len(results) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


def _report(report: Any, journal: Path) -> None:
    for line in _outcome_lines(report, journal):
        _tell(line)
    raise typer.Exit(EXIT.get(report.outcome, 1))


def _ended(report: Any) -> str:
    """A run's outcome and cost: `achieved: run r…, cost 0.80`."""
    return f"{report.outcome}: run {report.run_id}, cost {report.cost:.2f}"


def _outcome_lines(report: Any, journal: Path) -> list[str]:
    """How a run ended, as `ido run`, `resume` and `runner` say it: the outcome and cost,
    the reason, and the command that explains it."""
    reason = [f"reason: {report.reason}"] if report.reason else []
    return [
        _ended(report),
        *reason,
        f"why: {_with_journal(f'ido explain {report.run_id}', journal)}",
    ]


def _stages(plan: Mapping[str, Any]) -> str:
    """`a + b → c`: steps in the same stage wait for nothing in the stages after."""
    from ido.explain import stages, waits_of

    names = [s["capability"] for s in plan["steps"]]
    grouped: dict[int, list[str]] = {}
    for name, level in zip(names, stages(waits_of(plan))):
        grouped.setdefault(level, []).append(name)
    return " → ".join(" + ".join(group) for _, group in sorted(grouped.items()))


def _progress(kind: str, data: Mapping[str, Any], prefix: str = "") -> None:
    for line in _progress_lines(kind, data):
        _tell(prefix + line)


_output_gone: list[bool] = []


def _tell(line: str) -> None:
    """Print a progress line of a run. When the output has gone (its reader stopped:
    `ido run … | head -1`), the run goes on without it: a closed pipe stopped it between
    recording a step's start and making the call, for `ido resume` to settle."""
    if _output_gone:
        return
    try:
        typer.echo(line)
    except BrokenPipeError:
        _output_gone.append(True)
        with contextlib.suppress(OSError):  # later lines (and the outcome) go nowhere
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, sys.stdout.fileno())
            os.close(quiet)
        with contextlib.suppress(OSError):
            typer.echo("ido: the output was closed; the run goes on without it", err=True)


FALLBACK_WORDS = 200
"""How much of the model planner's verdict a progress line shows; explain shows it all."""


def _fallen_back(result: Mapping[str, Any]) -> str:
    """What a decision's progress line adds when a model planner's solver decided instead
    of the model (the call failed, no proposal held, a plan rule overruled it): without it
    the run's output read as the model's plan, and only explain said otherwise."""
    from ido.text import printable, shortened

    llm = result.get("solver", {}).get("llm") or {}
    if not llm.get("fallback"):
        return ""
    verdict = shortened(printable(str(llm.get("verdict") or "")), FALLBACK_WORDS)
    model = f" {llm['model']}" if llm.get("model") else ""
    return f" · decided by {llm['fallback']}, not the model{model}: {verdict}"


def _decided_lines(data: Mapping[str, Any]) -> list[str]:
    """A decision as a run goes: its plan in a line; made on resuming after an approval, the
    plan said `as approved` while it held, else what no longer held (`ido.approved_plan`)."""
    from ido.explain import approved_line
    from ido.text import printable

    result, check = data["result"], data.get("approved")
    head = f"decision {data['number']} ({data['trigger']})"
    if check and check.get("holds") and check.get("asked"):
        head += f", the plan of decision {check['decision']}, asked again ({check['asked']})"
    elif check and check.get("holds"):
        head += f", the plan approved in decision {check['decision']} still holds"
    if result["status"] == "planned":
        steps = _stages(result["plan"])
        line = (
            f"{head}: {steps} (cost {result['plan']['cost']:.2f}, "
            f"score {result['plan']['score']:.3f}){_fallen_back(result)}"
        )
    elif result["status"] == "infeasible":
        line = f"{head}: {_no_plan(result['reason'])}{_fallen_back(result)}"
    else:
        line = f"{head}: goal already holds"
    if check is None or check.get("holds"):
        return [line]
    return [f"  {printable(approved_line(check))}", line]


def _progress_lines(kind: str, data: Mapping[str, Any]) -> list[str]:
    from ido.explain import event_line, repeated

    if kind == "run_started":
        return [f"run {data['run_id']} · intent {data['intent']}"]
    if kind == "decided":
        return _decided_lines(data)
    if kind == "planning":
        from ido.planning_words import describe

        return [f"  … decision {data['decision']}: {describe(data)}"]
    if kind == "action_started":
        wait = f", after {data['backoff']:g}s backoff" if data.get("backoff") else ""
        undoing = f", undoing step {data['undoes_step']}" if "undoes_step" in data else ""
        return [f"  ▶ {data['capability']} (attempt {data['attempt']}{wait}{undoing})"]
    if kind == "action_repeated":  # it may take a while: say what runs
        return [f"  ▶ {data['capability']} (step {data['step']} again, as approved)"]
    if kind == "action_finished":
        from ido.model import format_duration

        took = format_duration(data["duration"])
        if data.get("settled"):  # a timed-out call the observation after it settled
            mark = "✓" if data["ok"] else "✗"
            return [f"  {mark} {data['capability']} {data['error']}; {data['settled']}"]
        if data.get("resumed") == "effects observed":  # settled on resume: never timed
            return [f"  ✓ {data['capability']}: interrupted; its effects were observed on resume"]
        if data["ok"]:  # and what it gave back that later steps will not find, if so
            note = f"; {data['note']}" if data.get("note") else ""
            return [f"  ✓ {data['capability']} in {took}{note}"]
        if data.get("timed_out"):  # its error says so, and after how long it was cut off
            return [f"  ✗ {data['capability']} {data['error']}"]
        if data.get("interrupted"):  # settled on resume: how long it ran is not known
            return [f"  ✗ {data['capability']}: {data['error']}"]
        return [f"  ✗ {data['capability']} after {took}: {data['error']}"]
    if kind == "approval_required" and data.get("cause"):
        # A call that timed out with its outcome unknown ends here for now: said as it ends,
        # not only in the blocked run's reason (side by side, other steps go on meanwhile).
        return [
            f"  ? {data['capability']} {data['cause']}; its outcome is unknown, "
            "and a person decides whether to perform it again"
        ]
    if kind == "run_resumed":
        if data.get("fails"):  # a "no" or an expired request: it ends here (undoing its steps)
            return [f"not going on: {data['fails']}"]
        steps = data["interrupted_steps"]
        open_steps = f"; settling step(s) {', '.join(map(str, steps))}" if steps else ""
        return [f"resuming{open_steps}"]
    if repeated(kind, data):
        return []  # the same failure as its last: told once (explain --format json has all)
    if kind in (
        "observer_failed",
        "effects_missing",
        "compensation_finished",
        "compensation_skipped",
        "process_stopped",
    ):
        return [f"  ! {event_line({'kind': kind, **data})}"]
    return []


RUN_OUTCOMES = ("achieved", "failed", "blocked", "shadow", "running", "interrupted")
"""The outcomes `ido runs` shows (and `--outcome` takes): the journal's, and for a run not
ended, `running` (a process here carries it on) or `interrupted` (`outcome_word`)."""


@app.command()
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
            f"{', '.join(RUN_OUTCOMES)}.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only runs from this day on (UTC; a kept scenario run goes by when it was "
            "recorded): an ISO 8601 date (2026-12-06).",
        ),
    ] = None,
) -> None:
    """List runs, newest first."""
    _check_format(fmt, ("text", "json"))
    from ido.explain import outcome_word
    from ido.journal import RunsAsked, SqliteJournal

    words = tuple(dict.fromkeys(_outcome_word(word) for word in outcome or ()))
    day = None if since is None else _iso_date(since, "--since")
    intents = tuple(dict.fromkeys(intent or ()))
    asked = RunsAsked(intents, tuple(dict.fromkeys(map(_stored, words))), day)
    known: set[str] = set()
    if not _journal_there(journal):
        rows, models, running = [], {}, set()
    else:
        with SqliteJournal(journal, reading=True) as store:

            def live(row: Any) -> bool:
                return row.outcome is None and _running(row, store.events(row.id))

            def told_apart(row: Any) -> bool:
                """Asked for running runs and not interrupted ones, or the other way round:
                whether this run not ended is the one asked for (SQL cannot tell)."""
                return row.outcome is not None or live(row) == ("running" in words)

            split = ("running" in words) != ("interrupted" in words)
            rows = store.runs(min(limit, SQLITE_MOST), asked, told_apart if split else None)
            models = store.model_use([r.id for r in rows])
            running = {r.id for r in rows if live(r)}
            known = store.intents() if intents else known
    for name in intents:
        if name not in known:
            typer.echo(f"warning: {_no_runs_of(name, known)}", err=True)
    if fmt == "json":
        listed = []
        for r in rows:
            cost, tokens = models.get(r.id, (0.0, 0))
            extra = {"running": r.id in running, "llm_cost": cost, "llm_tokens": tokens}
            listed.append({**r.to_json(), **extra})
        typer.echo(json.dumps(listed, indent=2))
        return
    if not rows:
        typer.echo(_no_runs_asked(words, intents, day))
        return
    from ido.model import format_wait

    wide = max(len("RUN"), *(len(r.id) for r in rows))  # columns as wide as what they hold
    named = max(len("INTENT"), *(len(r.intent) for r in rows))
    durations = [format_wait(r.duration) if r.duration is not None else "-" for r in rows]
    lasted = max(len(" DURATION"), *(len(d) for d in durations))
    typer.echo(
        f"{'RUN':<{wide}}  {'INTENT':<{named}}  {'OUTCOME':<11} {'COST':>8} {'LLM COST':>10} "
        f"{'DURATION':>{lasted}}  STARTED"
    )
    for r, duration in zip(rows, durations, strict=True):
        llm = f"{models[r.id][0]:.4f}" if r.id in models else "-"
        shown = outcome_word(r.outcome, r.id in running)
        # A kept scenario's run started when it was recorded; its duration is virtual time.
        started = r.started_at if r.recorded_at is None else f"{r.recorded_at} (scenario)"
        typer.echo(
            f"{r.id:<{wide}}  {r.intent:<{named}}  {shown:<11} "
            f"{r.cost:>8.2f} {llm:>10} {duration:>{lasted}}  {started}"
        )


def _outcome_word(word: str) -> str:
    """`word` if `ido runs` shows it as an outcome, else a usage error naming those it
    shows: a misspelt one would list no runs, as if none had that outcome."""
    from ido.text import did_you_mean

    if word in RUN_OUTCOMES:
        return word
    guess = did_you_mean(word, RUN_OUTCOMES)
    raise typer.BadParameter(
        f"'{word}' is not an outcome{'; ' + guess if guess else ''} (one of "
        f"{', '.join(RUN_OUTCOMES)})",
        param_hint="--outcome",
    )


def _stored(word: str) -> str | None:
    """An outcome as the journal writes it: a run not ended (running or interrupted) has
    none."""
    return None if word in ("running", "interrupted") else word


def _no_runs_asked(words: Sequence[str], intents: Sequence[str], day: str | None) -> str:
    """What `ido runs` found none of, in the words it was asked: `no failed runs of load-eu
    since 2026-12-01`; `no runs yet` when nothing was asked but runs."""
    if not (words or intents or day):
        return "no runs yet"
    said = ["no", *([" or ".join(words)] if words else []), "runs"]
    said += [f"of {' or '.join(intents)}"] if intents else []
    said += [f"since {day}"] if day else []
    return " ".join(said)


@app.command()
@_guard
def explain(
    run_ref: RunRef,
    journal: JournalOpt = DEFAULT_JOURNAL,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md, json or html.")] = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file, not stdout."),
    ] = None,
    color: Annotated[
        str,
        typer.Option("--color", help="auto (tables and colour on a terminal), always or never."),
    ] = "auto",
) -> None:
    """Explain every decision of a run: trigger, observed facts, choice, alternatives, outcome.

    `--format html -o report.html` writes one self-contained page: the plan graph, a
    timeline of actions and approvals, and a card per decision.
    """
    _check_format(fmt, ("text", "md", "json", "html"))
    _check_format(color, ("auto", "always", "never"), "--color")
    if output is not None:
        _not_the_journal(output, journal, "--output")
    import sys

    from ido.explain import render, run_view
    from ido.journal import SqliteJournal

    if not _journal_there(journal):  # a path named that is not there is a typo, said so
        raise NotFoundError(f"no journal at {journal}; run an intent first (ido run INTENT)")
    with SqliteJournal(journal, reading=True) as store:
        run_id = store.resolve(run_ref)
        row, events = store.run(run_id), store.events(run_id)
    view = run_view(row, events, _running(row, events))
    terminal = output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if fmt == "html":
        from ido.report_html import render_html

        text = render_html(view)
    elif fmt == "text" and (color == "always" or (color == "auto" and terminal)):
        from ido.explain_tty import render_tty

        text = render_tty(view, width=shutil.get_terminal_size().columns)
    else:
        text = render(view, fmt)
    if output is None:
        typer.echo(text, nl=False, color=True)  # ANSI only in what render_tty made
        return
    with writing(output):
        output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
@_guard
def schema(
    kind: Annotated[
        str | None,
        typer.Argument(help="Intent, Capability, Policy, Observer, Scenario or PolicyTest."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write every kind's schema into this folder.")
    ] = None,
) -> None:
    """Print the JSON Schema of a resource kind (or write all with --out)."""
    from ido.model import KINDS
    from ido.schemas import kind_named, schema_text

    if out is not None and kind is not None:
        raise typer.BadParameter(
            "--out writes every kind's schema; name no KIND with it", param_hint="KIND"
        )
    if out is not None:
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
        for name in KINDS:
            file = out / f"{name.lower()}.schema.json"
            with writing(file):
                file.write_text(schema_text(name), encoding="utf-8")
        typer.echo(f"wrote {len(KINDS)} schemas to {out}")
        return
    if kind is None:
        typer.echo("kinds: " + ", ".join(KINDS) + " (ido schema KIND prints one)")
        return
    found = kind_named(kind)
    if found is None:
        raise IdoError(f"unknown kind '{kind}'; use one of {', '.join(KINDS)}")
    typer.echo(schema_text(found), nl=False)


@app.command("import-pddl")
@_guard
def import_pddl(
    domain: Annotated[Path, typer.Argument(help="PDDL domain file.")],
    problem: Annotated[Path, typer.Argument(help="PDDL problem file.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the catalog to.")],
    max_steps: Annotated[
        int,
        typer.Option("--max-steps", min=1, max=MOST_STEPS, help="limits.max_steps of the intent."),
    ] = MOST_STEPS,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files already there that differ.")
    ] = False,
) -> None:
    """Ground a PDDL domain and problem into capabilities and an intent (STRIPS, typing,
    negative preconditions, equality, action costs; ADL's or, not, imply, exists and forall
    in preconditions and goals; conditional and universal effects)."""
    from ido.pddl import import_pddl as run_import

    with _grounding(_planning_to_terminal(), problem):
        done = run_import(domain, problem, out, max_steps, force)
    if done.rounded is not None:
        typer.echo(f"warning: {problem}: {done.rounded}", err=True)
    typer.echo(
        f"wrote {_counted(done.actions, 'capability', 'capabilities')} to {done.capabilities}"
        " and intent "
        f"'{done.intent_name}' to {done.intent}\n"
        f"plan it: cd {out} && ido plan {done.intent_name}"
    )


from ido.cli_scenario import scenario_app  # noqa: E402 - needs the helpers above

app.add_typer(scenario_app, name="scenario")


def main() -> None:
    """The command line (the `ido` command is `ido.__main__.main`)."""
    _take_termination_as_interrupt()
    app(prog_name="ido")


def _take_termination_as_interrupt() -> None:
    """SIGTERM and SIGHUP end the command as Ctrl-C does (`stopping.Terminated`), not at
    once: a shell step's process is killed with the run, which is left interrupted. A
    signal set to be ignored (`nohup`) stays ignored."""
    import signal

    from ido.runtime.stopping import STOPPING_SIGNALS, terminate

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOPPING_SIGNALS:
        if signum != signal.SIGINT and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, terminate)


if __name__ == "__main__":
    main()
