"""Counterfactual replay: a recorded run done again under changed inputs (policies,
catalog, intent) in the world the recording met, compared decision by decision."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ido.approvals import Request, answering, pending, verdicts
from ido.errors import IdoError, JournalError, NotFoundError
from ido.journal.records import Event, Pending, RunRow, epoch
from ido.loading.catalog import Catalog
from ido.model import Intent, Scenario, recorded_intent
from ido.model.durations import as_recorded
from ido.replay.compare import _compared, _number, _unknown_calls, cut_short
from ido.replay.exact import _evidence, recorded_planner

if TYPE_CHECKING:
    from ido.scenario.counterfactual import Counterfactual


def _new_planner(intent: Intent | None, pursued: Intent) -> bool:
    """Whether `intent`, given in place of the run's (`pursued`), names another planner than
    the run's intent did (the run's planner may also have come from `ido run --planner`)."""
    return intent is not None and intent.spec.planner != pursued.spec.planner


def _read(run_id: str, pursued: dict[str, Any]) -> Intent:
    """The intent the run recorded; a `JournalError` when it cannot be read (as an exact
    replay says it)."""
    try:
        return recorded_intent(pursued)
    except Exception as exc:  # a journal from another version: say so, do not guess
        raise JournalError(f"run {run_id}: the recorded intent cannot be read: {exc}") from None


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
    read = _read(run_id, pursued)
    chosen = intent or read
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
        planner=recorded_planner(events, chosen, changed=_new_planner(intent, read)),
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
        _unknown_calls(world.unknown, world.recorded, world.timed, cut_short(events)),
        left_out=max(0, len(decided) - len(old) - waited),
        virtual=scenario is not None,
        asked=world.counted_asking,
        waited=resumed_once,
        unreplayed=tuple(
            Unreplayed((*moved.facts, *moved.gone), name, n + 1)
            for (name, n), moved in sorted(world.moved.items())
        ),
        unrecorded=unrecorded(events),
    )


def unrecorded(events: Sequence[Event]) -> tuple[str, ...]:
    """What the replay reads of the run's start that the run did not record: an ido of
    journal schema 1 (and of schema 2 before exact replay) kept no beliefs with a run's
    start (`health`), so the replay decides from none where the recording's decisions may
    have read those the runs before had stored."""
    if events and events[0].kind == "run_started" and "health" not in events[0].data:
        return ("the beliefs in each capability it started with (health)",)
    return ()


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
