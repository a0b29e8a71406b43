"""`benchmarks/search_ab.py`: what it is given wrong is named in one line, before any search."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "search_ab.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_folder_that_is_no_checkout_is_named(tmp_path: Path) -> None:
    """A `--before` that holds no ido is named, without a traceback."""
    done = run("--before", str(tmp_path), "--problems", "gripper/prob01")
    assert done.returncode != 0
    assert f"--before: no {tmp_path}/ido/planner/astar.py" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_problem_that_is_not_there_is_named() -> None:
    """A problem not in the IPC folder is named before any search starts."""
    done = run("--check-only", "--problems", "depot/p99")
    assert done.returncode != 0
    assert "--problems: no " in done.stderr and "depot/p99.pddl" in done.stderr
    assert "Traceback" not in done.stderr
