"""The CP-SAT planner: a layered finite-domain encoding solved by OR-Tools, deterministically."""

from __future__ import annotations

import math
import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from ido.errors import PlanningError
from ido.planner import progress
from ido.planner.bounds import Landmarks, achieved, beyond, landmarks, plan_floor, prunable
from ido.planner.explain import fits
from ido.planner.grounding import Grounded, over_limit
from ido.planner.search import MAX_STATES, AStarSearch, SearchGaveUp, SearchPlanner
from ido.planner.solving import (
    SCALE,
    Metric,
    Solution,
    SolvingPlanner,
    holds_now,
    measure,
    ordered,
    plan_total,
    step_of,
    units,
    usable,
)
from ido.planner.tables import Table
from ido.planner.types import Limits, Plan, Task, Weights

if TYPE_CHECKING:  # OR-Tools is imported when a model is built, not with the planner
    from ortools.sat.python import cp_model

    from ido.planner.cpmodel import Solved

SHORT = 16  # horizons up to this are solved at once; longer ones are deepened into
SMALL = 3  # problems with at most this many usable capabilities go to the exact search
PRUNE_FROM = 32  # from this many usable capabilities, landmark bounds narrow each solve
SHORTLIST = 3  # achievers per landmark (by the objective) in the first, narrow solve
FEWEST_FIRST = 4  # a landmark floor of steps up to SHORT / this is tried before SHORT
SEARCH_FIRST = 20_000  # expansions the exact search gets first on a task with no limit
# By elapsed time, each path's bound passes over every action: the search goes first only
# up to LATENCY_FIRST_MOST usable capabilities, for expansions × capabilities of at most
# LATENCY_FIRST_WORK (and at least LATENCY_FIRST_LEAST expansions).
LATENCY_FIRST_WORK = 100_000
LATENCY_FIRST_LEAST = 100
LATENCY_FIRST_MOST = 200
WALL_FACTOR = 100  # a solve stops at this many times its deterministic limit in real seconds


def wall_limit(time_limit: float) -> float:
    """The wall-clock seconds past which a solve stops, whatever its deterministic clock
    says. A solve takes 1.6–3.2 real seconds per deterministic one alone on these machines,
    about 11 with eight at once on two cores: the net stops only a solve whose deterministic
    clock lost track of real time (docs/architecture.md, *Plans as partial orders*)."""
    return max(60.0, WALL_FACTOR * time_limit)


