"""`benchmarks/ipc.py`: whole processes, and what a failed one said."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from ipc import run_one  # noqa: E402


def test_a_failed_ido_run_is_reported_with_its_error(unsupported_pddl: tuple[Path, Path]) -> None:
    """`ido plan --pddl` refusing a requirement exits 2; the result says why, not only the
    exit status."""
    domain, problem = unsupported_pddl
    result = run_one("ido-search", domain, problem, 120)
    assert not result.solved
    assert result.note.startswith("exit 2: ")
    assert result.note.endswith("requirement :durative-actions is not supported")
