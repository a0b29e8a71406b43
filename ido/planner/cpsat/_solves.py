"""The CP-SAT planner's solves on the model, and what the solves of one decision share.

Horizons are deepened from a short one, the timed model is built only when elapsed time
needs it, and each solve runs with the pinned settings that make it replay."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ido.planner import progress
from ido.planner.cpsat._encoding import _Encoding
from ido.planner.cpsat._shortcuts import _fewest_steps, _serial
from ido.planner.grounding import Grounded, over_limit
from ido.planner.solving import (
    Solution,
    holds_now,
    measure,
    ordered,
    plan_total,
    step_of,
)
from ido.planner.types import SCALE, Limits, Metric, Plan, Task, Weights, units

if TYPE_CHECKING:  # OR-Tools is imported when a model is built, not with the planner
    from ortools.sat.python import cp_model

FEWEST_FIRST = 4  # a landmark floor of steps up to SHORT / this is tried before SHORT
WALL_FACTOR = 100  # a solve stops at this many times its deterministic limit in real seconds


def wall_limit(time_limit: float) -> float:
    """The wall-clock seconds past which a solve stops, whatever its deterministic clock
    says. A solve takes 1.6–3.2 real seconds per deterministic one alone on these machines,
    about 11 with eight at once on two cores: the net stops only a solve whose deterministic
    clock lost track of real time (docs/architecture.md, *Plans as partial orders*)."""
    return max(60.0, WALL_FACTOR * time_limit)


CEILING_MOST = 2**62
"""A ceiling (`under`) past this is no ceiling: CP-SAT's bounds are 64-bit integers."""

FLOOR_SLACK = 1e-3
"""Units (millionths) a value may sit below a whole unit and still count as it, when the
model rounds steps down for a limit (`_floors`): decimal inputs such as 0.3 come out of
floats a hair below (299,999.99999999994). A limit is raised by as much per step, and by
as much again: 1e-9 of the limit's own units, the search's tolerance."""


def fits_model(most: float, length: int) -> bool:
    """Whether a step's value of `most` (the largest of a solve's metrics) fits the model
    of `length` steps: the objective weighs each step's units by the steps plus one, and a
    sum runs over every step, so both must stay within CP-SAT's 64-bit integers. A cost of
    1e20, or an `avoid` weight of 1e13, does not: such a solve is the search's, which sums
    in floats (casting the model's coefficients crashed)."""
    return math.isfinite(most) and most * SCALE * (length + 1) ** 2 < CEILING_MOST


def _floor_units(value: float) -> int:
    """`value` in whole millionths, rounded down (a hair below a whole counts as it)."""
    return math.floor(value * SCALE + FLOOR_SLACK)


class _Undecided(Exception):
    """CP-SAT stopped at its time limit with neither a plan nor a proof that none exists."""


