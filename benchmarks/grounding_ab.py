"""Grounding time of this checkout against another, in one process, on the latency problems.

Run from the repository root, with the other version checked out somewhere (a worktree):

    git worktree add /tmp/before HEAD~1
    .venv/bin/python benchmarks/grounding_ab.py --before /tmp/before --sizes 100,1000

`ido.planner.grounding` and `ido.planner.tables` are loaded from both checkouts (the rest
of ido from this one) and each grounds the same problems of `benchmarks/plan_latency.py`,
turn about, `--repeat` times: cold (remembered condition tables dropped first, as a new
state needs) and warm (right after, the tables remembered). Per problem the best time of
each counts, so a noisy moment on a shared machine hits both sides alike. Before timing,
both groundings of every problem are compared field by field: a difference stops the
script, since a faster grounding of another problem proves nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plan_latency  # the problems, from the script beside this one

from ido.planner import grounding as this
from ido.planner import tables


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_other(root: Path) -> tuple[ModuleType, Callable[[], None]]:
    """The other checkout's `ground` module, and how it forgets its condition tables. Its
    `tables.py` (a checkout from before the split has none) is the one its grounding
    imports."""
    path = root / "ido" / "planner" / "grounding.py"
    if not path.is_file():
        raise SystemExit(f"--before: no {path}; give the root of another ido checkout")
    tables_path = root / "ido" / "planner" / "tables.py"
    if not tables_path.is_file():
        module = _load(path, "ido_grounding_before")
        return module, getattr(module, "forget_tables", tables.forget_tables)
    other_tables = _load(tables_path, "ido_tables_before")
    own = sys.modules["ido.planner.tables"]
    sys.modules["ido.planner.tables"] = other_tables
    try:
        module = _load(path, "ido_grounding_before")
    finally:
        sys.modules["ido.planner.tables"] = own
    return module, other_tables.forget_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="root of the other checkout")
    parser.add_argument("--sizes", default="1000", help="catalog sizes, comma-separated")
    parser.add_argument("--problems", type=int, default=20, help="problems per size")
    parser.add_argument("--repeat", type=int, default=7, help="timed groundings per side")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem generator")
    args = parser.parse_args()
    other, forget_other = load_other(args.before)
    sides = {"before": (other, forget_other), "now": (this, tables.forget_tables)}
    for size in (int(s) for s in args.sizes.split(",")):
        tasks = [plan_latency.generate(size, args.seed, i).task for i in range(args.problems)]
        for n, task in enumerate(tasks):
            a, b = repr(other.ground(task)), repr(this.ground(task))
            if a != b:
                raise SystemExit(f"size {size} problem {n}: the two groundings differ")
        best = {
            (side, mode): [float("inf")] * len(tasks) for side in sides for mode in ("cold", "warm")
        }
        for rep in range(args.repeat):
            order = list(sides.items()) if rep % 2 == 0 else list(reversed(sides.items()))
            for n, task in enumerate(tasks):
                for side, (module, forget) in order:
                    forget()
                    start = time.perf_counter()
                    module.ground(task)
                    middle = time.perf_counter()
                    module.ground(task)
                    end = time.perf_counter()
                    cold, warm = best[side, "cold"], best[side, "warm"]
                    cold[n] = min(cold[n], (middle - start) * 1e3)
                    warm[n] = min(warm[n], (end - middle) * 1e3)
        print(f"{size} capabilities, {len(tasks)} problems, best of {args.repeat} each:")
        for mode in ("cold", "warm"):
            old, new = best["before", mode], best["now", mode]
            print(
                f"  {mode}: before median {statistics.median(old):.2f} ms (sum {sum(old):.1f}), "
                f"now {statistics.median(new):.2f} ms (sum {sum(new):.1f}): "
                f"{sum(old) / sum(new):.2f}x"
            )


if __name__ == "__main__":
    main()
