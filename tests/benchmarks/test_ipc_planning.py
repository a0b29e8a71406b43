"""`benchmarks/ipc_planning.py`: planning time alone, every plan checked, ratios as said."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "ipc_planning.py"
IPC = ROOT.parent / "shared" / "benchmarks" / "pddl"

sys.path.insert(0, str(ROOT / "benchmarks"))

from ipc_planning import Timed, median_of, report, run_one, said  # noqa: E402

needs_ipc = pytest.mark.skipif(not IPC.is_dir(), reason="../shared/benchmarks/pddl is not here")


def race(planners: str, alternatives: int = 0, repeat: int = 1) -> list[str]:
    """The table row of miconic s1-0 (4 steps, optimal), one cell per planner."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--domains", "miconic", "--problems", "1",
         "--planners", planners, "--alternatives", str(alternatives), "--repeat", str(repeat)],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "- plans VAL rejected: 0" in done.stdout
    assert f"ido's alternatives: {alternatives}" in done.stdout
    assert f"runs per planner and problem: {repeat}" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| miconic/"))
    return [cell.strip() for cell in row.strip("|").split("|")][1:]


def milliseconds(cell: str) -> float:
    cost, _, time = cell.partition(" / ")
    assert cost == "4" and time.endswith(" ms"), cell
    return float(time.removesuffix(" ms").replace(",", ""))


@needs_ipc
def test_ido_plans_a_small_problem_and_its_planning_time_is_reported() -> None:
    """Both ido backends plan s1-0 optimally, each with a planning time of its own."""
    cells = race("ido-search,ido-cpsat")
    assert all(milliseconds(cell) > 0 for cell in cells[:2])


@needs_ipc
def test_the_decision_with_its_alternatives_is_timed_when_asked() -> None:
    """`--alternatives 3` times the plan and its alternatives, as `ido plan` makes them; the
    plan is still the optimal one (cost 4, VAL-checked)."""
    cell, _no_peer = race("ido-search", alternatives=3)
    assert milliseconds(cell) > 0


@needs_ipc
@pytest.mark.skipif(importlib.util.find_spec("pyperplan") is None, reason="bench extra")
def test_pyperplan_is_timed_the_same_way() -> None:
    """pyperplan's child plans s1-0 optimally too, and the ratio is over the two times."""
    ours, theirs, ratio = race("ido-search,pyperplan")
    expected = milliseconds(theirs) / milliseconds(ours)
    # (The cells round each time to 0.1 ms; the ratio is worked out before rounding.)
    assert float(ratio.rstrip("×")) == pytest.approx(expected, rel=0.1, abs=0.01)


def timed(planner: str, problem: str, seconds: float | None, solved: bool = True) -> Timed:
    valid = True if solved else None
    return Timed("d", problem, planner, solved, valid, 3.0 if solved else None, seconds, "")


def test_ratios_are_pyperplan_over_ido_on_problems_both_solved() -> None:
    """Ratios and their geometric mean count only problems both solved with valid plans."""
    invalid = timed("ido-search", "e", 0.001)
    invalid.valid, invalid.note = False, "VAL rejected"
    rows = [
        invalid,
        timed("pyperplan", "e", 1.0),  # not counted: ido's plan is invalid, however fast
        timed("ido-search", "a", 0.01),
        timed("pyperplan", "a", 0.2),  # 20×
        timed("ido-search", "b", 0.4),
        timed("pyperplan", "b", 0.1),  # 0.25×
        timed("ido-search", "c", None, solved=False),
        timed("pyperplan", "c", 1.0),  # not counted: ido did not solve it
    ]
    text = report(rows, ["ido-search", "pyperplan"])
    assert "| d/a | 3 / 10.0 ms | 3 / 200.0 ms | 20.00× |" in text
    assert "| d/b | 3 / 400.0 ms | 3 / 100.0 ms | 0.25× |" in text
    assert "| d/c |  | 3 / 1,000.0 ms | — |" in text
    assert "| d/e | VAL rejected | 3 / 1,000.0 ms | — |" in text
    assert "- plans VAL rejected: 1" in text
    # Geometric mean of 20 and 0.25 is sqrt(5).
    assert "on the 2 problems both solved: geometric mean 2.24×, range 0.25–20.00×" in text
    assert "10× or more on 1" in text


def test_an_error_from_ido_is_reported_in_words_with_the_time_spent(
    unsupported_pddl: tuple[Path, Path],
) -> None:
    """What `ido plan --pddl` would say (here, a requirement it does not read) stands in the
    cell, with the CPU spent, instead of the last line of a traceback."""
    domain, problem = unsupported_pddl
    result = run_one("ido-search", domain, problem, 120)
    assert not result.solved
    assert result.note.endswith("requirement :durative-actions is not supported")
    assert result.planning_s is not None
    cell = report([result], ["ido-search"]).splitlines()[2]
    assert re.search(r"requirement :durative-actions is not supported \(after [\d.,]+ s\) \|", cell)
    assert "Traceback" not in cell and "IdoError" not in cell


