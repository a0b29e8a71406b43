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


def test_a_search_that_fails_in_its_child_is_named(tmp_path: Path) -> None:
    """A checkout whose `ido` fails in the child (here on import; an older one may lack what
    the child imports) stops the script with the child's last line, not with a traceback
    that hides what the child said."""
    package = tmp_path / "ido"
    (package / "planner").mkdir(parents=True)
    (package / "__init__.py").write_text('raise ImportError("this checkout is broken")\n')
    (package / "planner" / "astar.py").write_text("")
    done = run("--check-only", "--before", str(tmp_path), "--problems", "gripper/prob01")
    assert done.returncode != 0
    assert (
        f"gripper/prob01: the search with {tmp_path}'s ido failed: "
        "ImportError: this checkout is broken"
    ) in done.stderr
    assert "Traceback" not in done.stderr


def test_turns_below_one_are_refused() -> None:
    """`--turns 0` would time nothing and end in a traceback: it is refused by name."""
    done = run("--before", str(ROOT), "--turns", "0", "--problems", "gripper/prob01")
    assert done.returncode != 0
    assert "--turns: '0' is not a whole number of at least 1" in done.stderr
    assert "Traceback" not in done.stderr