class CpSatPlanner(SolvingPlanner):
    """Minimises the weighted objective over plans of at most `max_steps` sequential steps.

    One CP-SAT worker, a fixed seed and a deterministic time limit make every solve
    deterministic: same task, same plan. `threads` runs the independent solves behind the
    alternatives side by side (default: the cores, at most 4); it changes speed, not results.
    """

    name = "cpsat"

    def __init__(
        self,
        *,
        seed: int = 0,
        workers: int = 1,
        threads: int | None = None,
        short_horizon: int = SHORT,
        fallback_states: int = MAX_STATES,
        small: int = SMALL,
        prune_from: int = PRUNE_FROM,
        search_first: int = SEARCH_FIRST,
    ) -> None:
        self.seed = seed
        self.small = small
        self.search_first = search_first
        self.prune_from = prune_from
        self.fallback_states = fallback_states
        self.short_horizon = short_horizon
        self.workers = workers
        self.threads = threads or min(4, os.cpu_count() or 1)
        self._grounded: Grounded | None = None
        # The alternatives' solves run on threads and share the encodings: one thread builds
        # while the others wait (two building the same one at once took twice the time).
        # One lock for every length and kind: builds are Python, the GIL serialises them
        # anyway. (A planner serves one decision at a time, as before.)
        self._building = threading.Lock()
        self._encodings: dict[tuple[int, bool], _Encoding] = {}
        self._cover: frozenset[int] = frozenset()
        self._sequences: dict[frozenset[int], bool] = {}
        self._metrics: dict[tuple[Metric, Weights], list[int]] = {}
        self._beyond_limits: dict[Limits, frozenset[int]] = {}

    def parameters(self, task: Task) -> dict[str, object]:
        return {
            "backend": "ortools-cp-sat",
            "random_seed": self.seed,
            "num_workers": self.workers,
            "deterministic_time_limit": task.time_limit,
            "wall_time_limit": wall_limit(task.time_limit),
            "small_problems": f"astar when at most {self.small} capabilities are usable",
            "search_first": f"astar first, up to {self.search_first:,} expansions, when no "
            "limit other than max_steps is set (by elapsed time, a deadline too, up to "
            f"{LATENCY_FIRST_MOST} usable capabilities, for {LATENCY_FIRST_WORK:,} ÷ usable "
            f"capabilities expansions, at least {LATENCY_FIRST_LEAST})",
        }

    def prepare_alternatives(self, task: Task, grounded: Grounded, names: list[str]) -> None:
        # One encoding per length for every alternative: each may use what its left-out
        # step dominated.
        self._decision(grounded)
        self._cover = usable(grounded, frozenset(names)) | usable(grounded, frozenset())
        self._encodings = {n: e for n, e in self._encodings.items() if self._cover <= e.actions}

    def _solve(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        without: frozenset[str],
        near: Plan | None = None,
    ) -> Solution | None:
        """CP-SAT's answer; when it runs out of time, the search backend's if it finishes.

        A search cut short by the time limit proves nothing: "no plan found" is not "no
        plan", and a plan found is not known to be the best. The search planner then gets
        `fallback_states` expansions (and its comparisons in proportion) to settle it
        exactly. A search that went first (`search_first`) and gave up goes on from where
        it stopped, its expansions counted in that budget: the same answer, without
        repeating them.
        """
        if len(usable(g, without)) <= self.small:
            # A handful of capabilities: the exact search settles it in microseconds, where
            # building and solving a CP-SAT model costs milliseconds. Same optimum.
            return SearchPlanner(max_states=self.fallback_states).settle(
                task, g, length, metric, without
            )
        settled, answer, paused = self._without_model(task, g, length, metric, without)
        if settled:
            return answer
        try:
            allowed, hint, settled = self._narrowed(
                task, g, length, metric, usable(g, without), without, near
            )
            found: Solution | None
            if settled:  # without a hint: proven to have no plan
                found = None if hint is None else Solution(hint, True, length)
            else:
                found = self._deepen(task, g, length, metric, allowed, hint)
        except _Undecided:
            found, undecided = None, True
        else:
            undecided = False
        if (found is not None and found.optimal) or (found is None and not undecided):
            return found
        try:
            return SearchPlanner(max_states=self.fallback_states).settle(
                task, g, length, metric, without, paused
            )
        except SearchGaveUp as stop:
            if found is not None:
                return found  # the best plan found, recorded as not proven optimal
            raise PlanningError(
                f"CP-SAT reached its time limit ({task.time_limit:g} deterministic seconds) "
                f"without a plan, and the search gave up too (it {stop.spent}); the "
                "catalog may be too large to plan within these limits"
            ) from None

    def _without_model(
        self, task: Task, g: Grounded, length: int, metric: Metric, without: frozenset[str]
    ) -> tuple[bool, Solution | None, AStarSearch | None]:
        """On a task with no limit but `max_steps`: (True, the answer, None) when it is
        settled without a model, else (False, None, the search that gave up, when it can
        go on: the fallback after the model takes it up).

        First what `_narrowed` would settle by the landmarks alone (no plan, or the
        cheapest achievers' plan at the floor), which costs less than any search; then the
        exact search, up to `search_first` expansions. With no sum to keep under a limit,
        each state keeps one path or few, and the search's bound (LM-cut's landmarks)
        settles most such tasks in fewer expansions than a model takes to build.

        By elapsed time, the search's bound is the earliest end of the goal, which it works
        out over every action for each path: its budget shrinks as the actions grow
        (`LATENCY_FIRST_WORK`), and past `LATENCY_FIRST_MOST` usable capabilities the model
        goes first (at 1,000 capabilities with about 20 rivals per stage, the search's few
        expansions cost twice CP-SAT's solve). Most fastest plans of parallel chains take it
        a few expansions, where CP-SAT's model, which must also order the steps, takes
        hundreds of milliseconds. A deadline then bounds the metric itself, which the paths carry
        anyway: it goes first under one too (and drops what cannot meet it).
        """
        limits = task.limits
        if metric == "latency":  # a deadline bounds the metric itself: nothing more to keep
            limits = replace(limits, deadline=None)
        if not self.search_first or _limited(limits):
            return False, None, None
        allowed = usable(g, without)
        budget = self.search_first
        if metric == "latency":
            if len(allowed) > LATENCY_FIRST_MOST:
                return False, None, None
            shrunk = LATENCY_FIRST_WORK // max(1, len(allowed))
            budget = min(budget, max(LATENCY_FIRST_LEAST, shrunk))
        elif self._looks_at_landmarks(allowed):  # what `_narrowed` would settle at once
            marks = landmarks(g, allowed)
            if marks is None:
                return True, None, None  # a landmark no usable action achieves: no plan
            if marks:
                cheapest = self._cheapest_settles(task, g, length, metric, allowed, marks)
                if cheapest is not None:
                    return True, Solution(cheapest, True, length), None
        try:
            return (
                True,
                SearchPlanner(max_states=budget).settle(task, g, length, metric, without),
                None,
            )
        except SearchGaveUp as stop:
            return False, None, stop.paused  # too wide for the search: the model's turn

    def _looks_at_landmarks(self, allowed: frozenset[int]) -> bool:
        """Whether a solve among `allowed` is narrowed or settled by the landmarks first:
        from `prune_from` usable capabilities, and below it unless `small` is 0 (CP-SAT
        alone, as its tests want it)."""
        return len(allowed) >= self.prune_from or bool(self.small)

    def _narrowed(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        without: frozenset[str] = frozenset(),
        near: Plan | None = None,
    ) -> tuple[frozenset[int], Plan | None, bool]:
        """`allowed` without the actions that no optimal plan within the limits can use
        (see `ido.planner.bounds`): first those whose landmark bound breaks `max_cost` or
        `min_success_probability`, then, once a plan is found, those whose bound on the
        objective is worse than that plan, which comes back too, to start the solve on what
        is left from. The plan is found among a few achievers per landmark, or, for the
        alternatives' solves (with `without`), is the chosen plan `near` with each left-out
        step swapped for a stand-in (`_swapped`): one more solve each would cost more than
        it saves. True last when that is settled without a solve: the plan is already the
        best (`_settles`), or, with no plan, a landmark has no achiever left, so no plan
        exists within the limits."""
        if not self._looks_at_landmarks(allowed):
            return allowed, None, False
        marks = landmarks(g, allowed)
        if marks is None:
            return allowed, None, True
        if not marks:
            return allowed, None, False
        if len(allowed) < self.prune_from:  # too few to narrow; maybe settled all the same
            if metric == "latency":
                return allowed, None, False
            settled = self._cheapest_settles(task, g, length, metric, allowed, marks)
            return allowed, settled, settled is not None
        limits = task.limits
        rules = []
        if limits.max_cost is not None:
            rules.append((lambda a: g.actions[a].cost, limits.max_cost))
        risk = _risk_limit(limits)
        if risk is not None:
            rules.append((lambda a: g.actions[a].risk, risk))
        kept = allowed - prunable(allowed, marks, rules)
        marks = landmarks(g, kept) if kept != allowed else marks
        if marks is None:  # what the limits leave cannot make a plan
            return kept, None, True
        if not marks or metric == "latency":  # an elapsed time is not a sum
            return kept, None, False
        settled = self._cheapest_settles(task, g, length, metric, kept, marks)
        if settled is not None:
            return kept, settled, True
        if without:
            start = None if near is None else _swapped(task, g, near, without, kept, metric)
        else:
            few = _shortlist(task, g, marks, kept, metric)
            if len(few) > len(kept) // 2:
                return kept, None, False
            try:
                first = self._deepen(task, g, length, metric, few)
            except _Undecided:
                return kept, None, False
            start = None if first is None else first.plan
        if start is None:
            return kept, None, False
        if self._settles(task, g, length, metric, kept, marks, start):
            return kept, start, True
        best = plan_total(start, metric)
        cost_of = lambda a: measure(task, g.actions[a], metric)  # noqa: E731
        return kept - beyond(kept, marks, cost_of, best, rules), start, False

    def _cheapest_settles(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        kept: frozenset[int],
        marks: Landmarks,
    ) -> Plan | None:
        """The cheapest achievers' plan (`_cheapest`) when it `_settles` the solve, else None."""
        cheapest = _cheapest(task, g, marks, metric)
        if cheapest is not None and self._settles(task, g, length, metric, kept, marks, cheapest):
            return cheapest
        return None

    def _settles(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        kept: frozenset[int],
        marks: Landmarks,
        plan: Plan,
    ) -> bool:
        """Whether `plan` (a valid plan of `kept` actions) is what the solve on `kept` at
        `length` steps would return. It must be a plan that model admits: no longer than
        `length`, no step over a limit alone, and within the limits by more than the model's
        rounding could take away (`_clear_of_limits`). And nothing may beat it: its total, in
        the model's integer units, meets the landmark floor of every plan of `kept` actions
        (`plan_floor`), and its steps the landmark floor of steps, so no plan totals less,
        nor as little in fewer steps (the model's tie-break). Where a capability has
        providers alike in what they do, and the limits are slack, the cheapest provider of
        each step is such a plan: proven optimal without a solve."""
        scaled = self._scaled(task, g, metric)
        if min(scaled[a] for a in kept) < 0:
            return False  # the floor needs nonnegative costs
        try:
            steps = [g.position[step.capability] for step in plan.steps]
        except KeyError:
            return False
        if len(steps) > length or any(a not in kept for a in steps):
            return False
        if set(steps) & self._over(task, g) or not _clear_of_limits(task.limits, plan):
            return False
        costs = [float(c) if a in kept else math.inf for a, c in enumerate(scaled)]
        # Integer totals: a total within rounding of the floor is the least there is.
        if sum(scaled[a] for a in steps) > plan_floor(costs, marks) + 1e-6:
            return False
        return len(steps) <= _step_floor(marks, len(scaled)) + 1e-9

    def _deepen(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        hint: Plan | None = None,
    ) -> Solution | None:
        """Solve at `length` steps, or, when that is long, deepen from a short horizon.

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
        # Elapsed time is a critical path: a step in parallel adds nothing to it.
        if length <= self.short_horizon or least <= 0 or metric == "latency":
            return self._solve_at(task, g, length, metric, allowed, hint)
        step_floor = units(least)  # rounding keeps the order: the least of the rounded steps
        steps, floor = self.short_horizon, None
        few = self.short_horizon // FEWEST_FIRST
        if few >= 1 and max(metrics) < 2 * least:  # else no plan of `fewest` steps surely would
            fewest = _fewest_steps(g, allowed)
            # A plan of `fewest` steps then totals under (fewest + 1) * least: `enough` below.
            if fewest <= few and fewest * max(metrics) < (fewest + 1) * least * (1 - 1e-9):
                steps = fewest
        while True:
            found = self._solve_at(task, g, steps, metric, allowed, hint, floor)
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
            return self._solve_at(task, g, enough, metric, allowed, hint, floor)

    def _solve_at(
        self,
        task: Task,
        g: Grounded,
        length: int,
        metric: Metric,
        allowed: frozenset[int],
        hint: Plan | None = None,
        floor: int | None = None,
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
            return self._solve_on(task, g, length, metric, allowed, True, hint, bound, floor)
        # The deadline bounds the critical path, which needs a timed model. Without it the
        # problem is a relaxation: when its best plan meets the deadline anyway (the usual
        # case), that plan is also the best with it, and the timed model is never built.
        loose = self._solve_on(task, g, length, metric, allowed, False, hint, bound, floor)
        if deadline is None or loose is None or ordered(g, loose.plan).latency <= deadline + 1e-9:
            return loose
        return self._solve_on(task, g, length, metric, allowed, True, hint, bound, floor)

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
    ) -> Solution | None:
        """Solve on the encoding at `length` steps, with the task's limits; `timed`: with
        the critical path too (the deadline, and the latency metric, need it); `floor`: a
        lower bound on the objective."""
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

        limits = task.limits
        if limits.max_cost is not None:
            model.add(total("cost") <= units(limits.max_cost))
        if limits.min_success_probability is not None:
            model.add(total("risk") <= units(-math.log(limits.min_success_probability)))
        if serial:  # every plan is a sequence: its elapsed time is the sum of its latencies
            if limits.deadline is not None:
                model.add(total("latency") <= units(limits.deadline))
            timed = False
        if not timed:
            return self._run(task, g, encoding, model, chosen, total(metric), hint, bound, floor)
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
        if limits.deadline is not None:
            model.add(elapsed <= units(limits.deadline))
        if metric != "latency":
            return self._run(task, g, encoding, model, chosen, total(metric), hint, bound, floor)
        # Ties on elapsed time go to the plan of fewer steps, so the steps' floor too (none
        # when the goal holds already: the empty plan is in the model).
        fewest = 0 if all(holds_now(t) for t in g.goal) else _fewest_steps(g, usable)
        if fewest > 1:
            model.add(cp_model.LinearExpr.sum(variables) >= fewest)
        least = (earliest, fewest)
        return self._run(task, g, encoding, model, chosen, elapsed, hint, bound, floor, least)

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
    ) -> Solution | None:
        """Minimise `objective` on `model` (a clone of `encoding`'s); `chosen`: the literals
        of the actions it may take.

        With a hint (a plan found among fewer actions, `_narrowed`), the solver starts from
        it, and `bound` (its objective) caps the objective: no better plan is worse. A
        `floor` known to be no more than any plan's objective is posted too: it cuts no plan
        out, and lets the solver stop as soon as a plan meets it. `elapsed`: the objective
        is the elapsed-time variable, which each plan found is timed against exactly
        (`ido.planner.critical.Tightened`), and no plan is faster than its first number or
        has fewer steps than its second."""
        from ortools.sat.python import cp_model

        from ido.planner.critical import Tightened

        length = encoding.horizon
        # Ties on the metric go to the shorter plan: no zero-cost detours.
        model.minimize(objective * (length + 1) + cp_model.LinearExpr.sum([v for _, v in chosen]))
        if floor is not None:
            model.add(objective >= floor)
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

    def _scaled(self, task: Task, g: Grounded, metric: Metric) -> list[int]:
        """Each action's `metric` in the model's integer units, worked out once per decision
        (the solves of one decision differ in limits and left-out actions, not weights)."""
        self._decision(g)
        key = (metric, task.weights)
        found = self._metrics.get(key)
        if found is None:
            found = [units(measure(task, action, metric)) for action in g.actions]
            self._metrics[key] = found
        return found

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


def _swapped(
    task: Task,
    g: Grounded,
    near: Plan,
    without: frozenset[str],
    kept: frozenset[int],
    metric: Metric,
) -> Plan | None:
    """`near` with its steps of the left-out capabilities replaced by a kept action with the
    same effects ("adyen instead of stripe"): the first stand-in, cheapest by `metric`
    first, with which the plan is valid and within the limits (checked step by step on the
    grounded facts). None when no stand-in makes one."""
    try:
        planned = [g.position[step.capability] for step in near.steps]
    except KeyError:
        return None
    left_out = {a for a in planned if g.actions[a].name in without}
    if not left_out or any(a not in kept for a in planned if a not in left_out):
        return None
    effects = {frozenset(g.eff[a]) for a in left_out}
    if len(effects) != 1:
        return None  # stand-ins for different steps: left to the solver
    same = effects.pop()
    stand_ins = sorted(
        (b for b in kept if frozenset(g.eff[b]) == same),
        key=lambda b: (measure(task, g.actions[b], metric), g.actions[b].name),
    )
    for b in stand_ins:
        actions = [b if a in left_out else a for a in planned]
        if _valid(g, actions):
            plan = ordered(g, Plan(tuple(step_of(task, g.actions[a]) for a in actions)))
            if fits(task.limits, plan):
                return plan
    return None


def _valid(g: Grounded, actions: list[int]) -> bool:
    """Whether the actions, in this order, apply one after another and reach the goal."""
    values = [0] * len(g.fluents)  # value 0 of each fact is its value now
    for a in actions:
        if not _holds(values, g.pre[a]):
            return False
        for f, v in g.eff[a]:
            values[f] = v
    return _holds(values, g.goal)


def _clear_of_limits(limits: Limits, plan: Plan) -> bool:
    """Whether `plan` keeps within each limit by more than rounding to the model's units
    could make up: each step's value rounds by at most half a unit, and so does the limit,
    so a sum that far inside it in floats is inside it in the model too."""
    margin = (len(plan.steps) + 1) / (2 * SCALE)
    checks = [
        (limits.max_cost, plan.cost),
        (limits.deadline, plan.latency),
        (_risk_limit(limits), plan_total(plan, "risk")),
    ]
    return all(limit is None or total <= limit - margin for limit, total in checks)


def _risk_limit(limits: Limits) -> float | None:
    """`min_success_probability` as the most risk (sum of -log reliability) a plan may take."""
    p = limits.min_success_probability
    return None if p is None else -math.log(max(p, 1e-300))


def _holds(values: list[int], tables: tuple[Table, ...]) -> bool:
    return all(tuple(values[f] for f in t.fluents) in t.true_rows for t in tables)


def _cheapest(task: Task, g: Grounded, marks: Landmarks, metric: Metric) -> Plan | None:
    """Per landmark (of `kept` actions) the achiever whose share of `metric` is least (see
    `ido.planner.bounds`), each once, ordered greedily: at each turn the first by index that
    applies. If that order reaches the goal, the plan; its total is often the landmark floor
    itself, and `_settles` checks it against the limits as the model does. None otherwise
    (another order of the same steps might have worked: it is a quick try, not a search)."""
    share = {a: len(ms) for a, ms in achieved(marks).items()}
    todo = sorted(
        {min(m, key=lambda a: (measure(task, g.actions[a], metric) / share[a], a)) for m in marks}
    )
    values = [0] * len(g.fluents)
    order: list[int] = []
    while todo:
        a = next((a for a in todo if _holds(values, g.pre[a])), None)
        if a is None:
            return None
        todo.remove(a)
        order.append(a)
        for f, v in g.eff[a]:
            values[f] = v
    if not _holds(values, g.goal):
        return None
    return ordered(g, Plan(tuple(step_of(task, g.actions[a]) for a in order)))


def _shortlist(
    task: Task, g: Grounded, marks: Landmarks, kept: frozenset[int], metric: Metric
) -> frozenset[int]:
    """A few achievers per landmark: the best by the objective and by each limited metric,
    and every action that achieves no landmark (it may be needed all the same)."""
    limited: list[Metric] = [metric]
    limits = task.limits
    limited += ["cost"] if limits.max_cost is not None else []
    limited += ["risk"] if limits.min_success_probability is not None else []
    limited += ["latency"] if limits.deadline is not None else []
    chosen = set(kept) - set().union(*marks)
    for achievers in marks:
        for name in dict.fromkeys(limited):
            ranked = sorted(achievers & kept, key=lambda a: (measure(task, g.actions[a], name), a))
            chosen.update(ranked[: SHORTLIST if name == metric else 2])
    return frozenset(chosen)


def _serial(g: Grounded, actions: list[int]) -> bool:
    """Whether every plan made of `actions` is a sequence, each step waiting for the one
    before. Then a plan's elapsed time is the sum of its latencies, a linear sum the
    untimed model takes as it is.

    It is when the problem is monotone, every action writes one value (that the solver
    sees), and those values form one chain in which every writer of a value requires the
    one before it. In a monotone problem no value written is the fact's value now and a
    step must change something, so at most one step writes each value, and a step whose
    preconditions require a value starts after the step that wrote it ends (it reads what
    that one wrote): the steps of a plan form a path of waits. (Sufficient conditions,
    not necessary ones.)
    """
    if not actions or not g.monotone or any(len(g.eff[a]) != 1 for a in actions):
        return False
    writers: dict[tuple[int, int], list[int]] = {}
    for a in actions:
        writers.setdefault(g.eff[a][0], []).append(a)

    before = {
        v: frozenset.intersection(*(g.needs[a] for a in members)) & writers.keys()
        for v, members in writers.items()
    }
    # One chain through every value: exactly one value needs none of the others, and each
    # next one is the only value left that needs the last one taken and nothing not yet
    # taken. (A loop, not a recursion: a pipeline may have thousands of stages.)
    first = [v for v, needs in before.items() if not needs]
    if len(first) != 1:
        return False
    chain, done = first, {first[0]}
    while len(chain) < len(writers):
        following = [
            v
            for v, needs in before.items()
            if v not in done and chain[-1] in needs and needs <= done
        ]
        if len(following) != 1:
            return False
        chain.append(following[0])
        done.add(following[0])
    return True


class _Undecided(Exception):
    """CP-SAT stopped at its time limit with neither a plan nor a proof that none exists."""


class _Encoding:
    """Plans of at most `horizon` sequential steps as a CP-SAT model, without limits or objective.

    Actions with the same conditions, effects and footprint form a *group*: they differ in
    cost, latency and reliability only, so the plan's logic is posted once per group.
    `y[t, k]`: some action of group `k` is step `t`. `v[t, f, d]`: fact `f` has its `d`-th
    value before step `t`. At most one group per step, steps without one only at the end,
    frame axioms (a fact changes only when a step writes it), preconditions and the goal as
    clauses from the grounded truth tables.

    Which action of its group a step is: when the problem is monotone (`Grounded.monotone`)
    a group is a step at most once, so `z[a]` (action `a` is in the plan) says it, without
    a time; otherwise `x[t, a]` (action `a` is step `t`). `uses` pairs each action with its
    literals either way: a plan's cost, risk or score is the sum over them. A `timed`
    encoding, for the critical path (`ido.planner.critical`), keeps every action a group of
    its own, so `x[t, a]` is `y[t, k]`. Built once per decision (and kind) and cloned per
    solve.
    """

    def __init__(self, g: Grounded, horizon: int, actions: frozenset[int], timed: bool) -> None:
        self.grounded = g
        self.horizon = T = horizon
        self.actions = actions
        self.timed = timed
        self.monotone = g.monotone and not timed
        from ido.planner.cpmodel import Model

        model = self.model = Model()
        signatures: dict[tuple[object, ...], list[int]] = {}
        for a in sorted(actions):
            conditions = tuple((t.fluents, t.true_rows) for t in g.pre[a])
            # A timed model keeps every action apart: CP-SAT proves the critical path's
            # bound far faster on actions than on groups (measured: 0.1 s against more
            # than 10 s on benchmarks/plan_latency.py's deadline-bound problems).
            alone = a if timed else None
            signatures.setdefault((conditions, g.eff[a], g.footprints[a], alone), []).append(a)
        self.groups = groups = list(signatures.values())
        self.group_of = {a: k for k, members in enumerate(groups) for a in members}
        first = [g.earliest[members[0]] for members in groups]  # same conditions, same level
        y = self.y = {
            (t, k): model.new_bool_var(f"y{t}_{k}")
            for k in range(len(groups))
            for t in range(first[k], T)
        }
        acting = []
        for t in range(T):
            here = [y[t, k] for k in range(len(groups)) if (t, k) in y]
            busy = model.new_bool_var(f"busy{t}")
            model.add_exactly_one([*here, busy.Not()])
            acting.append(busy)
        for t in range(T - 1):
            model.add_implication(acting[t + 1], acting[t])
        v = {
            (t, f, d): model.new_bool_var(f"v{t}_{f}_{d}")
            for t in range(T + 1)
            for f, fluent in enumerate(g.fluents)
            for d in range(len(fluent.values))
        }
        for f, fluent in enumerate(g.fluents):
            for t in range(T + 1):
                model.add_exactly_one(v[t, f, d] for d in range(len(fluent.values)))
            model.add(v[0, f, 0] == 1)
        writers: dict[tuple[int, int], list[int]] = {}
        for k, members in enumerate(groups):
            for f, d in g.eff[members[0]]:
                writers.setdefault((f, d), []).append(k)
        for t in range(T):
            for f, fluent in enumerate(g.fluents):
                by_value = [
                    [k for k in writers.get((f, d), []) if (t, k) in y]
                    for d in range(len(fluent.values))
                ]
                any_w = [y[t, k] for ks in by_value for k in ks]
                # Frame axioms as clauses: a written value holds next (exactly-one clears the
                # others), a value appears only when written or already there, and stays
                # unless some step writes the fact.
                for d, ks in enumerate(by_value):
                    now, nxt = v[t, f, d], v[t + 1, f, d]
                    if not any_w:
                        model.add(nxt == now)
                        continue
                    w_d = [y[t, k] for k in ks]
                    for w in w_d:
                        model.add_implication(w, nxt)
                    model.add_bool_or([now.Not(), nxt, *any_w])
                    model.add_bool_or([nxt.Not(), now, *w_d])
            for k, members in enumerate(groups):
                if (t, k) not in y:
                    continue
                a = members[0]
                # A step must change something: optimal plans never need one that does not.
                model.add_bool_or([y[t, k].Not(), *(v[t, f, d].Not() for f, d in g.eff[a])])
                for table in g.pre[a]:
                    for row in table.false_rows:
                        model.add_bool_or(
                            [y[t, k].Not()] + [v[t, f, d].Not() for f, d in zip(table.fluents, row)]
                        )
        for table in g.goal:
            for row in table.false_rows:
                model.add_bool_or([v[T, f, d].Not() for f, d in zip(table.fluents, row)])
        self.uses: list[tuple[int, cp_model.IntVar]] = []
        self.z: dict[int, cp_model.IntVar] = {}
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        for k, members in enumerate(groups):
            steps = [y[t, k] for t in range(first[k], T)]
            if self.monotone:
                for a in members:
                    self.z[a] = model.new_bool_var(f"z{a}")
                    self.uses.append((a, self.z[a]))
                model.add(sum(self.z[a] for a in members) == sum(steps))
                continue
            for t in range(first[k], T):
                if len(members) == 1:
                    self.x[t, members[0]] = y[t, k]
                else:
                    for a in members:
                        self.x[t, a] = model.new_bool_var(f"x{t}_{a}")
                    model.add(sum(self.x[t, a] for a in members) == y[t, k])
                self.uses += [(a, self.x[t, a]) for a in members]

    def taken(self, solver: Solved) -> list[int]:
        """The plan in a solved model (or in a solution, to a callback): its actions, step by
        step."""
        steps = []
        for (t, k), var in self.y.items():
            if not solver.boolean_value(var):
                continue
            members = self.groups[k]
            lit = self.z if self.monotone else {a: self.x[t, a] for a in members}
            a = next(a for a in members if solver.boolean_value(lit[a]))
            steps.append((t, a))
        return [a for _, a in sorted(steps)]

    def hint(self, model: cp_model.CpModel, plan: list[int]) -> None:
        """Start the solver from `plan` (actions step by step)."""
        at = {(t, self.group_of[a]): a for t, a in enumerate(plan)}
        hints = [(var, key in at) for key, var in self.y.items()]
        hints += [(var, a in plan) for a, var in self.z.items()]
        hints += [
            (var, at.get((t, self.group_of[a])) == a)
            for (t, a), var in self.x.items()
            if len(self.groups[self.group_of[a]]) > 1
        ]
        if not hints:
            return
        # What `add_hint` does one literal at a time (two calls into the model each, most
        # of a hint's cost), in two: every literal here is a variable, not a negation.
        assert all(var.index >= 0 for var, _ in hints)
        solution = model.proto.solution_hint
        solution.vars.extend(var.index for var, _ in hints)
        solution.values.extend(int(value) for _, value in hints)

    def steps(self) -> dict[tuple[int, int], cp_model.IntVar]:
        """`x[t, a]`: action `a` is step `t` (a timed encoding's, where each is `y`)."""
        assert self.timed, "only a timed encoding has a literal per action and step"
        return self.x


def _limited(limits: Limits) -> bool:
    """Whether a limit other than `max_steps` bounds the plan."""
    return any(
        bound is not None
        for bound in (limits.max_cost, limits.deadline, limits.min_success_probability)
    )


def _fewest_steps(g: Grounded, allowed: frozenset[int]) -> int:
    """A lower bound on the steps of any plan among `allowed` that reaches a goal not
    holding yet (at least 1): every such plan holds an achiever of each landmark, and one
    step achieves only so many of them."""
    marks = landmarks(g, allowed)
    if not marks:
        return 1
    return max(1, math.ceil(_step_floor(marks, len(g.actions)) - 1e-9))


def _step_floor(marks: Landmarks, count: int) -> float:
    """The landmark floor of `count` actions each costing one step: no plan has fewer."""
    return plan_floor([1.0] * count, marks)
