"""Planning time alone on IPC problems: ido against pyperplan, start-up left out.

`benchmarks/ipc.py` times each planner as a whole process, and a Python interpreter with
its imports takes longer to start than pyperplan takes to solve most of these problems.
This script asks what is left: each planner still runs in a process of its own (so a time
limit can stop it), but that process imports everything first and then counts only the CPU
seconds from the PDDL files to the plan:

- `ido-search`, `ido-cpsat`: what `ido plan --pddl DOMAIN PROBLEM --planner X
  --alternatives 0` does after start-up: the problem grounded into a catalog (checked in
  memory, as the command does), then one decision;
- `pyperplan`: `pyperplan.planner.search_plan` with A* and LM-cut (parsing, grounding and
  search), what `pyperplan -s astar -H lmcut` does after start-up.

`--alternatives N` times ido's decision as `ido plan --pddl` makes it by default (N = 3):
the plan and its N alternatives, each the best plan without one of the plan's steps.
pyperplan has no counterpart, so the ratios then say what the alternatives cost, not who
plans faster. `--search-states N` gives ido's search that budget per solve instead of
its default 200,000, as `ido plan --search-states N` does.

`--repeat N` runs each planner N times on each problem, the planners taking turns, and
shows each one's median run: pyperplan's own times have moved by half between runs minutes
apart (driverlog p05 10.8 and 16.9 s), more than the changes measured with it. A run that
reaches the time limit counts as slower than any that planned, and is repeated (a faster
run may plan); one that fails otherwise (an error, a search that gave up at its budget)
is not, as it would fail the same way again.

Only the first plan in each process is timed: a second one would find ido's remembered
condition tables and compiled conditions, which pyperplan has no counterpart for. What a
process does once whatever it plans (imports, including those ido makes on first use, and
CEL's environment) is done before the clock starts. Objects made in start-up are moved out of
the garbage collector's sight (`gc.freeze`) where the `ido` command does it, once
`ido.__main__` has imported the command line, and in pyperplan's process (whose command
does not) once its imports are done, which can only make pyperplan faster. Every plan is
checked by VAL, as in `ipc.py`.

    .venv/bin/python benchmarks/ipc_planning.py --problems 2 --time-limit 20
    .venv/bin/python benchmarks/ipc_planning.py --planners ido-search,ido-cpsat --alternatives 3
    .venv/bin/python benchmarks/ipc_planning.py --domains driverlog --problems 6 --repeat 3
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ipc

PLANNERS = ("ido-search", "ido-cpsat", "pyperplan")


@dataclass
class Timed:
    domain: str
    problem: str
    planner: str
    solved: bool
    valid: bool | None
    cost: float | None
    planning_s: float | None
    note: str
    runs: list[float | None] | None = None
    """With `--repeat`: each run's planning time, None for a run that did not plan."""


def child(
    planner: str, domain: Path, problem: Path, plan: Path, alternatives: int, states: int | None
) -> None:
    """In a process of its own: import, then time one plan; print the CPU seconds."""
    if planner == "pyperplan":
        import logging

        from pyperplan.heuristics.lm_cut import LmCutHeuristic
        from pyperplan.planner import search_plan
        from pyperplan.search import astar_search

        logging.disable(logging.CRITICAL)  # its progress lines are not part of the work
        gc.freeze()  # what start-up made, out of the collector's sight, as ido does
        started = time.process_time()
        found = search_plan(str(domain), str(problem), astar_search, LmCutHeuristic)
        seconds = time.process_time() - started
        lines = [] if found is None else [op.name for op in found]
    else:
        # Start-up, not planning: what `ido.__main__` imports before it freezes the objects
        # made so far (`gc.freeze`), as it does; then what the command imports on its way
        # (ido.observe brings the HTTP client for HTTP observers; ido.planning_words its
        # progress lines, imported as the decision starts), and CEL's environment, built
        # once a process.
        import ido.cli
        import ido.exiting
        import ido.fanout

        gc.freeze()
        from ortools.sat.python import cp_model  # noqa: F401

        import ido.decide
        import ido.loading
        import ido.observe
        import ido.pddl
        import ido.planner.cpsat
        import ido.planner.search
        import ido.planning_words  # noqa: F401  (this block: loaded, not used by name)
        from ido.cli.deciding import _decide_once
        from ido.cli.pddl import _ipc_plan, _pddl_intent
        from ido.cli.plan import _on_limits
        from ido.cli.planners import on_planner
        from ido.conditions import compile_condition
        from ido.errors import IdoError

        compile_condition("true")
        started = time.process_time()
        try:
            loaded, chosen = _pddl_intent(domain, problem)  # as `ido plan --pddl` does
            backend = planner.removeprefix("ido-")
            chosen = _on_limits(on_planner(chosen, backend), None, states, None, alternatives)
            decision = _decide_once(loaded, chosen)
        except IdoError as error:  # what the command would say, e.g. the search gave up
            seconds = time.process_time() - started
            print(json.dumps({"planning_s": seconds, "error": said(error)}))
            return
        seconds = time.process_time() - started
        found_plan = decision.result.plan
        lines = [] if found_plan is None else _ipc_plan(loaded, found_plan).splitlines()
    plan.write_text("".join(f"{line}\n" for line in lines))
    print(json.dumps({"planning_s": seconds}))


