"""What the stubborn sets' relation costs a search before its first expansion, this
checkout's against another's, on IPC problems: CPU and memory kept, beside `ground()`.

Run from the repository root, with the other version's files somewhere (a worktree, or
`git archive REV ido | tar -x -C /tmp/before`):

    .venv/bin/python benchmarks/stubborn_relation.py --before /tmp/before \
        --problems rovers/p40,rovers/p30,depot/p05,logistics00/probLOGISTICS-15-1

Every search that does not settle within `SETS_AFTER` expansions (1,000) starts again
with the sets (`ido.planner.astar`) and builds `ido.planner.stubborn.Stubborn` for its
task then, once (the search of states' own LM-cuts takes its asker's); a search that
settles sooner never builds it. This times that build, best of
`--repeat`, and the memory it holds afterwards (`tracemalloc`, a separate build), for
`ido.planner.stubborn` loaded from both checkouts (the rest of ido from this one), and
the grounding of the same problem (`ground()`, its condition tables remembered) as the
yardstick in the same run. Both must pick the same set at the start state, else the
script stops: a cheaper relation that prunes otherwise proves nothing.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

from ido.decision import History
from ido.observe import boolean_facts, snapshot
from ido.pddl import pddl_catalog
from ido.planner.grounding import Grounded, ground
from ido.planner.solving import usable
from ido.planner.successors import Successors
from ido.planner.types import Task
from ido.planning_task import build_task

IPC = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "pddl"


def _module(folder: Path) -> ModuleType:
    """`ido.planner.stubborn` as `folder` has it."""
    path = folder / "ido" / "planner" / "stubborn.py"
    spec = importlib.util.spec_from_file_location(f"stubborn_{abs(hash(folder))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _task(spec: str) -> Task:
    """The planning task of `domain/problem` (without `.pddl`), as `ido plan --pddl` has it."""
    domain, problem = spec.split("/")
    folder = IPC / domain
    catalog, name, _ = pddl_catalog(folder / "domain.pddl", folder / f"{problem}.pddl")
    intent = catalog.intents[name]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    return build_task(intent, catalog, state, History())[0]


def _cost(make: Any, g: Grounded, actions: list[int], repeat: int) -> tuple[float, float]:
    """Best CPU seconds of `repeat` builds, and the megabytes one build holds."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        make(g, actions, g.goal)
        best = min(best, time.process_time() - start)
    gc.collect()
    tracemalloc.start()
    kept = make(g, actions, g.goal)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return best, held / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--problems", default="rovers/p40,rovers/p30,depot/p05")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    before = _module(args.before).Stubborn
    after = _module(Path(__file__).resolve().parents[1]).Stubborn
    print(
        "| problem | actions | ground() ms | before ms (÷ ground) | MB | after ms (÷ ground) | MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in args.problems.split(","):
        task = _task(spec)
        g = ground(task)  # (its condition tables remembered for the timed ones)
        ground_s = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            g = ground(task)
            ground_s = min(ground_s, time.process_time() - start)
        actions = sorted(usable(g, frozenset()))
        first = g.packing.start
        found = Successors(g, actions, g.packing).of(first)
        picked = [make(g, actions, g.goal).applicable(first, found) for make in (before, after)]
        if picked[0] != picked[1]:
            sys.exit(f"{spec}: the two pick different sets at the start: {picked}")
        was, was_mb = _cost(before, g, actions, args.repeat)
        now, now_mb = _cost(after, g, actions, args.repeat)
        print(
            f"| {spec} | {len(actions):,} | {ground_s * 1e3:.0f} "
            f"| {was * 1e3:.0f} ({was / ground_s:.2f}) | {was_mb:.1f} "
            f"| {now * 1e3:.0f} ({now / ground_s:.2f}) | {now_mb:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
