"""Word from a long decision: what the planners report, and what reaches the user."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from test_property import random_task

from ido.planner import progress
from ido.planner.cpsat import CpSatPlanner
from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner
from ido.planning_words import Throttled, beating, describe


def test_the_search_reports_every_so_many_expansions_and_plans_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress, "EVERY", 1)
    reports: list[Mapping[str, object]] = []
    t = random_task(0, small=False)  # six expansions
    g = ground(t)
    quiet = SearchPlanner().solve(t, g, "score")
    with progress.listening(reports.append):
        heard = SearchPlanner().solve(t, g, "score")
    assert heard == quiet
    assert len(reports) > 1 and all(r["stage"] == "search" for r in reports)
    # once as it starts (so a quiet decision is said to be searching), then every EVERY
    assert [r["expanded"] for r in reports] == list(range(len(reports)))


def test_cpsat_reports_each_solve_it_starts() -> None:
    reports: list[Mapping[str, object]] = []
    t = random_task(3, small=False)
    with progress.listening(reports.append):
        CpSatPlanner(small=0, search_first=0).plan(t)
    solves = [r for r in reports if r["stage"] == "cpsat"]
    assert solves and all(int(str(r["capabilities"])) > 0 for r in solves)


def test_nothing_is_reported_outside_a_listening_block() -> None:
    reports: list[Mapping[str, object]] = []
    with progress.listening(reports.append):
        pass
    CpSatPlanner(small=0, search_first=0).plan(random_task(3, small=False))
    progress.report(stage="search", expanded=1)
    assert reports == []


def test_adding_puts_values_into_each_report_the_reports_own_first() -> None:
    reports: list[Mapping[str, object]] = []
    with progress.adding(without=["x"]):  # no listener: nothing to add to
        progress.report(stage="cpsat")
    with progress.listening(reports.append):
        with progress.adding(without=["x"]):
            progress.report(stage="cpsat", steps=3)
            progress.report(stage="search", expanded=0, without=["y"])
        progress.report(stage="cpsat", steps=4)
    assert reports == [
        {"without": ["x"], "stage": "cpsat", "steps": 3},
        {"without": ["y"], "stage": "search", "expanded": 0},
        {"stage": "cpsat", "steps": 4},
    ]


def test_throttled_passes_on_reports_only_after_a_while_and_then_now_and_then() -> None:
    now = [100.0]
    shown: list[Mapping[str, object]] = []
    throttled = Throttled(shown.append, after=1.0, gap=2.0, clock=lambda: now[0])
    for at in (100.5, 101.0, 101.5, 102.9, 103.0, 110.0):
        now[0] = at
        throttled({"stage": "search", "expanded": int(at)})
    assert [s["seconds"] for s in shown] == [1.0, 3.0, 10.0]
    assert [s["expanded"] for s in shown] == [101, 103, 110]


def test_a_quiet_decision_is_told_again_with_the_time_now() -> None:
    """A long CP-SAT solve reports once, as it starts: `tick` says the latest report again,
    when a gap has passed since the last line, and before any report only the time."""
    now = [100.0]
    shown: list[Mapping[str, object]] = []
    throttled = Throttled(shown.append, after=1.0, gap=2.0, clock=lambda: now[0])
    now[0] = 101.5
    throttled.tick()
    assert shown == [{"seconds": 1.5}] and describe(shown[0]) == "planning 1.5s"
    now[0] = 102.0
    throttled({"stage": "cpsat", "steps": 8, "capabilities": 40})  # within the gap
    for at in (102.5, 103.4, 103.5, 104.0, 105.6):
        now[0] = at
        throttled.tick()
    assert [s["seconds"] for s in shown] == pytest.approx([1.5, 3.5, 5.6])
    assert shown[1] == {"stage": "cpsat", "steps": 8, "capabilities": 40, "seconds": 3.5}


def test_beating_ticks_from_a_thread_of_its_own_until_the_block_ends() -> None:
    import threading
    import time

    shown: list[Mapping[str, object]] = []
    throttled = Throttled(shown.append, after=0.0, gap=0.0)
    # Reported before the beat starts: a beat on a busy machine could otherwise tick
    # before the report, saying only the seconds (it did, in a full run at load 8).
    throttled({"stage": "search", "expanded": 5})
    with beating(throttled, every=0.01):
        waited = 0.0
        while len(shown) < 4 and waited < 10.0:  # a busy machine may be slow to switch
            time.sleep(0.01)
            waited += 0.01
    assert len(shown) >= 4 and all(s.get("expanded") == 5 for s in shown)
    assert "ido-planning-words" not in {t.name for t in threading.enumerate()}
    said = len(shown)
    time.sleep(0.05)
    assert len(shown) == said  # nothing after the block
    with beating(None):  # nothing to tell: no thread
        assert "ido-planning-words" not in {t.name for t in threading.enumerate()}


def test_what_the_listener_raises_on_the_beat_is_raised_as_the_decision_ends() -> None:
    """A broken pipe while the beat says a line stops the beat, and is raised on the
    deciding thread when the block ends (as a report's would be), not printed by the
    thread as a traceback and lost (found in review)."""
    import threading
    import time

    def show(data: Mapping[str, object]) -> None:
        raise BrokenPipeError("stderr closed")

    def beat_gone() -> None:
        waited = 0.0
        while waited < 10.0 and any(t.name == "ido-planning-words" for t in threading.enumerate()):
            time.sleep(0.01)
            waited += 0.01
        assert waited < 10.0

    throttled = Throttled(show, after=0.0, gap=0.0)
    with pytest.raises(BrokenPipeError), beating(throttled, every=0.01):
        beat_gone()
    with pytest.raises(KeyError), beating(throttled, every=0.01):  # the block's own first
        beat_gone()  # the beat has failed already
        raise KeyError("the decision's own")


@pytest.mark.parametrize("alternatives", [2, 20])
def test_the_searchs_alternatives_name_what_they_leave_out(
    monkeypatch: pytest.MonkeyPatch, alternatives: int
) -> None:
    """The search's reports for an alternative name the capability it leaves out and which
    candidate that is, as every planner's do (`progress.adding`), and the main solve's
    name none. With as many alternatives asked for as the plan has capabilities, no floors
    are worked out, and what no plan does without is still no candidate."""
    from test_cpsat import PAY_SLOW, SHIP_DHL, SHOP, SMS, task

    monkeypatch.setattr(progress, "EVERY", 1)
    asked: list[str] = []  # the candidates, in the order solved (those that report or not)
    solve = SearchPlanner.solve

    def recorded(self: SearchPlanner, *args: Any, **kwargs: Any) -> Any:
        asked.extend(kwargs.get("without", ()))
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(SearchPlanner, "solve", recorded)
    reports: list[Mapping[str, object]] = []
    shop = task([*SHOP, PAY_SLOW, SHIP_DHL, SMS], alternatives=alternatives)
    with progress.listening(reports.append):
        result = SearchPlanner().plan(shop)
    assert result.plan is not None
    named = [r["without"] for r in reports if "without" in r]
    assert any("without" not in r for r in reports)
    assert named and all(
        isinstance(w, list) and len(w) == 1 and w[0] in result.plan.capabilities for w in named
    )
    # each names which candidate it is, in the order solved, of as many as the plan has
    # capabilities that some plan can do without: one no plan does without is no candidate
    used = set(result.plan.capabilities)
    needed = {n for n in used if solve(SearchPlanner(), shop, without=frozenset({n})) is None}
    assert needed and not needed & set(asked)
    counted = {tuple(r["without"]): r["candidate"] for r in reports if "without" in r}
    total = len(used - needed)
    assert counted == {(name,): [asked.index(name) + 1, total] for (name,) in counted}


def test_alternatives_solved_side_by_side_report_to_the_deciding_threads_listener() -> None:
    """CP-SAT's alternatives run on a pool's threads, in a copy of the deciding thread's
    context: their solves report too."""
    import threading

    from test_cpsat import PAY_SLOW, SHIP_DHL, SHOP, SMS, task

    heard: list[tuple[str, object]] = []
    t = task([*SHOP, PAY_SLOW, SHIP_DHL, SMS], alternatives=3)
    planner = CpSatPlanner(threads=3, small=0, search_first=0)
    with progress.listening(
        lambda data: heard.append((threading.current_thread().name, data.get("without")))
    ):
        result = planner.plan(t)
    deciding = threading.current_thread().name
    assert deciding in {name for name, _ in heard}
    assert any(name != deciding for name, _ in heard)
    # each alternative's solves name the capability they leave out, the others none
    chosen = set(result.plan.capabilities) if result.plan else set()
    left_out = [w for _, w in heard if w is not None]
    assert left_out and all(isinstance(w, list) and set(w) <= chosen for w in left_out)


def test_reports_read_as_words() -> None:
    search = {"stage": "search", "expanded": 120000, "seconds": 3.14}
    assert describe(search) == "planning 3.1s: exact search, 120,000 states expanded"
    begun = {"stage": "search", "expanded": 0, "without": ["ship-dhl"], "seconds": 1.0}
    assert (
        describe(begun) == "planning 1.0s: exact search for an alternative without ship-dhl started"
    )
    solve = {"stage": "cpsat", "steps": 16, "capabilities": 1234, "seconds": 1.0}
    assert describe(solve) == (
        "planning 1.0s: CP-SAT solve, plans of up to 16 steps over 1,234 capabilities"
    )
    alternative = {**solve, "without": ["ship-dhl"]}
    assert describe(alternative) == (
        "planning 1.0s: CP-SAT solve for an alternative without ship-dhl, plans of up to 16 "
        "steps over 1,234 capabilities"
    )
    counted = {**search, "without": ["ship-dhl"], "candidate": [3, 17]}
    assert describe(counted) == (
        "planning 3.1s: exact search for an alternative without ship-dhl (candidate 3 of 17), "
        "120,000 states expanded"
    )
    budgeted = {**search, "most": 200_000}
    assert describe(budgeted) == "planning 3.1s: exact search, 120,000 of 200,000 states expanded"


def test_ido_plan_says_how_planning_goes_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ido.cli import deciding

    class Stream:
        def __init__(self, terminal: bool) -> None:
            self.terminal = terminal

        def isatty(self) -> bool:
            return self.terminal

    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert isinstance(deciding._planning_to_terminal(), Throttled)
    monkeypatch.setattr(sys, "stderr", Stream(False))
    assert deciding._planning_to_terminal() is None


def test_ido_plan_writes_how_planning_goes_to_standard_error_not_to_its_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Standard error is taken for a terminal and the thresholds made zero: every report is
    a line on standard error, and standard output is the JSON decision alone."""
    import json

    from typer.testing import CliRunner

    from ido import cli, planning_words
    from ido.cli import deciding

    monkeypatch.setattr(deciding, "_is_terminal", lambda stream: True)
    monkeypatch.setattr(planning_words, "AFTER", 0.0)
    monkeypatch.setattr(planning_words, "GAP", 0.0)
    monkeypatch.setattr(planning_words, "BEAT", 3600.0)  # the planners' reports only
    monkeypatch.setattr(progress, "EVERY", 1)
    blocks = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "pddl" / "blocks"
    if not blocks.is_dir():
        pytest.skip("../shared/benchmarks/pddl is not here")
    domain, problem = blocks / "domain.pddl", blocks / "probBLOCKS-4-0.pddl"
    args = ["plan", "--pddl", str(domain), str(problem), "--planner", "search", "-f", "json"]
    result = CliRunner().invoke(cli.app, [*args, "--search-states", "5000"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["status"] == "planned"
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("planning ") for line in lines)
    # A large problem is read and ground for seconds, and that was said nowhere.
    assert lines[0].endswith(": reading and grounding probBLOCKS-4-0.pddl")
    # Then the decision, which tabulates every capability before a planner reports.
    assert lines[1].endswith(" capabilities for the planner") and "preparing " in lines[1]
    assert "exact search started" in lines[2]
    assert "exact search, 1 of 5,000 states expanded" in lines[3]  # of its budget
    out = tmp_path / "o"
    result = CliRunner().invoke(cli.app, ["import-pddl", str(domain), str(problem), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0].endswith(": reading and grounding probBLOCKS-4-0.pddl")
