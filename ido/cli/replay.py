"""`ido replay`: re-decide a run's decisions, exactly or under changed inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ido.cli.common import (
    DEFAULT_JOURNAL,
    CatalogOpt,
    JournalOpt,
    _catalog_paths,
    _check_format,
    _guard,
    _journal_there,
    _running,
)
from ido.cli.planners import check_planner, planner_of, with_planner
from ido.cli.progress import _fallen_back, _no_plan, _stages
from ido.cli.replay_gate import FAIL_ON, fails
from ido.decision_record import refuse_unreadable
from ido.errors import IdoError, NotFoundError
from ido.text import money

if TYPE_CHECKING:
    from ido.loading.catalog import Catalog
    from ido.model import Intent
    from ido.scenario.counterfactual import Unreplayed


@_guard
def replay(
    run_refs: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN...",
            help="Run id, id prefix, or 'last'; several: a line each, and what changed in all.",
        ),
    ],
    catalog: CatalogOpt = None,
    journal: JournalOpt = DEFAULT_JOURNAL,
    policies: Annotated[
        Path | None,
        typer.Option(help="Counterfactual: these policies instead of policies/ here."),
    ] = None,
    intent: Annotated[
        Path | None, typer.Option(help="Counterfactual: this intent file instead of the run's.")
    ] = None,
    planner: Annotated[
        str | None,
        typer.Option(
            "--planner",
            metavar="NAME",
            help="Counterfactual: this planner backend instead of the run's: cpsat, search, "
            "llm, hybrid.",
        ),
    ] = None,
    exact: Annotated[
        bool,
        typer.Option(
            "--exact", help="Exact replay against the catalog --catalog adds to, not a what-if."
        ),
    ] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="outcome|decision",
            help="With a what-if: exit 1 when a run's outcome would change (outcome), or any "
            "of its decisions (decision): a CI gate for a changed policy.",
        ),
    ] = None,
) -> None:
    """Re-decide a run's decisions from the journal: exactly, or under changed inputs.

    Without --policies, --catalog, --intent or --planner (or with --exact): every recorded
    decision is re-decided from its recorded inputs; exit 0 when all choose as recorded
    (those worded otherwise are named), 1 at the first that chooses otherwise, shown side by
    side. With any of them: the run is done again under the changed inputs in the world
    the recording met, and the decisions that change are listed, with how outcome, cost and
    time change; exit 0, or 1 with --fail-on when an outcome (or a decision) changes.
    """
    from ido.journal.sqlite import SqliteJournal
    from ido.loading.files import inside
    from ido.loading.load import load_catalog
    from ido.replay.exact import replay_exact
    from ido.replay.what_if import replay_counterfactual

    check_planner(planner)
    if fail_on is not None:
        _check_format(fail_on, FAIL_ON, "--fail-on")
    if intent is not None and len(run_refs) > 1:
        raise typer.BadParameter(
            "--intent replaces one run's intent: give one RUN, or change the policies or "
            "the catalog (--policies, --catalog) to replay several",
            param_hint="--intent",
        )
    if exact and planner is not None:
        raise typer.BadParameter(
            "an exact replay re-decides with the planner the run recorded; --planner asks what "
            "another would decide (a counterfactual): give one or the other",
            param_hint="--exact",
        )
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
    words = {"policies": "a replay given other policies (--policies DIR) needs it in DIR too"}
    loaded = load_catalog(
        paths,
        replaced=words if policies is not None else None,
        unnamed=[intent] if intent is not None else (),  # (its intent names itself)
    )
    exactly = exact or (policies is None and catalog is None and intent is None and not planner)
    if exactly and fail_on is not None:
        raise typer.BadParameter(
            "--fail-on judges a what-if (--policies, --catalog, --intent or --planner); an "
            "exact replay exits 1 already when a decision chooses otherwise",
            param_hint="--fail-on",
        )
    if len(run_refs) > 1:
        from ido.cli.replay_many import replay_many

        with SqliteJournal(journal, reading=True) as store:
            replay_many(_resolved(store, run_refs), store, loaded, exactly, planner, fail_on)
    with SqliteJournal(journal, reading=True) as store:
        run_id = store.resolve(run_refs[0])
        events, row = store.events(run_id), store.run(run_id)
    for event in events:  # a decision edited by hand: said, where replaying it raised
        refuse_unreadable(run_id, event)
    live = _running(row, events)  # its decisions so far: not an outcome yet
    if exactly:
        _exact(replay_exact(run_id, events, loaded), live, loaded)
    chosen = _intent_in(loaded, intent, run_id, row.intent) if intent is not None else None
    chosen = with_planner(events, chosen, planner)
    result = replay_counterfactual(run_id, events, row, loaded, chosen)
    was = planner_of(events)
    _counterfactual(
        run_id,
        result,
        live,
        (was, planner) if planner not in (None, was) else None,
        fail_on,
        events,
    )


def _resolved(store: Any, run_refs: Sequence[str]) -> list[tuple[str, str | None]]:
    """Each run named, once, as (its id, None), or, when it is not in the journal or its
    prefix is ambiguous, as (the reference, why): one run mistyped stopped the replay of
    all the others, none replayed."""
    found: dict[str, str | None] = {}
    for ref in run_refs:
        try:
            found.setdefault(store.resolve(ref), None)
        except NotFoundError as exc:
            found.setdefault(ref, str(exc))
    return list(found.items())


def _intent_in(catalog: Catalog, file: Path, run_id: str, pursued: str) -> Intent:
    """The changed copy of the run's intent that `--intent FILE` gives, found by its name
    whatever the file is named (the loader required the file named after the intent, and
    refused any other, `must equal the file name 'tight'`); refused, both named, when the
    file gives another intent, or none."""
    resolved = file.resolve()
    found = sorted(
        name
        for (kind, name), origin in catalog.origins.items()
        if kind == "Intent" and origin.file == resolved
    )
    if pursued in found:
        return catalog.intents[pursued]
    if not found:
        raise NotFoundError(
            f"{file} declares no intent: --intent names a file holding a changed copy of "
            f"intent {pursued}, which run {run_id} pursued"
        )
    raise IdoError(
        f"run {run_id} pursued intent {pursued}; --intent gives {', '.join(found)} (in {file}): a "
        f"counterfactual replays the same intent, changed (name it {pursued} in the file)"
    )


STILL_RUNNING = " (it is still running: its decisions so far)"
"""What a replay of a run a process here still carries on adds: it has no outcome yet."""


def _exact(result: Any, live: bool = False, catalog: Catalog | None = None) -> None:
    if result.divergence is None and not result.worded:
        typer.echo(
            f"identical: {result.decisions} decision(s) of run {result.run_id} re-decided the "
            f"same{STILL_RUNNING if live else ''}"
        )
        _edited(result.edited)
        raise typer.Exit(0)
    if result.divergence is None:
        _worded(result)
        _edited(result.edited)
        raise typer.Exit(0)
    d = result.divergence
    typer.echo(f"diverged at decision {d.number} of run {result.run_id} (trigger: {d.trigger})")
    typer.echo(f"fields that differ: {', '.join(d.fields)}")
    if d.worded:
        typer.echo(f"worded otherwise too: {', '.join(d.worded)}")
    if d.catalog is not None:
        typer.echo(_catalog_change(d.catalog))
    if d.policies:
        typer.echo(f"policies edited since the run: {', '.join(d.policies)}")
    for label, side in (("recorded", d.recorded), ("replayed", d.replayed)):
        typer.echo(f"  {label}: {_decision_summary(side)}")
    if "result.rejections" in d.fields:
        from ido.replay.compare import rejections_changed
        from ido.text import printable

        removed = d.catalog.removed if d.catalog is not None else ()
        for line in rejections_changed(d.recorded, d.replayed, removed):
            typer.echo(f"  rejected: {printable(line)}")
    if "policy" in d.fields and catalog is not None and None not in (d.recorded, d.replayed):
        from ido.replay.null_keys import has_of_null

        for line in has_of_null(d.recorded, d.replayed, catalog, d.policies):
            typer.echo(line)
    if "approvals" in d.fields:
        from ido.replay.compare import approvals_changed
        from ido.text import printable

        for line in approvals_changed(d.recorded, d.replayed):
            typer.echo(f"  {printable(line)}")
    raise typer.Exit(1)


def _edited(policies: Sequence[str]) -> None:
    """Policies edited since the run though every decision chose the same: a run that
    re-decides the same under a policy changed since was not made under it as it stands
    (a threshold raised from 10,000 to 20,000 that a payout of 22,000 still passes)."""
    if policies:
        typer.echo(
            f"policies edited since the run: {', '.join(policies)} (the decisions were made "
            "under their recorded versions, and choose the same under these)"
        )


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
    """`the catalog has changed since the run: capabilities added: a, b; removed: c;
    changed: d`, each list cut at CHANGES_SHOWN. For a run that recorded no digests of its
    catalog, what its decisions tell, and those they never named said to be that: such a
    one may have been in the catalog all along, out of play until now."""
    from ido.text import some

    said = []
    for label, names in (
        ("added", change.added),
        ("removed", change.removed),
        ("changed", change.changed),
    ):
        if names:
            said.append(f"{label}: {some(names, CHANGES_SHOWN)}")
    if change.known:
        return "the catalog has changed since the run: capabilities " + "; ".join(said)
    told = ["the run kept no copy of its catalog"]
    if said:
        told.append("its decisions tell of capabilities " + "; ".join(said))
    if change.unnamed:
        told.append(
            f"named now, by no decision of the run: {some(change.unnamed, CHANGES_SHOWN)} "
            "(added since, or not in play then)"
        )
    return "; ".join(told)


def _counterfactual(
    run_id: str,
    c: Any,
    live: bool = False,
    planners: tuple[str, str] | None = None,
    fail_on: str | None = None,
    events: Sequence[Any] = (),
) -> None:
    """Print a counterfactual replay; `planners`: the run's and the one `--planner` named
    in its place, when they differ; exit 1 when it fails the `--fail-on` gate."""
    from ido.model import format_wait
    from ido.text import printable

    typer.echo(f"counterfactual replay of run {run_id}{STILL_RUNNING if live else ''}")
    if planners is not None:
        typer.echo(f"planner: {planners[0]} → {planners[1]}")
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
            typer.echo(f"decision {d.number}: same plan; {asked}{_decided_otherwise(d)}")
        else:
            typer.echo(f"decision {d.number}: same choice{_decided_otherwise(d)}")
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
        f"cost: {money(c.recorded_cost)} → {money(c.cost)}; time: {time} "
        f"({'virtual' if c.virtual else 'wall'}) → "
        f"{format_wait(c.time)} (the recorded calls' durations"
        # (a call the recording never made lasted a latency taken for it, not a recorded one)
        + (", and the latencies taken for calls the recording never made" if c.unknown else "")
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
            + "; ".join(printable(str(m)) for m in c.unreplayed)
            + _not_made(c.unreplayed)
        )
    for missing in c.unrecorded:
        typer.echo(f"warning: {unrecorded_words(run_id, missing)}")
    if fails(c, fail_on, events):
        typer.echo(f"--fail-on {fail_on}: the {fail_on} changes under these inputs")
        raise typer.Exit(1)
    raise typer.Exit(0)


def unrecorded_words(run_id: str, missing: str) -> str:
    """What a what-if of a run of an older ido (journal schema 1) makes do without, said:
    it went ahead as if its inputs were whole."""
    return (
        f"run {run_id} was recorded by an older ido (journal schema 1, or 2 before ido "
        f"replay), which did not record {missing}: the replay decided without them, so a "
        "decision may differ for that alone, not for the inputs changed"
    )


def _decided_otherwise(d: Any) -> str:
    """The same choice made by the solver where the recorded one was the model's (a request
    the run never made is not asked): without it, the line read as the model's word."""
    if d.recorded is None or d.replayed is None:
        return ""
    was = d.recorded["result"].get("solver", {}).get("llm") or {}
    now = d.replayed["result"].get("solver", {}).get("llm") or {}
    if not now.get("fallback") or now.get("verdict") == was.get("verdict"):
        return ""
    return _who_decided(d.replayed["result"])


