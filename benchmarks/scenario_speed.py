"""Scenario speed: how much CPU a long simulated run costs, and the shipped scenarios' suite.

Run from the repository root (about a minute):

    .venv/bin/python benchmarks/scenario_speed.py --decisions 1000 --repeat 3

1. **A scenario of N decisions**: one capability that fails its first N − 1 calls (a
   `fail_next` fault) and an intent that allows that many replans and attempts, so the run
   makes exactly N decisions, each followed by a call. Measured in-process with
   `time.process_time()` around `run_scenario` (loading excluded), for the `search` and the
   `cpsat` planner; the run must be `achieved` after exactly N − 1 replans.
2. **`ido scenario test`** on every scenario under `scenarios/`, as a user runs it: a
   subprocess, its CPU (user + system, start-up included) and wall time; it must pass.

Prints a Markdown table; `--json FILE` writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ido.scenario.runner import load_scenarios, run_scenario

ROOT = Path(__file__).resolve().parents[1]

CAPABILITY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: mint}
spec:
  provider: mint
  requires: ["!state.token.minted"]
  effects: {token.minted: true}
  cost: 0.01
  latency: 100ms
"""

SCENARIO = """\
apiVersion: ido/v1
kind: Scenario
metadata: {{name: long-run}}
spec:
  intent:
    goal: ["state.token.minted"]
    planner: {planner}
    limits: {{max_attempts: {n}, max_replans: {n}}}
  faults:
    - {{capability: mint, fail_next: {failures}}}
  expect: {{outcome: achieved, replans: {{min: {failures}, max: {failures}}}}}
"""


def long_run(decisions: int, planner: str, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "capabilities").mkdir()
        (root / "capabilities" / "mint.yaml").write_text(CAPABILITY)
        file = root / "long-run.yaml"
        file.write_text(SCENARIO.format(planner=planner, n=decisions, failures=decisions - 1))
        ((scenario, catalog),) = load_scenarios(file, [root / "capabilities"])
        times = []
        for _ in range(repeat):
            started = time.process_time()
            result = run_scenario(scenario, catalog, base=root)
            times.append(time.process_time() - started)
            if not result.passed:
                raise SystemExit(f"long run with {planner} failed: {result.unmet}")
    return {"cpu_median": statistics.median(times), "cpu_max": max(times)}


def scenario_suite() -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ido", "scenario", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"ido scenario test failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    count = int(done.stdout.strip().splitlines()[-1].split()[0])
    return {"scenarios": count, "cpu": cpu, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    for planner in ("search", "cpsat"):
        print(f"{args.decisions} decisions with {planner} …", file=sys.stderr)
        rows[planner] = long_run(args.decisions, planner, args.repeat)
    print("ido scenario test …", file=sys.stderr)
    suite = scenario_suite()
    print(f"| measurement | CPU s (median of {args.repeat}) | max |")
    print("|---|---:|---:|")
    for planner, row in rows.items():
        print(
            f"| scenario of {args.decisions:,} decisions, `planner: {planner}` | "
            f"{row['cpu_median']:.2f} | {row['cpu_max']:.2f} |"
        )
    print(
        f"\n`ido scenario test` on {suite['scenarios']:.0f} shipped scenarios: "
        f"{suite['cpu']:.2f} s CPU, {suite['wall']:.2f} s wall (start-up included)"
    )
    if args.json:
        args.json.write_text(json.dumps({"long_run": rows, "suite": suite}, indent=2))


if __name__ == "__main__":
    main()
