"""What a counterfactual replay reports: its outcome, cost and time beside the recorded
run's, each decision compared (`Changed`), and the moves of the world it did not make
(`Unreplayed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ido.scenario.moves import WAIT


@dataclass(frozen=True)
class Changed:
    """One decision compared: the recorded one, and the one made under the changed inputs."""

    number: int
    recorded: dict[str, Any] | None
    replayed: dict[str, Any] | None

    @property
    def approvals(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Approvals (`rule for capability`) the recorded decision stopped for that the
        replayed one does not ask, and those it asks that the recorded one did not: the same
        plan that waited for a person, or now waits, is not the same choice."""
        if self.recorded is None or self.replayed is None:
            return (), ()
        before, after = _asked(self.recorded), _asked(self.replayed)
        return tuple(a for a in before if a not in after), tuple(
            a for a in after if a not in before
        )


@dataclass(frozen=True)
class Unreplayed:
    """Facts the recording's observers saw move that the replay did not make: after a call
    (`capability`'s `n`-th, from 1), or while the run waited for approval (its `n`-th wait,
    `capability` being `WAIT`). Its kind is data: the replay's summary told calls from
    waits by searching these words for "while it waited for approval"."""

    facts: tuple[str, ...]
    capability: str
    n: int

    @property
    def kind(self) -> str:
        """What the replay did not make that the move followed: `call` or `wait`."""
        return "wait" if self.capability == WAIT else "call"

    def __str__(self) -> str:
        """`x.hold, after prep's call 1`; `load.busy, while it waited for approval 1`."""
        if self.kind == "wait":
            return f"{', '.join(self.facts)}, while it waited for approval {self.n}"
        return f"{', '.join(self.facts)}, after {self.capability}'s call {self.n}"


@dataclass(frozen=True)
class Counterfactual:
    recorded_outcome: str | None
    outcome: str
    reason: str | None
    recorded_cost: float
    cost: float
    recorded_time: float | None
    time: float
    decisions: tuple[Changed, ...]
    unknown: tuple[str, ...]
    """The calls the replay made whose outcome the recording does not have, in words that
    follow "the recording" (`never called pay-us`, `never made do-a's call 2 (…)`)."""
    left_out: int = 0
    """Recorded decisions made on resuming that went on with the plan before them (the
    replay, not stopping there, has none: `ido.replay.compare._compared`)."""
    unreplayed: tuple[Unreplayed, ...] = ()
    """Facts the recording's observers saw move after calls, or during waits for approval,
    the replay did not make (`str` of each: "x.hold, after prep's call 1", "load.busy,
    while it waited for approval 1"): the replay's world did not move so."""
    virtual: bool = False
    """Whether the recorded run's time is virtual too (it ran in a scenario's world)."""
    asked: bool = False
    """Whether the replay's clock counted time its decisions took asking a model."""
    waited: bool = False
    """Whether the replay's clock counted a wait for approval (it resumed where the
    recording resumed, when it did)."""
    unrecorded: tuple[str, ...] = ()
    """Inputs of the recorded decisions the run did not record, which the replay made do
    without, in words (`the beliefs it started with (health)`): a run of an older ido."""

    @property
    def changed(self) -> tuple[Changed, ...]:
        return tuple(d for d in self.decisions if _choice(d.recorded) != _choice(d.replayed))


def _asked(decision: dict[str, Any]) -> list[str]:
    """The approvals the run stopped for after a decision (`asked`, `ido.replay.compare._compared`),
    as `rule for capability`."""
    return list(decision.get("asked", ()))


def _choice(decision: dict[str, Any] | None) -> Any:
    if decision is None:
        return None
    result = decision["result"]
    plan = result.get("plan") or {}
    steps = tuple(s["capability"] for s in plan.get("steps", []))
    if result["status"] != "infeasible":
        return result["status"], steps, None
    # What stood in the way, not the words: they quote what is left of a deadline, wall
    # time when recorded and virtual time in the replay.
    return (
        result["status"],
        steps,
        (tuple(result.get("blocking", ())), tuple(result.get("conflict", ()))),
    )
