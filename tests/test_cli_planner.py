"""`--planner NAME` of `ido run`, `ido resume` and `ido replay`: a backend for one run, as
`ido plan --planner` plans with one, recorded for resume and replay to go on with."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

UNKNOWN = "Invalid value for --planner: 'nope' is not one of cpsat, hybrid, llm, search"


def ido(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ido ARGS` in its own process, in the project's folder."""
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def planners_of(project: Path) -> list[tuple[str, list[str]]]:
    """Each run in the journal (oldest first): the planner its start recorded, and the
    planner of each of its decisions, as `ido explain` tells them."""
    listed = ido(project, "runs", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    found = []
    for row in reversed(json.loads(listed.stdout)):
        told = ido(project, "explain", row["id"], "--format", "json")
        assert told.returncode == 0, told.stderr
        view = json.loads(told.stdout)
        found.append((row["id"], [d["planner"] for d in view["decisions"]]))
    return found


def test_a_run_plans_with_the_planner_given_and_records_it(project: Path) -> None:
    """`ido run --planner search` plans every decision with the reference search, whatever
    the intent names (cpsat by default), and explain says so."""
    done = ido(project, "run", "ship-order", "--planner", "search")
    assert done.returncode == 0, done.stderr
    [(run_id, planners)] = planners_of(project)
    assert planners == ["search"]
    told = ido(project, "explain", run_id)
    assert "trigger: run started · planner search" in told.stdout


def test_an_unknown_planner_is_refused_before_anything_runs(project: Path) -> None:
    """The name is checked as `ido plan` checks it: exit 2, the names allowed, no run."""
    for command in (["plan", "ship-order"], ["run", "ship-order"]):
        done = ido(project, *command, "--planner", "nope")
        assert done.returncode == 2, done.stderr
        assert UNKNOWN in done.stderr
    assert not (project / ".ido" / "ido.db").exists() or planners_of(project) == []


def test_runs_dealt_to_worker_processes_plan_with_the_planner_given(project: Path) -> None:
    """The workers of `--processes` are passed the planner: each run records it."""
    done = ido(
        project, "run", "ship-order", "ship-order", "--processes", "2", "--planner", "search"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p for _, p in planners_of(project)] == [["search"], ["search"]]


def test_resume_goes_on_with_the_runs_planner_and_says_so_of_another(project: Path) -> None:
    """A run goes on with the planner it was started with: `--planner` naming another is
    refused (exit 2), saying which it was started with and how to see what the other would
    have decided; naming its own is no error of its own (here: the run already ended)."""
    assert ido(project, "run", "ship-order", "--planner", "search").returncode == 0
    [(run_id, _)] = planners_of(project)
    other = ido(project, "resume", run_id, "--planner", "cpsat")
    assert other.returncode == 2
    assert (
        f"error: run {run_id} was started with planner search, and goes on with it: --planner "
        f"cpsat does not change a run's planner (see what cpsat would have decided with "
        f"ido replay {run_id} --planner cpsat)"
    ) in other.stderr
    same = ido(project, "resume", run_id, "--planner", "search")
    assert same.returncode == 2
    assert "already ended (achieved)" in same.stderr
    assert "started with planner" not in same.stderr
    assert UNKNOWN in ido(project, "resume", run_id, "--planner", "nope").stderr


def test_replay_with_another_planner_is_a_counterfactual_under_it(project: Path) -> None:
    """`ido replay RUN --planner NAME` does the run again planned by NAME, and says which
    planner stood in for which; an exact replay keeps the run's own and refuses one."""
    assert ido(project, "run", "ship-order", "--planner", "search").returncode == 0
    [(run_id, _)] = planners_of(project)
    exact = ido(project, "replay", run_id)
    assert exact.returncode == 0, exact.stderr
    assert exact.stdout.startswith(f"identical: 1 decision(s) of run {run_id}")
    other = ido(project, "replay", run_id, "--planner", "cpsat")
    assert other.returncode == 0, other.stderr
    assert other.stdout.splitlines()[:3] == [
        f"counterfactual replay of run {run_id}",
        "planner: search → cpsat",
        "decision 1: same choice",
    ]
    refused = ido(project, "replay", run_id, "--exact", "--planner", "cpsat")
    assert refused.returncode == 2
    assert "an exact replay re-decides with the planner the run recorded" in refused.stderr


@pytest.mark.parametrize("command", ["run", "resume", "replay"])
def test_the_option_is_in_the_help(project: Path, command: str) -> None:
    """Each command that takes `--planner` lists it."""
    shown = ido(project, command, "--help")
    assert "--planner" in shown.stdout
