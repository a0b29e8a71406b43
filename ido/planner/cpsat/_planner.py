"""`CpSatPlanner`: each solve settled without a model when it can be, else narrowed, then modelled.

The exact search settles a handful of capabilities, most tasks with no limit but
`max_steps`, and most fastest plans whose steps run side by side; the landmarks settle
what the cheapest achievers' plan proves optimal, and narrow a large catalog before the
model (`_solves`) takes it up."""

from __future__ import annotations

import math
import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from ido.planner.astar import AStarSearch, SearchGaveUp
from ido.planner.bounds import Landmarks, beyond, landmarks, plan_floor, prunable
from ido.planner.cpsat._shortcuts import (
    _cheapest,
    _clear_of_limits,
    _limited,
    _risk_limit,
    _shortlist,
    _step_floor,
    _swapped,
)
from ido.planner.cpsat._solves import _ModelSolves, _Undecided, wall_limit
from ido.planner.grounding import Grounded
from ido.planner.search import SearchPlanner
from ido.planner.solving import (
    Question,
    Solution,
    SolvingPlanner,
    breaks_limits,
    measure,
    plan_total,
    usable,
)
from ido.planner.types import Limits, Metric, Plan, Task, Weights
from ido.text import counted

if TYPE_CHECKING:
    from ido.planner.cpsat._encoding import _Encoding
from ido.planner.cpsat._budgets import BudgetsSpent, NumbersTooLarge, RoundingUnsettled

SHORT = 16  # horizons up to this are solved at once; longer ones are deepened into


SMALL = 3  # problems with at most this many usable capabilities go to the exact search


PRUNE_FROM = 32  # from this many usable capabilities, landmark bounds narrow each solve


SEARCH_FIRST = 20_000  # expansions the exact search gets first on a task with no limit


BRIEF_SHARE = 0.1  # of the time limit, the model's first turn after such a search gave up
# By elapsed time, each path's bound passes over every action: the search goes first only
# up to LATENCY_FIRST_MOST usable capabilities, for expansions × capabilities of at most
# LATENCY_FIRST_WORK (and at least LATENCY_FIRST_LEAST expansions).


LATENCY_FIRST_WORK = 100_000


LATENCY_FIRST_LEAST = 100


LATENCY_FIRST_MOST = 200


