"""`benchmarks/process_cpu.py`: the CPU of a planner's processes, killed at the limit or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


BENCHMARK = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from process_cpu import run_measured
run_measured([sys.executable, "planner.py"], Path("."), limit=600.0)
"""
"""A benchmark that runs the planner for up to 10 minutes, to be interrupted meanwhile."""


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_benchmark_interrupted_mid_run_leaves_no_planner_running(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """The planner runs in a session of its own, so Ctrl-C at the terminal (or `timeout`'s
    SIGTERM) reaches the benchmark alone: stopped while it waited, the benchmark left the
    planner and its search spinning, orphaned, for the rest of their time limit. Now it
    kills the group and reaps it on the way out, as it does at the limit."""
    (tmp_path / "planner.py").write_text(SPINNER)
    (tmp_path / "benchmark.py").write_text(BENCHMARK)
    spun = tmp_path / "spun.txt"
    benchmark = subprocess.Popen(
        [sys.executable, "benchmark.py", str(ROOT / "benchmarks")],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    search = None
    try:
        for _ in range(600):  # (until the search has spun once: at most a minute)
            said = spun.read_text().split() if spun.is_file() else []
            if len(said) > 1:
                search = int(said[0])
                break
            time.sleep(0.1)
        assert search is not None, "the search never started"
        benchmark.send_signal(stop)
        _, stderr = benchmark.communicate(timeout=60)
        assert "KeyboardInterrupt" in stderr, stderr  # (interrupted while it waited)
        assert not _alive(search), "the search outlived the interrupted benchmark"
    finally:
        if benchmark.poll() is None:
            benchmark.kill()
        if search is not None and _alive(search):  # (after a failure: it must not spin on)
            os.kill(search, signal.SIGKILL)


STAYS_A_SUBREAPER = """
import ctypes, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from process_cpu import run_measured
prctl = ctypes.CDLL(None, use_errno=True).prctl
assert prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
run_measured([sys.executable, "-c", "pass"], Path("."), limit=60.0)
was = ctypes.c_int(0)
assert prctl(37, ctypes.byref(was), 0, 0, 0) == 0  # PR_GET_CHILD_SUBREAPER
print(was.value)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_process_that_was_a_subreaper_still_is_one_after_a_run(tmp_path: Path) -> None:
    """A run made the benchmark a child subreaper and then no longer one, whatever it was
    before: a supervisor that was one (to reap its own orphans) lost it to a run. Now it
    is left as it was."""
    done = subprocess.run(
        [sys.executable, "-c", STAYS_A_SUBREAPER, str(ROOT / "benchmarks")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"], done.stdout