def test_a_search_that_gave_up_is_reported_by_what_it_spent() -> None:
    """The search's advice to switch planners is left out of the table; other errors of
    ido's (a PDDL feature, a limit of the reader's) stand whole, whatever they hold."""
    from ido.errors import PddlError
    from ido.planner.astar import SearchGaveUp

    assert said(SearchGaveUp("expanded 200,000 states")) == (
        "search gave up: expanded 200,000 states"
    )
    whole = "the goal can hold in 3 ways that read 40 facts; ido reads at most 20"
    assert said(PddlError(whole)) == whole


def test_a_problem_without_a_plan_says_so_without_its_time() -> None:
    """A planner that finished and found no plan says "no plan", with no time added: that
    is not an error."""
    none = Timed("d", "f", "ido-search", False, None, None, 0.5, "no plan")
    broke = Timed(
        "d", "g", "ido-search", False, None, None, 1.5, "search gave up: expanded 9 states"
    )
    text = report([none, broke], ["ido-search"])
    assert "| d/f | no plan |" in text
    assert "| d/g | search gave up: expanded 9 states (after 1.5 s) |" in text


@needs_ipc
def test_the_search_budget_is_passed_on_to_ido() -> None:
    """`--search-states N` gives ido's search that budget per solve: one state is too few
    for miconic s1-0, and the cell says what the search spent."""
    domain = IPC / "miconic" / "domain.pddl"
    problem = sorted((IPC / "miconic").glob("s1-0*.pddl"))[0]
    assert run_one("ido-search", domain, problem, 120).solved
    cut = run_one("ido-search", domain, problem, 120, states=1)
    assert not cut.solved and cut.note == "search gave up: expanded 1 state"


@needs_ipc
def test_repeated_runs_show_one_cell_per_planner(tmp_path: Path) -> None:
    """`--repeat 2`: each planner plans s1-0 twice, its cell shows one result, and the JSON
    keeps both runs' times, of which the cell's is the median."""
    import json

    cell, _no_peer = race("ido-search", repeat=2)
    assert milliseconds(cell) > 0
    kept = tmp_path / "runs.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--domains", "miconic", "--problems", "1",
         "--planners", "ido-search", "--repeat", "2", "--json", str(kept)],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(kept.read_text())
    assert len(result["runs"]) == 2
    assert result["planning_s"] == pytest.approx(sum(result["runs"]) / 2)


def test_repeated_runs_are_shown_by_their_median() -> None:
    """The median run; a run that did not plan counts as slower than any that did, so one
    that most runs missed is not planned; a run VAL rejected stands whatever the others did;
    the cell says when some runs missed."""
    from ipc_planning import repeats

    runs = [timed("ido-search", "a", t) for t in (0.3, 0.1, 0.2)]
    middle = median_of(runs)
    assert middle.planning_s == 0.2 and middle.runs == [0.3, 0.1, 0.2] and middle.solved
    assert middle.note == ""
    assert median_of(runs[:1]) is runs[0]
    rejected = timed("ido-search", "a", 0.05)
    rejected.valid, rejected.note = False, "VAL rejected"
    assert median_of([runs[0], rejected]) is rejected
    missed = timed("ido-search", "a", None, solved=False)
    missed.note = "time limit"
    late = median_of([runs[0], missed, runs[1]])  # 0.3, slower than any, 0.1: 0.3
    assert late.solved and late.planning_s == pytest.approx(0.3)
    assert late.note == "planned in 2 of 3 runs" and late.runs == [0.3, None, 0.1]
    assert "| d/a | 3 / 300.0 ms (planned in 2 of 3 runs) |" in report([late], ["ido-search"])
    mostly = median_of([runs[0], missed, missed])  # planned once in three: not planned
    assert not mostly.solved and mostly.note == "time limit; planned in 1 of 3 runs"
    assert median_of([missed, missed]).note == "time limit"
    # what is run again: a plan, or a time limit a faster run may beat; not a plan VAL
    # rejected, nor what fails the same way again
    gave_up = timed("ido-search", "a", 1.0, solved=False)
    gave_up.note = "search gave up: expanded 9 states"
    assert repeats(runs[0]) and repeats(missed)
    assert not repeats(rejected) and not repeats(gave_up)


def test_repeat_must_be_one_or_more() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repeat", "0"],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "argument --repeat: must be 1 or more" in done.stderr
