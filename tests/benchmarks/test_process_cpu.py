"""`benchmarks/process_cpu.py`: the CPU of a planner's processes, killed at the limit or not."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from process_cpu import run_measured  # noqa: E402

SPINNER = """
import os, subprocess, sys, time
if sys.argv[1:] == ["spin"]:
    with open("spun.txt", "w") as spun:
        spun.write(f"{os.getpid()}\\n")
        while True:
            start = time.process_time()
            while time.process_time() - start < 0.05:
                pass
            spun.write(f"{time.process_time()}\\n")
            spun.flush()
subprocess.run([sys.executable, __file__, "spin"])
"""
"""A planner as Fast Downward's driver is one: a process that waits for its child, the
search, which spins on the CPU (writing down how long it has so far) until killed."""


def test_a_planner_killed_at_the_limit_counts_the_cpu_its_children_spun(tmp_path: Path) -> None:
    """A planner killed at the time limit was counted some 0.2 s of CPU, what the process
    started waited for, while its search went on spinning, orphaned: now the whole process
    group is killed and every process of it counted."""
    script = tmp_path / "planner.py"
    script.write_text(SPINNER)
    spun = tmp_path / "spun.txt"
    try:
        ran = run_measured([sys.executable, str(script)], tmp_path, limit=2.0)
    finally:
        search = int(spun.read_text().split()[0]) if spun.is_file() else None
        left = search is not None and _alive(search)
        if search is not None and left:  # (after a failure: the search must not spin on)
            os.kill(search, signal.SIGKILL)
    said = [float(line) for line in spun.read_text().split()[1:]]
    assert ran.timed_out
    assert said and said[-1] > 0.2, said  # the search did spin before the limit
    assert ran.cpu_s > said[-1] / 2, (ran.cpu_s, said[-1])
    assert not left, "the search outlived its planner's time limit"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
