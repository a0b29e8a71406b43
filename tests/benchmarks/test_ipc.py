"""`benchmarks/ipc.py`: whole processes, and what a failed one said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ipc import IPC, Result, _note, run_one, summary  # noqa: E402


def test_a_failed_ido_run_is_reported_with_its_error(unsupported_pddl: tuple[Path, Path]) -> None:
    """`ido plan --pddl` refusing a requirement exits 2; the result says why, not only the
    exit status."""
    domain, problem = unsupported_pddl
    result = run_one("ido-search", domain, problem, 120)
    assert not result.solved
    assert result.note.startswith("exit 2: ")
    assert result.note.endswith("requirement :durative-actions is not supported")


def test_what_a_run_that_went_wrong_said_is_its_note() -> None:
    """A plan or "no plan" (exit 0 or 1) has no note; a crash (exit 1 with a traceback) or
    another exit status gives its last line on stderr, or on stdout when stderr is empty
    (Fast Downward's errors)."""

    def ran(code: int, stderr: str = "", stdout: str = "") -> str:
        return _note(subprocess.CompletedProcess([], code, stdout, stderr))

    assert ran(0) == ran(1, "no plan found\n") == ""
    crash = "Traceback (most recent call last):\n  File ...\nAttributeError: no get_word\n"
    assert ran(1, crash) == "exit 1: AttributeError: no get_word"
    assert ran(31, "", "reading input\nUnsupported feature: axioms\n\n") == (
        "exit 31: Unsupported feature: axioms"
    )
    assert ran(22) == "exit 22"
    fd = subprocess.CompletedProcess[str]
    for unsolvable in (10, 11, 12, 13):  # Fast Downward finished without a plan
        assert (
            _note(fd([], unsolvable, "Search stopped without finding a solution.\n", ""), "fd-lama")
            == ""
        )
    assert _note(fd([], 23, "", ""), "fd-lmcut") == "exit 23"  # out of time: went wrong
    assert _note(fd([], 1, "", "Traceback (most recent call last):\nX\n"), "ido-search") != ""


@pytest.mark.skipif(not IPC.is_dir(), reason="../shared/benchmarks/pddl is not here")
def test_the_search_budget_is_passed_on_to_ido_plan() -> None:
    """`--search-states N` reaches `ido plan --search-states N`: one state is too few for
    miconic s1-0, and the note is what the command said."""
    domain = IPC / "miconic" / "domain.pddl"
    problem = sorted((IPC / "miconic").glob("s1-0*.pddl"))[0]
    assert run_one("ido-search", domain, problem, 120).solved
    cut = run_one("ido-search", domain, problem, 120, states=1)
    assert not cut.solved
    assert "search expanded 1 state without finishing" in cut.note


def test_the_summary_compares_each_ido_planner_with_each_peer() -> None:
    """It compared ido-cpsat alone, on the problems every planner solved: a race of
    ido-search against pyperplan printed no ratio at all."""

    def solved(problem: str, planner: str, cpu: float, ok: bool = True) -> Result:
        return Result("d", problem, planner, ok, True if ok else None, 1.0, cpu, cpu, "")

    results = [
        solved("p1", "ido-search", 0.5),
        solved("p1", "pyperplan", 2.0),
        solved("p2", "ido-search", 3.0),
        solved("p2", "pyperplan", 1.5),
        solved("p3", "ido-search", 1.0),
        solved("p3", "pyperplan", 30.0, ok=False),  # (a time-out: not compared)
    ]
    told = summary(results)
    assert (
        "- CPU ido-search / pyperplan: 1.00× in total, geometric mean 0.71× per problem; "
        "ido-search took less on 1 of the 2 both solved"
    ) in told, told
