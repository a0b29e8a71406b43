"""The A* search (`ido.planner.astar`) of this checkout against another's, on IPC problems:
the same plans and expansions, then CPU seconds per problem, taking turns.

Run from the repository root, with the other version's package somewhere (a worktree, or
`git archive REV ido | tar -x -C /tmp/before`):

    .venv/bin/python benchmarks/search_ab.py --before /tmp/before \
        --problems depot/p03,gripper/prob05 --turns 3

Each problem (`domain/problem` under `../shared/benchmarks/pddl/`, without `.pddl`) is
grounded and searched by `ido.planner.astar.AStarSearch` in a process of its own, once with
each checkout's `ido` first on `sys.path` (`--child`), old first on even turns and new first
on odd ones, `--turns` times; the least CPU time of the search alone (not the grounding)
of each side counts, so that a busy moment of a shared machine hits both alike. Each run
prints its plan's cost, expansions and steps: any that differ between the two stop the
script, since a faster search that finds something else proves nothing. `--check-only`
runs one checkout once per problem (`--before`'s, if given, else this one) and prints
problem, cost, expansions and plan, to diff against the other's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
IPC = ROOT.parent / "shared" / "benchmarks" / "pddl"


def child(spec: str, max_states: int) -> None:
    """Search `spec` with the `ido` first on `sys.path` and print what it found, as JSON."""
    import time

    from ido.decision import History
    from ido.errors import OutOfBudget
    from ido.observe import boolean_facts, snapshot
    from ido.pddl import pddl_catalog
    from ido.planner.astar import AStarSearch
    from ido.planner.grounding import ground
    from ido.planner.solving import Question, horizon
    from ido.planning_task import build_task

    domain, problem = spec.split("/")
    folder = IPC / domain
    catalog, name, _ = pddl_catalog(folder / "domain.pddl", folder / f"{problem}.pddl")
    intent = catalog.intents[name]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    task = build_task(intent, catalog, state, History())[0]
    g = ground(task)
    search = AStarSearch(Question(task, g, horizon(task, g)))
    began = time.process_time()
    try:
        found = search.run(max_states, max_states * 200, report=False)
        steps = None if found is None else [s.capability for s in found.plan.steps]
        cost = None if found is None else round(found.plan.cost, 6)
    except OutOfBudget:
        steps, cost = ["gave up"], None
    cpu = time.process_time() - began
    print(json.dumps({"steps": steps, "cost": cost, "expanded": search.expanded, "cpu": cpu}))


class Found(TypedDict):
    """What `child` prints: the plan's steps (["gave up"] past the budget), its cost, the
    expansions and the CPU seconds of the search alone."""

    steps: list[str] | None
    cost: float | None
    expanded: int
    cpu: float


def run(root: Path, spec: str, max_states: int) -> Found:
    """What `child` prints for `spec`, with `root`'s `ido` first on the path; a child that
    fails stops the script with its last line (an older checkout's `ido` may lack what
    `child` imports)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    args = [sys.executable, __file__, "--child", spec, "--states", str(max_states)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    printed = done.stdout.splitlines()
    if done.returncode != 0 or not printed:
        said = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise SystemExit(f"{spec}: the search with {root}'s ido failed: {said[-1]}")
    answer: Found = json.loads(printed[-1])
    return answer


def positive(text: str) -> int:
    """A count of at least 1, for `--turns` and `--states`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", type=Path, help="root of the other checkout")
    parser.add_argument("--problems", default="depot/p03,gripper/prob05")
    parser.add_argument("--turns", type=positive, default=3, help="timed runs per side")
    parser.add_argument("--states", type=positive, default=200_000, help="the search's budget")
    parser.add_argument("--check-only", action="store_true", help="one checkout, once each")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.states)
        return
    specs = args.problems.split(",")
    for spec in specs:
        domain, _, problem = spec.partition("/")
        path = IPC / domain / f"{problem}.pddl"
        if not problem or not path.is_file() or not (IPC / domain / "domain.pddl").is_file():
            raise SystemExit(f"--problems: no {path} with a domain.pddl beside it")
    if args.before is not None and not (args.before / "ido" / "planner" / "astar.py").is_file():
        raise SystemExit(
            f"--before: no {args.before}/ido/planner/astar.py; give another ido checkout's root"
        )
    if args.check_only:
        for spec in specs:
            found = run(args.before or ROOT, spec, args.states)
            print(spec, found["cost"], found["expanded"], " ".join(found["steps"] or []))
        return
    if args.before is None:
        raise SystemExit("--before: give the root of another ido checkout")
    sides = {"before": args.before, "now": ROOT}
    print("| problem | cost | expanded | before, s | now, s | before ÷ now |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for spec in specs:
        best = dict.fromkeys(sides, float("inf"))
        seen: dict[str, tuple[list[str] | None, float | None, int]] = {}
        for turn in range(args.turns):
            for side in sorted(sides, reverse=turn % 2 == 1):
                found = run(sides[side], spec, args.states)
                outcome = (found["steps"], found["cost"], found["expanded"])
                if seen.setdefault(side, outcome) != outcome or seen["before"] != outcome:
                    raise SystemExit(
                        f"{spec}: the two searches differ (steps, cost, expanded): {seen} "
                        f"against {side}'s {outcome}"
                    )
                best[side] = min(best[side], found["cpu"])
        steps, cost, expanded = seen["now"]
        shown = "(gave up)" if steps == ["gave up"] else cost
        ratio = best["before"] / best["now"]
        ratios.append(ratio)
        print(
            f"| {spec} | {shown} | {expanded:,} | {best['before']:.2f} "
            f"| {best['now']:.2f} | {ratio:.2f}× |",
            flush=True,
        )
    print(f"| median | | | | | {statistics.median(ratios):.2f}× |")


if __name__ == "__main__":
    main()
