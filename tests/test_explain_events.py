"""How `ido explain` words the run's events between its decisions."""

from __future__ import annotations

from ido.explain import event_line


def test_a_run_released_by_its_temporal_workflow_is_said_to_go_on_on_another_worker() -> None:
    """The workflow records a worker it gave up (killed, its heartbeats missed); it was
    told as "stopped by an error, left for ido resume", though another worker resumes
    it at once and a local `ido resume` of it is refused."""
    line = event_line(
        {"kind": "run_released", "error": "attempt 1 was given up: activity Heartbeat timeout"}
    )
    assert line == (
        "its worker was given up, and another worker resumes the run: "
        "attempt 1 was given up: activity Heartbeat timeout"
    )


def test_a_run_released_by_its_own_process_is_left_for_ido_resume() -> None:
    """A local run whose journal failed names the process that let it go."""
    line = event_line({"kind": "run_released", "process": "host:42", "error": "disk full"})
    assert line == "stopped by an error, left for ido resume: disk full"
