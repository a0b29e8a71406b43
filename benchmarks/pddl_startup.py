"""Whole-process CPU and wall time of `ido plan --pddl` on the smallest IPC problem of each
domain, as `benchmarks/ipc.py` runs it, against the floors under it (Python's start,
`import typer`); with `--before COPY`, of another checkout of ido in the same runs.

    .venv/bin/python benchmarks/pddl_startup.py [--repeat 7] [--before COPY]

Each row is the median of `--repeat` runs of `ido plan --pddl DOMAIN PROBLEM --planner
search --alternatives 0 --plan-out FILE` (the console script `ido`, ido's package
byte-compiled first, `ipc.compile_ido`). With `--before COPY` (a checkout of ido's
source, such as `git archive COMMIT | tar -x -C COPY`), every run of this checkout is
followed by one with `PYTHONPATH=COPY`, so both see the same load.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ipc
from process_cpu import run_measured

FLOORS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import typer'": [sys.executable, "-c", "import typer"],
}
"""What any `ido` command costs at least: the interpreter's start, and Typer's import."""


def measured(
    argv: list[str], work: Path, env: dict[str, str], limit: float = 120.0
) -> tuple[float, float]:
    """CPU and wall seconds of one run of `argv` in `work`, under `env`, which must end
    within `limit` seconds."""
    ran = run_measured(argv, work, limit, env)
    if ran.timed_out:
        raise SystemExit(f"{' '.join(argv)} did not end within {limit:g} s: killed")
    if ran.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited with {ran.returncode}: {ran.stderr[-400:]}")
    return ran.cpu_s, ran.wall_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before", type=Path, help="a checkout of ido to compare with")
    args = parser.parse_args()
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", HF_HUB_OFFLINE="1")
    env.pop("IDO_JOURNAL", None)
    env.pop("PYTHONPATH", None)
    versions = {"after": env}
    if args.before:
        compileall.compile_dir(str(args.before / "ido"), quiet=1)
        versions = {"before": dict(env, PYTHONPATH=str(args.before.resolve())), "after": env}
    ipc.compile_ido()
    with tempfile.TemporaryDirectory(prefix="ido-pddl-startup-") as scratch:
        work = Path(scratch)
        runs: dict[str, list[str]] = dict(FLOORS)
        for domain in ipc.DOMAINS:
            for domain_file, problem in ipc.problems_of(domain, 1):
                argv = ipc.command("ido-search", domain_file, problem, work / "plan.txt")
                assert argv is not None, "the `ido` command is not installed beside python"
                runs[f"{domain}/{problem.name}"] = argv
        header = "".join(f" {name + ' CPU':>11} {name + ' wall':>11}" for name in versions)
        print(f"{'median of ' + str(args.repeat):42}{header}")
        for name, argv in runs.items():
            times: dict[str, list[tuple[float, float]]] = {v: [] for v in versions}
            for _ in range(args.repeat):
                for version, version_env in versions.items():
                    times[version].append(measured(argv, work, version_env))
            cells = "".join(
                f" {statistics.median(c for c, _ in t):10.3f}s"
                f" {statistics.median(w for _, w in t):10.3f}s"
                for t in times.values()
            )
            print(f"{name:42}{cells}", flush=True)


if __name__ == "__main__":
    main()
