"""What the journal records: events and run rows, the `Journal` protocol that keeps them,
how it writes moments, and the rules read off a run's events (what it spent, the scenario
or Temporal server it ran in)."""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ido.health import Evidence, Lesson
from ido.state import sorted_json

UNRECORDED = "interrupted before its outcome was recorded"
"""The start of the error recorded for a step a crash cut short, the rest saying what
resuming did: the runtime writes it, and `ido explain` tells it apart to say it once."""


STARTS = ("action_started", "action_repeated")
"""The events of a step's call starting: on disk before the call is made."""


Pending = tuple[str, str, Mapping[str, Any]]
"""An event not committed yet: kind, time, data."""


def stamp(moment: float) -> str:
    """How the journal writes a moment (epoch seconds): ISO 8601 in UTC, to the millisecond.

    The same text as `datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")`
    (microseconds rounded half to even, then cut to milliseconds), with the text up to the
    second remembered: events come many to a second."""
    fraction, whole = math.modf(moment)
    micros = round(fraction * 1e6)
    if not 0 <= micros < 1_000_000:  # before 1970, or rounds up into the next second
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    second, prefix = _last_second[0]
    if second != whole:
        prefix = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds")[:-6]
        _last_second[0] = (whole, prefix)  # one tuple: threads see both or neither
    return f"{prefix}.{micros // 1000:03d}+00:00"


_last_second: list[tuple[float, str]] = [(math.nan, "")]