class CpSatPlanner(_ModelSolves, SolvingPlanner):
    """Minimises the weighted objective over plans of at most `max_steps` sequential steps.

    One CP-SAT worker, a fixed seed and a deterministic time limit make every solve
    deterministic: same task, same plan. `threads` runs the independent solves behind the
    alternatives side by side (default: the cores, at most 4); it changes speed, not results:
    those solves go in rounds of four that share one ceiling (`ceiling_round`), whatever the
    threads, so more than four threads run no more of them at once.
    """

    name = "cpsat"
    ceiling_round = 4

    def __init__(
        self,
        *,
        seed: int = 0,
        workers: int = 1,
        threads: int | None = None,
        short_horizon: int = SHORT,
        fallback_states: int | None = None,
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
        self._floored: dict[tuple[Metric, Weights], list[int]] = {}
        self._largest: dict[tuple[Metric, Weights], float] = {}
        self._beyond_limits: dict[Limits, frozenset[int]] = {}
        # Whether a search settled one of this decision's solves, and the expansions the
        # alternatives' searches get first for it (`prepare_alternatives`).
        self._searched, self._alternatives_first = False, 0

    def parameters(self, task: Task) -> dict[str, object]:
        most = self._fallback(task)  # no search of a solve goes past the task's budget
        return {
            "backend": "ortools-cp-sat",
            "random_seed": self.seed,
            "num_workers": self.workers,
            "deterministic_time_limit": task.time_limit,
            "wall_time_limit": wall_limit(task.time_limit),
            "small_problems": f"astar when at most {self.small} capabilities are usable",
            "search_first": f"astar first, up to {min(self.search_first, most):,} "
            "expansions, when no "
            "limit other than max_steps is set (by elapsed time, under any limit but a "
            f"summed one on a pipeline, up to {LATENCY_FIRST_MOST} usable capabilities, for "
            f"{LATENCY_FIRST_WORK:,} ÷ usable capabilities expansions, at least "
            f"{min(LATENCY_FIRST_LEAST, most)}); once a search settled the plan, its "
            f"alternatives' searches up to {most:,} expansions first; when the search "
            "that went first (not by elapsed time) gives up with budget left, the model "
            f"gets {BRIEF_SHARE:g} of its time limit, then the search goes on, and the "
            "model gets its whole time limit only if the search runs out too",
        }

    def prepare_alternatives(self, task: Task, grounded: Grounded, names: list[str]) -> None:
        # One encoding per length for every alternative: each may use what its left-out
        # step dominated.
        self._decision(grounded)
        self._cover = usable(grounded, frozenset(names)) | usable(grounded, frozenset())
        self._encodings = {n: e for n, e in self._encodings.items() if self._cover <= e.actions}
        # Where the search settled the plan's solves (it went first, or took over when
        # CP-SAT's model could not), the alternatives are the same task less a capability:
        # the search gets the fallback's whole budget first, and the model comes after only
        # if that is not enough. (On a compiled ADL briefcase, 22,700 expansions settle an
        # alternative in 3 s; past the first 20,000, the model spent its 10 seconds and
        # proved nothing.) Read once, before the alternatives' solves start on their
        # threads, so what those solves record cannot change the outcome.
        self._alternatives_first = self._fallback(task) if self._searched else 0

    def _solve(self, asked: Question, near: Plan | None = None) -> Solution | None:
        """`_answer`, checked against the limits as the exact search judges them (sums in
        floats, within 1e-9): the model counts each step's value rounded down, so that no
        plan that keeps to a limit is cut, and a plan a hair over one (by less than a
        millionth a step) may come out of it. For such a plan, rare, the search settles the
        solve exactly."""
        search = _WholeSearch(asked, self._fallback(asked.task))
        found = self._answer(asked, search, near)
        if found is None or not breaks_limits(asked.task, asked.g, found.plan):
            return found
        try:
            return search.settle()
        except SearchGaveUp as stop:
            raise RoundingUnsettled(stop.spent) from None

    def _answer(
        self, asked: Question, search: _WholeSearch, near: Plan | None = None
    ) -> Solution | None:
        """CP-SAT's answer; when it runs out of time, the search backend's if it finishes.

        A search cut short by the time limit proves nothing: "no plan found" is not "no
        plan", and a plan found is not known to be the best. The search planner then gets
        `fallback_states` expansions (by default the intent's `limits.search_states`, and
        its comparisons in proportion) to settle it
        exactly. A search that went first (`search_first`) and gave up goes on from where
        it stopped, its expansions counted in that budget: the same answer, without
        repeating them. A search with the whole budget (`search`) that gave up is not
        run again: the same search gives up the same way.

        When that search had no limit to keep to (and its metric is not elapsed time), its
        expansions are cheap, and on tasks it gives up on at first the model has seldom done
        better: on the IPC problems run (four per domain) whose plans take the search 20,000
        to 200,000 expansions, CP-SAT's model spent its 10 deterministic seconds (3.7 to 6.5
        s of CPU) and proved nothing, each time. So the model first gets a tenth of its time
        limit (`BRIEF_SHARE`), enough where it is quick, then the search goes on, and only
        if that runs out too does the model get its whole time limit. The outcome when both
        run out is as before; a model that would have settled a task in its whole time, but
        not in a tenth, now does so after the search's whole budget.
        """
        task, g, metric = asked.task, asked.g, asked.metric
        self._decision(g)  # what this decision's solves record starts from nothing
        allowed = usable(g, asked.without)
        if len(allowed) <= self.small:
            # A handful of capabilities: the exact search settles it in microseconds, where
            # building and solving a CP-SAT model costs milliseconds. Same optimum. (Only
            # an intent's budget of a few states stops it: then the model's turn, below.)
            try:
                return search.settle()
            except SearchGaveUp:
                pass
        if not self._fits(task, g, asked.length, metric, allowed):
            return self._searched_instead(search)
        settled, answer, paused = self._without_model(asked, search.gave_up is None)
        if settled:
            return answer
        brief = (
            paused is not None
            and metric != "latency"
            and paused.expanded - paused.restarted_at < self._fallback(task)
            and task.time_limit * BRIEF_SHARE > 0
        )
        modelled = asked
        if brief:
            modelled = replace(asked, task=replace(task, time_limit=task.time_limit * BRIEF_SHARE))
        found, undecided = self._modelled(modelled, near)
        if _decided(found, undecided):
            return found
        try:
            answer = search.settle(paused)
        except SearchGaveUp as stop:
            if brief:
                better, undecided = self._modelled(asked, near)
                if _decided(better, undecided):
                    return better
                unproven = [s for s in (better, found) if s is not None]
                # the better of the two turns' unproven plans; a tie to the longer turn's
                found = min(unproven, key=lambda s: plan_total(s.plan, metric), default=None)
            if found is not None:
                return found  # the best plan found, recorded as not proven optimal
            limit = counted(task.time_limit, "deterministic second")
            raise BudgetsSpent(
                f"CP-SAT reached its time limit ({limit}) without a plan, and the search gave "
                f"up too (it {stop.spent})"
            ) from None
        self._searched = True
        return answer

    def _searched_instead(self, search: _WholeSearch) -> Solution | None:
        """The search's answer to a solve whose numbers the model cannot hold (`_fits`)."""
        try:
            return search.settle()
        except SearchGaveUp as stop:
            raise NumbersTooLarge(stop.spent) from None

    def _modelled(self, asked: Question, near: Plan | None) -> tuple[Solution | None, bool]:
        """CP-SAT's answer within the task's time limit, and whether it ran out of time
        before it could say whether there is a plan (the answer is then None). The model's
        objective is capped below `under`; a plan settled without it (`_narrowed`) may
        score at or above it."""
        task, g, length, metric, without = (
            asked.task, asked.g, asked.length, asked.metric, asked.without
        )  # fmt: skip
        try:
            allowed, hint, settled = self._narrowed(
                task, g, length, metric, usable(g, without), without, near
            )
            if settled:  # without a hint: proven to have no plan
                return (None if hint is None else Solution(hint, True, length)), False
            return self._deepen(task, g, length, metric, allowed, hint, asked.under), False
        except _Undecided:
            return None, True

    def _without_model(
        self, asked: Question, search: bool = True
    ) -> tuple[bool, Solution | None, AStarSearch | None]:
        """(True, the answer, None) when the solve is settled without a model, else (False,
        None, the search that gave up, when it can go on: the fallback after the model
        takes it up). Without `search` (a search with the whole budget gave up already),
        only the landmarks are looked at: the model then gets its whole time.

        With no limit but `max_steps`, first what `_narrowed` would settle by the landmarks
        alone (no plan, or the cheapest achievers' plan at the floor), which costs less than
        any search; then the exact search, up to `search_first` expansions (or, once a
        search settled one of the decision's solves, `_alternatives_first`: the fallback's
        budget, for the alternatives' solves and any after them). With no sum to
        keep under a limit, each state keeps one path or few, and the search's bound
        (LM-cut's landmarks) settles most such tasks in fewer expansions than a model takes
        to build. Under a limit the model goes first.

        By elapsed time, the search goes first under any limit. Its bound is the earliest
        end of the goal, which it works out over every action for each path: its budget
        shrinks as the actions grow (`LATENCY_FIRST_WORK`), and past `LATENCY_FIRST_MOST`
        usable capabilities the model goes first (at 1,000 capabilities with about 20
        rivals per stage, the search's few expansions cost twice CP-SAT's solve). Most
        fastest plans of parallel chains take it a few expansions, where CP-SAT's model,
        which must also order the steps, takes hundreds of milliseconds. A deadline bounds
        the metric itself, which the paths carry anyway (and drops what cannot meet it).
        Under `max_cost` or `min_success_probability` a state keeps a path per sum it may
        still need; on parallel chains the bound, not comparing paths, is still most of an
        expansion's time (0.3 to 0.8 ms, as with no limit), and half the budget gained
        nothing: the same budget. A search that runs out of it while the model proves
        nothing goes on in the fallback. But on a pipeline (`_serial`: every plan a
        sequence), the elapsed time is a sum the untimed model takes in milliseconds, while
        rivals that trade cost for speed have the search compare each new path with about
        a thousand (100 capabilities: up to 200 ms, against the model's 3 to 13): under
        such a limit the model goes first there.
        """
        task, g, length, metric = asked.task, asked.g, asked.length, asked.metric
        if not self.search_first or (metric != "latency" and _limited(task.limits)):
            return False, None, None
        allowed = usable(g, asked.without)
        budget = max(self.search_first, self._alternatives_first)
        if metric == "latency":
            if len(allowed) > LATENCY_FIRST_MOST:
                return False, None, None
            if _limited(replace(task.limits, deadline=None)) and self._serial(g, allowed):
                return False, None, None  # a pipeline under a sum: the untimed model's turn
            shrunk = LATENCY_FIRST_WORK // max(1, len(allowed))
            budget = min(self.search_first, max(LATENCY_FIRST_LEAST, shrunk))
        elif self._looks_at_landmarks(allowed):  # what `_narrowed` would settle at once
            marks = landmarks(g, allowed)
            if marks is None:
                return True, None, None  # a landmark no usable action achieves: no plan
            if marks:
                cheapest = self._cheapest_settles(task, g, length, metric, allowed, marks)
                if cheapest is not None:
                    return True, Solution(cheapest, True, length), None
        if not search:
            return False, None, None
        try:
            # Its progress counts against the whole budget: a search that gives up here goes
            # on after the model, from where it stopped (`_solve`).
            fallback = self._fallback(task)
            answer = SearchPlanner(max_states=min(budget, fallback)).settle(asked, most=fallback)
        except SearchGaveUp as stop:
            return False, None, stop.paused  # too wide for the search: the model's turn
        self._searched = True
        return True, answer, None

    def _fallback(self, task: Task) -> int:
        """The expansions a search may make on one of `task`'s solves: `fallback_states`
        when set, else the intent's `limits.search_states`, as `planner: search` has."""
        return task.search_states if self.fallback_states is None else self.fallback_states

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


class _WholeSearch:
    """The exact search of one solve with the whole budget (`states` expansions), run at
    most to its end: once it gave up, `settle` gives up again at once, as running it again
    would after the same expansions (it is deterministic)."""

    def __init__(self, asked: Question, states: int) -> None:
        self.asked, self.states = asked, states
        self.gave_up: SearchGaveUp | None = None

    def settle(self, paused: AStarSearch | None = None) -> Solution | None:
        """The search's answer, going on from `paused` (a search of the same solve that
        stopped at a smaller budget) when given; raises SearchGaveUp."""
        if self.gave_up is not None:
            raise self.gave_up
        try:
            return SearchPlanner(max_states=self.states).settle(self.asked, paused)
        except SearchGaveUp as stop:
            self.gave_up = stop
            raise


def _decided(found: Solution | None, undecided: bool) -> bool:
    """Whether a turn of the model settled the solve: a plan proven best, or proof that
    there is none (no plan, and not for want of time)."""
    return (found is not None and found.optimal) or (found is None and not undecided)
