"""What a counterfactual replay takes from the recorded run."""

from __future__ import annotations

import pytest

from ido.journal import Event
from ido.scenario.recording import learnt_evidence

PAID = 1_800_000_000.0  # when the run learnt that pay succeeded


def event(seq: int, kind: str, **data: object) -> Event:
    return Event("r-1", seq, "2027-01-15T08:00:00+00:00", kind, dict(data))


def test_a_silent_failure_is_learnt_as_a_failure_as_resume_learns_it() -> None:
    """pay reported success, and its effects did not show: resume and exact replay learn
    one failure, but what the replay's planner was said to have learnt kept a success."""
    events = [
        event(1, "run_started", health={}),
        event(
            2,
            "action_finished",
            step=1,
            capability="pay",
            ok=True,
            duration=1.0,
            learnt_at=PAID,
        ),
        event(
            3,
            "effects_missing",
            step=1,
            capability="pay",
            reason="pay reported success but its effects did not show",
            learnt_at=PAID + 2.0,
            overturns=PAID,
        ),
    ]
    pay = learnt_evidence(events)["pay"]
    assert pay.successes == pytest.approx(0.0, abs=0.01)
    assert pay.failures == pytest.approx(1.0, abs=0.01)
    assert pay.latency == 1.0
