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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ido.approvals import Request, answering, pending, subject, verdicts
from ido.approved_plan import approved_plan, decide_approved
from ido.catalog_record import (
    CatalogChange,
    mentioned_by,
    recorded_change,
    told_change,
)
from ido.decision_words import chosen, reworded
from ido.errors import IdoError, JournalError, NotFoundError
from ido.explain import rejection_line
from ido.health import Evidence, Lesson, with_lessons
from ido.journal.catalogs import RECORDED_AS
from ido.journal.records import Event, Pending, RunRow, epoch, scenario_of
from ido.loading.catalog import Catalog
from ido.model import Intent, Scenario, recorded_intent
from ido.model.durations import as_recorded, format_duration
from ido.planner import Planner, get_planner
from ido.planner.llm_calls import Recorded, recorded_calls
from ido.policy import policy_digests
from ido.runtime.recovery import (
    RunState,
    fold_done,
    fold_finish,
    fold_lessons,
    fold_missing,
    fold_model_calls,
    history_of,
)

if TYPE_CHECKING:
    from ido.scenario.counterfactual import Counterfactual

INPUTS = (
    "now",
    "policies",
    "policy_digests",
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


def rejections_changed(
    recorded: Mapping[str, Any], replayed: Mapping[str, Any], removed: Sequence[str] = ()
) -> list[str]:
    """How two decisions' rejected capabilities differ, one line per capability: a
    divergence in `result.rejections` alone showed the same plan twice and not what
    differed (`pay-new-us: not rejected in the recording; now denied by …`; `pay-us: now
    also denied by b/r; recorded: denied by a/r: …`, one rejected so before). One of
    `removed` (from the catalog since) is said to be: "now not rejected" read as if a
    rule had let it through."""

    def rejected(decision: Mapping[str, Any]) -> dict[str, str]:
        said = decision.get("result", {}).get("rejections", [])
        return {r["capability"]: rejection_line(r) for r in said}

    before, after = rejected(recorded), rejected(replayed)
    lines = []
    for name in sorted(set(before) | set(after)):
        was, now = before.get(name), after.get(name)
        if was == now:
            continue
        today = "not rejected" if now is None else now.removeprefix(f"{name}: ")
        if now is None and name in removed:
            today = "not in the catalog"
        if was is None:
            lines.append(f"{name}: not rejected in the recording; now {today}")
            continue
        then = was.removeprefix(f"{name}: ")
        more = today.removeprefix(then).strip()  # `(also denied by …)`: the same, and more
        if today.startswith(then) and more.startswith("(also ") and more.endswith(")"):
            today = more[1:-1]
        # What it is now first: the recorded reason ends a sentence of its own ("… only."),
        # and words after it ("… only. in the recording") read as part of it.
        lines.append(f"{name}: now {today}; recorded: {then}")
    return lines


def _compared(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The decisions a counterfactual pairs by position: all but those made on resuming
    that go on with the plan of the decision before, nothing having failed since. The replay
    is never interrupted and may not wait where the recording did, so such a decision has
    no counterpart there, and paired by position it shifted every pair after it. One made
    on resuming after a failure (a replan the crash put off) is kept: the replay replans
    there too. Each holds, as `asked`, the approvals the run stopped for after it."""
    from ido.runtime.recovery import AFTER_APPROVAL, AFTER_INTERRUPTION

    kept: list[dict[str, Any]] = []
    failed = False
    last_kept = False
    for event in events:
        data = event.data
        if event.kind == "decided":
            resumed = data.get("trigger") in (AFTER_APPROVAL, AFTER_INTERRUPTION)
            last_kept = not (resumed and kept and not failed and _goes_on(kept[-1], data))
            if last_kept:
                kept.append({**data, "asked": []})
            failed = False
        elif event.kind == "approval_required" and last_kept:  # what the decision waited for
            what = subject(int(data.get("step", 0)), data["capability"])
            kept[-1]["asked"].append(f"{data['rule']} for {what}")
        elif event.kind == "effects_missing" or (
            event.kind == "action_finished" and not data.get("interrupted") and not data["ok"]
        ):
            failed = True
    return kept


def _goes_on(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether `after` plans what is left of `before`'s plan: some of its steps, in its
    order (a plan's steps side by side are listed in one order, which its rest keeps)."""
    steps = [
        [s["capability"] for s in (d["result"].get("plan") or {}).get("steps", [])]
        for d in (before, after)
    ]
    left = iter(steps[0])
    return after["result"]["status"] != "infeasible" and all(s in left for s in steps[1])


def _new_planner(intent: Intent | None, pursued: dict[str, Any]) -> bool:
    """Whether `intent`, given in place of the run's, names another planner than the run's
    intent did (the run's planner may also have come from `ido run --planner`)."""
    return intent is not None and intent.spec.planner != recorded_intent(pursued).spec.planner


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


def _json(value: dict[str, Any]) -> dict[str, Any]:
    """As the journal stores it (JSON round trip: tuples become lists)."""
    import json

    result: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True, default=str))
    return result


