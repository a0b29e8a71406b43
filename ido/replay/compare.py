"""How a replay's decisions differ from the recording's: the fields that differ, the
rejections that changed, the decisions a counterfactual pairs, and the calls it made that
the recording did not, in words."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ido.approvals import PLAN, THE_PLAN, subject
from ido.explain_rejected import rejection_line
from ido.journal.records import Event
from ido.model.durations import format_duration


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


def approvals_changed(recorded: Mapping[str, Any], replayed: Mapping[str, Any]) -> list[str]:
    """How two decisions' approval requests differ, one line each, in a counterfactual's
    words (`approval vendor-limits/expensive-plan for the plan now asked`, `… no longer
    asked`): a divergence in `approvals` alone showed the same plan twice and not what
    differed."""

    def asked(decision: Mapping[str, Any]) -> list[str]:
        said = decision.get("approvals", [])
        return [f"{a[0]} for {THE_PLAN if a[1] == PLAN else a[1]}" for a in said]

    before, after = asked(recorded), asked(replayed)
    return [f"approval {a} no longer asked" for a in before if a not in after] + [
        f"approval {a} now asked" for a in after if a not in before
    ]


def _compared(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The decisions a counterfactual pairs by position: all but those made on resuming
    that go on with the plan of the decision before, nothing having failed since. The replay
    is never interrupted and may not wait where the recording did, so such a decision has
    no counterpart there, and paired by position it shifted every pair after it. One made
    on resuming after a failure (a replan the crash put off), or after a step the crash cut
    short that its resume found not done, is kept: the replay replans there too. Each holds,
    as `asked`, the approvals the run stopped for after it."""
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
            event.kind == "action_finished"
            and not data["ok"]
            # a step cut short that its resume found not done: the replay's call is so too
            and (not data.get("interrupted") or data.get("resumed") == "interrupted")
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


RECORDED_SINCE = frozenset({"other_conflicts"})
"""Fields a decision records since a later version, which a run recorded before never
held: a run with several conflicts, recorded before ido named them all (2026-12-07),
replays alike."""


def _same(recorded: dict[str, Any], replayed: dict[str, Any], key: str) -> bool:
    """Whether `key` is the same on both sides, one lacking it and the other holding it
    empty (`[]`, `{}`, None) counting as the same."""
    if key in recorded and key in replayed:
        return bool(recorded[key] == replayed[key])
    if key in RECORDED_SINCE and key not in recorded:
        return True
    held = recorded.get(key, replayed.get(key))
    return held is None or held in ([], {})


def _number(position: int, recorded: dict[str, Any] | None, replayed: dict[str, Any] | None) -> int:
    """The number of the `position`-th pair, as `ido explain` numbers the recorded decision
    (the pairs leave out decisions made on resuming, so their positions run behind); a
    replayed decision with no recorded counterpart goes by its own number."""
    side = recorded if recorded is not None else replayed
    assert side is not None  # (a pair has one side at least)
    return int(side.get("number", position + 1))


def _unknown_calls(
    unknown: Sequence[str],
    recorded: Mapping[str, Sequence[Any]],
    timed: Mapping[str, Sequence[tuple[float, bool]]],
    cut: Collection[str] = (),
) -> tuple[str, ...]:
    """The calls the replay made that the recording did not, in words after "the recording":
    `never called pay-us`, or for a capability it called fewer times, `never made do-a's
    call 2 (it called do-a once)`: "never called do-a" said so of a call it had made. Each
    says how long it was taken to last (`timed`: `ido.scenario.recorded.RecordedWorld`).
    `cut`: the capabilities whose call the recording started and an interruption cut
    short, no outcome known (`cut_short`): "never called deploy" said so of a deploy that
    had begun when the process was killed."""
    said = []
    for name in sorted(set(unknown)):
        made, more = len(recorded.get(name, ())), unknown.count(name)
        took = _timed_as(timed.get(name, ()))
        if not made and name in cut:
            said.append(f"never saw how its call of {name} ended (cut short){took}")
            continue
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


def cut_short(events: Sequence[Any]) -> set[str]:
    """The capabilities of the steps a recording started and never saw end: the process
    was killed, or stopped, mid-call (the step was then settled, or made again, on
    resume)."""
    ended = {
        e.data["step"]
        for e in events
        if e.kind == "action_finished" and not e.data.get("interrupted")
    }
    return {
        e.data["capability"]
        for e in events
        if e.kind == "action_started" and e.data["step"] not in ended
    }
