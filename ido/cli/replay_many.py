"""`ido replay RUN RUN…`: replay several runs, a line each, and what changed in all.

Which runs a new rule would have stopped, or which still re-decide the same after an
upgrade: one replay per run, each said in one line (`ido replay RUN` says one in full).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from ido.decision_record import refuse_unreadable
from ido.errors import IdoError

if TYPE_CHECKING:
    from ido.loading.catalog import Catalog


def replay_many(
    runs: Sequence[tuple[str, str | None]],
    store: Any,
    catalog: Catalog,
    exact: bool,
    planner: str | None = None,
    fail_on: str | None = None,
) -> None:
    """Replay each run of `runs` (in the journal `store`) against `catalog`, exactly or as
    a counterfactual, print a line each and a total; exit 1 when an exact replay diverged,
    2 when a run could not be replayed or was not found (said on its line, the others go
    on), 1 when a counterfactual fails the `--fail-on` gate (`fail_on`, see
    `ido.cli.replay.fails`). `runs`: (a run id, None), or (a reference not resolved,
    why). `planner`: the backend a counterfactual plans with instead of each run's."""
    from ido.text import printable

    failed = 0
    missing: list[str] = []  # the references that name no run (or several)
    changed: list[str] = []  # the runs that decide otherwise
    outcomes: Counter[str] = Counter()  # of those whose outcome changes: `blocked → failed`
    gated: list[str] = []  # the runs that fail the `--fail-on` gate
    intents: dict[str, list[int]] = {}  # per intent: its runs replayed, of them changed
    for run_id, unknown in runs:
        if unknown is not None:
            missing.append(run_id)
            typer.echo(printable(f"{run_id}  not replayed: {unknown}"))
            continue
        row, events = store.run(run_id), store.events(run_id)
        try:
            for event in events:  # one edited by hand: this run cannot be, the others are
                refuse_unreadable(run_id, event)
            if exact:
                said, differs, moved = _exact(run_id, events, row, catalog)
            else:
                said, differs, moved, fails = _counterfactual(
                    run_id, events, row, catalog, planner, fail_on
                )
                if fails:
                    gated.append(run_id)
        except IdoError as exc:
            failed += 1
            typer.echo(printable(f"{run_id}  {row.intent}  cannot be replayed: {exc}"))
            continue
        typer.echo(printable(f"{run_id}  {row.intent}  {said}"))
        counted = intents.setdefault(row.intent, [0, 0])
        counted[0] += 1
        if differs:
            changed.append(run_id)
            counted[1] += 1
        if moved:
            outcomes[moved] += 1
    found = len(runs) - len(missing)
    total = _total(found, changed, outcomes, failed, exact) if found else "no run replayed"
    typer.echo(printable(total + _by_intent(intents, exact) + _missing(missing)))
    if gated:
        from ido.text import some

        typer.echo(f"--fail-on {fail_on}: the {fail_on} changes for {some(gated, 5, counted=True)}")
    raise typer.Exit(2 if failed or missing else 1 if (exact and changed) or gated else 0)


def _by_intent(intents: dict[str, list[int]], exact: bool) -> str:
    """`; by intent: pay 2 of 5, ship 0 of 3`: of each intent's runs, how many decide
    otherwise (diverge, exactly), when runs of several intents were replayed (each team's
    intents: whose runs a proposed policy reaches)."""
    if len(intents) < 2:
        return ""
    counts = ", ".join(f"{name} {n[1]} of {n[0]}" for name, n in sorted(intents.items()))
    return f"; by intent: {counts}"


def _missing(refs: Sequence[str]) -> str:
    """`; not found: abc, last2 (see ido runs)`: the runs asked for that were not replayed."""
    from ido.text import printable, some

    return f"; not found: {printable(some(refs, 5))} (see ido runs)" if refs else ""


def _exact(run_id: str, events: Any, row: Any, catalog: Catalog) -> tuple[str, bool, str]:
    from ido.replay.exact import replay_exact

    result = replay_exact(run_id, events, catalog)
    edited = f"; policies edited since: {', '.join(result.edited)}" if result.edited else ""
    d = result.divergence
    if d is None:
        worded = " (worded otherwise)" if result.worded else ""
        return f"identical{worded}: {result.decisions} decision(s){edited}", False, ""
    return f"diverged at decision {d.number}: {', '.join(d.fields)}{edited}", True, ""


def _counterfactual(
    run_id: str,
    events: Any,
    row: Any,
    catalog: Catalog,
    planner: str | None = None,
    fail_on: str | None = None,
) -> tuple[str, bool, str, bool]:
    from ido.cli.planners import with_planner
    from ido.cli.replay import _approval_change, _decided_otherwise, _decision_summary
    from ido.cli.replay_gate import fails
    from ido.replay.what_if import replay_counterfactual
    from ido.text import money

    c = replay_counterfactual(run_id, events, row, catalog, with_planner(events, None, planner))
    if c.unrecorded:  # (before its line: a line of several runs has no room for it)
        from ido.cli.replay import unrecorded_words

        for missing in c.unrecorded:
            typer.echo(f"warning: {unrecorded_words(run_id, missing)}", err=True)
    was = c.recorded_outcome or "interrupted"
    ended = f"{was} → {c.outcome}, cost {money(c.recorded_cost)} → {money(c.cost)}"
    asked = [d for d in c.decisions if d not in c.changed and _approval_change(d)]
    if not c.changed and not asked:
        return (
            f"same choices: {c.outcome}, cost {money(c.cost)}",
            False,
            "",
            fails(c, fail_on, events),
        )
    if c.changed:
        first = c.changed[0]
        sides = [
            "(no such decision)" if side is None else _decision_summary(side)
            for side in (first.recorded, first.replayed)
        ]
        more = f" (and {len(c.changed) - 1} more)" if len(c.changed) > 1 else ""
        said = f"decision {first.number} changes{more}: {sides[0]} → now {sides[1]}"
    else:
        first = asked[0]
        said = f"decision {first.number}: same plan; {_approval_change(first)}"
        said += _decided_otherwise(first)
    moved = f"{was} → {c.outcome}" if was != c.outcome else ""
    return f"{said}; outcome {ended}", True, moved, fails(c, fail_on, events)


def _total(runs: int, changed: list[str], outcomes: Counter[str], failed: int, exact: bool) -> str:
    """`2 of 13 runs decide otherwise under these inputs; outcomes: blocked → failed ×2`."""
    if exact:
        said = f"{runs - len(changed) - failed} of {runs} run(s) re-decided the same"
    else:
        said = f"{len(changed)} of {runs} run(s) decide otherwise under these inputs"
        if outcomes:
            moves = ", ".join(f"{move} ×{n}" for move, n in outcomes.most_common())
            said += f"; outcomes: {moves}"
    return said + (f"; {failed} could not be replayed" if failed else "")