class _ModelSolves:
    """`CpSatPlanner`'s solves on the model, and the encodings, metrics and checks its
    solves of one decision share (set up by `CpSatPlanner.__init__`)."""

    seed: int
    workers: int
    short_horizon: int
    _grounded: Grounded | None
    _building: threading.Lock
    _encodings: dict[tuple[int, bool], _Encoding]
    _cover: frozenset[int]
    _sequences: dict[frozenset[int], bool]
    _metrics: dict[tuple[Metric, Weights], list[int]]
    _floored: dict[tuple[Metric, Weights], list[int]]
    _largest: dict[tuple[Metric, Weights], float]
    _beyond_limits: dict[Limits, frozenset[int]]
    _searched: bool
    _alternatives_first: int

    def _deepen(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        hint: Plan | None = None,
        under: float = math.inf,
    ) -> Solution | None:
        """Solve at `length` steps, or, when that is long, deepen from a short horizon;
        with `under`, only plans whose metric is below it (see `_run`).

        When every usable step adds at least `least` to the metric, a plan of metric C
        rules out every longer plan than C / least as better. So a plan found within a
        short horizon bounds the horizon the proof needs, often far below `length`. And a
        horizon with no plan proves that every plan takes more steps, so costs at least
        `least` times that many: the next solve starts from that floor, and a plan that
        meets it is proven optimal at once. The horizon grows by a quarter at a time: a
        plan just past it is found on a model not much longer than it needs.

        The first horizon is the short one, or, when the landmarks say no plan takes fewer
        than a few steps (`_fewest_steps`) and the steps' metrics are so alike that a plan
        of that many steps would be proven optimal at once, that few: a model of a few
        steps solves in milliseconds, where the short horizon's may take a second even for
        a plan of one step (IPC's STRIPS problems, all steps alike). Where a plan of that
        many steps would not settle it, trying it is mostly one more solve, and is left out.
        """
        metrics = [measure(task, g.actions[a], metric) for a in allowed]
        least = min(metrics, default=0.0)
        step_floor = units(least)  # rounding keeps the order: the least of the rounded steps
        if 0 < under < math.inf and step_floor > 0 and metric != "latency":
            # No plan below `under` has more steps than that many of the least: a horizon
            # past it would only prove "none" again, on a longer model.
            length = min(length, max(1, (math.ceil(under) - 1) // step_floor))
        # Elapsed time is a critical path: a step in parallel adds nothing to it.
        if length <= self.short_horizon or least <= 0 or metric == "latency":
            return self._solve_at(task, g, length, metric, allowed, hint, under=under)
        steps, floor = self.short_horizon, None
        few = self.short_horizon // FEWEST_FIRST
        if few >= 1 and max(metrics) < 2 * least:  # else no plan of `fewest` steps surely would
            fewest = _fewest_steps(g, allowed)
            # A plan of `fewest` steps then totals under (fewest + 1) * least: `enough` below.
            if fewest <= few and fewest * max(metrics) < (fewest + 1) * least * (1 - 1e-9):
                steps = fewest
        while True:
            found = self._solve_at(task, g, steps, metric, allowed, hint, floor, under)
            if found is None:
                if steps >= length:
                    return None
                floor = (steps + 1) * step_floor  # no plan has `steps` steps or fewer
                grown = steps + max(1, steps // 4)
                steps = min(length, max(grown, self.short_horizon))
                continue
            enough = min(length, math.floor(plan_total(found.plan, metric) / least + 1e-9))
            if enough <= steps:
                return Solution(found.plan, found.optimal, length)
            return self._solve_at(task, g, enough, metric, allowed, hint, floor, under)

    def _solve_at(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        hint: Plan | None = None,
        floor: int | None = None,
        under: float = math.inf,
    ) -> Solution | None:
        """The best plan of at most `length` steps; `floor`, when given, is known to be no
        more than the metric of any plan (in the model's integer units)."""
        bound = None
        if hint is not None and metric != "latency":
            hinted = (g.actions[g.position[n]] for n in hint.capabilities)
            bound = sum(units(measure(task, action, metric)) for action in hinted)
        deadline = task.limits.deadline
        if metric == "latency" or (deadline is not None and self._serial(g, allowed)):
            # (A pipeline's deadline is a sum: one solve on the untimed model takes it.)
            return self._solve_on(
                task, g, length, metric, allowed, True, hint, bound, floor, under=under
            )
        # The deadline bounds the critical path, which needs a timed model. Without it the
        # problem is a relaxation: when its best plan meets the deadline anyway (the usual
        # case), that plan is also the best with it, and the timed model is never built.
        loose = self._solve_on(
            task, g, length, metric, allowed, False, hint, bound, floor, under=under
        )
        if deadline is None or loose is None or ordered(g, loose.plan).latency <= deadline + 1e-9:
            return loose
        return self._solve_on(
            task, g, length, metric, allowed, True, hint, bound, floor, under=under
        )

    def _solve_on(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        timed: bool,
        hint: Plan | None,
        bound: int | None,
        floor: int | None = None,
        under: float = math.inf,
    ) -> Solution | None:
        """Solve on the encoding at `length` steps, with the task's limits; `timed`: with
        the critical path too (the deadline, and the latency metric, need it); `floor`: a
        lower bound on the objective; `under`: see `_run`."""
        from ortools.sat.python import cp_model

        serial = timed and self._serial(g, allowed)
        encoding = self._encoding(g, length, allowed, timed and not serial)
        banned = (encoding.actions - allowed) | (encoding.actions & self._over(task, g))
        model = encoding.model.clone()
        out = [var for a, var in encoding.uses if a in banned]
        if out:  # one constraint for all, not a `var == 0` each: far fewer calls
            model.add(cp_model.LinearExpr.sum(out) == 0)
        chosen = [(a, var) for a, var in encoding.uses if a not in banned]
        variables = [var for _, var in chosen]

        def total(name: Metric) -> cp_model.LinearExprT:
            per_action = self._scaled(task, g, name)
            return cp_model.LinearExpr.weighted_sum(variables, [per_action[a] for a, _ in chosen])

        def within(name: Metric, limit: float) -> None:
            """At most `limit` of `name` in all, as the exact search judges it: no plan
            within it in floats is cut (each step counts its floor, `_floors`); a plan just
            over it may pass, and the planner then checks it (`CpSatPlanner._solve`)."""
            bound = math.floor(limit * SCALE + (length + 1) * FLOOR_SLACK)
            if bound >= CEILING_MOST:
                return  # past what the model's 64-bit sums hold: the post-check judges it
            floors = self._floors(task, g, name)
            summed = cp_model.LinearExpr.weighted_sum(variables, [floors[a] for a, _ in chosen])
            model.add(summed <= bound)

        limits = task.limits
        if limits.max_cost is not None:
            within("cost", limits.max_cost)
        if limits.min_success_probability is not None:
            within("risk", -math.log(limits.min_success_probability))
        if serial:  # every plan is a sequence: its elapsed time is the sum of its latencies
            if limits.deadline is not None:
                within("latency", limits.deadline)
            timed = False
        if not timed:
            return self._run(
                task, g, encoding, model, chosen, total(metric), hint, bound, floor, under=under
            )
        from ido.planner.critical import elapsed_variable
        from ido.planner.earliest import earliest_units

        elapsed = elapsed_variable(model, encoding, g, banned)
        usable = allowed - banned
        earliest = earliest_units(g, usable)
        if earliest is None:  # the goal is out of reach even if nothing were ever undone
            return None
        # No plan is faster. CP-SAT's own relaxation of the waits can fall far below this,
        # and then cannot prove a plan of this elapsed time the fastest.
        model.add(elapsed >= earliest)
        if limits.deadline is not None and units(limits.deadline) < CEILING_MOST:
            model.add(elapsed <= units(limits.deadline))
        if metric != "latency":
            return self._run(
                task, g, encoding, model, chosen, total(metric), hint, bound, floor, under=under
            )
        # Ties on elapsed time go to the plan of fewer steps, so the steps' floor too (none
        # when the goal holds already: the empty plan is in the model).
        fewest = 0 if all(holds_now(t) for t in g.goal) else _fewest_steps(g, usable)
        if fewest > 1:
            model.add(cp_model.LinearExpr.sum(variables) >= fewest)
        least = (earliest, fewest)
        return self._run(
            task, g, encoding, model, chosen, elapsed, hint, bound, floor, least, under=under
        )

    def _run(
        self,
        task: Task,
        g: Grounded,
        encoding: _Encoding,
        model: cp_model.CpModel,
        chosen: list[tuple[int, cp_model.IntVar]],
        objective: cp_model.LinearExprT,
        hint: Plan | None = None,
        bound: int | None = None,
        floor: int | None = None,
        elapsed: tuple[int, int] | None = None,
        under: float = math.inf,
    ) -> Solution | None:
        """Minimise `objective` on `model` (a clone of `encoding`'s); `chosen`: the literals
        of the actions it may take.

        With a hint (a plan found among fewer actions, `_narrowed`), the solver starts from
        it, and `bound` (its objective) caps the objective: no better plan is worse. A
        `floor` known to be no more than any plan's objective is posted too: it cuts no plan
        out, and lets the solver stop as soon as a plan meets it. `elapsed`: the objective
        is the elapsed-time variable, which each plan found is timed against exactly
        (`ido.planner.critical.Tightened`), and no plan is faster than its first number or
        has fewer steps than its second. `under`: only a plan whose metric is below it is
        wanted (`SolvingPlanner.solve`), so the objective is capped below it, and a model
        with no such plan answers None (which CP-SAT may prove sooner than an optimum)."""
        from ortools.sat.python import cp_model

        from ido.planner.critical import Tightened

        length = encoding.horizon
        # Ties on the metric go to the shorter plan: no zero-cost detours.
        model.minimize(objective * (length + 1) + cp_model.LinearExpr.sum([v for _, v in chosen]))
        if floor is not None:
            model.add(objective >= floor)
        if under <= 0:
            return None  # no plan's metric is below 0
        if under < CEILING_MOST:
            model.add(objective <= math.ceil(under) - 1)
        if hint is not None and len(hint.steps) <= length:
            encoding.hint(model, [g.position[s.capability] for s in hint.steps])
            if bound is not None:
                model.add(objective <= bound)
        solver = cp_model.CpSolver()
        # CP-SAT's own Ctrl-C handler resets SIGINT to the default action when a solve
        # ends, so a later Ctrl-C would kill ido outright, past every cleanup.
        solver.parameters.catch_sigint_signal = False
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        # Deterministic time, not wall-clock: a search cut short stops at the same point on
        # every machine, so even a plan that is not proven optimal replays exactly.
        solver.parameters.max_deterministic_time = task.time_limit
        # A net in case CP-SAT's deterministic clock runs far behind the real one (it counts
        # little of the work of each solution found); a solve it stops may not replay.
        solver.parameters.max_time_in_seconds = wall_limit(task.time_limit)
        timing = None
        if elapsed is not None:
            fastest, fewest = elapsed
            least = fastest * (length + 1) + fewest
            timing = Tightened(g, objective, length + 1, encoding.taken, least)
        progress.report(stage="cpsat", steps=length, capabilities=len({a for a, _ in chosen}))
        status = solver.solve(model, timing)
        if status == cp_model.INFEASIBLE:
            return None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise _Undecided
        if timing is not None and timing.best is not None:
            # The best plan timed exactly, which need not be CP-SAT's last (its objective
            # holds the loose variable), and proven when it meets the bound.
            taken, proven = timing.best[1], timing.meets(solver.best_objective_bound)
        else:
            taken, proven = encoding.taken(solver), status == cp_model.OPTIMAL
        steps = tuple(step_of(task, g.actions[a]) for a in taken)
        return Solution(Plan(steps), proven, length)

    def _decision(self, g: Grounded) -> None:
        """Forget what was kept for another grounding (another decision)."""
        if self._grounded is not g:
            self._grounded, self._encodings, self._cover = g, {}, frozenset()
            self._sequences, self._metrics, self._beyond_limits = {}, {}, {}
            self._floored, self._largest = {}, {}
            self._searched, self._alternatives_first = False, 0

    def _over(self, task: Task, g: Grounded) -> frozenset[int]:
        """The actions that break one of the task's limits alone, once per decision and
        limits (a decision solves with its limits and without)."""
        self._decision(g)
        found = self._beyond_limits.get(task.limits)
        if found is None:
            found = frozenset(
                a
                for a, action in enumerate(g.actions)
                if over_limit(action, task.limits) is not None
            )
            self._beyond_limits[task.limits] = found
        return found

    def _fits(
        self, task: Task, g: Grounded, length: int, metric: Metric, allowed: frozenset[int]
    ) -> bool:
        """Whether the model of `length` steps holds the metrics a solve by `metric` sums
        (its limits' too) for the `allowed` actions (`fits_model`): even those over a limit
        alone, which the model leaves out but whose metrics its floors and bounds count.

        Most solves' numbers fit with room to spare: when every action's do (`_largest`,
        once per decision), so do the allowed ones', without a pass over them."""
        limits = task.limits
        summed: set[Metric] = {metric}
        if limits.max_cost is not None:
            summed.add("cost")
        if limits.min_success_probability is not None:
            summed.add("risk")
        if limits.deadline is not None:
            summed.add("latency")
        if fits_model(max(self._largest_of(task, g, m) for m in summed), length):
            return True
        values = (abs(measure(task, g.actions[a], m)) for a in allowed for m in summed)
        return fits_model(max(values, default=0.0), length)

    def _largest_of(self, task: Task, g: Grounded, metric: Metric) -> float:
        """The largest `metric` of any action of the decision, as a size (no sign), worked
        out once per decision and weights, as `_scaled` is."""
        self._decision(g)
        values = (abs(measure(task, action, metric)) for action in g.actions)
        return _kept(self._largest, (metric, task.weights), lambda: max(values, default=0.0))

    def _scaled(self, task: Task, g: Grounded, metric: Metric) -> list[int]:
        """Each action's `metric` in the model's integer units, worked out once per decision
        (the solves of one decision differ in limits and left-out actions, not weights)."""
        self._decision(g)  # (first: it starts the decision's caches afresh)
        return self._per_action(task, g, metric, self._metrics, units)

    def _floors(self, task: Task, g: Grounded, metric: Metric) -> list[int]:
        """Each action's `metric` in the model's units, rounded down (give or take
        `FLOOR_SLACK`, so that 0.3 is 300,000 and not 299,999): what limits count, so that
        rounding never puts a plan that keeps to a limit over it. Rounded to the nearest,
        two steps of reliability 0.98 came to more than the risk of 0.9604 and were refused
        under `min_success_probability: 0.9604`, which they meet."""
        self._decision(g)
        return self._per_action(task, g, metric, self._floored, _floor_units)

    def _per_action(
        self,
        task: Task,
        g: Grounded,
        metric: Metric,
        kept: dict[tuple[Metric, Weights], list[int]],
        rounded: Callable[[float], int],
    ) -> list[int]:
        """Each action's `metric`, `rounded` to units, remembered in `kept`, a cache of the
        decision of `g` (`_decision` has started it)."""
        return _kept(
            kept,
            (metric, task.weights),
            lambda: [rounded(measure(task, action, metric)) for action in g.actions],
        )

    def _serial(self, g: Grounded, allowed: frozenset[int]) -> bool:
        """`_serial`, remembered for the solves of one decision."""
        self._decision(g)
        found = self._sequences.get(allowed)
        if found is None:
            found = self._sequences[allowed] = _serial(g, sorted(allowed))
        return found

    def _encoding(self, g: Grounded, length: int, needed: frozenset[int], timed: bool) -> _Encoding:
        """An encoding of `g` at `length` steps with at least the `needed` actions; kept per
        length and kind, and reused by the solves of one decision while they fit in it."""
        with self._building:
            self._decision(g)
            encoding = self._encodings.get((length, timed))
            if encoding is None or not needed <= encoding.actions:
                encoding = _Encoding(g, length, needed | self._cover, timed)
                self._encodings[length, timed] = encoding
            return encoding


_T = TypeVar("_T")


def _kept(
    cache: dict[tuple[Metric, Weights], _T], key: tuple[Metric, Weights], work: Callable[[], _T]
) -> _T:
    """`cache[key]`, worked out by `work` the first time: a per-decision cache of one
    metric under one set of weights (the solves of a decision differ in limits and
    left-out actions, not weights)."""
    found = cache.get(key)
    if found is None:
        found = cache[key] = work()
    return found
