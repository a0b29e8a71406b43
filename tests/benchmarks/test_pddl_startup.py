"""`benchmarks/pddl_startup.py`: the start-up of `ido plan --pddl`, measured whole."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from pddl_startup import measured  # noqa: E402  (benchmarks/ is no package)


def test_a_run_that_outlasts_its_limit_is_said_to_have_been_killed(tmp_path: Path) -> None:
    """A run killed at the limit was told as "exited with None", as though it had ended
    with no status; now it is said not to have ended within the limit."""
    argv = [sys.executable, "-c", "import time; time.sleep(120)"]
    with pytest.raises(SystemExit, match=r"did not end within 0\.5 s: killed"):
        measured(argv, tmp_path, dict(os.environ), limit=0.5)