def said(error: Exception) -> str:
    """An error of ido's for the table: what it says, but of a search that gave up only
    what it spent (its advice to switch planners is for users, not for a benchmark)."""
    from ido.planner.astar import SearchGaveUp

    if isinstance(error, SearchGaveUp):
        return f"search gave up: {error.spent}"
    return str(error)


def run_one(
    planner: str,
    domain: Path,
    problem: Path,
    limit: float,
    alternatives: int = 0,
    states: int | None = None,
) -> Timed:
    name = (domain.parent.name, problem.name, planner)
    if planner == "pyperplan" and importlib.util.find_spec("pyperplan") is None:
        return Timed(*name, False, None, None, None, "not installed")
    with tempfile.TemporaryDirectory(prefix="ido-ipc-") as folder:
        plan = Path(folder) / "plan.txt"
        argv = [sys.executable, __file__, "--child", planner, str(domain), str(problem), str(plan)]
        argv += ["--alternatives", str(alternatives)]
        if states is not None:
            argv += ["--search-states", str(states)]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=limit, check=False, cwd=folder
            )
        except subprocess.TimeoutExpired:
            return Timed(*name, False, None, None, None, TIME_LIMIT)
        if done.returncode != 0:
            return Timed(*name, False, None, None, None, ipc.failed(done))
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        seconds = answer["planning_s"]
        if "error" in answer:
            return Timed(*name, False, None, None, seconds, answer["error"])
        if not plan.read_text().strip():
            return Timed(*name, False, None, None, seconds, "no plan")
        valid, cost = ipc.validate(domain, problem, plan)
        note = {False: "VAL rejected", None: "not checked (VAL not installed)"}.get(valid, "")
        return Timed(*name, True, valid, cost, seconds, note)


TIME_LIMIT = "time limit"
"""The note of a run stopped by the time limit: the one failure another run may not repeat."""


def repeats(first: Timed) -> bool:
    """Whether a planner's first run on a problem is worth running again: it planned (and
    VAL did not reject the plan), or it reached the time limit, which a faster run may not.
    An error, "no plan" or a search that gave up at its budget come out the same again."""
    if first.solved:
        return first.valid is not False
    return first.note == TIME_LIMIT


def median_of(runs: list[Timed]) -> Timed:
    """One planner's runs on one problem as one result, by the median run: a run that did
    not plan counts as slower than any that did, so a problem most runs failed on is not
    planned (with the first failure's note). A plan VAL rejected in any run stands (an
    invalid plan is no solution). When some runs did not plan, the note says how many
    did; `runs` has each run's planning time, None for a run that did not plan."""
    first = runs[0]
    rejected = next((r for r in runs if r.valid is False), None)
    if rejected is not None or len(runs) == 1:
        return rejected or first
    times = [r.planning_s if r.solved else None for r in runs]
    middle = statistics.median(math.inf if t is None else t for t in times)
    planned = [r for r, t in zip(runs, times, strict=True) if t is not None]
    missed = "" if len(planned) == len(runs) else f"planned in {len(planned)} of {len(runs)} runs"
    if middle == math.inf:
        failed = next(r for r, t in zip(runs, times, strict=True) if t is None)
        note = f"{failed.note}; {missed}" if planned else failed.note
        return dataclasses.replace(failed, note=note, runs=times)
    return dataclasses.replace(planned[0], planning_s=middle, note=missed, runs=times)


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def _ratio(peer: Timed | None, mine: Timed | None) -> float | None:
    """pyperplan's planning time over ido's, when both solved the problem with plans VAL did
    not reject (an invalid plan is no solution, however fast)."""
    if peer is None or mine is None or not (peer.solved and mine.solved):
        return None
    if peer.valid is False or mine.valid is False:
        return None
    if not peer.planning_s or not mine.planning_s:
        return None
    return peer.planning_s / mine.planning_s


def _cell(r: Timed) -> str:
    """Plan cost / planning time, or why there is no plan (or no valid one)."""
    if r.solved and r.valid is not False and r.cost is not None and r.planning_s is not None:
        missed = f" ({r.note})" if r.note.startswith("planned in") else ""  # with --repeat
        return f"{r.cost:g} / {r.planning_s * 1e3:,.1f} ms{missed}"
    if not r.solved and r.planning_s is not None and r.note != "no plan":
        return f"{r.note} (after {r.planning_s:,.1f} s)"  # an error of ido's
    return r.note