def _differences(recorded: dict[str, Any], replayed: dict[str, Any]) -> tuple[str, ...]:
    """Dotted names of the fields that differ, one level into `result`. A field one side
    lacks and the other holds empty is no difference: a field added since the run was
    recorded (`result.conflict_untested`) made every older run diverge."""
    differ: list[str] = []
    for key in sorted(set(recorded) | set(replayed)):
        if _same(recorded, replayed, key):
            continue
        if key == "result" and isinstance(recorded.get(key), dict):
            inner = recorded[key]
            other = replayed.get(key) or {}
            differ += [
                f"result.{k}" for k in sorted(set(inner) | set(other)) if not _same(inner, other, k)
            ]
        else:
            differ.append(key)
    return tuple(differ)


def _same(recorded: dict[str, Any], replayed: dict[str, Any], key: str) -> bool:
    """Whether `key` is the same on both sides, one lacking it and the other holding it
    empty (`[]`, `{}`, None) counting as the same."""
    if key in recorded and key in replayed:
        return bool(recorded[key] == replayed[key])
    held = recorded.get(key, replayed.get(key))
    return held is None or held in ([], {})


def replay_counterfactual(
    run_id: str,
    events: Sequence[Event],
    recorded: RunRow,
    catalog: Catalog,
    intent: Intent | None = None,
) -> Counterfactual:
    """Run the recorded run's intent again (or `intent`) against `catalog`, in the world the
    recording met, and compare decision by decision (see `ido.scenario.recorded`)."""
    from ido.runtime.local import LocalRuntime
    from ido.scenario.counterfactual import Changed, Counterfactual, Unreplayed
    from ido.scenario.recorded import RecordedWorld
    from ido.scenario.runner import go_on
    from ido.testing import MemoryJournal

    if not events or events[0].kind != "run_started":
        raise JournalError(f"run {run_id} has no run_started event; nothing to replay")
    pursued = events[0].data["intent"]
    chosen = intent or recorded_intent(pursued)
    if chosen.name != pursued.get("metadata", {}).get("name"):
        raise IdoError(
            f"run {run_id} pursued intent {pursued.get('metadata', {}).get('name')}; "
            f"--intent gives {chosen.name}: a counterfactual replays the same intent, "
            "changed (give it its name)"
        )
    missing = [name for name in chosen.spec.policies if name not in catalog.policies]
    if missing:
        raise NotFoundError(
            f"run {run_id}'s intent {chosen.name} is governed by policy '{missing[0]}', which "
            "the replay's policies lack; add it, or replay with --intent FILE naming the "
            "policies to keep"
        )
    model = events[0].data.get("scenario")
    with as_recorded():  # (a duration past today's bound, recorded before it)
        scenario = Scenario.model_validate(model) if model is not None else None
    switched = [f.policy for f in scenario.spec.faults if f.policy] if scenario else []
    for name in (n for n in switched if n not in catalog.policies):
        raise NotFoundError(
            f"run {run_id} ran scenario '{scenario.name if scenario else ''}', whose faults "
            f"switch on policy '{name}', which the replay's policies lack; add it to replay "
            "the run's world"
        )
    world = RecordedWorld(events, catalog, scenario)
    journal = MemoryJournal()
    journal.save_health(_evidence(events[0].data.get("health", {})))  # beliefs at its start
    runtime = LocalRuntime(
        catalog,
        journal,
        base=Path.cwd(),
        clock=world.clock,
        new_id=lambda _: f"{run_id}-counterfactual",
        environment=world,
        planner=recorded_planner(events, chosen, changed=_new_planner(intent, pursued)),
    )
    report = runtime.run(chosen)
    # Blocked where the recording was: the verdicts it recorded on those same requests are
    # given again, and the run resumes when the recording's did, as it did then (with none,
    # its wait over; a request for another plan has none, and the replay ends blocked on it).
    given = verdicts(events)
    resumes = [e for e in events if e.kind == "run_resumed" and e.data.get("after") == "approval"]
    used: set[int] = set()  # each recorded verdict is given once
    resumed_once = False
    waits = 0  # the waits for approval resumed after
    while report.outcome == "blocked" and resumes:
        resumed = resumes.pop(0)
        waiting = pending(journal.events(report.run_id))
        answers = [answering(given, request.key) for request in waiting]
        verdicts_now: list[Pending] = []
        for request, answer in zip(waiting, answers, strict=True):
            if answer is None or id(answer) in used:
                continue
            used.add(id(answer))
            for part in answer.get("parts", [answer]):  # each approver's, as recorded
                kind = "approval_given" if part["approved"] else "approval_rejected"
                data = {k: v for k, v in part.items() if k not in ("approved", "at", "parts")}
                data["read"] = request.read  # (a verdict recorded before it was: for this one)
                verdicts_now.append((kind, part["at"], data))
        # the beliefs the recorded resume read, as the real one did
        journal.save_health(_evidence(resumed.data.get("health", {})))
        moment = resumed_at(resumed, waiting)
        world.resumed(waits)  # the world moved while the recording waited: so it does here
        waits += 1
        went_on = go_on(runtime, journal, report.run_id, world.clock, moment, verdicts_now)
        if went_on is None:
            break
        report, resumed_once = went_on, True
    decided = [e.data for e in events if e.kind == "decided"]
    replayed = journal.events(report.run_id)
    old, new = _compared(events), _compared(replayed)
    waited = sum(e.kind == "decided" for e in replayed) - len(new)  # both resumed there
    pairs = tuple(
        Changed(_number(n, was, now), was, now)
        for n, (was, now) in enumerate(zip_longest(old, new))
    )
    return Counterfactual(
        recorded.outcome,
        report.outcome,
        report.reason,
        recorded.cost,
        report.cost,
        recorded.duration,
        world.clock.elapsed,
        pairs,
        _unknown_calls(world.unknown, world.recorded, world.timed),
        left_out=max(0, len(decided) - len(old) - waited),
        virtual=scenario is not None,
        asked=world.counted_asking,
        waited=resumed_once,
        unreplayed=tuple(
            Unreplayed((*moved.facts, *moved.gone), name, n + 1)
            for (name, n), moved in sorted(world.moved.items())
        ),
    )