def _who_decided(result: Mapping[str, Any]) -> str:
    """Who decided a replayed decision, when a model planner's model did not: as `ido run`
    says it, but for a request the recording never made (the what-if changed what the
    model is told, so none of its recorded answers is to this request; or the run's
    planner asked no model at all), said plainly: "not asked" read as if the replay had
    chosen not to ask."""
    from ido.planner.llm_calls import UNRECORDED

    llm = result.get("solver", {}).get("llm") or {}
    calls = llm.get("calls") or []
    if not llm.get("fallback") or not any(
        (c.get("reply") or {}).get("error") == UNRECORDED for c in calls
    ):
        return _fallen_back(result)
    model = f" {llm['model']}" if llm.get("model") else ""
    return (
        f" · decided by the solver ({llm['fallback']}), not the model{model}: the run "
        "recorded no answer to this request (a replay asks no model)"
    )


def _not_made(unreplayed: Sequence[Unreplayed]) -> str:
    """What the replay did not make that the moves it leaves out followed: calls, or waits
    for approval."""
    waits = sum(m.kind == "wait" for m in unreplayed)
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
    """A decision in a line, with who decided when a model planner's model did not (as
    `ido run` says it): a counterfactual's request the run never made is not asked, and
    its solver's plan read as the model's."""
    result = decision["result"]
    if result["status"] == "planned" and result.get("plan"):
        plan = result["plan"]
        said = f"{_stages(plan)} (cost {money(plan['cost'])}, score {plan['score']:.3f})"
    elif result["status"] == "infeasible":
        said = _no_plan(result["reason"])
    else:
        said = "goal already holds"
    return said + _who_decided(result)
