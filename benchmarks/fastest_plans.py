"""Fastest plans: minimising elapsed time on tasks of parallel chains, both backends.

Run from the repository root:

    .venv/bin/python benchmarks/fastest_plans.py --tasks 60 --json fastest.json

Each task (`parallel_chains`, seeded) is four to eight goals, each reached by a chain of one
to three stages with one to four rival providers per stage; some providers share resource
facts (reading one as false, or writing it), which orders them, and a few capabilities reach
two goals at once, slowly. Plans run to about 30 steps, mostly side by side, and the metric
is the elapsed time: the critical path, not the sum. About two tasks in five carry a
deadline (some below the fastest plan: no plan).

`--limits cost` adds to each task a `max_cost` of its cheapest plan's cost plus 0, 1, 2 or 4
(seeded); `--limits success` first makes its capabilities less than certain (reliabilities
0.9 to 1, seeded) and adds a `min_success_probability` a little below its most reliable
plan's. Under such a sum the search keeps, per state, a path per sum it could still need.
Tasks with no plan at all (a deadline below any) have nothing to limit and are left out.

Per task, three answers, each timed in CPU seconds of this process:

- `cpsat-alone`: CP-SAT only (no exact search first or after): how often CP-SAT proves the
  fastest plan by itself within its deterministic time limit;
- `cpsat`: the CP-SAT backend as `ido plan` runs it (the exact search settles what CP-SAT
  leaves unproven);
- `search`: the exact search alone.

Every plan is checked by the independent checker, and wherever two answers are proven,
their elapsed time and number of steps must agree, else the benchmark stops with an error.
There is no outside peer: the IPC planners of `ipc_planning.py` read no latencies. Older
versions of ido can be run on the same tasks with `PYTHONPATH` pointing at a worktree.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ido.errors import PlanningError
from ido.planner.cpsat import CpSatPlanner
from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.solving import Solution, SolvingPlanner, ordered
from ido.planner.types import Action, Limits, Metric, Task, Weights, units
from ido.state import close_world

PLANNERS: dict[str, Callable[[], SolvingPlanner]] = {
    "cpsat-alone": lambda: CpSatPlanner(small=0, search_first=0, fallback_states=0),
    "cpsat": CpSatPlanner,
    "search": SearchPlanner,
}


def parallel_chains(seed: int) -> Task:
    """Goals reached by chains of one to three stages, each stage with rival providers,
    some stages sharing a resource fact, and a few capabilities that reach two goals at
    once: a plan of up to 30 steps, mostly side by side."""
    rng = random.Random(f"bigpar{seed}")
    chains = rng.randint(4, 8)
    shared = [f"r.r{i}" for i in range(rng.randint(1, 3))]
    facts, goals = list(shared), []
    actions: list[Action] = []
    for i in range(chains):
        before: str | None = None
        for depth in range(rng.randint(1, 3)):
            fact = f"g{i}.s{depth}"
            facts.append(fact)
            for p in range(rng.randint(1, 4)):
                requires = [] if before is None else [f"state.{before}"]
                effects: dict[str, Any] = {fact: True}
                if rng.random() < 0.25:
                    resource = rng.choice(shared)
                    if rng.random() < 0.5:
                        requires.append(f"!state.{resource}")
                    else:
                        effects[resource] = rng.random() < 0.5
                cost = rng.choice([0.0, 1.0, 2.0])
                latency = round(rng.uniform(0.0, 2.0), rng.choice([1, 3]))
                actions.append(
                    Action(
                        f"a{len(actions)}",
                        f"p{p}",
                        cost,
                        latency,
                        1.0,
                        tuple(requires),
                        tuple(effects.items()),
                    )
                )
            before = fact
        assert before is not None  # every chain has a stage
        goals.append(before)
    for _ in range(rng.randint(0, 3)):
        two = rng.sample(goals, 2)
        latency = round(rng.uniform(0.5, 3.0), 2)
        actions.append(
            Action(f"a{len(actions)}", "big", 0.0, latency, 1.0, (), tuple((g, True) for g in two))
        )
    limits = Limits(deadline=rng.choice([1.0, 2.0, 3.0, 5.0])) if rng.random() < 0.4 else Limits()
    rng.shuffle(actions)
    return Task(
        state=close_world({}, facts),
        goal=tuple(f"state.{g}" for g in goals),
        actions=tuple(actions),
        weights=Weights(cost=1.0),
        limits=limits,
        max_steps=30,
        alternatives=0,
        time_limit=1.0,
    )


def unreliable(task: Task, seed: int) -> Task:
    """`task` with each capability's reliability drawn from 0.9 to 1 (seeded)."""
    rng = random.Random(f"unreliable{seed}")
    steps = tuple(
        replace(a, reliability=rng.choice([0.9, 0.95, 0.99, 0.999, 1.0])) for a in task.actions
    )
    return replace(task, actions=steps)