def _number(position: int, recorded: dict[str, Any] | None, replayed: dict[str, Any] | None) -> int:
    """The number of the `position`-th pair, as `ido explain` numbers the recorded decision
    (the pairs leave out decisions made on resuming, so their positions run behind); a
    replayed decision with no recorded counterpart goes by its own number."""
    side = recorded if recorded is not None else replayed
    assert side is not None  # (a pair has one side at least)
    return int(side.get("number", position + 1))


def resumed_at(resumed: Event, waiting: Sequence[Request]) -> float:
    """When the recording resumed a blocked run (`resumed`), for a replay blocked on
    `waiting`: the moment it recorded (`now`), exactly.

    A journal written before the resume recorded it has only the event's stamp, to the
    millisecond below it; a run resumed just past a request's last wait (as `ido runner`
    and a scenario do) failing it unanswered is stamped at the deadline itself, where the
    wait is not yet over: resumed there, the replay of a failed run stayed blocked. So
    there, such a resume is taken as just past the deadline of a waiting request that ends
    within the stamp's millisecond."""
    recorded = resumed.data.get("now")
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return float(recorded)
    moment = epoch(resumed.at)
    if "fails" not in resumed.data:
        return moment
    ends = [r.deadline for r in waiting if r.deadline is not None]
    within = [d for d in ends if moment <= d < moment + 0.001]
    return max([moment, *(math.nextafter(d, math.inf) for d in within)])


def _unknown_calls(
    unknown: Sequence[str],
    recorded: Mapping[str, Sequence[Any]],
    timed: Mapping[str, Sequence[tuple[float, bool]]],
) -> tuple[str, ...]:
    """The calls the replay made that the recording did not, in words after "the recording":
    `never called pay-us`, or for a capability it called fewer times, `never made do-a's
    call 2 (it called do-a once)`: "never called do-a" said so of a call it had made. Each
    says how long it was taken to last (`timed`: `ido.scenario.recorded.RecordedWorld`)."""
    said = []
    for name in sorted(set(unknown)):
        made, more = len(recorded.get(name, ())), unknown.count(name)
        took = _timed_as(timed.get(name, ()))
        if not made:
            said.append(f"never called {name}{took}")
            continue
        calls = f"call {made + 1}" if more == 1 else f"calls {made + 1} to {made + more}"
        times = {1: "once", 2: "twice"}.get(made, f"{made} times")
        said.append(f"never made {name}'s {calls} (it called {name} {times}){took}")
    return tuple(said)


def _timed_as(latencies: Sequence[tuple[float, bool]]) -> str:
    """How long calls the recording did not make were taken to last, and whence: `, timed
    at its learnt latency 1.9s` (the planner's estimate from the capability's history and
    the recording's calls), or `, timed at its declared latency 500ms` (nothing learnt)."""
    if not latencies:
        return ""
    least = format_duration(min(seconds for seconds, _ in latencies))
    most = format_duration(max(seconds for seconds, _ in latencies))
    which = "learnt" if latencies[0][1] else "declared"  # (the same for every call of one)
    return f", timed at its {which} latency {least}" + (f" to {most}" if most != least else "")
