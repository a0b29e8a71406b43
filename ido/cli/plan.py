"""`ido plan`: plan an intent (or a PDDL problem) without acting, and show the plan."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    INFEASIBLE,
    MOST_STEPS,
    CatalogOpt,
    JournalOpt,
    _catalog_paths,
    _check_format,
    _check_out_file,
    _guard,
    _load,
)
from ido.cli.deciding import _decide_once, _planning_to_terminal
from ido.cli.pddl import (
    _grounding,
    _ipc_plan,
    _option_like,
    _pddl_decision,
    _pddl_intent,
    _unsolvable_json,
)
from ido.cli.planners import PlannerOpt, check_planner, on_planner
from ido.errors import UnsolvableError, writing
from ido.files import same_file


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
    planner: PlannerOpt = None,
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
    check_planner(planner)
    from ido.loading.load import find_intent

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
        _check_out_file(plan_out, "--plan-out", journal)  # before planning, which may take minutes
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
        loaded = _load(catalog, intent, listener)
        chosen = find_intent(loaded, intent)
    chosen = on_planner(chosen, planner)
    chosen = _on_limits(chosen, _solve_time(solve_time), search_states, max_steps, alternatives)
    with _user_prints_aside(fmt):
        decision = (
            _decide_once(loaded, chosen, _beliefs(journal), listener)
            if pddl is None
            else _pddl_decision(loaded, chosen, listener)
        )
    from ido.approval_asking import would_ask

    asks = would_ask(decision, chosen.spec.mode)
    told = _with_owners(decision.to_json(), loaded, chosen) if pddl is None else decision.to_json()
    if fmt == "json":
        # The waits as the text view says them: `approvals` lists the rules' alone.
        needed = [{k: v for k, v in ask.items() if k != "kind"} for ask in asks]
        shown = {**told, "approvals_needed": needed}
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
            "decisions": [{**told, "actions": []}],
            "events": asks,
        }
        typer.echo(render(view, "text"), nl=False)
    if plan_out is not None and decision.result.plan is not None:
        with writing(plan_out):  # after the decision is shown: a failed write loses nothing
            plan_out.write_text(_ipc_plan(loaded, decision.result.plan), encoding="utf-8")
    status = decision.result.status
    raise typer.Exit(INFEASIBLE if status == "infeasible" else 0)


def _with_owners(told: dict[str, Any], loaded: Any, chosen: Any) -> dict[str, Any]:
    """The decision as `ido explain` tells a run's: with the owner of each policy that names
    one (`policy_owners`), and so beside each rejection by its rules (`owner`), whom to
    ask of a capability a rule ruled out."""
    from ido.explain_rejected import owned_rejections
    from ido.policy import owners_of, rulebook

    owners = owners_of(rulebook(chosen, loaded.policies).policies, loaded.policies)
    if not owners:
        return told
    return {**told, "policy_owners": owners, "result": owned_rejections(told["result"], owners)}


@contextmanager
def _user_prints_aside(fmt: str) -> Iterator[None]:
    """Under `--format json`, what a Python observer prints goes to standard error: on
    standard output, before the document, it made `ido plan --format json | jq` fail."""
    if fmt != "json":
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _not_an_input(plan_out: Path, inputs: list[Path]) -> None:
    """A usage error for a `--plan-out` that is one of the files planned from (the PDDL
    domain or problem, a YAML file of the catalog): writing the plan would lose it."""
    from ido.loading.files import yaml_files

    if not plan_out.exists():  # (a new file is none of them: no walk of the catalog)
        return
    files = [p for p in inputs if p.is_file()] + list(yaml_files(inputs)[0])
    for file in files:  # (another name of one, a link say, is told: "plan.txt is p.pddl, …")
        if same_file(plan_out, file):
            named = "a file" if str(file) == str(plan_out) else f"{file}, which is a file"
            raise typer.BadParameter(
                f"{plan_out} is {named} this plan is made from", param_hint="--plan-out"
            )


def _clear_plan_file(plan_out: Path) -> None:
    """Empty what an earlier plan left at `plan_out`, so that no plan (exit 4) or an error
    (exit 2) leaves no plan there for a script to validate as this one's: a file is
    removed; a link to one is kept and its file emptied; a device is left alone."""
    with writing(plan_out):
        if plan_out.is_symlink() and plan_out.is_file():
            plan_out.write_text("", encoding="utf-8")
        elif plan_out.is_file():
            plan_out.unlink()


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
    from ido.journal.sqlite import SqliteJournal

    if not journal.exists():
        if journal != DEFAULT_JOURNAL:  # named, so perhaps misspelt: said
            typer.echo(f"no journal at {journal} yet: planning with the declared figures", err=True)
        return {}
    with SqliteJournal(journal, reading=True) as store:
        return dict(store.health())
