"""`benchmarks/grounding_ab.py`: it times two groundings only when they agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "grounding_ab.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_a_checkout_against_itself_is_timed() -> None:
    """Two groundings that agree are timed, cold and warm, per size."""
    done = run("--before", str(ROOT), "--sizes", "10", "--problems", "2", "--repeat", "1")
    assert done.returncode == 0, done.stderr
    assert "10 capabilities, 2 problems, best of 1 each:" in done.stdout
    assert "  cold: before median" in done.stdout and "  warm: before median" in done.stdout


def test_a_grounding_that_differs_stops_it(tmp_path: Path) -> None:
    """A faster grounding of another answer proves nothing: the script stops and says where."""
    module = tmp_path / "ido" / "planner" / "grounding.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from dataclasses import replace\n"
        "from ido.planner.grounding import *  # noqa: F403\n"
        "from ido.planner.grounding import ground as _ground\n\n"
        "def ground(task, actions=None):\n"
        "    g = _ground(task, actions)\n"
        "    return replace(g, rejections=g.rejections[1:])\n"
    )
    done = run("--before", str(tmp_path), "--sizes", "10", "--problems", "2", "--repeat", "1")
    assert done.returncode != 0
    assert "size 10 problem 0: the two groundings differ" in done.stderr


def test_a_folder_that_is_no_checkout_is_named(tmp_path: Path) -> None:
    """A `--before` that holds no ido is named in one line, without a traceback."""
    done = run("--before", str(tmp_path))
    assert done.returncode != 0
    assert f"--before: no {tmp_path}/ido/planner/grounding.py" in done.stderr
    assert "Traceback" not in done.stderr