def epoch(text: str) -> float:
    """The moment a journal timestamp stands for, in epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


@dataclass(frozen=True)
class Event:
    run_id: str
    seq: int
    at: str
    kind: str
    data: dict[str, Any]


def scenario_of(events: Sequence[Event]) -> Mapping[str, Any] | None:
    """The scenario a run ran in, kept with `ido scenario run --journal` (its world was
    simulated: not this one); None for a run in this world."""
    if events and events[0].kind == "run_started":
        found = events[0].data.get("scenario")
        return found if isinstance(found, Mapping) else None
    return None


def temporal_of(events: Sequence[Event]) -> Mapping[str, Any] | None:
    """Where a run pursued on a Temporal server is (`address`, `task_queue`, `namespace`,
    and `flags`: its --tls… and --api-key-env flags, never the key), for a run imported
    from there (`ido run --temporal`); None for a run of this journal."""
    if events and events[0].kind == "run_started":
        found = events[0].data.get("temporal")
        return found if isinstance(found, Mapping) else None
    return None


def resume_command(run_id: str, events: Sequence[Event]) -> str:
    """How to continue the run: `ido resume RUN`, with `--temporal ADDRESS` for a run on a
    Temporal server (which a local resume must not take over)."""
    temporal = temporal_of(events)
    if temporal is None:
        return f"ido resume {run_id}"
    return f"ido resume {run_id}{temporal_flags(temporal)}"


def temporal_flags(temporal: Mapping[str, Any]) -> str:
    """` --temporal ADDRESS` and the run's --tls… flags, as a command reaching its server
    is typed (`temporal_of`'s)."""
    flags = "".join(f" {shlex.quote(str(f))}" for f in temporal.get("flags") or [])
    return f" --temporal {temporal.get('address')}{flags}"


def llm_cost(decision: Mapping[str, Any]) -> float:
    """What asking a model cost in a `decided` event's data (0 for the solvers)."""
    return model_calls(decision.get("result", {}).get("solver", {}).get("llm"))[0]


def model_calls(llm: Mapping[str, Any] | None) -> tuple[float, float]:
    """What a decision's own model calls cost and how long they took, from its model
    planner's record (`llm`, `hybrid`; None for the solvers): an answer from the cache cost
    and took nothing. The model planners held the plan to the limits less these."""
    if not llm:
        return 0.0, 0.0
    fresh = [c["reply"] for c in llm.get("calls", []) if not c.get("cached")]
    return float(llm.get("cost") or 0.0), sum(float(r.get("seconds") or 0.0) for r in fresh)


def made_calls(llm: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The calls of a decision's model planner record (`llm`) that asked a model (or the
    cache): not one that could not be made (no API key), which reports told as "1 call(s)"
    and health counted as the model's failure."""
    return [c for c in (llm or {}).get("calls", []) if c["reply"].get("asked", True)]


def paid_in(event: Event) -> float:
    """What a run paid in this event: a step's cost, or a decision's model calls. The one
    rule for a run's spend, which resuming folds and the journals sum for a run that has
    not ended."""
    if event.kind == "action_finished":
        return float(event.data.get("cost") or 0.0)
    return llm_cost(event.data) if event.kind == "decided" else 0.0


def shown_cost(cost: float) -> float:
    """A cost as `ido runs`, `ido explain` and the traces show it: a sum of floats rounded
    past its noise (`3.3099999999999996` is 3.31)."""
    return round(cost, 9)


@dataclass(frozen=True)
class RunRow:
    id: str
    intent: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    reason: str | None
    cost: float
    duration: float | None
    recorded_at: str | None = None
    """When a scenario's run kept in the journal was recorded, by this world's clock: its
    `started_at` and `ended_at` are the scenario's virtual clock, as its events are. None
    for a run in this world (its start is when it was recorded). (A scenario's run kept by
    an ido before schema 4 gets the time the journal was upgraded, or its virtual start if
    that is earlier: see `_add_recorded_at`; in such a journal read-only, None.)"""

    @property
    def recorded(self) -> str:
        """When the run was recorded, by this world's clock (see `_NEWEST`)."""
        return self.recorded_at or self.started_at

    def to_json(self) -> dict[str, Any]:
        """The row as JSON shows it, its cost rounded past the noise (`shown_cost`)."""
        return {**self.__dict__, "cost": shown_cost(self.cost)}


class Journal(Protocol):
    """Where runs are recorded; each append is durable before it returns."""

    def start_run(
        self,
        run_id: str,
        intent: str,
        at: str,
        data: Mapping[str, Any],
        recorded_at: str | None = None,
    ) -> bool:
        """Start a run; whether its start is on disk on return (False: queued, and on disk
        once the run's next write, from the same thread, returns). `recorded_at`: this
        world's time, for a run on another clock (a scenario's: `RunRow.recorded_at`)."""
        ...

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int: ...
    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None: ...
    def finish_run(
        self,
        run_id: str,
        outcome: str,
        reason: str | None,
        cost: float,
        duration: float,
        at: str,
        events: Sequence[Pending] = (),
        lessons: Sequence[Lesson] = (),
    ) -> None: ...
    def runs(self, limit: int = 50) -> list[RunRow]: ...
    def run(self, run_id: str) -> RunRow: ...
    def blocked(self) -> dict[str, list[Event]]: ...
    def health(self) -> dict[str, Evidence]: ...
    def save_health(self, evidence: Mapping[str, Evidence]) -> None: ...
    def events(self, run_id: str) -> list[Event]: ...
    def ending(self, run_id: str) -> list[Event]: ...
    def resolve(self, reference: str) -> str: ...
    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None: ...
    def get(self, key: str) -> Mapping[str, Any] | None: ...
    def put(self, key: str, reply: Mapping[str, Any]) -> None: ...


def landed(held: Sequence[Event], pending: Sequence[Pending]) -> bool:
    """Whether the run's last events `held` end with `pending`, or with them and the run's
    end: a commit Ctrl-C cut short may have landed before the interruption was noticed,
    and writing its events again would count their steps (and costs) twice."""
    if not pending:
        return False
    tried = [(kind, at, json.loads(sorted_json(data))) for kind, at, data in pending]
    tail = [(event.kind, event.at, event.data) for event in held]
    size = len(tried)
    return tail[-size:] == tried or (
        tail[-size - 1 : -1] == tried and tail[-1][0] == "run_finished"
    )
