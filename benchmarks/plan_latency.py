"""Planning latency (p50/p95/max) of the CP-SAT planner on seeded synthetic catalogs.

Run from the repository root:

    .venv/bin/python benchmarks/plan_latency.py --sizes 10,100,1000 --problems 20 --repeat 3

Each problem is a chain of k stages (k in 3..10, at most size // 2): stage i requires the
fact stage i-1 produced (sometimes one more earlier fact) and writes `job.s{i}`. Every
stage has at least two providers with trade-offs (cheaper ones are slower and less
reliable); the rest of the catalog is more providers for stages and distractors that are
irrelevant to the goal or can never run. One limit (max_cost, deadline or
min_success_probability) binds in about two problems out of three; the rest are slack, and
every problem is feasible by construction.

Two timings per run: `plan(task)`, the full decision `ido plan` makes (plan, alternatives,
binding constraints), and `solve(task)`, the optimal plan alone. Every returned plan is
replayed with `check_plan`; an invalid plan, an unexpected status or a plan worse than the
closed-form optimum stops the benchmark with an error.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import random
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ido.planner.cpsat import CpSatPlanner
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.solving import Solution, SolvingPlanner
from ido.planner.tables import forget_tables
from ido.planner.types import Action, Limits, Plan, PlanResult, Task, Weights
from ido.state import close_world

WEIGHTS = Weights(cost=1.0, latency=0.5, risk=2.0)
TARGETS_MS = {100: 20.0, 1000: 200.0}  # p50 of plan(), from the issue
METRICS = ("cost", "latency", "risk")
LIMIT_OF = {"cost": "max_cost", "latency": "deadline", "risk": "min_success_probability"}


@dataclass(frozen=True)
class Problem:
    size: int
    index: int
    stages: int
    binding: str | None  # the limit meant to bind, or None when all are slack
    best_score: float  # closed-form unconstrained optimum: the cheapest provider per stage
    task: Task


def _metric(action: Action, metric: str) -> float:
    return {"cost": action.cost, "latency": action.latency, "risk": action.risk}[metric]


def _stage_action(rng: random.Random, stage: int, alt: int, base: tuple[float, float]) -> Action:
    quality = rng.random()  # high quality: dearer, faster, more reliable
    cost = base[0] * (0.4 + 1.2 * quality) * rng.uniform(0.8, 1.25)
    latency = base[1] * (1.6 - 1.2 * quality) * rng.uniform(0.8, 1.25)
    reliability = 1 - (0.08 * (1 - quality) + 0.002) * rng.uniform(0.5, 1.5)
    if stage == 0:
        requires: tuple[str, ...] = ("state.env.ready",)
    else:
        form = rng.randrange(3)
        prev = f"state.job.s{stage - 1}"
        if form == 1:
            requires = (prev, f"!state.job.s{stage}")
        elif form == 2 and stage >= 2:
            requires = (f"{prev} && state.job.s{rng.randrange(stage - 1)}",)
        else:
            requires = (prev,)
    provider = f"p{rng.randrange(25)}"
    effects: tuple[tuple[str, Any], ...] = ((f"job.s{stage}", True),)
    if rng.random() < 0.3:  # a receipt: a multi-valued fact nobody needs
        effects += ((f"log.s{stage}", provider),)
    return Action(
        name=f"s{stage}-{provider}-{alt}",
        provider=provider,
        cost=round(cost, 3),
        latency=round(latency, 3),
        reliability=round(reliability, 4),
        requires=requires,
        effects=effects,
    )


def _distractor(rng: random.Random, j: int, stages: int, unreachable: bool) -> Action:
    numbers = {
        "provider": f"p{rng.randrange(25)}",
        "cost": round(rng.uniform(0.1, 3.0), 3),
        "latency": round(rng.uniform(0.1, 3.0), 3),
        "reliability": round(rng.uniform(0.9, 0.999), 4),
    }
    if unreachable:  # would help, but its precondition can never hold
        gate = rng.random() < 0.5
        requires = (f"state.gate.g{j}",) if gate else (f"state.vault.k{j % 7}",)
        effects: tuple[tuple[str, Any], ...] = ((f"job.s{rng.randrange(stages)}", True),)
        if gate:
            effects += ((f"gate.g{j + 1}", True),)
        return Action(name=f"locked-{j}", requires=requires, effects=effects, **numbers)
    requires = (rng.choice(["state.env.ready", f"state.job.s{rng.randrange(stages)}"]),)
    value: Any = True if rng.random() < 0.5 else rng.choice(["queued", "sent", "archived"])
    effects = ((f"aux.a{j % 50}", value),)
    return Action(name=f"aux-{j}", requires=requires, effects=effects, **numbers)


def _limits(rng: random.Random, stages: list[list[Action]]) -> tuple[Limits, str | None]:
    """Limits that the per-metric best plan meets; one of them cuts off the optimum, or none."""

    def plan_value(key: str, metric: str) -> float:
        chosen = [min(alts, key=lambda a: WEIGHTS.score(a) if key == "score" else _metric(a, key))
                  for alts in stages]  # fmt: skip
        return sum(_metric(a, metric) for a in chosen)

    binding = rng.choice([None, *METRICS])
    limits: dict[str, float] = {}
    for metric in METRICS:
        best, optimum = plan_value(metric, metric), plan_value("score", metric)
        if metric == binding and optimum - best > 1e-3:
            bound = best + rng.uniform(0.3, 0.9) * (optimum - best)
        else:
            others = [plan_value(m, metric) for m in METRICS]
            bound = max(optimum, *others) * 1.25 + 1e-3
        limits[LIMIT_OF[metric]] = bound
    risk = limits.pop("min_success_probability")
    return Limits(**limits, min_success_probability=math.exp(-risk)), binding


def generate(size: int, seed: int, index: int) -> Problem:
    """One seeded problem with exactly `size` capabilities."""
    rng = random.Random(f"ido-plan-latency:{seed}:{size}:{index}")
    k = rng.randint(3, max(3, min(10, size // 2)))
    spare = size - 2 * k
    more, irrelevant = spare // 2, (spare - spare // 2) // 2
    unreachable = spare - more - irrelevant
    bases = [(rng.uniform(0.5, 5.0), rng.uniform(0.2, 3.0)) for _ in range(k)]
    owners = [s for s in range(k) for _ in range(2)] + [rng.randrange(k) for _ in range(more)]
    stages: list[list[Action]] = [[] for _ in range(k)]
    for alt, stage in enumerate(owners):
        stages[stage].append(_stage_action(rng, stage, alt, bases[stage]))
    actions = [a for alts in stages for a in alts]
    actions += [_distractor(rng, j, k, unreachable=False) for j in range(irrelevant)]
    actions += [_distractor(rng, j, k, unreachable=True) for j in range(unreachable)]
    rng.shuffle(actions)
    limits, binding = _limits(rng, stages)
    booleans = {p for a in actions for p, v in a.effects if isinstance(v, bool)}
    state = close_world({"env": {"ready": True, "region": "eu"}, "vault": {}}, booleans)
    for j in range(7):
        state["vault"][f"k{j}"] = False
    middle = rng.sample(range(k - 1), rng.randint(0, min(2, k - 1)))
    goal = tuple(f"state.job.s{i}" for i in [*sorted(middle), k - 1])
    task = Task(
        state=state,
        goal=goal,
        actions=tuple(actions),
        weights=WEIGHTS,
        limits=limits,
        max_steps=20,
        alternatives=3,
    )
    best = sum(min(WEIGHTS.score(a) for a in alts) for alts in stages)
    return Problem(size, index, k, binding, best, task)


def _verify(problem: Problem, plan: Plan | None, what: str) -> list[str]:
    """Why `plan` is wrong for `problem` (empty when it is a valid, plausible answer)."""
    where = f"size {problem.size} problem {problem.index} {what}"
    if plan is None:
        return [f"{where}: no plan for a problem that is feasible by construction"]
    problems = check_plan(problem.task, plan)
    if problems:
        return [f"{where}: invalid plan {plan.capabilities}: {problems}"]
    if len(plan.steps) != problem.stages:
        return [f"{where}: {len(plan.steps)} steps for {problem.stages} stages"]
    if plan.score < problem.best_score - 1e-6:
        return [f"{where}: score {plan.score} beats the optimum {problem.best_score}"]
    return []


def _check(problem: Problem, result: PlanResult, solution: Solution | None) -> list[str]:
    where = f"size {problem.size} problem {problem.index}"
    failures = []
    if result.status != "planned":
        failures.append(f"{where} plan(): status {result.status!r}: {result.reason}")
    failures += _verify(problem, result.plan, "plan()")
    for n, alternative in enumerate(result.alternatives, start=1):
        failures += _verify(problem, alternative.plan, f"alternative {n}")
    failures += _verify(problem, solution.plan if solution else None, "solve()")
    if result.plan and solution and abs(solution.plan.score - result.plan.score) > 1e-6:
        failures.append(f"{where}: plan() and solve() disagree on the optimal score")
    optimal = result.plan and abs(result.plan.score - problem.best_score) < 1e-6
    if problem.binding is None and not optimal:
        failures.append(f"{where}: limits are slack but the plan is not the optimum")
    return failures


PLANNERS: dict[str, type[SolvingPlanner]] = {"cpsat": CpSatPlanner, "search": SearchPlanner}


def measure(problem: Problem, repeat: int, backend: str = "cpsat") -> dict[str, Any]:
    """Time plan() and solve() `repeat` times each, after one untimed plan() warm-up."""
    planner = PLANNERS[backend]()
    started = time.perf_counter()
    warm = planner.plan(problem.task)
    first_ms = (time.perf_counter() - started) * 1e3
    plan_ms, solve_ms, failures = [], [], []
    for _ in range(repeat):
        forget_tables()  # each timing tabulates the conditions afresh, as a new state would
        started = time.perf_counter()
        result = planner.plan(problem.task)
        plan_ms.append((time.perf_counter() - started) * 1e3)
        forget_tables()
        started = time.perf_counter()
        solution = planner.solve(problem.task)
        solve_ms.append((time.perf_counter() - started) * 1e3)
        failures += _check(problem, result, solution)
        now, before = result.to_json(), warm.to_json()
        if now != before:
            differ = ", ".join(k for k in now if now[k] != before[k])
            failures.append(
                f"size {problem.size} problem {problem.index}: plan() not repeatable ({differ} "
                f"differ; proven optimal {before['proven_optimal']} then {now['proven_optimal']})"
            )
    return {
        "size": problem.size,
        "problem": problem.index,
        "stages": problem.stages,
        "binding_by_construction": problem.binding,
        "binding_reported": [c.name for c in warm.constraints if c.binding],
        "kept_after_pruning": len(problem.task.actions) - len(warm.rejections),
        "alternatives": len(warm.alternatives),
        "proven_optimal": warm.proven_optimal,
        "first_plan_ms": first_ms,
        "plan_ms": plan_ms,
        "solve_ms": solve_ms,
        "failures": sorted(set(failures)),
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    plan_ms = [t for r in records for t in r["plan_ms"]]
    solve_ms = [t for r in records for t in r["solve_ms"]]
    size = records[0]["size"]
    target = TARGETS_MS.get(size)
    p50 = percentile(plan_ms, 50)
    return {
        "size": size,
        "problems": len(records),
        "runs": len(plan_ms),
        "mean_steps": sum(r["stages"] for r in records) / len(records),
        "mean_kept": sum(r["kept_after_pruning"] for r in records) / len(records),
        "binding": sum(bool(r["binding_reported"]) for r in records),
        "failed": sum(bool(r["failures"]) for r in records),
        "unproven": sum(not r["proven_optimal"] for r in records),
        "plan": {p: percentile(plan_ms, q) for p, q in (("p50", 50), ("p95", 95), ("max", 100))},
        "solve": {p: percentile(solve_ms, q) for p, q in (("p50", 50), ("p95", 95), ("max", 100))},
        "first_plan_p50": percentile([r["first_plan_ms"] for r in records], 50),
        "target_ms": target,
        "target_met": None if target is None else p50 < target,
    }


def table(summaries: list[dict[str, Any]]) -> str:
    head = (
        "| capabilities | problems × runs | mean steps | kept after pruning | binding limit "
        "| plan() p50 | plan() p95 | plan() max | solve() p50 | solve() p95 | solve() max "
        "| first plan() p50 | failed problems | target (plan() p50) |"
    )
    lines = [head, "|" + "---:|" * 14]
    for s in summaries:
        verdict = "—"
        if s["target_ms"] is not None:
            verdict = f"< {s['target_ms']:g} ms: {'met' if s['target_met'] else 'NOT met'}"
        cells = [
            f"{s['size']:,}",
            f"{s['problems']} × {s['runs'] // s['problems']}",
            f"{s['mean_steps']:.1f}",
            f"{s['mean_kept']:.1f}",
            f"{s['binding']}/{s['problems']}",
            *(f"{s['plan'][k]:,.1f} ms" for k in ("p50", "p95", "max")),
            *(f"{s['solve'][k]:,.1f} ms" for k in ("p50", "p95", "max")),
            f"{s['first_plan_p50']:,.1f} ms",
            f"{s['failed']}/{s['problems']}",
            verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "ortools": version("ortools"),
        "cel-expr-python": version("cel-expr-python"),
    }


PROFILED = {
    ("solving.py", "plan"): "CpSatPlanner.plan (total)",
    ("grounding.py", "ground"): "ground() — all calls",
    ("tables.py", "table"): "  Tabulator.table (CEL tabulation)",
    ("tables.py", "reads"): "  Tabulator.reads (fluent overlap scan)",
    ("tables.py", "_with_values"): "  _with_values (state copy per row)",
    ("conditions.py", "evaluate"): "  Condition.evaluate (CEL eval)",
    ("_planner.py", "_solve"): "_solve — model build + solve",
    ("cp_model.py", "solve"): "  CpSolver.solve (the C++ search)",
    ("solving.py", "_alternatives"): "_alternatives",
    ("explain.py", "binding_limits"): "binding_limits (solves a limit lifted)",
}


def profile(problem: Problem, top: int) -> dict[str, Any]:
    """cProfile one warm plan() call; cumulative seconds of the functions that matter."""
    planner = CpSatPlanner()
    planner.plan(problem.task)
    profiler = cProfile.Profile()
    profiler.enable()
    planner.plan(problem.task)
    profiler.disable()
    stats = pstats.Stats(profiler)
    found: dict[str, dict[str, float]] = {}
    for (file, _, func), (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = PROFILED.get((Path(file).name, func))
        if label is not None and label not in found:
            found[label] = {"calls": calls, "cumulative_s": cumulative}
    print(f"\nProfile of one warm plan() call, size {problem.size} problem {problem.index}:")
    total = found.get(PROFILED["solving.py", "plan"], {}).get("cumulative_s", 0.0)
    for label in PROFILED.values():
        if label in found:
            row = found[label]
            share = row["cumulative_s"] / total if total else 0.0
            seconds = row["cumulative_s"]
            print(f"  {label:<42} {row['calls']:>8} calls {seconds:8.3f} s {share:6.1%}")
    stats.sort_stats("tottime").print_stats(top)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="catalog sizes, comma-separated")
    parser.add_argument("--problems", type=int, default=20, help="problems per size")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per problem")
    parser.add_argument("--seed", type=int, default=0, help="seed of the problem generator")
    parser.add_argument("--json", type=Path, help="write raw timings and summaries here")
    parser.add_argument(
        "--planner", choices=sorted(PLANNERS), default="cpsat",
        help="backend to time (search is the pure-Python reference; keep sizes small)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0,
        help="also cProfile one plan() at the largest size and print the top N functions",
    )  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if min(sizes) < 6:
        parser.error("sizes must be at least 6 (3 stages × 2 providers)")
    info = machine()
    print("machine: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    records: list[dict[str, Any]] = []
    summaries = []
    for size in sizes:
        rows = []
        for index in range(args.problems):
            row = measure(generate(size, args.seed, index), args.repeat, args.planner)
            rows.append(row)
            print(
                f"  size {size:>5} problem {index + 1:>3}/{args.problems}: "
                f"plan() {max(row['plan_ms']):,.0f} ms, {len(row['failures'])} failures",
                file=sys.stderr,
            )
        records += rows
        summaries.append(summarise(rows))
    print(table(summaries))
    failures = [f for r in records for f in r["failures"]]
    for failure in failures:
        print(f"FAILED: {failure}")
    profiled = None
    if args.profile:
        profiled = profile(generate(max(sizes), args.seed, 0), args.profile)
    if args.json:
        payload = {
            "machine": info,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "summaries": summaries,
            "runs": records,
            "profile": profiled,
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
