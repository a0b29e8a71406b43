"""How the stubborn sets pick the value they start from, compared on IPC problems.

A strong stubborn set (`ido.planner.stubborn`) starts from the writers of one goal value
the state lacks and, for an action of the set that does not apply, adds the writers of one
value it lacks. Which value is a free choice: any keeps the optimum. This runs the search
(`ido.planner.astar`, as `ido plan --pddl … --planner search` does after grounding) with
each choice, each problem and choice in a process of its own with a time limit, in turns
(the choices of one problem one after the other, so the load they meet is alike), and
prints per run the share of the applicable actions the sets left out, the expansions, the
CPU seconds and the plan's cost (which must agree):

- `first`: the first value lacking, in the order the fluents are packed (ido's before);
- `fewest`: the lacking value with the fewest writers (Wehrle & Helmert 2014 discuss it);
- `in-set`: the lacking value whose writers add the fewest actions not in the set yet
  (Röger et al. 2020's preference for values already achieved by the set): ido's now.

    .venv/bin/python benchmarks/stubborn_choice.py --time-limit 60 --problems \
        rovers/p04,rovers/p05,rovers/p06,satellite/p05-pfile5,satellite/p06-pfile6,\
    satellite/p07-pfile7,blocks/probBLOCKS-7-0,depot/p02,driverlog/p02,gripper/prob04,\
    logistics00/probLOGISTICS-5-0,miconic/s6-0,zenotravel/p06,visitall-opt11-strips/problem04-full
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ido.planner import astar, stubborn
from ido.planner.astar import AStarSearch, SearchGaveUp
from ido.planner.grounding import ground
from ido.planner.solving import Question
from ido.planner.successors import State

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stubborn_relation import _task  # (the IPC problem as `ido plan --pddl` has it)

CHOICES = ("first", "fewest", "in-set")


class _First(stubborn.Stubborn):
    """The first lacking value, in the order the fluents are packed (ido's before)."""

    def _lacking(self, needs: tuple[list[int], list[int]], state: State, held: int) -> int | None:
        for b in needs[0]:
            if not state >> b & 1:
                return self.writes(b)
        return None


class _Fewest(stubborn.Stubborn):
    """The lacking value with the fewest writers, whatever the set holds already."""

    def _lacking(self, needs: tuple[list[int], list[int]], state: State, held: int) -> int | None:
        return super()._lacking(needs, state, 0)


def one(spec: str, choice: str, states: int) -> dict[str, Any]:
    """One search of `spec` with `choice`: what it left out, expanded, cost and spent."""
    picked = {"first": _First, "fewest": _Fewest, "in-set": stubborn.Stubborn}[choice]
    astar.Stubborn = picked  # type: ignore[misc]  (the class each search builds)
    task = _task(spec)
    start = time.process_time()
    g = ground(task)
    search = AStarSearch(Question(task, g, min(task.max_steps, g.horizon)))
    try:
        found = search.run(states, states * 200, report=False)
        cost: float | str | None = None
        if found is not None and found.plan is not None:
            cost = round(sum(s.score for s in found.plan.steps), 6)
    except SearchGaveUp:
        cost = "gave up"
    spent = time.process_time() - start
    share = search.pruned / search.offered if search.offered else 0.0
    return {"expanded": search.expanded, "cpu": spent, "pruned": share, "cost": cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", default="rovers/p04,rovers/p05,rovers/p06")
    parser.add_argument("--choices", default=",".join(CHOICES))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--search-states", type=int, default=200_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # SPEC,CHOICE: a child's run
    args = parser.parse_args()
    if args.one:
        spec, choice = args.one.split(",")
        print(json.dumps(one(spec, choice, args.search_states)))
        return
    print("| problem | choice | left out | expanded | CPU s | cost |")
    print("|---|---|---:|---:|---:|---|")
    for spec in args.problems.split(","):
        for choice in args.choices.split(","):
            command = [sys.executable, __file__, "--one", f"{spec},{choice}"]
            command += ["--search-states", str(args.search_states)]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=args.time_limit, check=True
                )
            except subprocess.TimeoutExpired:
                print(f"| {spec} | {choice} | | | > {args.time_limit:.0f} (limit) | |", flush=True)
                continue
            except subprocess.CalledProcessError as failed:
                said = failed.stderr.strip().splitlines()[-1:]
                print(f"| {spec} | {choice} | failed: {' '.join(said)} | | | |", flush=True)
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"| {spec} | {choice} | {r['pruned']:.1%} | {r['expanded']:,} "
                f"| {r['cpu']:.2f} | {r['cost']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