def limited(task: Task, seed: int, limit: str) -> Task | None:
    """`task` under a `max_cost` ("cost") or, made `unreliable`, a `min_success_probability`
    ("success") a little looser than its best plan by that measure needs; None when it has
    no plan at all."""
    if limit == "success":
        task = unreliable(task, seed)
    measured: Metric = "cost" if limit == "cost" else "risk"
    best = SearchPlanner().solve(task, ground(task), measured)
    if best is None:
        return None
    rng = random.Random(seed)
    limits = task.limits
    if limit == "cost":
        limits = replace(limits, max_cost=best.plan.cost + rng.choice([0, 1, 2, 4]))
    else:  # a little below: rounding must not rule the most reliable plan out
        least = best.plan.success_probability * math.exp(-rng.choice([0.0, 0.05, 0.1, 0.2]))
        limits = replace(limits, min_success_probability=round(least, 6) - 1e-6)
    return replace(task, limits=limits)


def answer(name: str, task: Task) -> dict[str, Any]:
    """One planner's answer to the fastest plan of `task`, timed, its plan checked."""
    g = ground(task)
    planner = PLANNERS[name]()
    started = time.process_time()
    try:
        found: Solution | None = planner.solve(task, g, "latency")
        gave_up = None
    except PlanningError as exc:
        found, gave_up = None, str(exc)
    seconds = time.process_time() - started
    out: dict[str, Any] = {"planner": name, "cpu_s": seconds, "gave_up": gave_up}
    if found is None:
        out.update(proven=gave_up is None, plan=None)
        return out
    plan = ordered(g, found.plan)
    problems = check_plan(task, plan)
    if problems:
        raise SystemExit(f"{name}: invalid plan: {problems}")
    out.update(
        proven=found.optimal,
        plan={"elapsed_units": units(plan.latency), "steps": len(plan.steps)},
    )
    return out


def agree(seed: int, answers: list[dict[str, Any]]) -> None:
    """Proven answers must be the same: no plan, or the same elapsed time and steps."""
    proven = {a["planner"]: a["plan"] for a in answers if a["proven"]}
    if len({json.dumps(p, sort_keys=True) for p in proven.values()}) > 1:
        raise SystemExit(f"task {seed}: proven answers differ: {proven}")


def summary(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    mine = [r for r in rows if r["planner"] == name]
    times = sorted(r["cpu_s"] for r in mine)
    return {
        "planner": name,
        "tasks": len(mine),
        "proven": sum(r["proven"] for r in mine),
        "gave_up": sum(r["gave_up"] is not None for r in mine),
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "max_ms": 1000 * times[-1],
        "total_s": sum(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60, help="seeded tasks (seeds 0..N-1)")
    parser.add_argument(
        "--planners", default=",".join(PLANNERS), help=f"comma-separated, of {', '.join(PLANNERS)}"
    )
    parser.add_argument(
        "--limits",
        choices=["none", "cost", "success"],
        default="none",
        help="add a max_cost or a min_success_probability to each task (see above)",
    )
    parser.add_argument("--json", type=Path, help="write every answer and the summary here")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.planners.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PLANNERS))
    if unknown or not names or args.tasks < 1:
        parser.error(f"--planners takes {', '.join(PLANNERS)}; --tasks at least 1")
    rows: list[dict[str, Any]] = []
    left_out = 0
    for seed in range(args.tasks):
        task: Task | None = parallel_chains(seed)
        if args.limits != "none":
            task = limited(task, seed, args.limits)
        if task is None:
            left_out += 1
            continue
        answers = [{**answer(name, task), "task": seed} for name in names]
        agree(seed, answers)
        rows.extend(answers)
        said = ", ".join(
            f"{a['planner']} {1000 * a['cpu_s']:.0f} ms{'' if a['proven'] else ' (unproven)'}"
            for a in answers
        )
        print(f"  task {seed + 1}/{args.tasks}: {said}", file=sys.stderr, flush=True)
    if left_out:
        print(f"{left_out} tasks have no plan at all: left out", file=sys.stderr)
    summaries = [summary(rows, name) for name in names]
    print("| planner | tasks | proven | gave up | p50 | p95 | max | total CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in summaries:
        print(
            f"| {s['planner']} | {s['tasks']} | {s['proven']} | {s['gave_up']} | "
            f"{s['p50_ms']:.1f} ms | {s['p95_ms']:.1f} ms | {s['max_ms']:.1f} ms | "
            f"{s['total_s']:.2f} s |"
        )
    if args.json:
        machine = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "ortools": version("ortools"),
        }
        args.json.write_text(
            json.dumps(
                {"machine": machine, "limits": args.limits, "summary": summaries, "answers": rows},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