def report(results: list[Timed], planners: list[str]) -> str:
    by = {(r.domain, r.problem, r.planner): r for r in results}
    problems = sorted({(r.domain, r.problem) for r in results})
    lines = [
        "| problem | " + " | ".join(planners) + " | pyperplan ÷ ido-search |",
        "|---|" + "---:|" * (len(planners) + 1),
    ]
    ratios: dict[str, list[float]] = {p: [] for p in planners if p != "pyperplan"}
    totals: dict[str, list[float]] = {p: [0.0, 0.0] for p in ratios}  # pyperplan's, ido's
    for problem in problems:
        cells = []
        for planner in planners:
            cells.append(_cell(by[(*problem, planner)]))
        peer = by.get((*problem, "pyperplan"))
        for planner, found in ratios.items():
            mine = by.get((*problem, planner))
            ratio = _ratio(peer, mine)
            if ratio is not None and peer is not None and mine is not None:
                found.append(ratio)
                totals[planner][0] += peer.planning_s or 0.0
                totals[planner][1] += mine.planning_s or 0.0
        ratio = _ratio(peer, by.get((*problem, "ido-search")))
        shown_ratio = "—" if ratio is None else f"{ratio:.2f}×"
        lines.append(f"| {problem[0]}/{problem[1]} | " + " | ".join(cells) + f" | {shown_ratio} |")
    lines.append("")
    for planner, values in ratios.items():
        if values:
            at_least = sum(v >= 10 for v in values)
            peer_total, own_total = totals[planner]
            lines.append(
                f"- pyperplan ÷ {planner}, planning CPU, on the {len(values)} problems both "
                f"solved: geometric mean {geometric_mean(values):.2f}×, range "
                f"{min(values):.2f}–{max(values):.2f}×; 10× or more on {at_least}; in all "
                f"{peer_total:.2f} s ÷ {own_total:.2f} s = {peer_total / own_total:.2f}× "
                "(the larger problems weigh most)"
            )
    invalid = [r for r in results if r.valid is False]
    unchecked = [r for r in results if r.solved and r.valid is None]
    lines.append(f"- plans VAL rejected: {len(invalid)}")
    if unchecked:
        lines.append(f"- plans not checked (VAL not installed): {len(unchecked)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", default=",".join(ipc.DOMAINS), help="comma-separated")
    parser.add_argument("--problems", type=int, default=2, help="problems per domain")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per process")
    parser.add_argument("--planners", default=",".join(PLANNERS))
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument(
        "--alternatives",
        type=int,
        default=0,
        help="alternatives ido works out with the plan (default 0; `ido plan` makes 3)",
    )
    ipc.add_search_states(parser)
    parser.add_argument(
        "--repeat",
        type=ipc.at_least_one,
        default=1,
        help="runs per planner and problem, taking turns; the median planning time is shown",
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        planner, domain, problem, plan = args.child
        child(
            planner, Path(domain), Path(problem), Path(plan), args.alternatives, args.search_states
        )
        return 0
    if not ipc.IPC.is_dir():
        parser.error(f"{ipc.IPC} not found: the IPC problems live in ../shared/benchmarks/pddl")
    planners = [p for p in args.planners.split(",") if p]
    unknown = sorted(set(planners) - set(PLANNERS))
    if unknown:
        parser.error(f"unknown planners {', '.join(unknown)}; known: {', '.join(PLANNERS)}")
    if args.alternatives < 0:
        parser.error("--alternatives must be 0 or more")
    print(f"machine: python {platform.python_version()}, {platform.platform()}, "
          f"{os.cpu_count()} cores; time limit {args.time_limit:g}s per process; "
          f"ido's alternatives: {args.alternatives}; "
          f"its search's states: {ipc.states_words(args.search_states)}; "
          f"runs per planner and problem: {args.repeat}")  # fmt: skip
    results: list[Timed] = []
    for domain in args.domains.split(","):
        for domain_file, problem in ipc.problems_of(domain, args.problems):
            runs: dict[str, list[Timed]] = {planner: [] for planner in planners}
            for again in range(args.repeat):
                for planner in planners:  # taking turns, so a slow hour slows both
                    if again and not repeats(runs[planner][0]):
                        continue
                    runs[planner].append(
                        run_one(
                            planner,
                            domain_file,
                            problem,
                            args.time_limit,
                            args.alternatives,
                            args.search_states,
                        )
                    )
            row = []
            for planner in planners:
                result = median_of(runs[planner])
                results.append(result)
                row.append(f"{planner}: {_cell(result)}")
            print(f"{domain}/{problem.name}: " + "; ".join(row), file=sys.stderr, flush=True)
    print("\n" + report(results, planners))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 1 if any(r.valid is False for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
