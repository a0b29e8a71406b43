"""Exact replay: re-decide every recorded decision of a run and compare, like a workflow
replayer checks that code still makes the same choices from the same history.

A decision's inputs are all in the journal: the state observed just before it, the failures
and outcomes the run had seen (which, with the health evidence recorded when the run
started or resumed, give the beliefs), the moment it was made, what had been spent and how
long it had taken, and the policies in force. Replay feeds them to `decide` with today's
catalog and planner, and reports the first decision that chooses otherwise; those that
choose the same in other words (`ido.decision_words`) are noted, and it goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ido.approved_plan import approved_plan, decide_approved
from ido.catalog_record import (
    CatalogChange,
    mentioned_by,
    recorded_change,
    told_change,
)
from ido.decision_words import chosen, reworded
from ido.errors import IdoError, JournalError
from ido.health import Evidence, Lesson, with_lessons
from ido.journal.catalogs import RECORDED_AS
from ido.journal.records import Event, scenario_of
from ido.loading.catalog import Catalog
from ido.model import Intent, recorded_intent
from ido.planner import Planner, get_planner
from ido.planner.llm_calls import Recorded, recorded_calls
from ido.policy import policy_digests
from ido.replay.compare import _differences, _json
from ido.runtime.folds import (
    RunState,
    fold_done,
    fold_finish,
    fold_lessons,
    fold_missing,
    fold_model_calls,
    history_of,
)

INPUTS = (
    "now",
    "policies",
    "policy_digests",
    "policy_owners",
    "capability_digests",
    "unbound",
    "unresolved",
)  # beside a decision


@dataclass(frozen=True)
class Divergence:
    number: int
    trigger: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    fields: tuple[str, ...]
    """Top-level fields of the decision that chose otherwise (`result.plan`, `beliefs`, …)."""
    catalog: CatalogChange | None = None
    """How the catalog seems to have changed since the run, when it seems to have."""
    policies: tuple[str, ...] = ()
    """Policies the decision was made under that were edited since (by their recorded
    digests; a run recorded before they were kept tells none)."""
    worded: tuple[str, ...] = ()
    """Top-level fields that differ only in their words."""


@dataclass(frozen=True)
class Worded:
    """A decision re-decided the same, in other words than the recorded one."""

    number: int
    fields: tuple[str, ...]
    """Top-level fields whose words differ (`result.reason`, `beliefs`, …)."""
    example: tuple[str, str, str]
    """The first piece of prose that differs: its path, recorded and replayed words."""


@dataclass(frozen=True)
class Replay:
    run_id: str
    decisions: int
    """How many decisions were re-decided (up to and including a divergence)."""
    divergence: Divergence | None
    worded: tuple[Worded, ...] = ()
    """The decisions before any divergence that chose the same in other words."""
    edited: tuple[str, ...] = ()
    """Policies a decision re-decided was made under that were edited since (by their
    recorded digests): named even when every decision chose the same, for an auditor
    asking whether a run was made under the policies as they stand."""


def replay_exact(run_id: str, events: Sequence[Event], catalog: Catalog) -> Replay:
    """Re-decide each recorded decision of the run from its recorded inputs."""
    if not events or events[0].kind != "run_started":
        raise JournalError(f"run {run_id} has no run_started event; nothing to replay")
    started = events[0].data
    try:
        intent = recorded_intent(started["intent"])
    except Exception as exc:  # a journal from another version: say so, do not guess
        raise JournalError(f"run {run_id}: the recorded intent cannot be read: {exc}") from None
    missing = [c for c in _capabilities(events) if c not in catalog.capabilities]
    if missing:
        raise IdoError(
            f"run {run_id} used {', '.join(sorted(missing))}, not in this catalog; "
            "an exact replay needs the catalog it ran against: run it in the folder that "
            "holds that catalog (--journal naming this journal; --exact --catalog PATH "
            "adds a folder it came from), or see what changes without them with a "
            "counterfactual replay (--catalog PATH)"
        )
    planner = recorded_planner(events, intent, exact=True)
    written = catalog.policies  # as their files say: the digests were taken of these
    catalog = _as_recorded(catalog)
    base = _evidence(started.get("health", {}))
    run = RunState(run_id, intent, 0.0, evidence=dict(base))  # as resume folds it back
    lessons: list[Lesson] = []  # since the run last stored what it had learnt
    simulated = scenario_of(events)  # (a scenario's run stores none: it keeps them all)
    state: dict[str, Any] = {}
    count = 0
    mentioned: set[str] = set()  # the capabilities the run's decisions named
    worded: list[Worded] = []
    edited: dict[str, None] = {}  # policies edited since, in the order decisions name them
    for at, event in enumerate(events):
        data = event.data
        run.completed = fold_done(run.completed, run.undoing, event.kind, data)
        lessons, lesson = fold_lessons(lessons, event, shared=simulated is None)
        if lesson is not None:  # as resume learns it
            run.evidence = with_lessons(run.evidence, [lesson])
        if event.kind == "observed":
            state = data["state"]
        elif event.kind == "run_resumed":
            run.evidence = with_lessons(_evidence(data.get("health", {})), lessons)
        elif event.kind == "action_finished" and not data.get("interrupted"):
            fold_finish(run, data, catalog)  # its failure counted, as resume folds it
        elif event.kind == "effects_missing":
            fold_missing(run, data)
        elif event.kind == "decided":
            count += 1
            if "now" not in data:
                raise JournalError(
                    f"run {run_id} was recorded by an ido that did not keep every input of a "
                    "decision; it cannot be replayed exactly"
                )
            history = history_of(
                run,
                float(data["now"]),
                spent=float(data.get("spent", 0.0)),
                elapsed=float(data.get("elapsed", 0.0)),
                unbound=frozenset(data.get("unbound", ())),
                unresolved={k: (v[0], v[1]) for k, v in data.get("unresolved", {}).items()},
            )
            gone = [name for name in data["policies"] if name not in catalog.policies]
            if gone:
                raise IdoError(
                    f"decision {count} of run {run_id} was made under policy '{gone[0]}', "
                    "which is not in this catalog; an exact replay needs it: restore it, or "
                    "see what changes without it with a counterfactual replay (--policies DIR)"
                )
            spec = intent.spec.model_copy(update={"policies": list(data["policies"])})
            # the approved plan it checked, as the runtime found it on resuming
            approved = approved_plan(events[:at]) if data.get("approved") else None
            deciding = intent.model_copy(update={"spec": spec})
            number, trigger = int(data["number"]), str(data["trigger"])
            again = decide_approved(
                deciding, catalog, state, history, planner, approved, number=number, trigger=trigger
            ).to_json()
            record = data.get("result", {}).get("solver", {}).get("llm") or {}
            fold_model_calls(run, record)
            recorded = {k: v for k, v in data.items() if k not in INPUTS}
            mentioned |= mentioned_by(recorded)
            replayed = _json(again)
            if "rules_read" not in recorded:  # recorded before decisions kept it
                replayed.pop("rules_read", None)
            fields = _differences(recorded, replayed)
            differ = _differences(chosen(recorded), chosen(replayed))
            words = tuple(f for f in fields if f not in differ)
            if words and not differ:
                worded.append(Worded(count, words, next(reworded(recorded, replayed))))
            was = data.get("policy_digests", {})
            now = policy_digests(was, written)
            policies = tuple(n for n in was if now.get(n) != was[n])
            edited.update(dict.fromkeys(policies))
            if differ:
                change = _catalog_change(started, mentioned, recorded, replayed, catalog)
                divergence = Divergence(
                    count, str(data["trigger"]), recorded, again, differ, change, policies, words
                )
                return Replay(run_id, count, divergence, tuple(worded), tuple(edited))
    return Replay(run_id, count, None, tuple(worded), tuple(edited))


def _catalog_change(
    started: Mapping[str, Any],
    mentioned: set[str],
    recorded: dict[str, Any],
    replayed: dict[str, Any],
    catalog: Catalog,
) -> CatalogChange | None:
    """How the catalog changed since the run: from the digests the run recorded of it when
    it started, or, for a run recorded before it kept them, what its decisions tell."""
    digests = started.get(RECORDED_AS)
    if isinstance(digests, dict):
        return recorded_change(digests, catalog.capabilities)
    return told_change(mentioned, recorded, replayed, catalog.capabilities)


def recorded_planner(
    events: Sequence[Event], intent: Intent, changed: bool = False, exact: bool = False
) -> Planner:
    """The run's planner (`changed`: the one `intent` names, an intent given in place of
    the run's); a model planner answers only from the replies the run recorded (replay
    never asks a model again: a request it did not make falls back to cpsat; `exact`: an
    exact replay's, which finds a request as a run recorded before today's prompt made it)."""
    name = (
        intent.spec.planner if changed else str(events[0].data.get("planner", intent.spec.planner))
    )
    if name not in ("llm", "hybrid"):
        return get_planner(name)
    decided = [e.data for e in events if e.kind == "decided"]
    records = [d["result"]["solver"]["llm"] for d in decided if d["result"]["solver"].get("llm")]
    recorded = Recorded(recorded_calls(decided), exact)
    planner = get_planner(name, settings=intent.spec.llm, client=recorded, cache=recorded)
    if records:  # the model and server the run used, whatever the environment says now
        planner.model = records[0].get("model")  # type: ignore[attr-defined]
        where = records[0].get("where") or {}
        planner.where = recorded.where = where  # type: ignore[attr-defined]
    return planner


def _as_recorded(catalog: Catalog) -> Catalog:
    """The catalog with no policy enforced by itself: each decision records every policy
    that was in force, enforced or listed, and replay applies exactly those."""
    policies = {
        name: p.model_copy(update={"spec": p.spec.model_copy(update={"enforced": False})})
        for name, p in catalog.policies.items()
    }
    return replace(catalog, policies=policies)


def _evidence(data: dict[str, Any]) -> dict[str, Evidence]:
    return {name: Evidence.from_json(e) for name, e in data.items()}


def _capabilities(events: Sequence[Event]) -> set[str]:
    return {e.data["capability"] for e in events if e.kind == "action_started"}
