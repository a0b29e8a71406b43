"""`benchmarks/ipc_planning.py`: planning time alone, every plan checked, ratios as said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "ipc_planning.py"
IPC = ROOT.parent / "shared" / "benchmarks" / "pddl"

sys.path.insert(0, str(ROOT / "benchmarks"))

from ipc_planning import Timed, report  # noqa: E402


@pytest.mark.skipif(not IPC.is_dir(), reason="../shared/benchmarks/pddl is not here")
def test_ido_plans_a_small_problem_and_its_planning_time_is_reported() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--domains", "miconic", "--problems", "1",
         "--planners", "ido-search,ido-cpsat"],
        check=False, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("| miconic/"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # Both backends find the optimal plan of s1-0 (4 steps), each timed in milliseconds.
    assert cells[1].startswith("4 / ") and cells[1].endswith(" ms")
    assert cells[2].startswith("4 / ") and cells[2].endswith(" ms")
    assert "- plans VAL rejected: 0" in done.stdout


def timed(planner: str, problem: str, seconds: float | None, solved: bool = True) -> Timed:
    return Timed("d", problem, planner, solved, solved, 3.0 if solved else None, seconds, "")


def test_ratios_are_pyperplan_over_ido_on_problems_both_solved() -> None:
    rows = [
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
    # Geometric mean of 20 and 0.25 is sqrt(5).
    assert "on the 2 problems both solved: geometric mean 2.24×, range 0.25–20.00×" in text
    assert "10× or more on 1" in text
