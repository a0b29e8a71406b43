"""A state's LM-cut in this checkout against another's, in one process, on a search's states.

Run from the repository root, with the other version's `ido/planner/lmcut.py` under a
root of its own (a worktree, or the file alone):

    mkdir -p /tmp/before/ido/planner
    git show HEAD~1:ido/planner/lmcut.py > /tmp/before/ido/planner/lmcut.py
    .venv/bin/python benchmarks/lmcut_ab.py --before /tmp/before --problems depot/p03.pddl

Each problem (under `../shared/benchmarks/pddl/`, with its folder's `domain.pddl`) is
planned once by `ido plan --pddl --planner search`, in this process, and the relaxed task
and the first `--states` states whose own LM-cut the search asks for (`StateCuts`, after
10,000 expansions) are recorded. Then `ido.planner.lmcut` of both checkouts is prepared for
that task and asked about every recorded state: a cut that differs stops the script,
since a faster LM-cut that finds other cuts proves nothing. Then both take turns, old
first on even turns and new first on odd ones, `--turns` times, and the least CPU time of
each counts, so that a busy moment of a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from typer.testing import CliRunner

from ido import cli
from ido.planner import estimates
from ido.planner import lmcut as this

IPC = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "pddl"


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("ido_lmcut_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recorded(problem: Path, most: int) -> tuple[tuple[Any, ...], list[list[int]]]:
    """The relaxed task of `problem`'s own LM-cuts and the first `most` states asked."""
    task: list[tuple[Any, ...]] = []
    states: list[list[int]] = []

    class Recording(this.LmCut):
        def __init__(self, *args: Any) -> None:
            task.append(args)
            super().__init__(*args)

        def cuts(self, init: Any, afresh: bool = False) -> Any:
            if len(states) < most:
                states.append(list(init))
            return super().cuts(init, afresh)

    names = vars(estimates)  # (its `StateCuts` prepares a `Recording` for the search)
    own, names["LmCut"] = names["LmCut"], Recording
    try:
        domain = problem.parent / "domain.pddl"
        args = ["plan", "--pddl", str(domain), str(problem), "--planner", "search", "-f", "json"]
        CliRunner().invoke(cli.app, args)
    finally:
        names["LmCut"] = own
    if not task or not states:
        raise SystemExit(f"{problem}: the search asked for no state's own LM-cut")
    return task[0], states


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="root of the other checkout")
    parser.add_argument(
        "--problems", default="depot/p03.pddl", help="comma-separated, under the IPC folder"
    )
    parser.add_argument("--states", type=int, default=5000, help="states recorded per problem")
    parser.add_argument("--turns", type=int, default=9, help="timed passes per side")
    args = parser.parse_args()
    path = args.before / "ido" / "planner" / "lmcut.py"
    if not path.is_file():
        raise SystemExit(f"--before: no {path}; give the root of another ido checkout")
    problems = [IPC / name for name in args.problems.split(",")]
    for problem in problems:
        if not problem.is_file() or not (problem.parent / "domain.pddl").is_file():
            raise SystemExit(f"--problems: no {problem} with a domain.pddl beside it")
    other = _load(path)
    print("problem | states | before, µs per state | now | faster")
    for problem in problems:
        name = problem.relative_to(IPC)
        task, states = recorded(problem, args.states)
        sides = {"before": other.LmCut(*task), "now": this.LmCut(*task)}
        for init in states:
            if sides["before"].cuts(init) != sides["now"].cuts(init):
                raise SystemExit(f"{name}: the cuts differ from state {init}")
        best = dict.fromkeys(sides, float("inf"))
        for turn in range(args.turns):
            for side in sorted(sides, reverse=turn % 2 == 1):
                prepared = sides[side]
                began = time.process_time()
                for init in states:
                    prepared.cuts(init)
                best[side] = min(best[side], time.process_time() - began)
        before, now = (best[s] / len(states) * 1e6 for s in ("before", "now"))
        print(f"{name} | {len(states):,} | {before:,.0f} | {now:,.0f} | {before / now:.2f}×")


if __name__ == "__main__":
    main()
