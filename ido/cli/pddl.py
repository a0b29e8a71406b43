"""PDDL at the command line: `ido import-pddl`, and what `ido plan --pddl` adds to a plan."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ido.cli.common import MOST_STEPS, _guard
from ido.cli.deciding import _decide_once, _planning_to_terminal
from ido.errors import OutOfBudget, UnsolvableError


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


def _cpsat_budgets_spent(stop: OutOfBudget) -> bool:
    """Whether `stop` is CP-SAT's `BudgetsSpent`: only if CP-SAT was imported, which a plan
    by search alone does not do (nor pay its ~10 ms for)."""
    cpsat = sys.modules.get("ido.planner.cpsat")
    return cpsat is not None and isinstance(stop, cpsat.BudgetsSpent)


def _pddl_decision(loaded: Any, chosen: Any, listener: Any = None) -> Any:
    """`_decide_once` for `ido plan --pddl`, whose search, should it give up, is given more
    by the command's flags: a PDDL problem has no intent file whose limits one could edit."""
    from ido.planner.astar import SearchGaveUp

    try:
        decision = _decide_once(loaded, chosen, listener=listener)
    except OutOfBudget as stop:
        if _cpsat_budgets_spent(stop):
            raise stop.advised(
                f"{_pddl_size(loaded, chosen)}: a larger `--solve-time DURATION` or "
                "`--search-states N` gives them more room"
            ) from None
        # the search's, alone or settling CP-SAT's solve
        other = ", or `--planner cpsat` may settle it" if isinstance(stop, SearchGaveUp) else ""
        raise stop.advised(f"`--search-states N` lets it go further{other}") from None
    from ido.planner.structural import MORE_STEPS

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


def _unsolvable_json(exc: UnsolvableError, planner: str) -> NoReturn:
    """`ido plan --pddl -f json` on a problem grounding proves has no plan: the decision as
    JSON, "infeasible" with the reason, as for any other plan, and exit 4."""
    from ido.decision import Decision
    from ido.planner.types import PlanResult

    result = PlanResult("infeasible", reason=exc.reason, solver={"backend": "pddl grounding"})
    decision = Decision(1, "ido plan", planner, "", {}, result, {}, (), ())
    typer.echo(json.dumps(decision.to_json(), indent=2, sort_keys=True, default=str))
    raise typer.Exit(exc.exit_code)


def _pddl_intent(domain: Path, problem: Path) -> tuple[Any, Any]:
    """A PDDL problem as `ido plan --pddl` plans it: the catalog `ido import-pddl` would
    write (checked as loading it would, but built in memory) and that catalog's intent."""
    from ido.pddl import pddl_catalog

    loaded, name, rounded = pddl_catalog(domain, problem)
    if rounded is not None:
        typer.echo(f"warning: {problem}: {rounded}", err=True)
    return loaded, loaded.intents[name]


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
    shell: Annotated[
        str | None,
        typer.Option(
            "--shell",
            metavar="COMMAND",
            help="Give every capability this shell binding, its action's name and arguments"
            " appended: 'bin/dispatch.sh' runs [bin/dispatch.sh, drive, t1, hub, s1]"
            " (split as a shell splits words; never run through one).",
        ),
    ] = None,
) -> None:
    """Ground a PDDL domain and problem into capabilities and an intent (STRIPS, typing,
    negative preconditions, equality, action costs; ADL's or, not, imply, exists and forall
    in preconditions and goals; conditional and universal effects)."""
    from ido.pddl import import_pddl as run_import
    from ido.text import counted

    argv = () if shell is None else _shell_argv(shell)
    with _grounding(_planning_to_terminal(), problem):
        done = run_import(domain, problem, out, max_steps, force, argv)
    if done.rounded is not None:
        typer.echo(f"warning: {problem}: {done.rounded}", err=True)
    typer.echo(
        f"wrote {counted(done.actions, 'capability', 'capabilities')} to {done.capabilities}"
        " and intent "
        f"'{done.intent_name}' to {done.intent}\n"
        f"plan it: cd {out} && ido plan {done.intent_name}"
        + (f"\nrun it: cd {out} && ido run {done.intent_name}" if argv else "")
    )


def _shell_argv(command: str) -> tuple[str, ...]:
    """`--shell`'s COMMAND as the argv each capability runs (before its action's name and
    arguments), checked as a capability's `run.shell` is loaded: a usage error otherwise."""
    import shlex

    from ido.model.capability_spec import RunBinding

    try:
        argv = tuple(shlex.split(command))
        if not argv:
            raise ValueError("give a command, such as 'bin/dispatch.sh'")
        RunBinding.model_validate({"shell": list(argv)})
    except ValueError as exc:  # (pydantic's ValidationError is one: its first message)
        errors = getattr(exc, "errors", None)
        said = str(errors()[0]["msg"]).removeprefix("Value error, ") if errors else str(exc)
        raise typer.BadParameter(said, param_hint="--shell") from None
    return argv
